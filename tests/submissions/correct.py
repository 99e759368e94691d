"""A correct answer to every exercise function (the corpus of wrong answers edits it)."""

import numpy as np

def momentum_init(theta): return {"v": np.zeros_like(theta, dtype=float)}
def momentum_step(theta, g, state, eta, gamma):
    v = gamma * state["v"] + eta * g
    return theta - v, {"v": v}
def nesterov_init(theta): return {"v": np.zeros_like(theta, dtype=float)}
def nesterov_step(theta, state, grad_fn, eta, gamma):
    g = grad_fn(theta - gamma * state["v"])
    v = gamma * state["v"] + eta * g
    return theta - v, {"v": v}
def tuned_heavy_ball(A):
    lam = np.linalg.eigvalsh(A)
    root = np.sqrt(lam[-1] / lam[0])
    rate = (root - 1) / (root + 1)
    return (2 / (np.sqrt(lam[-1]) + np.sqrt(lam[0]))) ** 2, rate**2, rate
def heavy_ball_rate(eta, gamma, A):
    return max(np.abs(np.roots([1.0, -(1 + gamma - eta * lam), gamma])).max() for lam in np.linalg.eigvalsh(A))
def adagrad_init(theta): return {"G": np.zeros_like(theta, dtype=float)}
def adagrad_step(theta, g, state, eta, eps):
    G = state["G"] + g * g
    return theta - eta / np.sqrt(G + eps) * g, {"G": G}
def torch_adagrad_init(theta): return {"G": np.zeros_like(theta, dtype=float), "t": 0}
def torch_adagrad_step(theta, g, state, eta, eps, lr_decay):
    t = state["t"] + 1
    G = state["G"] + g * g
    return theta - eta / (1 + (t - 1) * lr_decay) * g / (np.sqrt(G) + eps), {"G": G, "t": t}
def adadelta_init(theta): return {"Eg2": np.zeros_like(theta, dtype=float), "Edelta2": np.zeros_like(theta, dtype=float)}
def adadelta_step(theta, g, state, gamma, eps):
    Eg2 = gamma * state["Eg2"] + (1 - gamma) * g * g
    delta = -np.sqrt(state["Edelta2"] + eps) / np.sqrt(Eg2 + eps) * g
    Ed = gamma * state["Edelta2"] + (1 - gamma) * delta * delta
    return theta + delta, {"Eg2": Eg2, "Edelta2": Ed}
def rmsprop_init(theta): return {"Eg2": np.zeros_like(theta, dtype=float)}
def rmsprop_step(theta, g, state, eta, gamma, eps):
    Eg2 = gamma * state["Eg2"] + (1 - gamma) * g * g
    return theta - eta / np.sqrt(Eg2 + eps) * g, {"Eg2": Eg2}
def adam_init(theta): return {"m": np.zeros_like(theta, dtype=float), "v": np.zeros_like(theta, dtype=float), "t": 0}
def adam_step(theta, g, state, eta, beta1, beta2, eps):
    t = state["t"] + 1
    m = beta1 * state["m"] + (1 - beta1) * g
    v = beta2 * state["v"] + (1 - beta2) * g * g
    m_hat = m / (1 - beta1 ** t); v_hat = v / (1 - beta2 ** t)
    return theta - eta * m_hat / (np.sqrt(v_hat) + eps), {"m": m, "v": v, "t": t}
def adamax_init(theta): return {"m": np.zeros_like(theta, dtype=float), "u": np.zeros_like(theta, dtype=float), "t": 0}
def adamax_step(theta, g, state, eta, beta1, beta2):
    t = state["t"] + 1
    m = beta1 * state["m"] + (1 - beta1) * g
    u = np.maximum(beta2 * state["u"], np.abs(g))
    ratio = np.divide(m, u, out=np.zeros_like(m), where=u > 0)
    return theta - eta / (1 - beta1 ** t) * ratio, {"m": m, "u": u, "t": t}
def nadam_init(theta): return adam_init(theta)
def nadam_step(theta, g, state, eta, beta1, beta2, eps):
    t = state["t"] + 1
    m = beta1 * state["m"] + (1 - beta1) * g
    v = beta2 * state["v"] + (1 - beta2) * g * g
    m_hat = m / (1 - beta1 ** t); v_hat = v / (1 - beta2 ** t)
    return theta - eta / (np.sqrt(v_hat) + eps) * (beta1 * m_hat + (1 - beta1) * g / (1 - beta1 ** t)), {"m": m, "v": v, "t": t}
