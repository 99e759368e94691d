"""Check a student's functions against gdlib and say what is wrong.

The same checks serve two places:

* in a student's notebook (:func:`autograde.notebook.check`), calling the
  student's functions directly, for instant feedback;
* in class grading (:mod:`autograde.grade`), calling them through a sandbox
  (:mod:`autograde.sandbox`): a separate process that holds only the student's
  code, so the references and the comparisons here are out of its reach.

A :class:`Caller` hides the difference: ``caller.call(name, *args, **kwargs)``
returns the function's result and the arguments as they were after the call
(to notice inputs modified in place).

Each question runs a fixed set of cases (fixed seeds: grading twice gives the
same grades), each worth an equal share of the question's points, and points
are for correctness only: a case passes when the answer computes what gdlib
computes *and* leaves its inputs unchanged (a property is a condition on the
correct cases, never points of its own). Every named mistake fails all cases
but at most a third of a question's (``tests/test_wrong_answers.py``). When the
answer differs from the reference, the report names the first differing step
and quantity, and compares the answer with every known mistake: if it matches
one, the feedback says which mistake in plain words.

Scores are rounded to two decimals (:data:`DECIMALS`) where they are computed,
so the gradebook, the report and the feedback's header all show one number.
"""

from __future__ import annotations

import copy
import re
import zlib
from dataclasses import dataclass, field

import numpy as np

from . import references as ref

RTOL = 1e-8
DECIMALS = 2


class StudentError(Exception):
    """The student's code raised, timed out, crashed or returned something unusable."""


_NOT_IMPLEMENTED = re.compile(r"^(?P<name>\w+)(?: raised|:) NotImplementedError\b")


def plain_words(message):
    """A caller's error message, said plainly where we know better (an untouched answer)."""
    match = _NOT_IMPLEMENTED.match(message)
    if match:
        return (f"you have not implemented `{match['name']}` yet: replace `raise NotImplementedError()` "
                f"with your code")
    return message


class _PlainWords:
    """Wraps a caller so its errors read as plain sentences (whatever the caller: in process or sandbox)."""

    def __init__(self, caller):
        self.caller = caller

    def call(self, name, *args, **kwargs):
        try:
            return self.caller.call(name, *args, **kwargs)
        except StudentError as exc:
            raise StudentError(plain_words(str(exc))) from None


@dataclass
class Quadratic:
    """∇J for J = ½ θᵀAθ, a gradient the sandbox can rebuild from its matrix."""

    A: np.ndarray

    def __call__(self, x):
        x = np.asarray(x, dtype=np.float64)
        return (self.A @ x.reshape(-1)).reshape(x.shape)


@dataclass
class Rng:
    """A NumPy generator the sandbox can rebuild from its seed."""

    seed: int

    def make(self):
        return np.random.default_rng(self.seed)


class InProcessCaller:
    """Calls the student's functions directly (notebook feedback)."""

    def __init__(self, namespace):
        self.namespace = namespace

    def call(self, name, *args, **kwargs):
        fn = self.namespace.get(name)
        if not callable(fn):
            raise StudentError(f"define a function called {name}")
        live = [_materialize(a) for a in args]
        kw = {k: _materialize(v) for k, v in kwargs.items()}
        try:
            result = fn(*live, **kw)
        except Exception as exc:  # the student's code raised: report it, do not crash
            raise StudentError(f"{name} raised {type(exc).__name__}: {exc}") from None
        return _plain(result), [_plain(a) for a in live]


def _materialize(value):
    if isinstance(value, Rng):
        return value.make()
    if isinstance(value, Quadratic):
        return value
    return copy.deepcopy(value)


def _plain(value):
    """Copy a returned value into plain Python/NumPy data (never a live object)."""
    if isinstance(value, np.ndarray):
        return np.array(value, copy=True)
    if isinstance(value, (list, tuple)):
        return type(value)(_plain(v) for v in value)
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, np.generic):
        return value.item()
    return value


