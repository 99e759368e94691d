"""A small multilayer perceptron for classification, with optional batch normalization.

Layers, for hidden layer l = 1 … L (h_l units) and the output layer::

    Z_l  = A_{l−1} W_l + b_l                       (A_0 = the batch X_B)
    Ẑ_l  = (Z_l − μ_B) / sqrt(σ²_B + ε_BN)         (batch normalization, optional)
    Z̃_l  = γ_l ⊙ Ẑ_l + β_l
    A_l  = φ(Z̃_l)                                  (φ = tanh or ReLU)
    logits = A_L W_out + b_out,  loss = mean cross-entropy of softmax(logits)

μ_B and σ²_B are the mean and (biased) variance of each unit over the batch
(Ioffe and Szegedy, 2015). Training keeps running averages of them (momentum
0.1) in the model's buffers, and evaluation uses those. Backpropagation goes
through the normalization, as the seed describes.

θ holds, layer by layer, W_l (row by row), b_l and, with batch normalization,
γ_l and β_l; then W_out and b_out.
"""

from __future__ import annotations

import numpy as np

from .. import _checks
from .._numba import jit
from .base import EVAL, TRAIN, Model

BN_EPS = 1e-5
BN_MOMENTUM = 0.1
ACTIVATIONS = ("tanh", "relu")

# spec = [p, K, activation, batchnorm, L, h_1, …, h_L]


@jit
def _layout(spec):
    """Offsets into θ and the buffers: rows l = 0 … L (L is the output layer);
    columns: fan-in, fan-out, W, b, γ, β, running mean, running variance."""
    p, K, bn, L = spec[0], spec[1], spec[3], spec[4]
    table = np.zeros((L + 1, 8), dtype=np.int64)
    offset, buf, fan_in = 0, 0, p
    for l in range(L + 1):
        fan_out = spec[5 + l] if l < L else K
        table[l, 0], table[l, 1] = fan_in, fan_out
        table[l, 2] = offset
        offset += fan_in * fan_out
        table[l, 3] = offset
        offset += fan_out
        if bn and l < L:
            table[l, 4] = offset
            table[l, 5] = offset + fan_out
            offset += 2 * fan_out
            table[l, 6] = buf
            table[l, 7] = buf + fan_out
            buf += 2 * fan_out
        fan_in = fan_out
    return table


@jit
def _weights(theta, row):
    return theta[row[2] : row[2] + row[0] * row[1]].reshape((row[0], row[1]))


@jit
def _forward(theta, A0, spec, buffers, mode):
    """Returns (activations A_0 … A_L, normalized Ẑ_l, 1/σ_l, logits)."""
    table = _layout(spec)
    act, bn, L = spec[2], spec[3], spec[4]
    B = A0.shape[0]
    T = A0.dtype.type
    inv_B, one = T(1.0 / B), T(1.0)
    acts = [A0]
    zhats = [np.empty((0, 0), dtype=A0.dtype)]
    inv_stds = [np.empty(0, dtype=A0.dtype)]
    A = A0
    for l in range(L):
        row = table[l]
        h = row[1]
        Z = np.dot(A, _weights(theta, row)) + theta[row[3] : row[3] + h]
        if bn:
            if mode == EVAL:
                mean = buffers[row[6] : row[6] + h].astype(A0.dtype)
                var = buffers[row[7] : row[7] + h].astype(A0.dtype)
            else:
                mean = Z.sum(axis=0) * inv_B
                var = ((Z - mean) ** 2).sum(axis=0) * inv_B
                if mode == TRAIN:
                    buffers[row[6] : row[6] + h] = (1 - BN_MOMENTUM) * buffers[row[6] : row[6] + h] + BN_MOMENTUM * mean
                    buffers[row[7] : row[7] + h] = (1 - BN_MOMENTUM) * buffers[row[7] : row[7] + h] + BN_MOMENTUM * var
            inv_std = one / np.sqrt(var + T(BN_EPS))
            Zhat = (Z - mean) * inv_std
            Z = Zhat * theta[row[4] : row[4] + h] + theta[row[5] : row[5] + h]
            zhats.append(Zhat)
            inv_stds.append(inv_std)
        if act == 0:
            A = np.tanh(Z)
        else:
            A = np.maximum(Z, T(0.0))
        acts.append(A)
    out = table[L]
    logits = np.dot(A, _weights(theta, out)) + theta[out[3] : out[3] + out[1]]
    return acts, zhats, inv_stds, logits


@jit
def _softmax_rows(logits):
    P = np.empty_like(logits)
    log_norm = np.empty(logits.shape[0], dtype=np.float64)
    for i in range(logits.shape[0]):
        top = logits[i].max()
        total = 0.0
        for k in range(logits.shape[1]):
            P[i, k] = np.exp(logits[i, k] - top)
            total += P[i, k]
        P[i] /= P.dtype.type(total)
        log_norm[i] = top + np.log(total)
    return P, log_norm


