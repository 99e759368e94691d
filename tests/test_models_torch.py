"""The models' losses and gradients against torch autograd, an independent oracle.

Each model is written again in torch from its documented layout (the
module docstrings of ``gdlib.models.softmax`` and ``gdlib.models.mlp``):
θ is cut into the same W (row by row), b, γ, β; torch computes the loss
and differentiates it. ``loss_and_gradient`` uses batch statistics for
batch normalization (biased variance, ε_BN = 1e-5) and ``loss`` the
running ones (the buffers); both are compared, in float64.
"""

import numpy as np
import pytest

from gdlib import models
from gdlib.models.mlp import BN_EPS

torch = pytest.importorskip("torch")


def _take(theta, offset, shape):
    n = int(np.prod(shape))
    return theta[offset:offset + n].reshape(shape), offset + n


def torch_softmax_loss(model, theta, X, y):
    p, K = model.n_features, model.n_classes
    W, o = _take(theta, 0, (p, K))
    b, o = _take(theta, o, (K,))
    assert o == theta.numel()
    return torch.nn.functional.cross_entropy(X @ W + b, y)


def torch_mlp_loss(model, theta, X, y, running=None):
    """``running``: (means, variances) per hidden layer for evaluation mode; None for batch statistics."""
    sizes = [model.n_features, *model.hidden]
    A, o = X, 0
    for l in range(len(model.hidden)):
        W, o = _take(theta, o, (sizes[l], sizes[l + 1]))
        b, o = _take(theta, o, (sizes[l + 1],))
        Z = A @ W + b
        if model.batchnorm:
            gamma, o = _take(theta, o, (sizes[l + 1],))
            beta, o = _take(theta, o, (sizes[l + 1],))
            if running is None:
                mean, var = Z.mean(dim=0), Z.var(dim=0, unbiased=False)
            else:
                mean, var = running[l]
            Z = gamma * (Z - mean) / torch.sqrt(var + BN_EPS) + beta
        A = torch.tanh(Z) if model.activation == "tanh" else torch.relu(Z)
    W, o = _take(theta, o, (sizes[-1], model.n_classes))
    b, o = _take(theta, o, (model.n_classes,))
    assert o == theta.numel()
    return torch.nn.functional.cross_entropy(A @ W + b, y)


MODELS = [
    (models.SoftmaxRegression(5, 4), torch_softmax_loss),
    (models.MLP(5, 3, (6,), "tanh"), torch_mlp_loss),
    (models.MLP(5, 4, (6, 4), "relu"), torch_mlp_loss),
    (models.MLP(5, 3, (6,), "tanh", batchnorm=True), torch_mlp_loss),
    (models.MLP(5, 4, (7, 5), "relu", batchnorm=True), torch_mlp_loss),
]


def _problem(model, seed, n=30):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, model.n_features))
    y = rng.integers(0, model.n_classes, n)
    theta = model.init_params(seed) + 0.3 * rng.standard_normal(model.n_params)
    return theta, X, y


@pytest.mark.parametrize("seed", [0, 1])
@pytest.mark.parametrize("model, torch_loss", MODELS, ids=[repr(m[0]) for m in MODELS])
def test_loss_and_gradient_match_torch_autograd(model, torch_loss, seed):
    theta, X, y = _problem(model, seed)
    value, grad = model.loss_and_gradient(theta, X, y.astype(float), model.new_buffers())  # batch statistics
    t = torch.tensor(theta, dtype=torch.float64, requires_grad=True)
    expected = torch_loss(model, t, torch.tensor(X), torch.tensor(y))
    expected.backward()
    assert value == pytest.approx(expected.item(), rel=1e-12)
    np.testing.assert_allclose(grad, t.grad.numpy(), rtol=1e-9, atol=1e-12 * np.abs(t.grad.numpy()).max())


@pytest.mark.parametrize("model", [m for m, _ in MODELS if getattr(m, "batchnorm", False)], ids=repr)
def test_evaluation_loss_uses_the_running_statistics_like_torch(model):
    theta, X, y = _problem(model, 3)
    rng = np.random.default_rng(4)
    buffers = model.new_buffers()
    running = []
    for l, h in enumerate(model.hidden):
        mean, var = rng.standard_normal(h), rng.uniform(0.5, 2.0, h)
        row = model._table[l]
        buffers[row[6]:row[6] + h], buffers[row[7]:row[7] + h] = mean, var
        running.append((torch.tensor(mean), torch.tensor(var)))
    expected = torch_mlp_loss(model, torch.tensor(theta), torch.tensor(X), torch.tensor(y), running)
    assert model.loss(theta, X, y.astype(float), buffers) == pytest.approx(expected.item(), rel=1e-12)


# ------------------------------------------------------------ check_gradient
class _WrongGradient(models.SoftmaxRegression):
    """The right loss, a gradient wrong in one coordinate by ``error`` (relative)."""

    def __init__(self, n_features, n_classes, coordinate, error):
        super().__init__(n_features, n_classes)
        right = self._loss_grad

        def loss_grad(theta, X, y, idx, grad, spec, buffers, mode):
            value = right(theta, X, y, idx, grad, spec, buffers, mode)
            if grad.size:
                grad[coordinate] *= 1.0 + error
            return value

        self._loss_grad = loss_grad


@pytest.mark.parametrize("coordinate", [0, 7, 14])  # a weight, another weight, a bias
def test_check_gradient_rejects_a_wrong_gradient(coordinate):
    right = models.SoftmaxRegression(4, 3)
    wrong = _WrongGradient(4, 3, coordinate, error=0.02)
    theta, X, y = _problem(right, 5)
    y = y.astype(float)
    assert models.check_gradient(right, theta, X, y) < 1e-6
    # 2 % off in one coordinate: a relative error of about 1e-2, far above the 1e-4 the tests accept
    assert models.check_gradient(wrong, theta, X, y) > 5e-3
    # ... and found by sampling coordinates only when the sample includes it
    assert models.check_gradient(wrong, theta, X, y, n_coords=theta.size) > 5e-3