@dataclass
class CaseResult:
    name: str
    passed: bool
    message: str = ""


@dataclass
class QuestionResult:
    question: str
    points: float
    cases: list = field(default_factory=list)
    diagnosis: list = field(default_factory=list)
    visible: bool = False  # only the visible cases ran (the notebook's instant check)

    @property
    def passed(self):
        return sum(c.passed for c in self.cases)

    @property
    def score(self):
        """The share of the points of the cases passed, rounded as everywhere it is shown."""
        if not self.cases:
            return 0.0
        return round(self.points * self.passed / len(self.cases), DECIMALS)

    def header(self):
        if self.visible:
            return (f"{self.question}: visible checks: {self.passed} of {len(self.cases)} passed; "
                    f"your grade also uses hidden cases")
        return f"{self.question}: {format_score(self.score)} / {format_score(self.points)} points"

    def report(self):
        lines = [self.header()]
        said = set()
        for c in self.cases:
            message = c.message
            if message and message in said:
                message = "the same as above"
            said.add(c.message)
            lines.append(f"  [{'ok' if c.passed else 'x '}] {c.name}" + (f": {message}" if message else ""))
        for d in dict.fromkeys(self.diagnosis):
            if d not in said:
                lines.append(f"  -> {d}")
        return "\n".join(lines)


def format_score(value):
    """A score or a number of points as every report and feedback page shows it: two decimals."""
    return f"{float(value):.{DECIMALS}f}"


def _seed(*parts):
    return zlib.crc32("/".join(map(str, parts)).encode())


def _close(a, b):
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if a.shape != b.shape:
        return False
    scale = max(float(np.nanmax(np.abs(b))) if b.size and np.isfinite(b).any() else 0.0, 1e-300)
    return bool(np.allclose(a, b, rtol=RTOL, atol=RTOL * scale * 1e-3, equal_nan=True))


def _describe(a, b):
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if a.shape != b.shape:
        return f"shape {a.shape}, expected {b.shape}"
    if np.isnan(a).any() and not np.isnan(b).any():
        return "contains NaN where the correct value is finite"
    i = np.unravel_index(np.argmax(np.abs(a - b)), a.shape)
    return f"entry {tuple(int(k) for k in i)} is {a[i]:.10g}, expected {b[i]:.10g}"


# ------------------------------------------------------------- step questions
def _step_cases(q):
    """(name, theta0, gradients or gradient function, hyperparameters) for a step question.

    Every sequence of given gradients mixes scales, as real ones do: coordinate 0
    is exactly zero for the first three steps (the state is still zero there) and
    coordinate 1 is of order 1e-7, where ε is not negligible. So a rule that is
    right only for one size of gradient (ε inside instead of outside the root,
    0/0 where nothing was seen yet) fails every case, not one in five.
    """
    name = q.function
    cases = []
    rng = np.random.default_rng(_seed(name, "cases"))
    d = 6

    def mixed(scale):
        g = rng.standard_normal((6, d)) * scale
        g[:3, 0] = 0.0
        g[:, 1] = rng.standard_normal(6) * 1e-7
        return g

    ordinary = mixed(1.0)
    tiny = rng.standard_normal((6, d))
    tiny[:3, :2] = 0.0  # exactly zero at first: the state is still zero there
    tiny[:, 2] = 1e-12
    tiny[:, 3] = rng.standard_normal(6) * 1e-7
    large = mixed(1e4)
    other = dict(q.hyper)
    for k in other:
        other[k] = {"eta": other[k] * 2, "gamma": 0.5, "beta1": 0.8, "beta2": 0.95, "eps": other[k] * 10}.get(k, other[k])
    theta0 = rng.standard_normal(d)
    if q.gradient == "lookahead":
        M = rng.standard_normal((d, d))
        A = Quadratic(M @ M.T / d + np.eye(d))
        cases.append(("ordinary quadratic", theta0, A, q.hyper))
        cases.append(("steep quadratic", theta0, Quadratic(A.A * 30.0), q.hyper))
        cases.append(("other hyperparameters", theta0, A, other))
        cases.append(("2-D parameters", theta0.reshape(2, 3), A, q.hyper))
    else:
        cases.append(("ordinary gradients", theta0, ordinary, q.hyper))
        cases.append(("zero and tiny gradients", theta0, tiny, q.hyper))
        cases.append(("large gradients", theta0, large, q.hyper))
        cases.append(("other hyperparameters", theta0, ordinary, other))
        cases.append(("2-D parameters", theta0.reshape(2, 3), ordinary.reshape(6, 2, 3), q.hyper))
    return cases


