"""What every model shares: a flat parameter vector and one compiled function.

A model's compiled function has one signature for all models, so that the
compiled training loop (:mod:`gdlib.epoch`) can take any of them::

    loss = loss_grad(theta, X, y, idx, grad, spec, buffers, mode)

* ``theta``: the flat parameter vector θ (float32 or float64);
* ``X`` (n, p) and ``y`` (n,): the data, ``y`` holding targets or class labels
  0 … K−1 stored in the same dtype;
* ``idx``: the rows of the mini-batch (int64);
* ``grad``: receives ∇_θ J on the batch, the *mean* over its rows; when it is
  empty the gradient is not computed;
* ``spec``: the model's shape as integers; ``buffers``: float64 running
  statistics (batch normalization), possibly empty;
* ``mode``: ``EVAL`` (running statistics, no gradient needed), ``TRAIN``
  (batch statistics, running statistics updated) or ``TRAIN_FROZEN`` (batch
  statistics, running statistics left alone: gradient checks).

It returns the mean loss over the batch, as float64.
"""

from __future__ import annotations

import numba
import numpy as np
from llvmlite import ir
from numba.core import cgutils, types
from numba.extending import intrinsic

from .. import _checks

EVAL, TRAIN, TRAIN_FROZEN = 0, 1, 2


def loss_grad_signature(dtype):
    """The signature above, for θ of ``dtype`` (the generic epoch's function argument)."""
    t = numba.from_dtype(np.dtype(dtype))
    i64, f64 = numba.types.int64, numba.types.float64
    return f64(t[::1], t[:, ::1], t[::1], i64[::1], t[::1], i64[::1], f64[::1], i64)


#: How many rows ahead a mini-batch loop asks the memory for (``prefetch_row``).
PREFETCH_ROWS = 8


@intrinsic
def prefetch_row(typingctx, X, i):
    """Ask the CPU to start loading row ``i`` of the C-contiguous 2-D array ``X``
    into its caches (LLVM's ``prefetch`` hint, one per 64-byte line). It only
    hints: nothing is read or written, and a row index out of range is harmless.

    A shuffled epoch reads the rows of X in random order. Without the hint each
    row is a cache miss the loop waits for; asked for ``PREFETCH_ROWS`` rows
    ahead, its loading overlaps the arithmetic on the rows before it (the
    logistic-regression epoch on 100,000 × 100 rows took about half the time;
    see bench/bench_training.py)."""
    if not (isinstance(X, types.Array) and X.ndim == 2 and X.layout == "C" and isinstance(i, types.Integer)):
        return None

    def codegen(context, builder, signature, args):
        array = context.make_array(signature.args[0])(context, builder, args[0])
        n_cols = builder.extract_value(array.shape, 1)
        row = builder.gep(array.data, [builder.mul(context.cast(builder, args[1], signature.args[1], types.intp),
                                                   n_cols)])
        row = builder.bitcast(row, ir.IntType(8).as_pointer())
        size = context.get_abi_sizeof(context.get_data_type(signature.args[0].dtype))
        n_bytes = builder.mul(n_cols, ir.Constant(n_cols.type, size))
        i32 = ir.IntType(32)
        hint = cgutils.get_or_insert_function(
            builder.module, ir.FunctionType(ir.VoidType(), [row.type, i32, i32, i32]), "llvm.prefetch.p0")
        step = ir.Constant(n_bytes.type, 64)
        with cgutils.for_range_slice(builder, ir.Constant(n_bytes.type, 0), n_bytes, step) as (offset, _):
            # read (0), keep in all cache levels (3), data (1)
            builder.call(hint, [builder.gep(row, [offset]), i32(0), i32(3), i32(1)])
        return context.get_dummy_value()

    return types.void(X, i), codegen


