"""Step questions: an optimizer's ``init`` and ``step``, checked over a run of several steps.

The exercises ask for one calling convention::

    state = init(theta)
    theta_new, state_new = step(theta, g, state, **hyper)        # gradient "given"
    theta_new, state_new = step(theta, state, grad_fn, **hyper)  # gradient "lookahead" (Nesterov)

with ``state`` a dict of NumPy arrays shaped like θ (and the step count ``"t"``
where the method needs one); the inputs must not be modified. A case runs
``steps`` steps from a zero state, and the answer is the whole trajectory
[(θ, state) after each step]: the feedback names the first differing step and
quantity, and a known mistake matches when its rule gives the same trajectory.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .errors import WrongShape
from .runner import Case, Question, close, describe, numbers, same, seed
from .wire import Quadratic

DIMENSION = 6  # θ has six coordinates (and is reshaped to 2 × 3 in the "2-D parameters" case)


def gdlib_step(opt, theta, g, state, keys, has_t):
    """One step of the gdlib optimizer ``opt`` on copies, from and to the exercise's dict state."""
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


def safe_divide(num, den):
    """num / den, and 0 where den is 0 (a rule's "no step where nothing was seen yet")."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(den == 0, 0.0, num / np.where(den == 0, 1.0, den))


@dataclass
class StepQuestion(Question):
    """An optimizer step to implement (``function``), with its state's ``init``; see the module's docstring."""

    init: str = ""
    keys: tuple = ()  # array entries of the state (besides "t")
    has_t: bool = False
    hyper: dict = field(default_factory=dict)
    gradient: str = "given"  # "given" (g passed in) or "lookahead" (grad_fn passed in)
    steps: int = 6  # steps per case
    points: float = 5
    cases: list = None

    def __post_init__(self):
        if self.cases is None:
            self.cases = self._cases()
        key = self.keys[0]
        self.inplace_advice = (f"Do not modify the arrays passed in: compute new ones and return them (write "
                               f"{key} = ..., not {key} += ... or {key} *= ...).")

    def _cases(self):
        """Every sequence of given gradients mixes scales, as real ones do: coordinate 0 is exactly
        zero for the first three steps (the state is still zero there) and coordinate 1 is of order
        1e-7, where ε is not negligible. So a rule that is right only for one size of gradient (ε
        inside instead of outside the root, 0/0 where nothing was seen yet) fails every case."""
        rng = np.random.default_rng(seed(self.function, "cases"))
        n, d = self.steps, DIMENSION

        def mixed(scale):
            g = rng.standard_normal((n, d)) * scale
            g[:3, 0] = 0.0
            g[:, 1] = rng.standard_normal(n) * 1e-7
            return g

        ordinary = mixed(1.0)
        tiny = rng.standard_normal((n, d))
        tiny[:3, :2] = 0.0  # exactly zero at first: the state is still zero there
        tiny[:, 2] = 1e-12
        tiny[:, 3] = rng.standard_normal(n) * 1e-7
        large = mixed(1e4)
        changed = {"gamma": 0.5, "beta1": 0.8, "beta2": 0.95}
        other = {k: v * 2 if k == "eta" else v * 10 if k == "eps" else changed.get(k, v) for k, v in self.hyper.items()}
        theta0 = rng.standard_normal(d)
        plane = theta0.reshape(2, 3)
        if self.gradient == "lookahead":
            M = rng.standard_normal((d, d))
            A = Quadratic(M @ M.T / d + np.eye(d))
            cases = [("ordinary quadratic", theta0, A, self.hyper), ("steep quadratic", theta0, Quadratic(A.A * 30.0),
                     self.hyper), ("other hyperparameters", theta0, A, other), ("2-D parameters", plane, A, self.hyper)]
        else:
            cases = [("ordinary gradients", theta0, ordinary, self.hyper),
                     ("zero and tiny gradients", theta0, tiny, self.hyper),
                     ("large gradients", theta0, large, self.hyper),
                     ("other hyperparameters", theta0, ordinary, other),
                     ("2-D parameters", plane, ordinary.reshape(n, 2, 3), self.hyper)]
        return [Case(name, (theta, grads), hyper) for name, theta, grads, hyper in cases]

    # -- the runner's steps ------------------------------------------------
    def zero_state(self, theta):
        state = {k: np.zeros_like(theta, dtype=np.float64) for k in self.keys}
        if self.has_t:
            state["t"] = 0
        return state

    def _args(self, theta, state, grads, k):
        return (theta, state, grads) if self.gradient == "lookahead" else (theta, np.array(grads[k]), state)

    def _snapshot(self, theta, state):
        """θ and the state's entries the checks read (any other entry a student added is left out)."""
        entries = {key: np.array(state[key]) for key in self.keys}
        if "t" in state:
            entries["t"] = state["t"]
        return np.array(theta), entries

    def compute(self, rule, case):
        """The trajectory [(θ, state) after each step] of a reference or mistake rule."""
        theta0, grads = case.args
        theta, state = np.array(theta0, dtype=np.float64), self.zero_state(theta0)
        out = []
        for k in range(self.steps):
            theta, state = rule(*self._args(theta, state, grads, k), **case.kwargs)
            out.append(self._snapshot(theta, state))
        return out

    def ask(self, caller, case):
        theta0, grads = case.args
        shape = np.shape(theta0)
        state, _ = caller.call(self.init, np.array(theta0))
        self._validate_state(state, shape, self.init)
        if self.has_t and state["t"] != 0:
            raise WrongShape(f"{self.init} must start the step count at t = 0, got {state['t']!r}")
        for key in self.keys:
            if np.any(np.asarray(state[key]) != 0):
                raise WrongShape(f"{self.init} must start {key!r} at zero")
        theta, trajectory, mutated = np.array(theta0, dtype=np.float64), [], False
        for k in range(self.steps):
            args = self._args(theta, state, grads, k)
            out, after = caller.call(self.function, *args, **case.kwargs)
            if not (isinstance(out, tuple) and len(out) == 2):
                raise WrongShape(f"{self.function} must return a pair (theta, state)")
            at = 1 if self.gradient == "lookahead" else 2  # where the state is among the arguments
            mutated |= not same(after[0], args[0]) or any(not same(after[at].get(key), args[at][key])
                                                          for key in self.keys)
            theta, state = numbers(out[0], self.function, "θ as an array of numbers"), out[1]
            if theta.shape != shape:
                raise WrongShape(f"{self.function} returned θ of shape {theta.shape}, expected {shape}")
            self._validate_state(state, shape, self.function)
            trajectory.append(self._snapshot(theta.copy(), state))
        return trajectory, mutated

    def _validate_state(self, state, shape, where):
        if not isinstance(state, dict):
            raise WrongShape(f"{where} must return the state as a dict, got {type(state).__name__}")
        for key in self.keys:
            if key not in state:
                raise WrongShape(f"{where}: the state has no entry {key!r} (expected keys {list(self.keys)})")
            wrong = f"{where}: state[{key!r}] must be a float array shaped like θ {tuple(shape)}"
            try:
                arr = np.asarray(state[key])
            except (TypeError, ValueError, OverflowError):  # a ragged list, say
                raise WrongShape(f"{wrong}, got a {type(state[key]).__name__} that is not an array") from None
            if arr.shape != tuple(shape) or not np.issubdtype(arr.dtype, np.floating):
                raise WrongShape(f"{wrong}, got {arr.dtype} {arr.shape}")
        if self.has_t and ("t" not in state or not isinstance(state["t"], (int, np.integer))):
            raise WrongShape(f"{where}: the state needs the step count 't' as a whole number")

    def difference(self, answer, expected):
        for k, ((th_s, st_s), (th_r, st_r)) in enumerate(zip(answer, expected), start=1):
            if not close(th_s, th_r):
                return f"step {k}: θ {describe(th_s, th_r)}"
            for key in self.keys:
                if not close(st_s[key], st_r[key]):
                    return f"step {k}: state[{key!r}] {describe(st_s[key], st_r[key])}"
            if self.has_t and st_s["t"] != st_r["t"]:
                return f"step {k}: state['t'] is {st_s['t']!r}, expected {st_r['t']}"
        return None

    def fallback(self, case, answer, expected):
        """What is plainly missing: the state (or some entries of it) returned unchanged."""
        theta0 = case.args[0]
        entries = list(self.keys) + (["t"] if self.has_t else [])
        before_s, before_r, stale = self.zero_state(theta0), self.zero_state(theta0), []
        for (_, st_s), (_, st_r) in zip(answer, expected):
            for key in entries:
                if key not in stale and same(st_s[key], before_s[key]) and not same(st_r[key], before_r[key]):
                    stale.append(key)
            before_s, before_r = st_s, st_r
        if all(same(th, theta0) for th, _ in answer) and len(stale) == len(entries):
            return [f"Your {self.function} returns θ and the state it was given, unchanged: it must compute one "
                    f"step and return the new θ and the new state."]
        if len(stale) == 1:
            return [f"You forgot to update the state entry {stale[0]!r}: compute its new value and return it in the "
                    f"state (it is returned unchanged)."]
        if stale:
            names = ", ".join(repr(k) for k in stale[:-1]) + f" and {stale[-1]!r}"
            return [f"You forgot to update the state entries {names}: compute their new values and return them in "
                    f"the state (they are returned unchanged)."]
        return []