def _zero_state(q, theta):
    state = {k: np.zeros_like(theta, dtype=np.float64) for k in q.keys}
    if q.has_t:
        state["t"] = 0
    return state


def _trajectory(q, step, theta0, grads, hyper):
    """Run a reference or mistake rule for the case; returns [(theta, state), ...] per step."""
    theta, state = np.array(theta0, dtype=np.float64), _zero_state(q, theta0)
    out = []
    n = 6
    for k in range(n):
        if q.gradient == "lookahead":
            theta, state = step(theta, state, grads, **hyper)
        else:
            theta, state = step(theta, grads[k], state, **hyper)
        out.append((np.array(theta), {key: (np.array(v) if key != "t" else v) for key, v in state.items()}))
    return out


def _first_difference(q, student, reference):
    for k, ((th_s, st_s), (th_r, st_r)) in enumerate(zip(student, reference), start=1):
        if not _close(th_s, th_r):
            return f"step {k}: θ {_describe(th_s, th_r)}"
        for key in q.keys:
            if not _close(st_s[key], st_r[key]):
                return f"step {k}: state[{key!r}] {_describe(st_s[key], st_r[key])}"
        if q.has_t and st_s["t"] != st_r["t"]:
            return f"step {k}: state['t'] is {st_s['t']!r}, expected {st_r['t']}"
    return None


def _matches(q, student, variant):
    return _first_difference(q, student, variant) is None


def _validate_state(q, state, theta_shape, where):
    if not isinstance(state, dict):
        raise StudentError(f"{where} must return the state as a dict, got {type(state).__name__}")
    for key in q.keys:
        if key not in state:
            raise StudentError(f"{where}: the state has no entry {key!r} (expected keys {list(q.keys)})")
        arr = np.asarray(state[key])
        if arr.shape != tuple(theta_shape) or not np.issubdtype(arr.dtype, np.floating):
            raise StudentError(f"{where}: state[{key!r}] must be a float array shaped like θ {tuple(theta_shape)}, "
                               f"got {arr.dtype} {arr.shape}")
    if q.has_t and ("t" not in state or not isinstance(state["t"], (int, np.integer))):
        raise StudentError(f"{where}: the state needs the step count 't' as a whole number")


def _state_entries(q):
    return list(q.keys) + (["t"] if q.has_t else [])


def _same(a, b):
    return np.array_equal(np.asarray(a), np.asarray(b))


def _stale_entries(q, theta0, student, reference):
    """State entries the answer returns unchanged at some step where the reference changes them."""
    before_s, before_r = _zero_state(q, theta0), _zero_state(q, theta0)
    stale = []
    for (_, st_s), (_, st_r) in zip(student, reference):
        for key in _state_entries(q):
            if key not in stale and _same(st_s[key], before_s[key]) and not _same(st_r[key], before_r[key]):
                stale.append(key)
        before_s, before_r = st_s, st_r
    return stale


