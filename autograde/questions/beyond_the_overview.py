"""Assignment ``beyond_the_overview``: AdamW, warm-up + cosine, clipping by the global norm, LAMB's trust
ratio, a LARS step.

The references are gdlib's (``gdlib.AdamW``, ``gdlib.schedules.Cosine``,
``gdlib.clipping.clip_by_global_norm``, ``gdlib.optim.lamb.trust_ratios``,
``gdlib.LARS`` with ``gdlib.Layers``), computed in the grading process like
every reference. A schedule, a clipping, a trust ratio or a layer-wise step is
right or wrong in places (the warm-up, below the threshold, a layer whose norm
is zero), so each case of those questions is several calls
(:class:`SeveralCalls`) covering every place: a known mistake fails every case.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from typing import Callable

import numpy as np

import gdlib
from gdlib.clipping import clip_by_global_norm
from gdlib.optim.lamb import trust_ratios
from gdlib.schedules import Cosine

from ..caller import materialize
from ..errors import WrongShape
from ..runner import Case, Mistake, Question, close, describe, numbers, same, seed
from ..steps import StepQuestion, gdlib_step


# -------------------------------------------------- several calls per case
def _same_arg(a, b):
    """Left as it was (a list of arrays compared layer by layer)."""
    if isinstance(b, (list, tuple)):
        return isinstance(a, (list, tuple)) and len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    return same(a, b)


@dataclass
class SeveralCalls(Question):
    """A case is several calls of the function: ``case.args`` holds one argument tuple per call, and
    the answer is every call's value. ``value(returned, call)`` turns a returned value into a tuple of
    arrays named by ``outputs``, checking its structure against the call's arguments (raising
    :class:`WrongShape` for one it cannot use); ``label(args)`` names a call in the feedback."""

    value: Callable = None
    label: Callable = repr

    def compute(self, rule, case):
        return [(self.label(call), *self.value(rule(*(materialize(a) for a in call)), call)) for call in case.args]

    def ask(self, caller, case):
        answers, mutated = [], False
        for call in case.args:
            got, after = caller.call(self.function, *call)
            answers.append((self.label(call), *self.value(got, call)))
            mutated |= any(not _same_arg(after[i], call[i]) for i in self.unchanged)
        return answers, mutated

    def difference(self, answer, expected):
        for (call_label, *parts), (_, *right) in zip(answer, expected):
            for name, a, b in zip(self.outputs, parts, right):
                if not close(a, b):
                    return f"{call_label}: {name} {describe(a, b)}"
        return None


def _shapes(shapes, most=6):
    """A few shapes as the feedback shows them: (4, 3), (3,)."""
    shown = ", ".join(str(tuple(s)) for s in shapes[:most])
    return shown + (f", … ({len(shapes)} in all)" if len(shapes) > most else "")


def _arrays(shapes):
    """'2 arrays of shapes (4, 3), (3,)', '1 array of shape (15,)', '0 arrays'."""
    if not shapes:
        return "0 arrays"
    if len(shapes) == 1:
        return f"1 array of shape {_shapes(shapes)}"
    return f"{len(shapes)} arrays of shapes {_shapes(shapes)}"


def _layers(got, like, function, what):
    """The per-layer arrays ``got`` (a returned list) as one vector, after checking that there is one
    array per layer of ``like`` (the layers passed in) and each is shaped like its layer: laid end to
    end, a concatenated or flattened answer would otherwise compare equal."""
    if not isinstance(got, (list, tuple)):
        raise WrongShape(f"{function} must return {what} as a list with one array per layer, got "
                         f"{type(got).__name__}")
    arrays = [numbers(x, function) for x in got]
    expected, returned = [np.shape(x) for x in like], [a.shape for a in arrays]
    if returned != expected:
        raise WrongShape(f"{function} must return {what} as one array per layer, shaped like the layers passed "
                         f"in: expected {_arrays(expected)}, got {_arrays(returned)}")
    return np.concatenate([a.ravel() for a in arrays]) if arrays else np.zeros(0)


# --------------------------------------------------------------------- AdamW
HYPER = dict(eta=0.01, beta1=0.9, beta2=0.999, eps=1e-8, weight_decay=0.1)


def adamw_ref(theta, g, state, eta, beta1, beta2, eps, weight_decay):
    opt = gdlib.AdamW(eta=eta, beta1=beta1, beta2=beta2, eps=eps, weight_decay=weight_decay, check_finite=False)
    return gdlib_step(opt, theta, g, state, ("m", "v"), True)


def _adam_move(g, state, eta, beta1, beta2, eps):
    t = state["t"] + 1
    m = beta1 * state["m"] + (1 - beta1) * g
    v = beta2 * state["v"] + (1 - beta2) * g * g
    m_hat, v_hat = m / (1 - beta1**t), v / (1 - beta2**t)
    return eta * m_hat / (np.sqrt(v_hat) + eps), {"m": m, "v": v, "t": t}


def _adamw_coupled(theta, g, state, eta, beta1, beta2, eps, weight_decay):
    move, new = _adam_move(g + weight_decay * theta, state, eta, beta1, beta2, eps)
    return theta - move, new


def _adamw_decay_after(theta, g, state, eta, beta1, beta2, eps, weight_decay):
    move, new = _adam_move(g, state, eta, beta1, beta2, eps)
    return (1 - eta * weight_decay) * (theta - move), new


def _adamw_decay_without_eta(theta, g, state, eta, beta1, beta2, eps, weight_decay):
    move, new = _adam_move(g, state, eta, beta1, beta2, eps)
    return (1 - weight_decay) * theta - move, new


ADAMW = StepQuestion(
    function="adamw_step", init="adamw_init", keys=("m", "v"), has_t=True, hyper=HYPER, reference=adamw_ref,
    mistakes=[
        Mistake("coupled", "You added λθ to the gradient (L2 regularisation, coupled): then the moments see the "
                "decay and Adam rescales it. AdamW decouples it: θ ← θ − ηλθ_{t−1}, beside Adam's step on the "
                "raw gradient g_t.", _adamw_coupled),
        Mistake("decay_after", "You decay the parameters after Adam's step, (1 − ηλ)(θ − step): the decay "
                "uses θ_{t−1}, θ_t = θ_{t−1} − ηλθ_{t−1} − η m̂_t/(√v̂_t + ε).", _adamw_decay_after),
        Mistake("decay_without_eta", "Your decay is λθ, without the learning rate: AdamW (as PyTorch and gdlib "
                "write it) subtracts ηλθ_{t−1}.", _adamw_decay_without_eta),
    ])


# ------------------------------------------------------ warm-up then cosine
def warmup_cosine_ref(t, eta, warmup, total, eta_min):
    return eta * float(Cosine(total, floor=eta_min / eta, warmup=warmup)(t))


def _warmup_cosine(t, eta, warmup, total, eta_min, *, shift=1, ramp_from_zero=False, length=None, floor=True,
                   hold=True):
    if t <= warmup:
        return eta * ((t - 1) / warmup if ramp_from_zero else t / warmup)
    u, n = t - shift - warmup, (total - warmup) if length is None else length(warmup, total)
    if hold:
        u = min(u, n)
    low = eta_min if floor else 0.0
    return low + (eta - low) * 0.5 * (1 + np.cos(np.pi * u / n))


def _schedule_value(got, call):
    return (numbers(got, "warmup_cosine"),)


_SCHEDULES = [(0.1, 3, 12, 0.001), (1.0, 5, 20, 0.05), (0.02, 1, 8, 0.002), (0.5, 4, 10, 0.1)]

WARMUP_COSINE = SeveralCalls(
    function="warmup_cosine", points=4, reference=warmup_cosine_ref, outputs=("η_t",), value=_schedule_value,
    label=lambda call: f"t = {call[0]}",
    cases=[Case(f"η = {eta}, W = {w}, T = {total}, η_min = {low}",
                tuple((t, eta, w, total, low) for t in range(1, total + 3))) for eta, w, total, low in _SCHEDULES],
    mistakes=[
        Mistake("off_by_one", "Your cosine is one step ahead: its first step, t = W + 1, must use the full η "
                "(the angle is π(t − 1 − W)/(T − W)).", partial(_warmup_cosine, shift=0)),
        Mistake("warmup_ends_late", "Your warm-up starts at 0 and reaches η at step W + 1: the book's warm-up is "
                "η t/W, so step 1 already moves (η/W) and step W uses the full η.",
                partial(_warmup_cosine, ramp_from_zero=True)),
        Mistake("cosine_over_total", "Your cosine spans all T steps: it starts after the warm-up, so it spans "
                "T − W steps, π(t − 1 − W)/(T − W), and reaches η_min at the end.",
                partial(_warmup_cosine, length=lambda w, total: total)),
        Mistake("no_floor", "The cosine decays to η_min, not to 0: η_t = η_min + (η − η_min)·½(1 + cos(…)).",
                partial(_warmup_cosine, floor=False)),
        Mistake("not_held", "After step T + 1 the rate stays at η_min; your cosine rises again.",
                partial(_warmup_cosine, hold=False)),
    ])


# ------------------------------------------------------ clip by global norm
def _clip_value(got, call):
    if not (isinstance(got, tuple) and len(got) == 2 and isinstance(got[0], (list, tuple))):
        raise WrongShape("clip_by_global_norm must return the pair (list of clipped gradients, norm)")
    norm = numbers(got[1], "clip_by_global_norm")
    if norm.ndim:
        raise WrongShape(f"clip_by_global_norm must return the global norm ‖g‖ as one number, got an array of "
                         f"shape {norm.shape}")
    return _layers(got[0], call[0], "clip_by_global_norm", "the clipped gradients"), norm


def clip_ref(grads, max_norm):
    return tuple(clip_by_global_norm(list(grads), max_norm))


def _clip_variant(grads, max_norm, *, per_layer=False, always=False, eps=0.0):
    norm = np.sqrt(sum(float(np.sum(g * g)) for g in grads))
    if per_layer:
        return [g * min(1.0, max_norm / np.linalg.norm(g)) if np.linalg.norm(g) > 0 else g for g in grads], norm
    factor = max_norm / (norm + eps)
    return [g * factor if always or factor < 1 else g.copy() for g in grads], norm


def _clip_case(name, shapes, scales):
    rng = np.random.default_rng(seed("clip", name))
    grads = [rng.standard_normal(s) for s in shapes]
    norm = np.sqrt(sum(float(np.sum(g * g)) for g in grads))
    return Case(name, tuple((grads, norm * s) for s in scales))


CLIP = SeveralCalls(
    function="clip_by_global_norm", points=4, reference=clip_ref, outputs=("clipped gradients", "norm"),
    value=_clip_value, unchanged=(0,), label=lambda call: f"τ = {call[1]:.4g}",
    inplace_advice="Return new arrays: do not scale the gradients passed in.",
    cases=[_clip_case("three layers", [(3, 2), (4,), (1,)], (0.5, 2.0)),
           _clip_case("one layer dominates", [(2, 2), (20,)], (0.9, 1.5)),
           _clip_case("many small layers", [(2,)] * 6, (0.3, 1.1)),
           _clip_case("a matrix and a bias", [(3, 4), (3,)], (0.1, 10.0))],
    mistakes=[
        Mistake("per_layer", "You clipped each layer by its own norm: clipping by the global norm rescales every "
                "layer by one factor, τ/‖g‖ with ‖g‖ over all layers together, so the direction is kept.",
                partial(_clip_variant, per_layer=True)),
        Mistake("always_scaled", "You rescale gradients that are already shorter than τ: clip only when "
                "‖g‖ > τ (the factor is min(1, τ/‖g‖)).", partial(_clip_variant, always=True)),
        Mistake("torch_eps", "You added PyTorch's ε = 1e-6 to the norm (clip_grad_norm_): the book's rule is "
                "g·τ/‖g‖ exactly (gdlib's eps option is PyTorch's).", partial(_clip_variant, eps=1e-6)),
    ])


# ------------------------------------------------------- LAMB's trust ratio
def _ratio_value(got, call):
    """One ratio per layer. A single number is let through: it is the mistake ``whole_vector``, which the
    diagnosis names."""
    ratios, n = numbers(got, "lamb_trust_ratio"), len(call[0])
    if ratios.ndim and ratios.shape != (n,):
        raise WrongShape(f"lamb_trust_ratio must return one trust ratio per layer, a 1-D array of {n} numbers "
                         f"(shape ({n},)); yours has shape {ratios.shape}")
    return (ratios,)


def _norms(layers):
    return np.array([np.sqrt(np.sum(np.square(x))) for x in layers])


def _inverted(theta_layers, update_layers):
    return trust_ratios(update_layers, theta_layers)


def _no_zero_rule(theta_layers, update_layers):
    with np.errstate(divide="ignore", invalid="ignore"):
        return _norms(theta_layers) / _norms(update_layers)


def _whole_vector(case, answer, expected):
    """One ratio ‖θ‖/‖u‖ over every layer together (a scalar, or the same value for every layer)."""
    for (_, ratios), call in zip(answer, case.args):
        whole = np.sqrt(sum(float(np.sum(x * x)) for x in call[0])) / np.sqrt(sum(float(np.sum(x * x))
                                                                                   for x in call[1]))
        if not (ratios.size and np.allclose(ratios, whole, rtol=1e-8)):
            return False
    return True


def _lamb_case(name, shapes, zero):
    rng = np.random.default_rng(seed("lamb", name))
    theta = [rng.standard_normal(s) * rng.uniform(0.5, 3) for s in shapes]
    update = [rng.standard_normal(s) * rng.uniform(0.01, 0.5) for s in shapes]
    (theta if zero[0] == "θ" else update)[zero[1]][...] = 0.0
    return Case(name, ((theta, update),))


LAMB = SeveralCalls(
    function="lamb_trust_ratio", points=3, reference=trust_ratios, outputs=("trust ratios",), value=_ratio_value,
    unchanged=(0, 1), label=lambda call: f"{len(call[0])} layers",
    inplace_advice="Do not modify the layers passed in.",
    cases=[_lamb_case("three layers, a zero bias", [(3, 2), (4,), (2,)], ("θ", 2)),
           _lamb_case("two layers, a zero update", [(5,), (2, 3)], ("u", 0)),
           _lamb_case("four layers, a zero weight", [(2, 2), (3,), (4,), (1,)], ("θ", 1)),
           _lamb_case("a matrix and a zero update", [(4, 3), (3,)], ("u", 1))],
    mistakes=[
        Mistake("whole_vector", "You computed one ratio for the whole parameter vector: LAMB's trust ratio is per "
                "layer, ‖θ_l‖/‖u_l‖, one number for each layer l.", test=_whole_vector),
        Mistake("inverted", "Your ratio is upside down: it is ‖θ_l‖/‖u_l‖ (parameter norm over update norm).",
                _inverted),
        Mistake("zero_norm", "Where a layer's parameter norm or update norm is 0, the ratio is 1 (optax's "
                "convention): no NaN, no infinity, no 0.", _no_zero_rule),
    ])


# ------------------------------------------------------------ a LARS step
def lars_ref(theta_layers, grad_layers, velocity_layers, eta, gamma, weight_decay, trust_coefficient):
    """gdlib.LARS (You et al.'s Algorithm 1) on the layers laid end to end, one gdlib.Layers segment each."""
    flat = lambda layers: np.concatenate([np.asarray(x, dtype=np.float64).ravel() for x in layers])  # noqa: E731
    sizes = [int(np.size(x)) for x in theta_layers]
    theta = flat(theta_layers)
    opt = gdlib.LARS(eta=eta, gamma=gamma, weight_decay=weight_decay, trust_coefficient=trust_coefficient,
                     layers=gdlib.Layers(np.cumsum([0, *sizes])), check_finite=False)
    state = opt.init(theta)
    state.v[...] = flat(velocity_layers)
    opt.step(theta, flat(grad_layers), state)
    return _unflatten(theta, theta_layers), _unflatten(state.v, theta_layers)


def _unflatten(flat, like):
    out, at = [], 0
    for x in like:
        out.append(flat[at:at + np.size(x)].reshape(np.shape(x)).copy())
        at += np.size(x)
    return out


def _lars_value(got, call):
    if not (isinstance(got, tuple) and len(got) == 2 and all(isinstance(x, (list, tuple)) for x in got)):
        raise WrongShape("lars_step must return the pair (list of new θ_l, list of new v_l)")
    return tuple(_layers(part, call[0], "lars_step", what) for part, what in zip(got, ("the new θ_l", "the new v_l")))


def _norm(x):
    return float(np.sqrt(np.sum(np.square(x))))


def _lars_variant(theta_layers, grad_layers, velocity_layers, eta, gamma, weight_decay, trust_coefficient, *,
                  whole=False, den="paper", inverted=False, coefficient=True, decay_in_step=True, eta_twice=False,
                  zero_rule=True):
    """A LARS step as students get it wrong: each keyword changes one thing in You et al.'s Algorithm 1."""
    everything = [np.concatenate([np.ravel(x) for x in layers]) for layers in (theta_layers, grad_layers)]
    new_theta, new_v = [], []
    for w, g, v in zip(theta_layers, grad_layers, velocity_layers):
        if whole:
            w_norm, g_norm = _norm(everything[0]), _norm(everything[1])
            u_norm = _norm(everything[1] + weight_decay * everything[0])
        else:
            w_norm, g_norm, u_norm = _norm(w), _norm(g), _norm(g + weight_decay * w)
        bottom = {"paper": g_norm + weight_decay * w_norm, "optax": u_norm, "gradient": g_norm}[den]
        c = trust_coefficient if coefficient else 1.0
        if zero_rule and (w_norm == 0 or bottom == 0):
            r = 1.0
        elif inverted:
            r = c * bottom / w_norm
        else:
            r = c * w_norm / bottom
        local = eta * r * (eta if eta_twice else 1.0)
        v_new = gamma * v + local * (g + weight_decay * w if decay_in_step else g)
        new_theta.append(w - v_new)
        new_v.append(v_new)
    return new_theta, new_v


def _lars_case(name, shapes, hyper):
    """Two calls: from v = 0 with one layer at zero (a bias at start), then from a velocity of earlier steps."""
    rng = np.random.default_rng(seed("lars", name))
    calls = []
    for call in range(2):
        theta = [rng.standard_normal(s) * rng.uniform(0.5, 3) for s in shapes]
        grads = [rng.standard_normal(s) * rng.uniform(0.01, 2) for s in shapes]
        if call == 0:
            theta[-1][...] = 0.0
            velocity = [np.zeros(s) for s in shapes]
        else:
            velocity = [rng.standard_normal(s) * rng.uniform(1e-4, 1e-2) for s in shapes]
        calls.append((theta, grads, velocity, *hyper))
    return Case(name, tuple(calls))


LARS = SeveralCalls(
    function="lars_step", points=4, reference=lars_ref, outputs=("θ", "v"), value=_lars_value,
    unchanged=(0, 1, 2), label=lambda call: "v = 0" if not any(np.any(v) for v in call[2]) else "v ≠ 0",
    inplace_advice="Return new arrays: do not modify the layers, gradients or velocities passed in.",
    cases=[_lars_case("a matrix and a bias", [(4, 3), (3,)], (1.5, 0.9, 0.01, 0.001)),
           _lars_case("three layers", [(3, 2), (5,), (2,)], (2.0, 0.9, 0.05, 0.01)),
           _lars_case("two matrices and a bias", [(2, 4), (4, 2), (2,)], (0.5, 0.5, 0.1, 0.02)),
           _lars_case("other hyperparameters", [(6,), (3, 3), (3,)], (5.0, 0.95, 0.002, 0.001))],
    mistakes=[
        Mistake("whole_vector", "You computed one trust ratio for the whole parameter vector: LARS gives each "
                "layer l its own, r_l = c‖θ_l‖/(‖g_l‖ + λ‖θ_l‖), with the norms over that layer alone.",
                partial(_lars_variant, whole=True)),
        Mistake("decay_not_in_ratio", "Your trust ratio leaves the weight decay out of its denominator: it is "
                "c‖θ_l‖/(‖g_l‖ + λ‖θ_l‖), not c‖θ_l‖/‖g_l‖.", partial(_lars_variant, den="gradient")),
        Mistake("optax_denominator", "You divided by ‖g_l + λθ_l‖, optax's form: You et al.'s Algorithm 1 (and "
                "this question) divides by ‖g_l‖ + λ‖θ_l‖, the sum of the two norms.",
                partial(_lars_variant, den="optax")),
        Mistake("inverted", "Your trust ratio is upside down: it is c‖θ_l‖/(‖g_l‖ + λ‖θ_l‖), the parameter norm "
                "over the gradient's.", partial(_lars_variant, inverted=True)),
        Mistake("no_trust_coefficient", "You left out the trust coefficient c: r_l = c‖θ_l‖/(‖g_l‖ + λ‖θ_l‖), "
                "so that each layer moves by about ηc times its own size per step.",
                partial(_lars_variant, coefficient=False)),
        Mistake("decay_not_in_step", "The step uses the decayed gradient g_l + λθ_l, not g_l alone: "
                "v_l ← γv_l + η r_l (g_l + λθ_l).", partial(_lars_variant, decay_in_step=False)),
        Mistake("eta_twice", "You multiplied by η twice: the layer's rate is η r_l, and the velocity gains "
                "η r_l (g_l + λθ_l) once.", partial(_lars_variant, eta_twice=True)),
        Mistake("zero_norm", "A layer whose parameters are all zero (a bias at the start) gets the trust ratio 1 "
                "(optax's and gdlib's convention), so it still moves; yours does not move it.",
                partial(_lars_variant, zero_rule=False)),
    ])

QUESTIONS = [ADAMW, WARMUP_COSINE, CLIP, LAMB, LARS]
