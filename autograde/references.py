"""What a correct answer computes, from gdlib, and what common mistakes compute.

Every exercise function has a *reference* built on gdlib (the course's ground
truth) and a list of *mistakes*: the wrong variants students actually write,
each with the plain-words explanation shown when a submission matches it. The
mistakes are small NumPy transcriptions of the wrong rule, deliberately.

Step functions share one calling convention (the one the exercises ask for):

    theta_new, state_new = step(theta, g, state, **hyper)

with ``state`` a dict of NumPy arrays (and the step count ``"t"`` where the
method needs one); the inputs must not be modified.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

import gdlib
from gdlib.models import LinearRegression
from gdlib.parallel import AdaptiveRevision, easgd_round
from gdlib.strategies import EarlyStopping, gradient_noise_std


@dataclass
class Mistake:
    name: str
    message: str
    fn: object


@dataclass
class StepQuestion:
    """An optimizer step to implement: ``function(theta, g, state, **hyper)``."""

    function: str
    init: str  # name of the student's init function, state = init(theta)
    keys: tuple  # array entries of the state (besides "t")
    has_t: bool
    hyper: dict
    reference: object
    mistakes: list = field(default_factory=list)
    gradient: str = "given"  # "given" (g passed in) or "lookahead" (grad_fn passed in)
    points: int = 5


def _gdlib_step(opt, theta, g, state, keys, has_t):
    """One gdlib step on copies; returns (theta, state) in the exercise's dict form."""
    theta = np.array(theta, dtype=np.float64)
    s = opt.init(theta)
    for k, name in zip(keys, opt.state_names):
        getattr(s, name)[...] = state[k]
    if has_t:
        s.counters[0] = state["t"]
    opt.step(theta, np.array(g, dtype=np.float64), s)
    new = {k: getattr(s, name).copy() for k, name in zip(keys, opt.state_names)}
    if has_t:
        new["t"] = s.t
    return theta, new


def _safe_divide(num, den):
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(den == 0, 0.0, num / np.where(den == 0, 1.0, den))


# ------------------------------------------------------------------ Momentum
def momentum_ref(theta, g, state, eta, gamma):
    return _gdlib_step(gdlib.Momentum(eta=eta, gamma=gamma, check_finite=False), theta, g, state, ("v",), False)


def _momentum_ema(theta, g, state, eta, gamma):
    v = gamma * state["v"] + (1 - gamma) * g
    return theta - eta * v, {"v": v}


def _momentum_eta_outside(theta, g, state, eta, gamma):
    v = gamma * state["v"] + g
    return theta - eta * v, {"v": v}


def _momentum_sign(theta, g, state, eta, gamma):
    v = gamma * state["v"] + eta * g
    return theta + v, {"v": v}


def _momentum_no_memory(theta, g, state, eta, gamma):
    v = eta * g
    return theta - v, {"v": v}


MOMENTUM = StepQuestion(
    "momentum_step", "momentum_init", ("v",), False, dict(eta=0.05, gamma=0.9), momentum_ref, [
        Mistake("ema_form", "You wrote momentum as an exponential moving average, v = γv + (1 − γ)g with θ ← θ − ηv. "
                "The book's rule is the sum form v_t = γ v_{t−1} + η g_t, θ_t = θ_{t−1} − v_t.", _momentum_ema),
        Mistake("eta_outside", "Your velocity accumulates raw gradients (v = γv + g) and η multiplies it afterwards: "
                "PyTorch's convention. The parameters come out right, but the book's v_t includes η: "
                "v_t = γ v_{t−1} + η g_t.", _momentum_eta_outside),
        Mistake("sign", "The parameters move uphill: subtract the velocity, θ_t = θ_{t−1} − v_t.", _momentum_sign),
        Mistake("no_memory", "Your velocity forgets the previous one: v_t must include γ v_{t−1}.",
                _momentum_no_memory),
    ])


# ------------------------------------------------------------------ Nesterov
def nesterov_ref(theta, state, grad_fn, eta, gamma):
    opt = gdlib.Nesterov(eta=eta, gamma=gamma, check_finite=False)
    theta = np.array(theta, dtype=np.float64)
    s = opt.init(theta)
    s.v[...] = state["v"]
    g = grad_fn(opt.lookahead(theta, s))
    opt.step(theta, g, s)
    return theta, {"v": s.v.copy()}


def _nesterov_at_theta(theta, state, grad_fn, eta, gamma):
    v = gamma * state["v"] + eta * grad_fn(theta)
    return theta - v, {"v": v}