def _diagnose_step(q, theta0, grads, hyper, student, reference):
    """Plain-words diagnoses of a wrong trajectory: a named mistake, else what is plainly missing."""
    for mistake in q.mistakes:
        if _matches(q, student, _trajectory(q, mistake.fn, theta0, grads, hyper)):
            return [mistake.message]
    stale = _stale_entries(q, theta0, student, reference)
    theta_still = all(_same(th, theta0) for th, _ in student)
    if theta_still and len(stale) == len(_state_entries(q)):
        return [f"Your {q.function} returns θ and the state it was given, unchanged: it must compute one step "
                f"and return the new θ and the new state."]
    if len(stale) == 1:
        return [f"You forgot to update the state entry {stale[0]!r}: compute its new value and return it in the "
                f"state (it is returned unchanged)."]
    if stale:
        names = ", ".join(repr(k) for k in stale[:-1]) + f" and {stale[-1]!r}"
        return [f"You forgot to update the state entries {names}: compute their new values and return them in "
                f"the state (they are returned unchanged)."]
    return []


def _inplace_advice(q):
    key = q.keys[0]
    return (f"Do not modify the arrays passed in: compute new ones and return them (write {key} = ..., "
            f"not {key} += ... or {key} *= ...).")


def check_step_question(q, caller, visible=False):
    result = QuestionResult(q.function, q.points)
    cases = _step_cases(q)
    for name, theta0, grads, hyper in (cases[:2] if visible else cases):
        reference = _trajectory(q, q.reference, theta0, grads, hyper)
        mutated = False
        try:
            state, _ = caller.call(q.init, np.array(theta0))
            _validate_state(q, state, np.shape(theta0), q.init)
            if q.has_t and state["t"] != 0:
                raise StudentError(f"{q.init} must start the step count at t = 0, got {state['t']!r}")
            for key in q.keys:
                if np.any(np.asarray(state[key]) != 0):
                    raise StudentError(f"{q.init} must start {key!r} at zero")
            theta = np.array(theta0, dtype=np.float64)
            student = []
            for k in range(6):
                if q.gradient == "lookahead":
                    args = (theta, state, grads)
                else:
                    args = (theta, np.array(grads[k]), state)
                out, after = caller.call(q.function, *args, **hyper)
                if not (isinstance(out, tuple) and len(out) == 2):
                    raise StudentError(f"{q.function} must return a pair (theta, state)")
                before_state = args[1] if q.gradient == "lookahead" else args[2]
                after_state = after[1] if q.gradient == "lookahead" else after[2]
                if not _same(after[0], args[0]) or any(not _same(after_state[key], before_state[key])
                                                       for key in q.keys):
                    mutated = True
                theta, state = np.asarray(out[0], dtype=np.float64), out[1]
                if theta.shape != np.shape(theta0):
                    raise StudentError(f"{q.function} returned θ of shape {theta.shape}, expected {np.shape(theta0)}")
                _validate_state(q, state, np.shape(theta0), q.function)
                student.append((theta.copy(), {key: (np.array(v) if key != "t" else v) for key, v in state.items()}))
        except StudentError as exc:
            result.cases.append(CaseResult(name, False, str(exc)))
            continue
        difference = _first_difference(q, student, reference)
        if mutated:  # right values or not, the case is not passed: the caller's arrays were changed
            result.diagnosis.append(_inplace_advice(q))
        if difference is None:
            result.cases.append(CaseResult(name, not mutated, "the values are right, but the arrays passed in "
                                                              "were modified" if mutated else ""))
            continue
        result.cases.append(CaseResult(name, False, difference))
        result.diagnosis.extend(_diagnose_step(q, theta0, grads, hyper, student, reference))
    return result


# --------------------------------------------------- gradient-descent loops
def _linear_data(seed, n=23, p=3):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, p))
    y = X @ rng.standard_normal(p) + 0.1 * rng.standard_normal(n)
    return X, y, rng.standard_normal(p + 1)


