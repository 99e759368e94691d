"""Models: gradients against central finite differences, shapes, predictions, bad data."""

import numpy as np
import pytest

from gdlib import data, models
from gdlib.models.base import EVAL, TRAIN


def _problem(model, rng, n=25):
    X = rng.standard_normal((n, model.n_features))
    if not model.classifier:
        y = rng.standard_normal(n)
    else:
        y = rng.integers(0, model.n_classes, n).astype(float)
    theta = model.init_params(3) + 0.2 * rng.standard_normal(model.n_params)
    return theta, X, y


MODELS = [
    models.LinearRegression(4),
    models.LogisticRegression(4),
    models.SoftmaxRegression(4, 3),
    models.MLP(4, 3, (5,), "tanh"),
    models.MLP(4, 3, (5, 4), "relu"),
    models.MLP(4, 3, (5,), "tanh", batchnorm=True),
    models.MLP(4, 3, (6, 5), "tanh", batchnorm=True),
]


@pytest.mark.parametrize("model", MODELS, ids=repr)
def test_gradient_passes_the_finite_difference_check(model, rng):
    theta, X, y = _problem(model, rng)
    assert models.check_gradient(model, theta, X, y) < 1e-4


def test_the_check_catches_a_wrong_hand_derived_gradient(rng):
    model = models.LinearRegression(4)
    theta, X, y = _problem(model, rng)
    right = model.gradient(theta, X, y)
    assert models.check_gradient(model, theta, X, y, gradient=lambda t, X, y: right) < 1e-6
    wrong = right.copy()
    wrong[-1] *= -1  # the bias's gradient with the wrong sign
    assert models.check_gradient(model, theta, X, y, gradient=lambda t, X, y: wrong) > 0.5
    with pytest.raises(ValueError, match="must return an array of shape"):
        models.check_gradient(model, theta, X, y, gradient=lambda t, X, y: right[:-1])


# (batch normalization couples the rows of a batch, so its models are left out)
@pytest.mark.parametrize("model", [m for m in MODELS if not m.n_buffers], ids=repr)
def test_minibatch_gradient_is_the_mean_over_its_rows(model, rng):
    theta, X, y = _problem(model, rng)
    g_all = model.gradient(theta, X, y)
    g_rows = np.mean([model.gradient(theta, X[i : i + 1], y[i : i + 1]) for i in range(len(y))], axis=0)
    np.testing.assert_allclose(g_all, g_rows, rtol=1e-10, atol=1e-12)


def test_linear_regression_loss_by_hand():
    m = models.LinearRegression(2)
    theta = np.array([1.0, -2.0, 0.5])
    X = np.array([[1.0, 1.0], [2.0, 0.0]])
    y = np.array([0.0, 1.0])
    # predictions −0.5 and 2.5, errors −0.5 and 1.5: mean ½ e² = (0.125 + 1.125) / 2
    assert m.loss(theta, X, y) == pytest.approx(0.625)
    np.testing.assert_allclose(m.gradient(theta, X, y), [(-0.5 + 3.0) / 2, -0.25, 0.5])


def test_softmax_loss_at_zero_parameters_is_log_k():
    m = models.SoftmaxRegression(3, 5)
    X = np.ones((4, 3))
    assert m.loss(np.zeros(m.n_params), X, np.arange(4.0)) == pytest.approx(np.log(5))


def test_logistic_loss_is_stable_for_huge_scores():
    m = models.LogisticRegression(1)
    X = np.array([[1e4], [-1e4]])
    assert np.isfinite(m.loss(np.array([1.0, 0.0]), X, np.array([0.0, 1.0])))


def test_batchnorm_running_statistics_are_updated_in_training_only(rng):
    m = models.MLP(4, 3, (5,), batchnorm=True)
    theta, X, y = _problem(m, rng)
    buffers = m.new_buffers()
    idx = np.arange(len(y))
    g = np.empty_like(theta)
    m._loss_grad(theta, X, y, idx, g, m.spec, buffers, EVAL)
    np.testing.assert_array_equal(buffers, m.new_buffers())
    m._loss_grad(theta, X, y, idx, g, m.spec, buffers, TRAIN)
    assert not np.array_equal(buffers, m.new_buffers())
    scores = m.scores(theta, X, buffers)
    np.testing.assert_allclose(scores.sum(axis=1), 1.0)


def test_float32_models_agree_with_float64(rng):
    m = models.MLP(4, 3, (5,))
    theta, X, y = _problem(m, rng)
    g64 = m.gradient(theta, X, y)
    g32 = m.gradient(theta.astype(np.float32), X.astype(np.float32), y)
    assert g32.dtype == np.float32
    np.testing.assert_allclose(g32, g64, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("call, error, words", [
    (lambda m, t: m.loss(t, np.ones((3, 5)), np.zeros(3)), ValueError, "X has 5 features but the model expects 4"),
    (lambda m, t: m.loss(t, np.ones((3, 4)), np.zeros(2)), ValueError, "one entry per row"),
    (lambda m, t: m.loss(t, np.ones((0, 4)), np.zeros(0)), ValueError, "X has no rows"),
    (lambda m, t: m.loss(t, np.full((2, 4), np.nan), np.zeros(2)), ValueError, "X contains NaN"),
    (lambda m, t: m.loss(t, np.ones((2, 4)), np.array([0.0, 3.0])), ValueError, "class labels 0 … 2"),
    (lambda m, t: m.loss(t, np.ones((2, 4)), np.array([0.0, 0.5])), ValueError, "class labels"),
    (lambda m, t: m.loss(t[:-1], np.ones((2, 4)), np.zeros(2)), ValueError, "flat vector of"),
    (lambda m, t: m.loss(t, np.ones(4), np.zeros(1)), ValueError, "X must be 2-D"),
    (lambda m, t: models.MLP(4, 3, ()), ValueError, "hidden must be"),
    (lambda m, t: models.MLP(4, 3, (5,), "sigmoid"), ValueError, "activation must be one of"),
    (lambda m, t: models.SoftmaxRegression(4, 1), ValueError, "n_classes must be"),
])
def test_bad_data_raises_clear_errors(call, error, words):
    m = models.SoftmaxRegression(4, 3)
    with pytest.raises(error, match=words):
        call(m, m.init_params())


def test_data_sets_are_seeded_and_well_formed():
    a, b = data.blobs(seed=3), data.blobs(seed=3)
    np.testing.assert_array_equal(a.X_train, b.X_train)
    assert not np.array_equal(a.X_train, data.blobs(seed=4).X_train)
    d = data.digits()
    assert d.n_classes == 10 and d.n_features == 64
    assert len(d.y_train) + len(d.y_val) + len(d.y_test) == 1797
    np.testing.assert_allclose(d.X_train.mean(axis=0), 0.0, atol=1e-12)
    z = data.sparse_zipf(n=400, p=100, seed=1)
    freq = data.feature_frequencies(z.X_train)
    assert freq[:5].mean() > 20 * freq[-20:].mean()  # Zipf: frequent head, rare tail
    assert np.all((z.X_train.sum(axis=1)) == 10)
    s = data.linear(n=50, p=3, noise=0.0, seed=2)
    w, b = data.linear_truth(3, seed=2)
    np.testing.assert_allclose(s.X_train @ w + b, s.y_train)