def _nesterov_plus(theta, state, grad_fn, eta, gamma):
    v = gamma * state["v"] + eta * grad_fn(theta + gamma * state["v"])
    return theta - v, {"v": v}


def _nesterov_shifted(theta, state, grad_fn, eta, gamma):
    g = grad_fn(theta)
    v = gamma * state["v"] + eta * g
    return theta - (gamma * v + eta * g), {"v": v}


NESTEROV = StepQuestion(
    "nesterov_step", "nesterov_init", ("v",), False, dict(eta=0.05, gamma=0.9), nesterov_ref, [
        Mistake("gradient_at_theta", "You take the gradient at θ_{t−1}, which is classical momentum. Nesterov's "
                "gradient is taken at the look-ahead point θ_{t−1} − γ v_{t−1}.", _nesterov_at_theta),
        Mistake("lookahead_sign", "Your look-ahead point is θ + γv; the velocity is subtracted from θ, so look "
                "ahead to θ_{t−1} − γ v_{t−1}.", _nesterov_plus),
        Mistake("shifted_form", "You implemented the framework (shifted) form φ ← φ − (γ v_t + η g_t) with the "
                "gradient at the stored point. The exercise asks for the seed's form: gradient at "
                "θ_{t−1} − γ v_{t−1}, then θ_t = θ_{t−1} − v_t.", _nesterov_shifted),
    ], gradient="lookahead")


# ------------------------------------------------------------------- Adagrad
def adagrad_ref(theta, g, state, eta, eps):
    return _gdlib_step(gdlib.Adagrad(eta=eta, eps=eps, check_finite=False), theta, g, state, ("G",), False)


def _adagrad_eps_outside(theta, g, state, eta, eps):
    G = state["G"] + g * g
    return theta - eta * _safe_divide(g, np.sqrt(G) + eps), {"G": G}


def _adagrad_no_sqrt(theta, g, state, eta, eps):
    G = state["G"] + g * g
    return theta - eta * _safe_divide(g, G + eps), {"G": G}


def _adagrad_no_sum(theta, g, state, eta, eps):
    G = g * g
    return theta - eta * _safe_divide(g, np.sqrt(G + eps)), {"G": G}


def _adagrad_old_G(theta, g, state, eta, eps):
    G = state["G"] + g * g
    return theta - eta * _safe_divide(g, np.sqrt(state["G"] + eps)), {"G": G}


ADAGRAD = StepQuestion(
    "adagrad_step", "adagrad_init", ("G",), False, dict(eta=0.1, eps=1e-8), adagrad_ref, [
        Mistake("eps_outside", "You put ε outside the square root, sqrt(G) + ε. The book's Adagrad divides by "
                "sqrt(G_t + ε).", _adagrad_eps_outside),
        Mistake("no_sqrt", "You divide by G_t itself; Adagrad divides by its square root.", _adagrad_no_sqrt),
        Mistake("no_accumulation", "Your G_t is only the current g_t²: Adagrad sums all past squared gradients, "
                "G_t = G_{t−1} + g_t².", _adagrad_no_sum),
        Mistake("stale_G", "You divide by the previous G_{t−1}; add g_t² first and divide by sqrt(G_t + ε).",
                _adagrad_old_G),
    ])


# ------------------------------------------------------------------ Adadelta
def adadelta_ref(theta, g, state, gamma, eps):
    opt = gdlib.Adadelta(gamma=gamma, eps=eps, check_finite=False)
    return _gdlib_step(opt, theta, g, state, ("Eg2", "Edelta2"), False)


def _adadelta_generic(theta, g, state, gamma, eps, *, current_delta=False, squares_theta=False, lag=False):
    Eg2 = gamma * state["Eg2"] + (1 - gamma) * g * g
    if current_delta:  # RMS[Δθ]_t: update the average with a first guess of the step, then use it
        guess = -np.sqrt(state["Edelta2"] + eps) / np.sqrt(Eg2 + eps) * g
        Ed = gamma * state["Edelta2"] + (1 - gamma) * guess * guess
        delta = -np.sqrt(Ed + eps) / np.sqrt(Eg2 + eps) * g
        return theta + delta, {"Eg2": Eg2, "Edelta2": Ed}
    delta = -np.sqrt(state["Edelta2"] + eps) / np.sqrt(Eg2 + eps) * g
    new_theta = theta + delta
    if squares_theta:
        Ed = gamma * state["Edelta2"] + (1 - gamma) * new_theta * new_theta
    else:
        Ed = gamma * state["Edelta2"] + (1 - gamma) * delta * delta
    return new_theta, {"Eg2": Eg2, "Edelta2": Ed}