def check_epoch_batches(caller, visible=False, points=4):
    result = QuestionResult("epoch_batches", points)
    for n, bs in _visible(((50, 7), (64, 10), (5, 8), (9, 2), (31, 8)), visible):  # a last, smaller batch in each
        name = f"n = {n}, batch size {bs}"
        seed = _seed("epoch_batches", n, bs)
        expected = ref.epoch_batches_ref(n, bs, np.random.default_rng(seed))
        try:
            batches, _ = caller.call("epoch_batches", n, bs, Rng(seed))
            batches = [np.asarray(b) for b in batches]
            if not all(np.issubdtype(b.dtype, np.integer) and b.ndim == 1 for b in batches):
                raise StudentError("return a list of 1-D integer index arrays")
        except (StudentError, TypeError, ValueError) as exc:
            result.cases.append(CaseResult(name, False, str(exc)))
            continue
        seen = np.concatenate(batches) if batches else np.array([], dtype=int)
        counts = np.bincount(seen[(seen >= 0) & (seen < n)], minlength=n) if seen.size else np.zeros(n, int)
        sizes = [len(b) for b in batches]
        want_sizes = [len(b) for b in expected]
        if np.any(counts == 0):
            result.cases.append(CaseResult(name, False, f"{int(np.sum(counts == 0))} samples are never visited"))
            if sizes == want_sizes[:-1] or (n % bs and sum(sizes) == n - n % bs):
                result.diagnosis.append("The last, smaller batch is missing: when the batch size does not divide n, "
                                        "keep the remainder as a final batch so no sample is skipped.")
            else:
                result.diagnosis.append("Some samples are skipped in an epoch: every sample must appear exactly once.")
        elif np.any(counts > 1) or seen.size != n:
            result.cases.append(CaseResult(name, False, "some samples appear more than once"))
            result.diagnosis.append("Samples are repeated within an epoch (sampling with replacement?): shuffle a "
                                    "permutation instead, e.g. rng.permutation(n).")
        elif sizes != want_sizes:
            result.cases.append(CaseResult(name, False, f"batch sizes {sizes}, expected {want_sizes}"))
            result.diagnosis.append("Cut the shuffled order into consecutive batches of batch_size; only the last "
                                    "may be smaller.")
        elif not all(np.array_equal(a, b) for a, b in zip(batches, expected)):
            result.cases.append(CaseResult(name, False, "the order differs from rng.permutation(n)"))
            if np.array_equal(seen, np.arange(n)):
                result.diagnosis.append("The samples are not shuffled: draw the epoch's order with rng.permutation(n).")
            else:
                result.diagnosis.append("Shuffle with exactly one call rng.permutation(n) per epoch, so the order can "
                                        "be reproduced from the generator.")
        else:
            result.cases.append(CaseResult(name, True))
    return result


def _summed_gradient(theta, X, y):
    return ref.batch_gradient_ref(theta, X, y) * len(y)


def check_batch_gradient(caller, visible=False, points=3):
    result = QuestionResult("batch_gradient", points)
    for n in _visible((1, 5, 17, 8), visible):
        X, y, theta = _linear_data(_seed("batch_gradient", n), n=n)
        name = f"batch of {n}"
        expected = ref.batch_gradient_ref(theta, X, y)
        try:
            got, _ = caller.call("batch_gradient", theta, X, y)
        except StudentError as exc:
            result.cases.append(CaseResult(name, False, str(exc)))
            continue
        if _close(got, expected):
            result.cases.append(CaseResult(name, True))
            continue
        result.cases.append(CaseResult(name, False, f"gradient {_describe(got, expected)}"))
        if n > 1 and _close(got, _summed_gradient(theta, X, y)):
            result.diagnosis.append("Your gradient is summed over the batch, not averaged: divide by the batch "
                                    "size (otherwise the effective learning rate grows with the batch).")
        elif _close(got, -expected):
            result.diagnosis.append("Sign error: the gradient of ½(xᵀw + b − y)² is (xᵀw + b − y)·(x, 1).")
    return result


