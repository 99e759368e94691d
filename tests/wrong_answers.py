"""A table of wrong answers: every named mistake of the checks and the do-nothing answers.

Each row is ``(label, question, namespace)``: the correct answers of
``submissions/correct.py`` with the function ``question`` replaced by a wrong
one. Named mistakes come from :mod:`autograde.questions` (every mistake declared
as a rule, which the checks recognise) and from the hand-written corpus
``submissions/mistakes.py``; the do-nothing answers return their inputs, return
zeros, never update the state or raise ``NotImplementedError``.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from autograde import checker, questions
from autograde.steps import StepQuestion
from submissions.mistakes import MISTAKES

CORRECT = (Path(__file__).parent / "submissions" / "correct.py").read_text()
QUESTIONS = list(questions.QUESTIONS)
STEP_QUESTIONS = {name: q for name, q in questions.QUESTIONS.items() if isinstance(q, StepQuestion)}
RULE_MISTAKES = [(name, m) for name, q in questions.QUESTIONS.items() for m in q.mistakes if m.rule is not None]


def namespace(source):
    ns = {}
    exec(compile(source, "<submission>", "exec"), ns)
    return ns


def with_replaced(question, wrong):
    """The correct answers' source with one function replaced by a wrong version."""
    pattern = re.compile(rf"^def {question}\(.*?(?=^def |\Z)", re.S | re.M)
    assert pattern.search(CORRECT), question
    return pattern.sub(lambda m: wrong.strip() + "\n\n", CORRECT, count=1)


def with_function(name, fn):
    ns = namespace(CORRECT)
    ns[name] = fn
    return ns


def _not_implemented(*args, **kwargs):
    raise NotImplementedError()


# ------------------------------------------------------------ step questions
def _unchanged(q):
    if q.gradient == "lookahead":
        return lambda theta, state, grad_fn, **hyper: (theta, state)
    return lambda theta, g, state, **hyper: (theta, state)


def _zeros(q):
    def step(theta, *args, **hyper):
        state = {k: np.zeros_like(theta, dtype=float) for k in q.keys}
        if q.has_t:
            state["t"] = 0
        return np.zeros_like(theta, dtype=float), state
    return step


def _state_never_updated(q):
    """θ moves by the right rule from the state it is given, but the state returned is the old one."""
    def step(*args, **hyper):
        theta, state = q.reference(*args, **hyper)
        return theta, args[1] if q.gradient == "lookahead" else args[2]
    return step


def _one_entry_not_updated(q, key):
    def step(*args, **hyper):
        theta, state = q.reference(*args, **hyper)
        old = args[1] if q.gradient == "lookahead" else args[2]
        return theta, dict(state, **{key: old[key]})
    return step


def mistake_rows():
    """Every mistake declared as a rule, written as the student's function."""
    return [(f"{name}: {m.name}", name, with_function(name, m.rule)) for name, m in RULE_MISTAKES]


def step_rows():
    rows = []
    for name, q in STEP_QUESTIONS.items():
        rows.append((f"{name}: returns its inputs unchanged", name, with_function(name, _unchanged(q))))
        rows.append((f"{name}: returns zeros", name, with_function(name, _zeros(q))))
        rows.append((f"{name}: never updates the state", name, with_function(name, _state_never_updated(q))))
        for key in q.keys:
            rows.append((f"{name}: never updates {key}", name, with_function(name, _one_entry_not_updated(q, key))))
        rows.append((f"{name}: raises NotImplementedError", name, with_function(name, _not_implemented)))
        rows.append((f"{name}: init raises NotImplementedError", name, with_function(q.init, _not_implemented)))
    return rows