ADADELTA = StepQuestion(
    "adadelta_step", "adadelta_init", ("Eg2", "Edelta2"), False, dict(gamma=0.9, eps=1e-6), adadelta_ref, [
        Mistake("rms_delta_t", "Your numerator uses RMS[Δθ]_t, including the current step. Adadelta uses the "
                "previous one, RMS[Δθ]_{t−1}, because Δθ_t is not known yet.",
                lambda *a, **k: _adadelta_generic(*a, **k, current_delta=True)),
        Mistake("squares_theta", "You accumulate θ² instead of the squared update Δθ_t² in E[Δθ²].",
                lambda *a, **k: _adadelta_generic(*a, **k, squares_theta=True)),
    ])


# ------------------------------------------------------------------- RMSprop
def rmsprop_ref(theta, g, state, eta, gamma, eps):
    return _gdlib_step(gdlib.RMSprop(eta=eta, gamma=gamma, eps=eps, check_finite=False), theta, g, state,
                       ("Eg2",), False)


def _rmsprop_eps_outside(theta, g, state, eta, gamma, eps):
    Eg2 = gamma * state["Eg2"] + (1 - gamma) * g * g
    return theta - eta * _safe_divide(g, np.sqrt(Eg2) + eps), {"Eg2": Eg2}


def _rmsprop_swapped(theta, g, state, eta, gamma, eps):
    Eg2 = (1 - gamma) * state["Eg2"] + gamma * g * g
    return theta - eta * _safe_divide(g, np.sqrt(Eg2 + eps)), {"Eg2": Eg2}


RMSPROP = StepQuestion(
    "rmsprop_step", "rmsprop_init", ("Eg2",), False, dict(eta=0.01, gamma=0.9, eps=1e-8), rmsprop_ref, [
        Mistake("eps_outside", "You put ε outside the square root (PyTorch's form); the book's RMSprop divides by "
                "sqrt(E[g²]_t + ε).", _rmsprop_eps_outside),
        Mistake("swapped_decay", "γ and 1 − γ are swapped: the old average keeps weight γ, "
                "E[g²]_t = γ E[g²]_{t−1} + (1 − γ) g_t².", _rmsprop_swapped),
    ])


# ---------------------------------------------------------------------- Adam
def adam_ref(theta, g, state, eta, beta1, beta2, eps):
    opt = gdlib.Adam(eta=eta, beta1=beta1, beta2=beta2, eps=eps, check_finite=False)
    return _gdlib_step(opt, theta, g, state, ("m", "v"), True)


def _adam(theta, g, state, eta, beta1, beta2, eps, *, t_shift=0, advance=True, correct=True, inside=False,
          init_with_g=False):
    t = state["t"] + (1 if advance else 0)
    if init_with_g and state["t"] == 0:
        m, v = g.copy(), g * g
    else:
        m = beta1 * state["m"] + (1 - beta1) * g
        v = beta2 * state["v"] + (1 - beta2) * g * g
    tc = t + t_shift if advance else max(t, 1)
    with np.errstate(divide="ignore", invalid="ignore"):
        m_hat = m / (1 - beta1**tc) if correct else m
        v_hat = v / (1 - beta2**tc) if correct else v
        den = np.sqrt(v_hat + eps) if inside else np.sqrt(v_hat) + eps
        new = theta - eta * m_hat / den
    return new, {"m": m, "v": v, "t": t}


ADAM = StepQuestion(
    "adam_step", "adam_init", ("m", "v"), True, dict(eta=0.01, beta1=0.9, beta2=0.999, eps=1e-8), adam_ref, [
        Mistake("t_before_increment", "Your bias correction uses the step count before it is increased (t − 1): "
                "on the first step that divides by 1 − β⁰ = 0. Increase t first, then use 1 − β^t.",
                lambda *a, **k: _adam(*a, **k, t_shift=-1)),
        Mistake("t_plus_one", "Your bias correction uses t + 1: the first step must use 1 − β¹.",
                lambda *a, **k: _adam(*a, **k, t_shift=1)),
        Mistake("t_not_advanced", "Your step count t never changes: store t + 1 in the returned state.",
                lambda *a, **k: _adam(*a, **k, advance=False)),
        Mistake("no_bias_correction", "You did not divide m_t by 1 − β1^t and v_t by 1 − β2^t (bias correction).",
                lambda *a, **k: _adam(*a, **k, correct=False)),
        Mistake("eps_inside", "You put ε inside the square root (You's slides); this exercise follows Ruder: "
                "divide by sqrt(v̂_t) + ε.", lambda *a, **k: _adam(*a, **k, inside=True)),
        Mistake("init_with_g", "Your moments start from the first gradient (m = g, v = g²) instead of from zero; "
                "the averages start at 0 and the bias correction accounts for it.",
                lambda *a, **k: _adam(*a, **k, init_with_g=True)),
    ])