def amsgrad_init(theta): return {k: np.zeros_like(theta, dtype=float) for k in ("m", "v", "v_hat")}
def amsgrad_step(theta, g, state, eta, beta1, beta2, eps):
    m = beta1 * state["m"] + (1 - beta1) * g
    v = beta2 * state["v"] + (1 - beta2) * g * g
    v_hat = np.maximum(state["v_hat"], v)
    return theta - eta * m / (np.sqrt(v_hat) + eps), {"m": m, "v": v, "v_hat": v_hat}
def epoch_batches(n, batch_size, rng):
    order = rng.permutation(n)
    return [order[i:i + batch_size] for i in range(0, n, batch_size)]
def batch_gradient(theta, X, y):
    r = X @ theta[:-1] + theta[-1] - y
    return np.append(X.T @ r, r.sum()) / len(y)
def sgd_epoch(theta, X, y, eta, batch_size, rng):
    for rows in epoch_batches(len(y), batch_size, rng):
        theta = theta - eta * batch_gradient(theta, X[rows], y[rows])
    return theta
def early_stopping(val_losses, patience, min_delta=0.0):
    best, best_epoch = None, None
    for epoch, loss in enumerate(val_losses):
        if best is None or loss < best - min_delta:
            best, best_epoch = loss, epoch
        elif epoch - best_epoch > patience:
            return epoch, best_epoch
    return len(val_losses) - 1, best_epoch
def noisy_gradient(g, t, eta_noise, gamma, rng):
    return g + np.sqrt(eta_noise / (1 + t) ** gamma) * rng.standard_normal(g.shape)
def easgd_round(workers, center, grads, eta, rho):
    pull = workers - center
    return workers - eta * (grads + rho * pull), center + eta * rho * pull.sum(axis=0)
def adarevision_update(theta, g_sum, z, z_max, g, g_old, eta, eps):
    g_bck = g_sum - g_old
    lr_old = eta / np.sqrt(z_max + eps)
    z = z + g * g + 2 * g * g_bck
    z_max = np.maximum(z_max, z)
    lr_new = eta / np.sqrt(z_max + eps)
    return theta - lr_new * g + (lr_old - lr_new) * g_bck, g_sum + g, z, z_max
def adamw_init(theta): return {"m": np.zeros_like(theta, dtype=float), "v": np.zeros_like(theta, dtype=float), "t": 0}
def adamw_step(theta, g, state, eta, beta1, beta2, eps, weight_decay):
    t = state["t"] + 1
    m = beta1 * state["m"] + (1 - beta1) * g
    v = beta2 * state["v"] + (1 - beta2) * g * g
    m_hat = m / (1 - beta1 ** t); v_hat = v / (1 - beta2 ** t)
    return theta - eta * weight_decay * theta - eta * m_hat / (np.sqrt(v_hat) + eps), {"m": m, "v": v, "t": t}
def warmup_cosine(t, eta, warmup, total, eta_min):
    if t <= warmup:
        return eta * t / warmup
    u = min(t - 1 - warmup, total - warmup)
    return eta_min + (eta - eta_min) * 0.5 * (1 + np.cos(np.pi * u / (total - warmup)))
def clip_by_global_norm(grads, max_norm):
    norm = np.sqrt(sum(np.sum(g * g) for g in grads))
    factor = min(1.0, max_norm / norm)
    return [g * factor for g in grads], norm
def lamb_trust_ratio(theta_layers, update_layers):
    out = []
    for w, u in zip(theta_layers, update_layers):
        nw, nu = np.linalg.norm(w), np.linalg.norm(u)
        out.append(nw / nu if nw > 0 and nu > 0 else 1.0)
    return np.array(out)
def lars_step(theta_layers, grad_layers, velocity_layers, eta, gamma, weight_decay, trust_coefficient):
    new_theta, new_v = [], []
    for w, g, v in zip(theta_layers, grad_layers, velocity_layers):
        nw, ng = np.linalg.norm(w), np.linalg.norm(g)
        den = ng + weight_decay * nw
        r = trust_coefficient * nw / den if nw > 0 and den > 0 else 1.0
        v = gamma * v + eta * r * (g + weight_decay * w)
        new_theta.append(w - v)
        new_v.append(v)
    return new_theta, new_v