# --------------------------------------------------------- function questions
DO_NOTHING = {
    "warmup_cosine": ("returns η at every step", lambda t, eta, warmup, total, eta_min: eta,
                      "returns zero", lambda t, eta, warmup, total, eta_min: 0.0),
    "clip_by_global_norm": ("returns the gradients unchanged", lambda grads, max_norm: (grads, 0.0),
                            "returns zeros", lambda grads, max_norm: ([np.zeros_like(g) for g in grads], 0.0)),
    "lamb_trust_ratio": ("returns ones", lambda theta_layers, update_layers: np.ones(len(theta_layers)),
                         "returns zeros", lambda theta_layers, update_layers: np.zeros(len(theta_layers))),
    "lars_step": ("returns its inputs unchanged",
                  lambda theta_layers, grad_layers, velocity_layers, *hyper: (theta_layers, velocity_layers),
                  "returns zeros",
                  lambda theta_layers, grad_layers, velocity_layers, *hyper: (
                      [np.zeros_like(w) for w in theta_layers], [np.zeros_like(v) for v in velocity_layers])),
    "tuned_heavy_ball": ("returns gradient descent's 1/L and no momentum",
                         lambda A: (1 / np.linalg.eigvalsh(A)[-1], 0.0, 1.0),
                         "returns zeros", lambda A: (0.0, 0.0, 0.0)),
    "heavy_ball_rate": ("returns γ", lambda eta, gamma, A: gamma, "returns zero", lambda eta, gamma, A: 0.0),
    "epoch_batches": ("returns one unshuffled batch", lambda n, batch_size, rng: [np.arange(n)],
                      "returns no batches", lambda n, batch_size, rng: []),
    "batch_gradient": ("returns θ", lambda theta, X, y: theta,
                       "returns zeros", lambda theta, X, y: np.zeros_like(theta)),
    "sgd_epoch": ("returns θ unchanged", lambda theta, X, y, eta, batch_size, rng: theta,
                  "returns zeros", lambda theta, X, y, eta, batch_size, rng: np.zeros_like(theta)),
    "early_stopping": ("never stops, best epoch 0",
                       lambda val_losses, patience, min_delta=0.0: (len(val_losses) - 1, 0),
                       "returns zeros", lambda val_losses, patience, min_delta=0.0: (0, 0)),
    "noisy_gradient": ("returns g unchanged", lambda g, t, eta_noise, gamma, rng: g,
                       "returns zeros", lambda g, t, eta_noise, gamma, rng: np.zeros_like(g)),
    "easgd_round": ("returns its inputs unchanged", lambda workers, center, grads, eta, rho: (workers, center),
                    "returns zeros", lambda workers, center, grads, eta, rho: (np.zeros_like(workers),
                                                                               np.zeros_like(center))),
    "adarevision_update": ("returns its inputs unchanged",
                           lambda theta, g_sum, z, z_max, g, g_old, eta, eps: (theta, g_sum, z, z_max),
                           "returns zeros",
                           lambda theta, g_sum, z, z_max, g, g_old, eta, eps: tuple(
                               np.zeros_like(a) for a in (theta, g_sum, z, z_max))),
}


def function_rows():
    rows = []
    for name, (label1, fn1, label2, fn2) in DO_NOTHING.items():
        rows.append((f"{name}: {label1}", name, with_function(name, fn1)))
        rows.append((f"{name}: {label2}", name, with_function(name, fn2)))
        rows.append((f"{name}: raises NotImplementedError", name, with_function(name, _not_implemented)))
    return rows


def corpus_rows():
    """The hand-written wrong answers of submissions/mistakes.py."""
    return [(f"{q}: written mistake {i} ({words})", q, namespace(with_replaced(q, wrong)))
            for i, (q, wrong, words) in enumerate(MISTAKES)]


def all_rows():
    return mistake_rows() + step_rows() + function_rows() + corpus_rows()


def score_table():
    """[(label, score, points)] for every wrong answer, through the in-process caller."""
    out = []
    for label, question, ns in all_rows():
        result = checker.check(question, checker.InProcessCaller(ns))
        out.append((label, result.score, result.points))
    return out


if __name__ == "__main__":
    for label, score, points in score_table():
        flag = "  <-- more than a third" if score > points / 3 + 1e-9 else ""
        print(f"{score:5.2f} / {points:g}  {label}{flag}")