# -------------------------------------------------------------------- AdaMax
def adamax_ref(theta, g, state, eta, beta1, beta2):
    opt = gdlib.AdaMax(eta=eta, beta1=beta1, beta2=beta2, check_finite=False)
    return _gdlib_step(opt, theta, g, state, ("m", "u"), True)


def _adamax(theta, g, state, eta, beta1, beta2, *, nan=False, correct_u=False, no_decay=False):
    t = state["t"] + 1
    m = beta1 * state["m"] + (1 - beta1) * g
    u = np.maximum(state["u"] if no_decay else beta2 * state["u"], np.abs(g))
    den = u / (1 - beta2**t) if correct_u else u
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = m / den if nan else _safe_divide(m, den)
    return theta - eta / (1 - beta1**t) * ratio, {"m": m, "u": u, "t": t}


ADAMAX = StepQuestion(
    "adamax_step", "adamax_init", ("m", "u"), True, dict(eta=0.002, beta1=0.9, beta2=0.999), adamax_ref, [
        Mistake("nan_zero_over_zero", "Where every gradient so far was zero, u_t = 0 and m_t = 0, and your code "
                "computes 0/0 = NaN. Take no step there (the limit of the rule).",
                lambda *a, **k: _adamax(*a, **k, nan=True)),
        Mistake("bias_corrected_u", "You bias-corrected u_t; a maximum does not shrink towards its zero start, "
                "so only m_t is corrected.", lambda *a, **k: _adamax(*a, **k, correct_u=True)),
        Mistake("no_decay", "Your u_t = max(u_{t−1}, |g_t|) never decays: multiply the old value by β2.",
                lambda *a, **k: _adamax(*a, **k, no_decay=True)),
    ])


# --------------------------------------------------------------------- Nadam
def nadam_ref(theta, g, state, eta, beta1, beta2, eps):
    opt = gdlib.Nadam(eta=eta, beta1=beta1, beta2=beta2, eps=eps, check_finite=False)
    return _gdlib_step(opt, theta, g, state, ("m", "v"), True)


def nadam_optax(theta, g, state, eta, beta1, beta2, eps):
    opt = gdlib.Nadam(eta=eta, beta1=beta1, beta2=beta2, eps=eps, form="optax", check_finite=False)
    return _gdlib_step(opt, theta, g, state, ("m", "v"), True)


NADAM = StepQuestion(
    "nadam_step", "nadam_init", ("m", "v"), True, dict(eta=0.002, beta1=0.9, beta2=0.999, eps=1e-8), nadam_ref, [
        Mistake("plain_adam", "Your step is Adam's: Nadam replaces β1·m̂_{t−1} by β1·m̂_t and adds the current "
                "gradient's term (1 − β1) g_t / (1 − β1^t).", adam_ref),
        Mistake("optax_form", "You corrected the look-ahead term with 1 − β1^{t+1} (optax's and Dozat's form); "
                "the exercise asks for the seed's equation, β1·m̂_t with m̂_t = m_t / (1 − β1^t).", nadam_optax),
    ])


# ------------------------------------------------------------------- AMSGrad
def amsgrad_ref(theta, g, state, eta, beta1, beta2, eps):
    opt = gdlib.AMSGrad(eta=eta, beta1=beta1, beta2=beta2, eps=eps, check_finite=False)
    return _gdlib_step(opt, theta, g, state, ("m", "v", "v_hat"), False)


def _amsgrad_max_g2(theta, g, state, eta, beta1, beta2, eps):
    m = beta1 * state["m"] + (1 - beta1) * g
    v = beta2 * state["v"] + (1 - beta2) * g * g
    v_hat = np.maximum(state["v_hat"], g * g)
    return theta - eta * m / (np.sqrt(v_hat) + eps), {"m": m, "v": v, "v_hat": v_hat}


