"""Data for the experiments: seeded synthetic sets and one real one.

Every generator is reproducible from its ``seed`` and returns a
:class:`Split` (train / validation / test). Labels of classification sets
are 0 … K−1, stored as floats like the features, which is what the models'
compiled functions take.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import _checks


@dataclass(frozen=True)
class Split:
    """Features and targets of the train, validation and test parts."""

    X_train: np.ndarray
    y_train: np.ndarray
    X_val: np.ndarray
    y_val: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray
    name: str = ""
    n_classes: int = 0  # 0 for regression

    @property
    def n_features(self):
        return self.X_train.shape[1]

    def astype(self, dtype):
        """The same split in another float dtype."""
        arrays = {k: np.ascontiguousarray(getattr(self, k), dtype=dtype)
                  for k in ("X_train", "y_train", "X_val", "y_val", "X_test", "y_test")}
        return Split(**arrays, name=self.name, n_classes=self.n_classes)

    def __repr__(self):
        return (f"Split({self.name!r}: train {self.X_train.shape}, val {self.X_val.shape}, "
                f"test {self.X_test.shape}, classes {self.n_classes or 'regression'})")


def split(X, y, *, fractions=(0.6, 0.2, 0.2), seed=0, name="", n_classes=0):
    """Shuffle rows with ``seed`` and cut them into train, validation and test parts."""
    X = np.ascontiguousarray(X, dtype=np.float64)
    y = np.ascontiguousarray(y, dtype=np.float64)
    if X.ndim != 2 or y.shape != (X.shape[0],):
        raise ValueError(f"X must be (n, p) and y (n,); got {X.shape} and {y.shape}")
    if len(fractions) != 3 or any(f <= 0 for f in fractions) or abs(sum(fractions) - 1.0) > 1e-9:
        raise ValueError(f"fractions must be three positive numbers summing to 1, got {fractions}")
    n = X.shape[0]
    n_train, n_val = int(round(fractions[0] * n)), int(round(fractions[1] * n))
    if min(n_train, n_val, n - n_train - n_val) < 1:
        raise ValueError(f"{n} rows are too few to split into {fractions}")
    order = np.random.default_rng(seed).permutation(n)
    parts = np.split(order, [n_train, n_train + n_val])
    return Split(*(a for part in parts for a in (X[part], y[part])), name=name, n_classes=n_classes)


def _standardize(s):
    """Scale features by the training part's mean and standard deviation."""
    mean = s.X_train.mean(axis=0)
    std = s.X_train.std(axis=0)
    std[std == 0] = 1.0
    return Split((s.X_train - mean) / std, s.y_train, (s.X_val - mean) / std, s.y_val,
                 (s.X_test - mean) / std, s.y_test, name=s.name, n_classes=s.n_classes)


_positive_int = _checks.whole_number


def linear(n=1000, p=10, *, noise=0.1, seed=0):
    """y = xᵀw* + b* + noise, x ~ N(0, I): linear regression with a known answer.

    :func:`linear_truth` with the same ``p`` and ``seed`` returns (w*, b*).
    """
    n, p = _positive_int(n, "n", 5), _positive_int(p, "p")
    rng = np.random.default_rng(seed)
    w, b = linear_truth(p, seed)
    X = rng.standard_normal((n, p))
    y = X @ w + b + noise * rng.standard_normal(n)
    return split(X, y, seed=seed, name=f"linear(p={p}, noise={noise})")


def linear_truth(p, seed=0):
    """The (w*, b*) that :func:`linear` draws for this ``p`` and ``seed``."""
    rng = np.random.default_rng([seed, 1])
    return rng.standard_normal(p), float(rng.standard_normal())


def blobs(n=1000, p=2, n_classes=3, *, separation=3.0, seed=0):
    """Gaussian clusters, one per class, centres ``separation`` standard deviations apart.

    Large separation (≥ 6) gives linearly separable classes; small (≈ 1) heavily
    overlapping, noisy ones.
    """
    n, p = _positive_int(n, "n", 5), _positive_int(p, "p")
    n_classes = _positive_int(n_classes, "n_classes", 2)
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((n_classes, p))
    centres *= separation / max(np.min(_pairwise(centres)), 1e-12)
    y = rng.integers(0, n_classes, n)
    X = centres[y] + rng.standard_normal((n, p))
    return split(X, y.astype(float), seed=seed, name=f"blobs(K={n_classes}, separation={separation})",
                 n_classes=n_classes)


def _pairwise(c):
    d = np.sqrt(((c[:, None, :] - c[None, :, :]) ** 2).sum(-1))
    return d[np.triu_indices(len(c), 1)]


def sparse_zipf(n=2000, p=500, *, active=10, exponent=1.1, noise=0.5, seed=0):
    """Sparse binary features whose frequencies follow a Zipf law, and a logistic label.

    Each row switches on ``active`` features, feature j chosen with probability
    ∝ 1 / (j + 1)^exponent: the first features appear in most rows, the last in
    a handful. Every feature carries the same weight in the true model, so the
    rare ones matter as much as the frequent ones: the case for Adagrad.
    """
    n, p = _positive_int(n, "n", 5), _positive_int(p, "p", 2)
    active = _positive_int(active, "active")
    if active > p:
        raise ValueError(f"active ({active}) cannot exceed the number of features p ({p})")
    rng = np.random.default_rng(seed)
    prob = 1.0 / np.arange(1, p + 1) ** exponent
    prob /= prob.sum()
    X = np.zeros((n, p))
    for i in range(n):
        X[i, rng.choice(p, size=active, replace=False, p=prob)] = 1.0
    w = rng.choice([-1.0, 1.0], size=p) * 2.0
    logits = X @ w + noise * rng.standard_normal(n)
    y = (logits > 0).astype(float)
    return split(X, y, seed=seed, name=f"sparse_zipf(p={p}, exponent={exponent})", n_classes=2)


def feature_frequencies(X):
    """Fraction of rows in which each feature is non-zero."""
    return np.mean(np.asarray(X) != 0, axis=0)


def digits(*, seed=0, standardize=True):
    """The 8×8 handwritten digits bundled with scikit-learn (1797 images, 10 classes).

    Features are the 64 pixel intensities (0–16), standardized with the training
    part's statistics; the split is 60 / 20 / 20 with ``seed``. Source: the UCI
    optical recognition of handwritten digits data (Alpaydin and Kaynak, 1998).
    """
    from sklearn.datasets import load_digits  # ships with the package: no download

    data = load_digits()
    s = split(data.data, data.target.astype(float), seed=seed, name="digits", n_classes=10)
    return _standardize(s) if standardize else s