def check_sgd_epoch(caller, visible=False, points=3):
    result = QuestionResult("sgd_epoch", points)
    for n, bs in _visible(((23, 5), (23, 23), (12, 1), (30, 4)), visible):
        X, y, theta = _linear_data(_seed("sgd_epoch", n, bs), n=n)
        name = f"n = {n}, batch size {bs}"
        seed = _seed("sgd_epoch_rng", n, bs)
        expected = ref.sgd_epoch_ref(theta, X, y, 0.05, bs, np.random.default_rng(seed))
        try:
            got, _ = caller.call("sgd_epoch", theta, X, y, 0.05, bs, Rng(seed))
        except StudentError as exc:
            result.cases.append(CaseResult(name, False, str(exc)))
            continue
        if _close(got, expected):
            result.cases.append(CaseResult(name, True))
            continue
        result.cases.append(CaseResult(name, False, f"θ after the epoch: {_describe(got, expected)}"))
        if bs > 1 and _close(got, ref.sgd_epoch_ref(theta, X, y, 0.05 * bs, bs, np.random.default_rng(seed))):
            result.diagnosis.append("Each step uses the summed batch gradient: average it over the batch.")
    return result


# ------------------------------------------------------------------ strategies
def _early_variant(losses, patience, min_delta, *, off_by_one=False, previous=False, ignore_delta=False):
    best, best_epoch, last = np.inf, None, np.inf
    for epoch, loss in enumerate(losses):
        reference_point = last if previous else best
        delta = 0.0 if ignore_delta else min_delta
        if best_epoch is None or loss < reference_point - delta:
            if loss < best:
                best, best_epoch = loss, epoch
            last = loss
            continue
        last = loss
        if (epoch - best_epoch >= patience) if off_by_one else (epoch - best_epoch > patience):
            return epoch, best_epoch
    return len(losses) - 1, best_epoch


# Each recognised mistake (off by one, previous epoch, min_delta ignored) gives the right answer in at most
# one of these (tests/test_wrong_answers.py).
EARLY_CASES = [
    ("stalls, patience 1", [1.0, 0.8, 0.85, 0.79, 0.9, 0.95], 1, 0.02),
    ("noisy, min_delta", [1.0, 0.6, 0.7, 0.58, 0.57, 0.62, 0.61, 0.59, 0.3], 2, 0.05),
    ("small gains below min_delta", [0.78, 0.73, 0.58, 0.71, 0.53, 0.53, 0.55], 2, 0.05),
    ("noisy, patience 1", [0.52, 0.42, 0.51, 0.4, 0.47, 0.42, 0.38, 0.48], 1, 0.02),
    ("never stops", [1.0, 0.9, 0.8, 0.7], 1, 0.0),
]


def check_early_stopping(caller, visible=False, points=4):
    result = QuestionResult("early_stopping", points)
    mistakes = [
        (dict(off_by_one=True), "You stop after `patience` epochs without improvement; wait for more than "
                                "`patience` epochs (patience 0 stops at the first epoch that does not improve)."),
        (dict(previous=True), "You compare with the previous epoch instead of the best so far."),
        (dict(ignore_delta=True), "An improvement must beat the best loss by more than min_delta."),
    ]
    for name, losses, patience, delta in _visible(EARLY_CASES, visible):
        expected = ref.early_stopping_ref(losses, patience, delta)
        try:
            got, _ = caller.call("early_stopping", list(losses), patience, delta)
            got = tuple(int(v) for v in got)
        except (StudentError, TypeError, ValueError) as exc:
            result.cases.append(CaseResult(name, False, str(exc)))
            continue
        if got == expected:
            result.cases.append(CaseResult(name, True))
            continue
        result.cases.append(CaseResult(name, False, f"returned (stop, best) = {got}, expected {expected}"))
        if got[1] == got[0] and expected[1] != expected[0]:
            result.diagnosis.append("The best epoch is the one with the lowest validation loss, whose parameters "
                                    "are restored, not the epoch where training stopped.")
        for options, message in mistakes:
            if got == _early_variant(losses, patience, delta, **options):
                result.diagnosis.append(message)
                break
    return result