def _amsgrad_no_max(theta, g, state, eta, beta1, beta2, eps):
    m = beta1 * state["m"] + (1 - beta1) * g
    v = beta2 * state["v"] + (1 - beta2) * g * g
    return theta - eta * m / (np.sqrt(v) + eps), {"m": m, "v": v, "v_hat": v}


AMSGRAD = StepQuestion(
    "amsgrad_step", "amsgrad_init", ("m", "v", "v_hat"), False, dict(eta=0.01, beta1=0.9, beta2=0.999, eps=1e-8),
    amsgrad_ref, [
        Mistake("max_over_g2", "Your running maximum is over the squared gradients g_t²; AMSGrad keeps the maximum "
                "of the average v_t: v̂_t = max(v̂_{t−1}, v_t).", _amsgrad_max_g2),
        Mistake("no_max", "You divide by v_t itself (Adam without bias correction): keep the running maximum "
                "v̂_t = max(v̂_{t−1}, v_t) and divide by sqrt(v̂_t) + ε.", _amsgrad_no_max),
    ])

STEP_QUESTIONS = {q.function: q for q in (MOMENTUM, NESTEROV, ADAGRAD, ADADELTA, RMSPROP, ADAM, ADAMAX, NADAM,
                                          AMSGRAD)}


# ----------------------------------------------------- gradient-descent loops
def epoch_batches_ref(n, batch_size, rng):
    order = rng.permutation(n)
    return [order[i : i + batch_size] for i in range(0, n, batch_size)]


def batch_gradient_ref(theta, X, y):
    """Mean gradient of J = mean ½ (xᵀw + b − y)² (gdlib's linear regression)."""
    return LinearRegression(X.shape[1]).gradient(np.asarray(theta, float), X, y)


def sgd_epoch_ref(theta, X, y, eta, batch_size, rng):
    model = LinearRegression(X.shape[1])
    opt = gdlib.SGD(eta=eta, check_finite=False)
    theta = np.array(theta, dtype=np.float64)
    state = opt.init(theta)
    for rows in epoch_batches_ref(len(y), batch_size, rng):
        opt.step(theta, model.gradient(theta, X[rows], y[rows]), state)
    return theta


# ------------------------------------------------------------------ strategies
def early_stopping_ref(val_losses, patience, min_delta=0.0):
    stopper = EarlyStopping(patience, min_delta)
    for epoch, loss in enumerate(val_losses):
        if stopper.update(epoch, loss):
            return epoch, stopper.best_epoch
    return len(val_losses) - 1, stopper.best_epoch


def noise_std_ref(t, eta_noise, gamma):
    return float(gradient_noise_std(float(t), float(eta_noise), float(gamma)))


# -------------------------------------------------------------------- EASGD
def easgd_ref(workers, center, grads, eta, rho):
    return easgd_round(workers, center, grads, eta, rho)


def easgd_new_workers_for_center(workers, center, grads, eta, rho):
    new_workers = workers - eta * (grads + rho * (workers - center))
    return new_workers, center + eta * rho * (new_workers - center).sum(axis=0)


def easgd_mean(workers, center, grads, eta, rho):
    new_workers = workers - eta * (grads + rho * (workers - center))
    return new_workers, center + eta * rho * (workers - center).mean(axis=0)


def easgd_sign(workers, center, grads, eta, rho):
    new_workers = workers - eta * (grads - rho * (workers - center))
    return new_workers, center - eta * rho * (workers - center).sum(axis=0)


# ------------------------------------------------- delay-tolerant AdaGrad
def adarevision_ref(theta, g_sum, z, z_max, g, g_old, eta, eps):
    """gdlib's AdaptiveRevision server, started from the given state, after one update."""
    server = AdaptiveRevision(theta, eta, eps)
    server.g_sum[:], server.z[:], server.z_max[:] = g_sum, z, z_max
    server.update(g, g_old)
    return server.theta, server.g_sum, server.z, server.z_max


def adarevision_variant(theta, g_sum, z, z_max, g, g_old, eta, eps, *, cross=True, revise=1.0, use_max=True):
    """Recognised mistakes: no cross term, no (or a sign-flipped) revision, z instead of z' = max(z', z)."""
    g_bck = g_sum - g_old
    lr_old = eta / np.sqrt(z_max + eps)
    z = z + g * g + (2 * g * g_bck if cross else 0.0)
    z_max = np.maximum(z_max, z) if use_max else z
    with np.errstate(invalid="ignore"):
        lr_new = eta / np.sqrt(z_max + eps)
    theta = theta - lr_new * g + revise * (lr_old - lr_new) * g_bck
    return theta, g_sum + g, z, z_max