@jit
def mlp_loss_grad(theta, X, y, idx, grad, spec, buffers, mode):
    B = idx.size
    A0 = np.empty((B, X.shape[1]), dtype=X.dtype)
    for r in range(B):
        A0[r] = X[idx[r]]
    acts, zhats, inv_stds, logits = _forward(theta, A0, spec, buffers, mode)
    P, log_norm = _softmax_rows(logits)
    total = 0.0
    for r in range(B):
        total += log_norm[r] - logits[r, int(y[idx[r]])]
    if grad.size == 0:
        return total / B

    table = _layout(spec)
    act, bn, L = spec[2], spec[3], spec[4]
    T = X.dtype.type
    inv_B, one = T(1.0 / B), T(1.0)
    dZ = P  # becomes (softmax − e_y) / B
    for r in range(B):
        dZ[r, int(y[idx[r]])] -= 1.0
    dZ *= inv_B
    for l in range(L, -1, -1):
        row = table[l]
        A_prev = acts[l]
        W = _weights(theta, row)
        grad[row[2] : row[2] + row[0] * row[1]] = np.dot(A_prev.T, dZ).ravel()
        grad[row[3] : row[3] + row[1]] = dZ.sum(axis=0)
        if l == 0:
            break
        dA = np.dot(dZ, W.T)
        # back through the activation of hidden layer l − 1 (output A_prev)
        if act == 0:
            dZt = dA * (one - A_prev * A_prev)
        else:
            dZt = dA * (A_prev > 0).astype(X.dtype)
        prev = table[l - 1]
        h = prev[1]
        if bn:
            Zhat = zhats[l]
            inv_std = inv_stds[l]
            gamma = theta[prev[4] : prev[4] + h]
            grad[prev[4] : prev[4] + h] = (dZt * Zhat).sum(axis=0)
            grad[prev[5] : prev[5] + h] = dZt.sum(axis=0)
            dZhat = dZt * gamma
            if mode == EVAL:
                dZ = dZhat * inv_std
            else:  # through the batch mean and variance as well
                dZ = (dZhat - dZhat.sum(axis=0) * inv_B - Zhat * ((dZhat * Zhat).sum(axis=0) * inv_B)) * inv_std
        else:
            dZ = dZt
    return total / B


@jit
def mlp_scores(theta, X, spec, buffers):
    acts, zhats, inv_stds, logits = _forward(theta, X.copy(), spec, buffers, EVAL)
    P, log_norm = _softmax_rows(logits)
    return P


class MLP(Model):
    """A classifier with one or more hidden layers: tanh or ReLU, optional batch normalization.

    Parameters
    ----------
    n_features, n_classes : int
    hidden : tuple of int
        Units per hidden layer, e.g. (32,) or (64, 32).
    activation : {"tanh", "relu"}
    batchnorm : bool
        Normalize every hidden layer's pre-activations over the mini-batch.
    """

    def __init__(self, n_features, n_classes, hidden=(32,), activation="tanh", batchnorm=False):
        hidden = tuple(hidden)
        if not hidden or any(not isinstance(h, (int, np.integer)) or h < 1 for h in hidden):
            raise ValueError(f"hidden must be a non-empty tuple of positive layer sizes, got {hidden!r}")
        if activation not in ACTIVATIONS:
            raise ValueError(f"activation must be one of {ACTIVATIONS}, got {activation!r}")
        self.n_features = _checks.whole_number(n_features, "n_features")
        self.n_classes = _checks.whole_number(n_classes, "n_classes", low=2)
        self.hidden, self.activation, self.batchnorm = hidden, activation, bool(batchnorm)
        self.spec = np.array(
            [self.n_features, self.n_classes, ACTIVATIONS.index(activation), int(self.batchnorm), len(hidden),
             *hidden], dtype=np.int64)
        self._table = _layout(self.spec)
        last = self._table[-1]
        self.n_params = int(last[3] + last[1])
        self.n_buffers = 2 * sum(hidden) if self.batchnorm else 0
        self._loss_grad = mlp_loss_grad
        self._scores = mlp_scores

    def new_buffers(self):
        """Running means 0 and variances 1 for every batch-normalized unit."""
        buffers = np.zeros(self.n_buffers)
        for row in self._table[:-1]:
            if self.batchnorm:
                buffers[row[7] : row[7] + row[1]] = 1.0
        return buffers

    def init_params(self, seed=0, dtype=np.float64, scale=1.0):
        """Glorot-uniform weights times ``scale``, zero biases, γ = 1 and β = 0.

        ``scale`` far from 1 gives the badly initialised networks of the
        gradient-noise experiments.
        """
        rng = np.random.default_rng(seed)
        theta = np.zeros(self.n_params, dtype=dtype)
        for l, row in enumerate(self._table):
            fan_in, fan_out = row[0], row[1]
            limit = scale * np.sqrt(6.0 / (fan_in + fan_out))
            theta[row[2] : row[2] + fan_in * fan_out] = rng.uniform(-limit, limit, fan_in * fan_out)
            if self.batchnorm and l < len(self.hidden):
                theta[row[4] : row[4] + fan_out] = 1.0
        return theta

    def layers(self, adapt_biases=False):
        """The segments of θ for LARS and LAMB: W, b (and γ, β) of each layer, in θ's order.

        With ``adapt_biases=False`` (the usual choice) the biases and the
        batch-norm γ and β get neither weight decay nor a trust ratio.
        """
        from ..optim.layers import Layers

        cuts, flags, names = [0], [], []
        for l, row in enumerate(self._table):
            fan_in, fan_out = int(row[0]), int(row[1])
            parts = [("W", row[2], fan_in * fan_out, True), ("b", row[3], fan_out, adapt_biases)]
            if self.batchnorm and l < len(self.hidden):
                parts += [("gamma", row[4], fan_out, adapt_biases), ("beta", row[5], fan_out, adapt_biases)]
            for name, start, size, adapt in parts:
                assert start == cuts[-1]
                cuts.append(int(start + size))
                flags.append(bool(adapt))
                names.append(f"{name}{l + 1}")
        return Layers(cuts, decay=flags, trust=flags, names=names)

    def __repr__(self):
        return (f"MLP(n_features={self.n_features}, n_classes={self.n_classes}, hidden={self.hidden}, "
                f"activation={self.activation!r}, batchnorm={self.batchnorm})")
