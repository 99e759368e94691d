"""Wrong answers, one per common mistake, as students write them.

Each entry: (question, the function's wrong source, words the diagnosis must contain).
The source replaces the correct function in ``correct.py``.
"""

MISTAKES = [
    ("momentum_step", '''
def momentum_step(theta, g, state, eta, gamma):
    v = gamma * state["v"] + (1 - gamma) * g
    return theta - eta * v, {"v": v}
''', "exponential moving average"),
    ("momentum_step", '''
def momentum_step(theta, g, state, eta, gamma):
    v = gamma * state["v"] + g
    return theta - eta * v, {"v": v}
''', "η multiplies it afterwards"),
    ("momentum_step", '''
def momentum_step(theta, g, state, eta, gamma):
    v = gamma * state["v"] + eta * g
    return theta + v, {"v": v}
''', "uphill"),
    ("momentum_step", '''
def momentum_step(theta, g, state, eta, gamma):
    state["v"] *= gamma
    state["v"] += eta * g
    theta -= state["v"]
    return theta, state
''', "Do not modify the arrays passed in"),
    ("nesterov_step", '''
def nesterov_step(theta, state, grad_fn, eta, gamma):
    v = gamma * state["v"] + eta * grad_fn(theta)
    return theta - v, {"v": v}
''', "classical momentum"),
    ("tuned_heavy_ball", '''
def tuned_heavy_ball(A):
    mu, L = A.diagonal().min(), A.diagonal().max()
    r = (np.sqrt(L / mu) - 1) / (np.sqrt(L / mu) + 1)
    return (2 / (np.sqrt(L) + np.sqrt(mu))) ** 2, r * r, r
''', "diagonal of A"),
    ("tuned_heavy_ball", '''
def tuned_heavy_ball(A):
    lam = np.linalg.eigvalsh(A)
    kappa = lam[-1] / lam[0]
    r = (kappa - 1) / (kappa + 1)
    return 4 / (np.sqrt(lam[-1]) + np.sqrt(lam[0])) ** 2, r**2, r
''', "square root of the condition number"),
    ("tuned_heavy_ball", '''
def tuned_heavy_ball(A):
    lam = np.linalg.eigvalsh(A)
    r = (np.sqrt(lam[-1] / lam[0]) - 1) / (np.sqrt(lam[-1] / lam[0]) + 1)
    return 2 / (lam[-1] + lam[0]), r**2, r
''', "gradient descent's tuned step"),
    ("tuned_heavy_ball", '''
def tuned_heavy_ball(A):
    lam = np.linalg.eigvalsh(A)
    gamma = ((np.sqrt(lam[-1] / lam[0]) - 1) / (np.sqrt(lam[-1] / lam[0]) + 1)) ** 2
    return (2 / (np.sqrt(lam[-1]) + np.sqrt(lam[0]))) ** 2, gamma, gamma
''', "not γ* itself"),
    ("heavy_ball_rate", '''
def heavy_ball_rate(eta, gamma, A):
    return np.sqrt(gamma)
''', "real roots"),
    ("heavy_ball_rate", '''
def heavy_ball_rate(eta, gamma, A):
    lam = np.diag(A)
    return max(np.abs(np.roots([1.0, -(1 + gamma - eta * l), gamma])).max() for l in lam)
''', "diagonal of A"),
    ("adagrad_step", '''
def adagrad_step(theta, g, state, eta, eps):
    G = state["G"] + g * g
    return theta - eta / (np.sqrt(G) + eps) * g, {"G": G}
''', "ε outside the square root"),
    ("adadelta_step", '''
def adadelta_step(theta, g, state, gamma, eps):
    Eg2 = gamma * state["Eg2"] + (1 - gamma) * g * g
    guess = -np.sqrt(state["Edelta2"] + eps) / np.sqrt(Eg2 + eps) * g
    Ed = gamma * state["Edelta2"] + (1 - gamma) * guess * guess
    delta = -np.sqrt(Ed + eps) / np.sqrt(Eg2 + eps) * g
    return theta + delta, {"Eg2": Eg2, "Edelta2": Ed}
''', "RMS[Δθ]_t"),
    ("adadelta_step", '''
def adadelta_step(theta, g, state, gamma, eps):
    Eg2 = gamma * state["Eg2"] + (1 - gamma) * g * g
    delta = -np.sqrt(state["Edelta2"] + eps) / np.sqrt(Eg2 + eps) * g
    new = theta + delta
    Ed = gamma * state["Edelta2"] + (1 - gamma) * new * new
    return new, {"Eg2": Eg2, "Edelta2": Ed}
''', "θ² instead of the squared update"),
    ("rmsprop_step", '''
def rmsprop_step(theta, g, state, eta, gamma, eps):
    Eg2 = gamma * state["Eg2"] + (1 - gamma) * g * g
    return theta - eta / (np.sqrt(Eg2) + eps) * g, {"Eg2": Eg2}
''', "ε outside the square root"),
    ("adam_step", '''
def adam_step(theta, g, state, eta, beta1, beta2, eps):
    t = state["t"]
    m = beta1 * state["m"] + (1 - beta1) * g
    v = beta2 * state["v"] + (1 - beta2) * g * g
    m_hat = m / (1 - beta1 ** t); v_hat = v / (1 - beta2 ** t)
    return theta - eta * m_hat / (np.sqrt(v_hat) + eps), {"m": m, "v": v, "t": t + 1}
''', "before it is increased"),
    ("adam_step", '''
def adam_step(theta, g, state, eta, beta1, beta2, eps):
    t = state["t"] + 1
    m = beta1 * state["m"] + (1 - beta1) * g
    v = beta2 * state["v"] + (1 - beta2) * g * g
    m_hat = m / (1 - beta1 ** t); v_hat = v / (1 - beta2 ** t)
    return theta - eta * m_hat / (np.sqrt(v_hat) + eps), {"m": m, "v": v, "t": state["t"]}
''', "never changes"),
    ("adam_step", '''
def adam_step(theta, g, state, eta, beta1, beta2, eps):
    t = state["t"] + 1
    m = beta1 * state["m"] + (1 - beta1) * g
    v = beta2 * state["v"] + (1 - beta2) * g * g
    return theta - eta * m / (np.sqrt(v) + eps), {"m": m, "v": v, "t": t}
''', "bias correction"),
    ("adam_step", '''
def adam_step(theta, g, state, eta, beta1, beta2, eps):
    t = state["t"] + 1
    m = beta1 * state["m"] + (1 - beta1) * g
    v = beta2 * state["v"] + (1 - beta2) * g * g
    m_hat = m / (1 - beta1 ** t); v_hat = v / (1 - beta2 ** t)
    return theta - eta * m_hat / np.sqrt(v_hat + eps), {"m": m, "v": v, "t": t}
''', "inside the square root"),
    ("adam_step", '''
def adam_step(theta, g, state, eta, beta1, beta2, eps):
    t = state["t"] + 1
    if state["t"] == 0:
        m, v = g.copy(), g * g
    else:
        m = beta1 * state["m"] + (1 - beta1) * g
        v = beta2 * state["v"] + (1 - beta2) * g * g
    m_hat = m / (1 - beta1 ** t); v_hat = v / (1 - beta2 ** t)
    return theta - eta * m_hat / (np.sqrt(v_hat) + eps), {"m": m, "v": v, "t": t}
''', "start from the first gradient"),
    ("adam_step", '''
def adam_step(theta, g, state, eta, beta1, beta2, eps):
    t = state["t"] + 1
    m = beta1 * state["m"] + (1 - beta1) * g
    v = beta2 * state["v"] + (1 - beta2) * g * g
    m_hat = m / (1 - beta1 ** t); v_hat = v / (1 - beta2 ** t)
    return theta + eta * m_hat / (np.sqrt(v_hat) + eps), {"m": m, "v": v, "t": t}
''', "step 1"),
    ("adamax_step", '''
def adamax_step(theta, g, state, eta, beta1, beta2):
    t = state["t"] + 1
    m = beta1 * state["m"] + (1 - beta1) * g
    u = np.maximum(beta2 * state["u"], np.abs(g))
    return theta - eta / (1 - beta1 ** t) * m / u, {"m": m, "u": u, "t": t}
''', "0/0 = NaN"),
    ("nadam_step", '''
def nadam_step(theta, g, state, eta, beta1, beta2, eps):
    t = state["t"] + 1
    m = beta1 * state["m"] + (1 - beta1) * g
    v = beta2 * state["v"] + (1 - beta2) * g * g
    m_hat = m / (1 - beta1 ** t); v_hat = v / (1 - beta2 ** t)
    return theta - eta * m_hat / (np.sqrt(v_hat) + eps), {"m": m, "v": v, "t": t}
''', "Your step is Adam's"),
    ("amsgrad_step", '''
def amsgrad_step(theta, g, state, eta, beta1, beta2, eps):
    m = beta1 * state["m"] + (1 - beta1) * g
    v = beta2 * state["v"] + (1 - beta2) * g * g
    v_hat = np.maximum(state["v_hat"], g * g)
    return theta - eta * m / (np.sqrt(v_hat) + eps), {"m": m, "v": v, "v_hat": v_hat}
''', "maximum is over the squared gradients"),
    ("epoch_batches", '''
def epoch_batches(n, batch_size, rng):
    order = rng.permutation(n)
    return [order[i:i + batch_size] for i in range(0, n - batch_size + 1, batch_size)]
''', "last, smaller batch is missing"),
    ("epoch_batches", '''
def epoch_batches(n, batch_size, rng):
    rows = rng.integers(0, n, size=n)
    return [rows[i:i + batch_size] for i in range(0, n, batch_size)]
''', "skipped"),
    ("epoch_batches", '''
def epoch_batches(n, batch_size, rng):
    order = np.arange(n)
    return [order[i:i + batch_size] for i in range(0, n, batch_size)]
''', "not shuffled"),
    ("batch_gradient", '''
def batch_gradient(theta, X, y):
    r = X @ theta[:-1] + theta[-1] - y
    return np.append(X.T @ r, r.sum())
''', "summed over the batch"),
    ("sgd_epoch", '''
def sgd_epoch(theta, X, y, eta, batch_size, rng):
    for rows in epoch_batches(len(y), batch_size, rng):
        r = X[rows] @ theta[:-1] + theta[-1] - y[rows]
        theta = theta - eta * np.append(X[rows].T @ r, r.sum())
    return theta
''', "summed batch gradient"),
    ("early_stopping", '''
def early_stopping(val_losses, patience, min_delta=0.0):
    best, best_epoch = None, None
    for epoch, loss in enumerate(val_losses):
        if best is None or loss < best - min_delta:
            best, best_epoch = loss, epoch
        elif epoch - best_epoch >= patience:
            return epoch, best_epoch
    return len(val_losses) - 1, best_epoch
''', "wait for more than"),
    ("early_stopping", '''
def early_stopping(val_losses, patience, min_delta=0.0):
    best, best_epoch = None, None
    for epoch, loss in enumerate(val_losses):
        if best is None or loss < best - min_delta:
            best, best_epoch = loss, epoch
        elif epoch - best_epoch > patience:
            return epoch, epoch
    return len(val_losses) - 1, len(val_losses) - 1
''', "not the epoch where training stopped"),
    ("noisy_gradient", '''
def noisy_gradient(g, t, eta_noise, gamma, rng):
    return g + eta_noise / (1 + t) ** gamma * rng.standard_normal(g.shape)
''', "is the variance"),
    ("easgd_round", '''
def easgd_round(workers, center, grads, eta, rho):
    new = workers - eta * (grads + rho * (workers - center))
    return new, center + eta * rho * (new - center).sum(axis=0)
''', "before the round"),
    ("easgd_round", '''
def easgd_round(workers, center, grads, eta, rho):
    pull = workers - center
    return workers - eta * (grads + rho * pull), center + eta * rho * pull.mean(axis=0)
''', "sums over the workers"),
    ("adarevision_update", '''
def adarevision_update(theta, g_sum, z, z_max, g, g_old, eta, eps):
    g_bck = g_sum - g_old
    lr_old = eta / np.sqrt(z_max + eps)
    z = z + g * g
    z_max = np.maximum(z_max, z)
    lr_new = eta / np.sqrt(z_max + eps)
    return theta - lr_new * g + (lr_old - lr_new) * g_bck, g_sum + g, z, z_max
''', "cross term"),
    ("adarevision_update", '''
def adarevision_update(theta, g_sum, z, z_max, g, g_old, eta, eps):
    z = z + g * g + 2 * g * (g_sum - g_old)
    z_max = np.maximum(z_max, z)
    return theta - eta / np.sqrt(z_max + eps) * g, g_sum + g, z, z_max
''', "must be revised"),
    ("adarevision_update", '''
def adarevision_update(theta, g_sum, z, z_max, g, g_old, eta, eps):
    backlog = g_sum - g_old
    z_new = z + g**2 + 2 * g * backlog
    z_max_new = np.maximum(z_max, z_new)
    rate_before, rate_after = eta / np.sqrt(z_max + eps), eta / np.sqrt(z_max_new + eps)
    return theta - rate_after * g - (rate_before - rate_after) * backlog, g_sum + g, z_new, z_max_new
''', "Sign error in the revision"),
    ("adarevision_update", '''
def adarevision_update(theta, g_sum, z, z_max, g, g_old, eta, eps):
    g_bck = g_sum - g_old
    lr_old = eta / np.sqrt(z_max + eps)
    z = z + g * g + 2 * g * g_bck
    lr_new = eta / np.sqrt(z + eps)
    return theta - lr_new * g + (lr_old - lr_new) * g_bck, g_sum + g, z, z
''', "never decreases"),
    ("adamw_step", '''
def adamw_step(theta, g, state, eta, beta1, beta2, eps, weight_decay):
    g = g + weight_decay * theta
    t = state["t"] + 1
    m = beta1 * state["m"] + (1 - beta1) * g
    v = beta2 * state["v"] + (1 - beta2) * g * g
    m_hat = m / (1 - beta1 ** t); v_hat = v / (1 - beta2 ** t)
    return theta - eta * m_hat / (np.sqrt(v_hat) + eps), {"m": m, "v": v, "t": t}
''', "L2 regularisation"),
    ("adamw_step", '''
def adamw_step(theta, g, state, eta, beta1, beta2, eps, weight_decay):
    t = state["t"] + 1
    m = beta1 * state["m"] + (1 - beta1) * g
    v = beta2 * state["v"] + (1 - beta2) * g * g
    theta = theta - eta * (m / (1 - beta1 ** t)) / (np.sqrt(v / (1 - beta2 ** t)) + eps)
    return theta - eta * weight_decay * theta, {"m": m, "v": v, "t": t}
''', "after Adam's step"),
    ("warmup_cosine", '''
def warmup_cosine(t, eta, warmup, total, eta_min):
    if t <= warmup:
        return eta * t / warmup
    return eta_min + (eta - eta_min) * 0.5 * (1 + np.cos(np.pi * min(t - 1 - warmup, total) / total))
''', "spans T − W steps"),
    ("warmup_cosine", '''
def warmup_cosine(t, eta, warmup, total, eta_min):
    if t <= warmup:
        return eta * (t - 1) / warmup
    u = min(t - 1 - warmup, total - warmup)
    return eta_min + (eta - eta_min) * 0.5 * (1 + np.cos(np.pi * u / (total - warmup)))
''', "reaches η at step W + 1"),
    ("clip_by_global_norm", '''
def clip_by_global_norm(grads, max_norm):
    norm = np.sqrt(sum(np.sum(g * g) for g in grads))
    return [np.where(np.linalg.norm(g) > max_norm, g * max_norm / np.linalg.norm(g), g) for g in grads], norm
''', "by its own norm"),
    ("clip_by_global_norm", '''
def clip_by_global_norm(grads, max_norm):
    norm = np.sqrt(sum(np.sum(g * g) for g in grads))
    return [g * max_norm / norm for g in grads], norm
''', "already shorter than τ"),
    ("lamb_trust_ratio", '''
def lamb_trust_ratio(theta_layers, update_layers):
    w = np.concatenate([x.ravel() for x in theta_layers])
    u = np.concatenate([x.ravel() for x in update_layers])
    return np.linalg.norm(w) / np.linalg.norm(u)
''', "one ratio for the whole parameter vector"),
    ("lamb_trust_ratio", '''
def lamb_trust_ratio(theta_layers, update_layers):
    return np.array([np.linalg.norm(u) / np.linalg.norm(w) if np.linalg.norm(w) * np.linalg.norm(u) > 0 else 1.0
                     for w, u in zip(theta_layers, update_layers)])
''', "upside down"),
    ("lamb_trust_ratio", '''
def lamb_trust_ratio(theta_layers, update_layers):
    return np.array([np.linalg.norm(w) / np.linalg.norm(u) for w, u in zip(theta_layers, update_layers)])
''', "optax's convention"),
    ("lars_step", '''
def lars_step(theta_layers, grad_layers, velocity_layers, eta, gamma, weight_decay, trust_coefficient):
    w_all = np.concatenate([w.ravel() for w in theta_layers])
    g_all = np.concatenate([g.ravel() for g in grad_layers])
    r = trust_coefficient * np.linalg.norm(w_all) / (np.linalg.norm(g_all) + weight_decay * np.linalg.norm(w_all))
    vs = [gamma * v + eta * r * (g + weight_decay * w) for w, g, v in zip(theta_layers, grad_layers, velocity_layers)]
    return [w - v for w, v in zip(theta_layers, vs)], vs
''', "one trust ratio for the whole parameter vector"),
    ("lars_step", '''
def lars_step(theta_layers, grad_layers, velocity_layers, eta, gamma, weight_decay, trust_coefficient):
    new_theta, new_v = [], []
    for w, g, v in zip(theta_layers, grad_layers, velocity_layers):
        nw, ng = np.linalg.norm(w), np.linalg.norm(g)
        r = trust_coefficient * nw / ng if nw > 0 else 1.0
        v = gamma * v + eta * r * (g + weight_decay * w)
        new_theta.append(w - v); new_v.append(v)
    return new_theta, new_v
''', "leaves the weight decay out of its denominator"),
    ("lars_step", '''
def lars_step(theta_layers, grad_layers, velocity_layers, eta, gamma, weight_decay, trust_coefficient):
    new_theta, new_v = [], []
    for w, g, v in zip(theta_layers, grad_layers, velocity_layers):
        u = g + weight_decay * w
        nw, nu = np.linalg.norm(w), np.linalg.norm(u)
        r = trust_coefficient * nw / nu if nw > 0 and nu > 0 else 1.0
        v = gamma * v + eta * r * u
        new_theta.append(w - v); new_v.append(v)
    return new_theta, new_v
''', "optax's form"),
    ("lars_step", '''
def lars_step(theta_layers, grad_layers, velocity_layers, eta, gamma, weight_decay, trust_coefficient):
    new_theta, new_v = [], []
    for w, g, v in zip(theta_layers, grad_layers, velocity_layers):
        nw, ng = np.linalg.norm(w), np.linalg.norm(g)
        r = trust_coefficient * (ng + weight_decay * nw) / nw if nw > 0 else 1.0
        v = gamma * v + eta * r * (g + weight_decay * w)
        new_theta.append(w - v); new_v.append(v)
    return new_theta, new_v
''', "upside down"),
    ("lars_step", '''
def lars_step(theta_layers, grad_layers, velocity_layers, eta, gamma, weight_decay, trust_coefficient):
    new_theta, new_v = [], []
    for w, g, v in zip(theta_layers, grad_layers, velocity_layers):
        nw, ng = np.linalg.norm(w), np.linalg.norm(g)
        r = nw / (ng + weight_decay * nw) if nw > 0 else 1.0
        v = gamma * v + eta * r * (g + weight_decay * w)
        new_theta.append(w - v); new_v.append(v)
    return new_theta, new_v
''', "trust coefficient c"),
    ("lars_step", '''
def lars_step(theta_layers, grad_layers, velocity_layers, eta, gamma, weight_decay, trust_coefficient):
    new_theta, new_v = [], []
    for w, g, v in zip(theta_layers, grad_layers, velocity_layers):
        nw, ng = np.linalg.norm(w), np.linalg.norm(g)
        r = trust_coefficient * nw / (ng + weight_decay * nw) if nw > 0 else 1.0
        v = gamma * v + eta * r * g
        new_theta.append(w - v); new_v.append(v)
    return new_theta, new_v
''', "not g_l alone"),
    ("lars_step", '''
def lars_step(theta_layers, grad_layers, velocity_layers, eta, gamma, weight_decay, trust_coefficient):
    new_theta, new_v = [], []
    for w, g, v in zip(theta_layers, grad_layers, velocity_layers):
        nw, ng = np.linalg.norm(w), np.linalg.norm(g)
        local_lr = eta * trust_coefficient * nw / (ng + weight_decay * nw) if nw > 0 else eta
        v = gamma * v + eta * local_lr * (g + weight_decay * w)
        new_theta.append(w - v); new_v.append(v)
    return new_theta, new_v
''', "multiplied by η twice"),
    ("lars_step", '''
def lars_step(theta_layers, grad_layers, velocity_layers, eta, gamma, weight_decay, trust_coefficient):
    new_theta, new_v = [], []
    for w, g, v in zip(theta_layers, grad_layers, velocity_layers):
        nw, ng = np.linalg.norm(w), np.linalg.norm(g)
        r = trust_coefficient * nw / (ng + weight_decay * nw)
        v = gamma * v + eta * r * (g + weight_decay * w)
        new_theta.append(w - v); new_v.append(v)
    return new_theta, new_v
''', "still moves"),
    ("torch_adagrad_step", '''
def torch_adagrad_step(theta, g, state, eta, eps, lr_decay):
    t = state["t"] + 1
    G = state["G"] + g * g
    return theta - eta / (1 + (t - 1) * lr_decay) * g / np.sqrt(G + eps), {"G": G, "t": t}
''', "the seed's form"),
    ("torch_adagrad_step", '''
def torch_adagrad_step(theta, g, state, eta, eps, lr_decay):
    t = state["t"] + 1
    G = state["G"] + g * g
    return theta - eta / (1 + t * lr_decay) * g / (np.sqrt(G) + eps), {"G": G, "t": t}
''', "uses t instead of t − 1"),
]