def check_noisy_gradient(caller, visible=False, points=3):
    result = QuestionResult("noisy_gradient", points)
    for t, eta, gamma in _visible(((0, 0.3, 0.55), (10, 0.01, 0.55), (999, 1.0, 1.0)), visible):
        name = f"t = {t}, η = {eta}, γ = {gamma}"
        seed = _seed("noise", t)
        g = np.linspace(-1.0, 1.0, 7)
        z = np.random.default_rng(seed).standard_normal(g.shape)
        expected = g + ref.noise_std_ref(t, eta, gamma) * z
        try:
            got, after = caller.call("noisy_gradient", g, t, eta, gamma, Rng(seed))
        except StudentError as exc:
            result.cases.append(CaseResult(name, False, str(exc)))
            continue
        if not np.array_equal(after[0], g):
            result.cases.append(CaseResult(name, False, "the gradient passed in was modified"))
            result.diagnosis.append("Return a new array: do not add the noise into g in place.")
            continue
        if _close(got, expected):
            result.cases.append(CaseResult(name, True))
            continue
        result.cases.append(CaseResult(name, False, f"noisy gradient {_describe(got, expected)}"))
        variance = eta / (1 + t) ** gamma
        if _close(got, g + variance * z):
            result.diagnosis.append("σ_t² = η/(1 + t)^γ is the variance: scale the standard normal draw by its "
                                    "square root.")
        elif _close(got, g + np.sqrt(eta / (2 + t) ** gamma) * z):
            result.diagnosis.append("t is off by one: the first step (t = 0) uses σ_0² = η.")
    return result


def check_easgd(caller, visible=False, points=4):
    result = QuestionResult("easgd_round", points)
    mistakes = [
        (ref.easgd_new_workers_for_center, "The centre moves with the workers' values before the round, "
                                           "x^i_t − x̃_t, not with their updated values."),
        (ref.easgd_mean, "The centre's elastic force sums over the workers (η ρ Σ_i), it does not average."),
        (ref.easgd_sign, "Sign error: the elastic force pulls each worker towards the centre and the centre "
                         "towards the workers."),
    ]
    for p, d, eta, rho in _visible(((4, 3, 0.1, 0.5), (2, 5, 0.05, 1.0), (8, 2, 0.01, 2.0), (1, 4, 0.2, 0.0)),
                                   visible):
        name = f"{p} workers, η = {eta}, ρ = {rho}"
        rng = np.random.default_rng(_seed("easgd", p, d))
        workers, center, grads = rng.standard_normal((p, d)), rng.standard_normal(d), rng.standard_normal((p, d))
        expected = ref.easgd_ref(workers, center, grads, eta, rho)
        try:
            got, after = caller.call("easgd_round", workers, center, grads, eta, rho)
            if not (isinstance(got, tuple) and len(got) == 2):
                raise StudentError("easgd_round must return the pair (workers, center)")
        except StudentError as exc:
            result.cases.append(CaseResult(name, False, str(exc)))
            continue
        if not (np.array_equal(after[0], workers) and np.array_equal(after[1], center)):
            result.cases.append(CaseResult(name, False, "the arrays passed in were modified"))
            result.diagnosis.append("Return new arrays: do not update the workers or the centre in place.")
            continue
        if _close(got[0], expected[0]) and _close(got[1], expected[1]):
            result.cases.append(CaseResult(name, True))
            continue
        which = "workers" if not _close(got[0], expected[0]) else "center"
        result.cases.append(CaseResult(name, False, f"{which}: {_describe(got[0 if which == 'workers' else 1], expected[0 if which == 'workers' else 1])}"))
        for fn, message in mistakes:
            wrong = fn(workers, center, grads, eta, rho)
            if _close(got[0], wrong[0]) and _close(got[1], wrong[1]):
                result.diagnosis.append(message)
                break
    return result