class Model:
    """Base class: subclasses set ``n_params``, ``spec``, ``_loss_grad`` and
    ``_scores`` and may override ``init_params`` and ``n_buffers``."""

    n_buffers = 0
    classifier = True

    def new_buffers(self):
        """Fresh running statistics (empty unless the model has batch normalization)."""
        return np.zeros(self.n_buffers, dtype=np.float64)

    # -- checks ---------------------------------------------------------------
    def _check_theta(self, theta):
        _checks.float_array(theta, "theta")
        if theta.shape != (self.n_params,):
            raise ValueError(
                f"theta must be a flat vector of {self.n_params} parameters for {self!r}, got shape "
                f"{theta.shape}; create one with model.init_params()"
            )
        return np.ascontiguousarray(theta)

    def check_data(self, X, y, dtype=None):
        """Validate (X, y) for this model; return C-contiguous copies in ``dtype``."""
        X = np.asarray(X)
        y = np.asarray(y)
        if X.ndim != 2:
            raise ValueError(f"X must be 2-D (samples × features), got shape {X.shape}")
        if X.shape[0] == 0:
            raise ValueError("X has no rows: there is no data to train on")
        if X.shape[1] != self.n_features:
            raise ValueError(f"X has {X.shape[1]} features but the model expects {self.n_features}")
        if y.shape != (X.shape[0],):
            raise ValueError(f"y must have one entry per row of X: shape ({X.shape[0]},), got {y.shape}")
        if not np.issubdtype(X.dtype, np.number) or np.iscomplexobj(X):
            raise TypeError(f"X must hold real numbers, got dtype {X.dtype}")
        dtype = np.dtype(dtype or (X.dtype if X.dtype in (np.float32, np.float64) else np.float64))
        X = np.ascontiguousarray(X, dtype=dtype)
        y = np.ascontiguousarray(y, dtype=dtype)
        if not np.all(np.isfinite(X)):
            raise ValueError("X contains NaN or infinite values; clean or impute them first")
        if not np.all(np.isfinite(y)):
            raise ValueError("y contains NaN or infinite values")
        if self.classifier:
            labels = y.astype(np.int64)
            if np.any(labels != y) or labels.min() < 0 or labels.max() >= self.n_classes:
                raise ValueError(
                    f"y must hold class labels 0 … {self.n_classes - 1} for {self!r}; "
                    f"got values from {y.min()} to {y.max()}"
                )
        return X, y

    # -- evaluation from Python ---------------------------------------------
    def loss(self, theta, X, y, buffers=None):
        """Mean loss J(θ) over all rows (evaluation mode)."""
        theta = self._check_theta(theta)
        X, y = self.check_data(X, y, theta.dtype)
        idx = np.arange(X.shape[0], dtype=np.int64)
        empty = np.empty(0, dtype=theta.dtype)
        return self._loss_grad(theta, X, y, idx, empty, self.spec, self._buffers(buffers), EVAL)

    def loss_and_gradient(self, theta, X, y, buffers=None):
        """(J, ∇J) on all rows, with batch statistics where the model has any."""
        theta = self._check_theta(theta)
        X, y = self.check_data(X, y, theta.dtype)
        idx = np.arange(X.shape[0], dtype=np.int64)
        grad = np.empty_like(theta)
        buffers = self._buffers(buffers).copy()
        value = self._loss_grad(theta, X, y, idx, grad, self.spec, buffers, TRAIN_FROZEN)
        return value, grad

    def gradient(self, theta, X, y, buffers=None):
        """∇J(θ) on all rows."""
        return self.loss_and_gradient(theta, X, y, buffers)[1]

    def scores(self, theta, X, buffers=None):
        """Model outputs: predictions (regression), P(y = 1) (logistic) or class scores."""
        theta = self._check_theta(theta)
        X = np.asarray(X)
        if X.ndim != 2 or X.shape[1] != self.n_features:
            raise ValueError(f"X must have shape (n, {self.n_features}), got {X.shape}")
        X = np.ascontiguousarray(X, dtype=theta.dtype)
        return self._scores(theta, X, self.spec, self._buffers(buffers))

    def predict(self, theta, X, buffers=None):
        """Predicted targets (regression) or class labels (classification)."""
        s = self.scores(theta, X, buffers)
        if not self.classifier:
            return s
        if s.ndim == 1:
            return (s > 0.5).astype(np.int64)
        return np.argmax(s, axis=1)

    def accuracy(self, theta, X, y, buffers=None):
        """Fraction of rows classified correctly."""
        return float(np.mean(self.predict(theta, X, buffers) == np.asarray(y)))

    def _buffers(self, buffers):
        if buffers is None:
            if self.n_buffers:
                raise ValueError(
                    f"{self!r} uses batch normalization: pass the running statistics (buffers=...) "
                    "that training returned"
                )
            return np.zeros(0)
        buffers = np.ascontiguousarray(buffers, dtype=np.float64)
        if buffers.shape != (self.n_buffers,):
            raise ValueError(f"buffers must have shape ({self.n_buffers},), got {buffers.shape}")
        return buffers