def _adarevision_case(d, seed, delay):
    """A server state as a run would leave it (z <= z'), a gradient and its backlog."""
    rng = np.random.default_rng(_seed("adarevision", d, seed))
    z_max = rng.uniform(0.5, 4.0, d)
    z = z_max - rng.uniform(0.0, 1.0, d) * (rng.random(d) < 0.5)  # below z' where cross terms were negative
    g_sum = rng.standard_normal(d) * 3
    g_old = g_sum - (rng.standard_normal(d) * 2 if delay else 0.0)
    return rng.standard_normal(d), g_sum, z, z_max, rng.standard_normal(d), g_old


def check_adarevision(caller, visible=False, points=4):
    result = QuestionResult("adarevision_update", points)
    names = ("theta", "g_sum", "z", "z_max")
    mistakes = [
        (dict(cross=False), "z grows by g² + 2 g g_bck: the cross term with the backlog is missing (that is "
                            "plain AdaGrad's accumulator)."),
        (dict(revise=0.0), "The backlog's step must be revised: add (η_old − η_new) g_bck to θ."),
        (dict(revise=-1.0), "Sign error in the revision: θ gains + (η_old − η_new) g_bck, the part of the "
                            "backlog's step that the smaller new rate takes back."),
        (dict(use_max=False), "The learning rate uses z' = max(z', z), which never decreases, not z itself."),
    ]
    cases = [(5, 0, True, 0.1, 1e-8), (3, 1, False, 0.5, 1e-8), (8, 2, True, 1.0, 0.0), (6, 3, True, 0.05, 0.1)]
    for d, seed, delay, eta, eps in _visible(cases, visible):
        name = f"d = {d}, {'with a backlog' if delay else 'no delay'}, η = {eta}, ε = {eps}"
        args = _adarevision_case(d, seed, delay)
        expected = ref.adarevision_ref(*args, eta, eps)
        try:
            got, after = caller.call("adarevision_update", *args, eta, eps)
            if not (isinstance(got, tuple) and len(got) == 4):
                raise StudentError("adarevision_update must return the tuple (theta, g_sum, z, z_max)")
        except StudentError as exc:
            result.cases.append(CaseResult(name, False, str(exc)))
            continue
        if not all(np.array_equal(a, b) for a, b in zip(after, args)):
            result.cases.append(CaseResult(name, False, "the arrays passed in were modified"))
            result.diagnosis.append("Return new arrays: do not update the state in place.")
            continue
        wrong = [n for n, a, b in zip(names, got, expected) if not _close(a, b)]
        if not wrong:
            result.cases.append(CaseResult(name, True))
            continue
        first = names.index(wrong[0])
        result.cases.append(CaseResult(name, False, f"{wrong[0]}: {_describe(got[first], expected[first])}"))
        for options, message in mistakes:
            variant = ref.adarevision_variant(*args, eta, eps, **options)
            if all(_close(a, b) for a, b in zip(got, variant)):
                result.diagnosis.append(message)
                break
    return result


FUNCTION_CHECKS = {
    "epoch_batches": check_epoch_batches,
    "batch_gradient": check_batch_gradient,
    "sgd_epoch": check_sgd_epoch,
    "early_stopping": check_early_stopping,
    "noisy_gradient": check_noisy_gradient,
    "easgd_round": check_easgd,
    "adarevision_update": check_adarevision,
}


def _visible(cases, visible):
    """The visible tests of a notebook run the first two cases; grading runs them all."""
    cases = list(cases)
    return cases[:2] if visible else cases


def check(question, caller, visible=False):
    """Run the checks of one question (a function name) through ``caller``."""
    caller = _PlainWords(caller)
    if question in ref.STEP_QUESTIONS:
        result = check_step_question(ref.STEP_QUESTIONS[question], caller, visible)
    elif question in FUNCTION_CHECKS:
        result = FUNCTION_CHECKS[question](caller, visible)
    else:
        raise KeyError(f"unknown question {question!r}")
    result.visible = visible
    return result
