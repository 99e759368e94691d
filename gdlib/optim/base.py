"""What every optimizer shares: explicit state and a thin validating step.

An optimizer in gdlib is two things (the same split as optax):

* pure update arithmetic: a compiled kernel that reads the gradient g_t and
  updates the parameters θ and the state in place;
* explicit state: a :class:`State` holding the named state vectors
  (m_t, v_t, ...) and the step count t, which a student can inspect after
  any step.

The Python layer validates and allocates, then calls the *packed step*
``step(theta, g, S, h, c)`` (see :mod:`gdlib._numba`). The compiled training
loops call the very same packed step, so one step from Python and a step
inside a compiled loop run identical machine code.

The hyperparameters are declared once per optimizer, as the class attribute
``hypers`` (see :mod:`gdlib.optim.declare`); the constructor, its
validation, ``hyperparameters()``, ``repr`` and the packed vector h all
follow from that declaration.
"""

from __future__ import annotations

import math

import numpy as np
from numba import prange

from .. import _checks
from .._numba import COUNTER, ETA, jit, jit_template, parallel_min_size, twins
from . import declare

#: c[COUNTER.t] is the step count t; c[COUNTER.product] a running product
#: (Nadam's product of momentum coefficients).
N_COUNTERS = len(COUNTER)
_INF = float("inf")


@twins
def count_nonfinite(x):
    """Number of NaN or infinite entries of ``x``."""
    bad = 0
    for i in prange(x.size):
        if not np.isfinite(x[i]):
            bad += 1
    return bad


_count_nonfinite_serial = count_nonfinite.serial
_count_nonfinite_parallel = count_nonfinite.parallel


@jit(reduction=True)
def any_nonfinite(x):
    """Whether ``x`` has a NaN or infinite entry: Σ (x_i − x_i) is 0 when
    every entry is finite, NaN otherwise (inf − inf is NaN), whatever the
    order of the sum; a float reduction in SIMD lanes, faster than counting."""
    acc = x.dtype.type(0)
    for i in range(x.size):
        acc += x[i] - x[i]
    return acc != 0


@jit
def nonfinite_entries(x, min_size):
    """``count_nonfinite``, on the parallel twin from ``min_size`` elements;
    below it, counted only when ``any_nonfinite`` finds one (measured at 10^4
    float32 elements, in cache: 0.72x the time of the count)."""
    if x.size < min_size:
        return _count_nonfinite_serial(x) if any_nonfinite(x) else 0
    return _count_nonfinite_parallel(x)


def _checked_step_template(theta, g, S, h, c):
    # The default step in one compiled call: count the non-finite entries of
    # g (all of g, before any write), and update only if there are none.
    bad = _nonfinite_entries(g, h[h.size - 1])  # noqa: F821 (globals given by checked_step)
    if bad == 0:
        _step(theta, g, S, h, c)  # noqa: F821
    return bad


def checked_step(step):
    """``step`` fused with the finite-gradient check: ``checked(theta, g, S,
    h, c)`` returns the number of NaN or infinite entries of g and, only when
    it is 0, takes the step. One call from Python instead of two."""
    return jit_template(_checked_step_template, step, "_checked", _step=step, _nonfinite_entries=nonfinite_entries)


@jit
def lookahead_at_theta(theta, S, h, out):
    """The gradient is evaluated at the parameters themselves."""
    out[:] = theta


class State:
    """An optimizer's state: named vectors shaped like θ, plus the step count t.

    The named vectors (``state.m``, ``state.v``, ...) are views of one
    contiguous buffer ``state.buffer`` (one row each), so the compiled kernels
    update them in place. Read them freely; to change them, assign in place
    (``state.m[...] = 0``), never rebind the name.
    """

    def __init__(self, optimizer, shape, dtype):
        names = optimizer.state_names
        size = math.prod(shape)  # not np.prod: a ufunc reduction costs microseconds per run
        buffer = np.zeros((len(names), size), dtype=dtype)
        object.__setattr__(self, "optimizer_name", type(optimizer).__name__)
        object.__setattr__(self, "names", names)
        object.__setattr__(self, "shape", tuple(shape))
        object.__setattr__(self, "buffer", buffer)
        object.__setattr__(self, "counters", np.zeros(N_COUNTERS, dtype=np.float64))
        for row, name in zip(buffer, names):
            object.__setattr__(self, name, row.reshape(shape))

    @property
    def t(self):
        """The number of steps taken so far (the t of the update rules after a step)."""
        return int(self.counters[COUNTER.t])

    def __setattr__(self, name, value):
        raise AttributeError(
            f"State.{name} cannot be rebound: the kernels update the arrays in place. "
            f"Write into the array instead, e.g. state.{name}[...] = value"
        )

    def copy(self):
        """An independent copy (for example to rewind to a checkpoint)."""
        new = object.__new__(State)
        for key in ("optimizer_name", "names", "shape"):
            object.__setattr__(new, key, getattr(self, key))
        buffer = self.buffer.copy()
        object.__setattr__(new, "buffer", buffer)
        object.__setattr__(new, "counters", self.counters.copy())
        for row, name in zip(buffer, self.names):
            object.__setattr__(new, name, row.reshape(self.shape))
        return new

    def __repr__(self):
        fields = ", ".join(self.names)
        return (
            f"State({self.optimizer_name}, t={self.t}, shape={self.shape}, "
            f"dtype={self.buffer.dtype}, vectors: {fields})"
        )


class Optimizer:
    """Base class. A subclass declares ``hypers`` (a tuple of
    :class:`~gdlib.optim.declare.Hyper`, η first), ``state_names``,
    ``_packed_step`` and (where the gradient is not taken at θ)
    ``_packed_lookahead``; its constructor is generated from ``hypers``.
    The default step is ``_packed_step`` behind a separate finite check of g
    (``checked_step``), unless the class gives ``_packed_checked_step(theta,
    g, S, h, c) -> bad``, a step that checks g in a pass it makes anyway
    before any write (LARS's norms) and updates nothing when bad > 0.
    """

    hypers: tuple = ()
    state_names: tuple = ()
    _packed_step = None
    _packed_lookahead = staticmethod(lookahead_at_theta)

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        cls._name = cls.__name__  # what State.optimizer_name must equal (read once per step)
        step = cls.__dict__.get("_packed_step")
        if "_packed_checked_step" in cls.__dict__:  # the class fuses the check into its own passes (LARS)
            cls._checked_step = cls.__dict__["_packed_checked_step"]
        elif step is not None:  # the default step: the check and the update in one compiled call
            cls._checked_step = staticmethod(checked_step(getattr(step, "__func__", step)))
        if "hypers" not in cls.__dict__:
            return
        names = [h.name for h in cls.hypers]
        if not names or names[0] != "eta" or len(set(names)) != len(names):
            raise TypeError(f"{cls.__name__}.hypers must name each hyperparameter once, eta first: {names}")
        cls.__init__ = _generated_init(cls)

    def _configure(self, arguments):
        """Validate the constructor's ``arguments`` by the declaration, store
        them, pack h (with the parallel threshold in force now,
        :func:`gdlib._numba.parallel_min_size`, as its last entry), then freeze."""
        values = {h.name: h.check(arguments[h.name], h.name) for h in self.hypers}
        items = tuple((h.name, values[h.name]) for h in declare.ordered(self.hypers))
        object.__setattr__(self, "_hyper_items", items)
        for name, value in items:
            object.__setattr__(self, name, value)
        object.__setattr__(self, "check_finite", _checks.flag(arguments["check_finite"], "check_finite"))
        packed = [declare.encode(h, values[h.name]) for h in self.hypers]
        packed = [x for p in packed for x in (p if isinstance(p, tuple) else (p,))]  # a layer table is several floats
        object.__setattr__(self, "hyper", np.array([*packed, parallel_min_size()], dtype=np.float64))
        object.__setattr__(self, "_frozen", True)

    def __setattr__(self, name, value):
        if getattr(self, "_frozen", False):
            raise AttributeError(
                f"{type(self).__name__}'s hyperparameters are fixed when it is created. "
                f"Create a new {type(self).__name__}({name}=...) instead, or pass eta=... to step() "
                "for a learning-rate schedule."
            )
        object.__setattr__(self, name, value)

    # -- state ---------------------------------------------------------------
    def init(self, theta):
        """Allocate the state for parameters shaped like ``theta`` (t = 0)."""
        _checks.float_array(theta, "theta")
        state = State(self, theta.shape, theta.dtype)
        self._init_state(state)
        return state

    def _init_state(self, state):
        """Set initial values other than zero (Adagrad's G_0, ...)."""

    # -- one step ------------------------------------------------------------
    def step(self, theta, g, state, *, eta=None):
        """Apply one update to ``theta`` and ``state`` in place, given g_t.

        ``g`` is the gradient evaluated at :meth:`lookahead` (θ itself for all
        methods but Nesterov in its seed form). ``eta`` overrides the learning
        rate for this step only (for schedules).
        """
        # The fast path: every check of the slow path, at the least cost per
        # call (one flags object, no reshape of a 1-D θ): at 10^4 elements
        # the Python around a step costs as much as the step itself.
        if type(state) is not State or type(theta) is not np.ndarray or type(g) is not np.ndarray:
            return self._step_slow(theta, g, state, eta)
        buffer, shape = state.buffer, state.shape
        flags = theta.flags
        if not (
            theta.shape == shape
            and g.shape == shape
            and theta.dtype == buffer.dtype
            and g.dtype == buffer.dtype
            and flags.c_contiguous
            and flags.writeable
            and g.flags.c_contiguous
            and state.optimizer_name == self._name
        ):
            return self._step_slow(theta, g, state, eta)
        if len(shape) != 1:
            theta, g = theta.ravel(), g.ravel()  # views: both are C-contiguous (checked above)
        hyper = self.hyper if eta is None else self._hyper_with_eta(eta)
        if self.check_finite:
            bad = self._checked_step(theta, g, buffer, hyper, state.counters)
            if bad:
                raise ValueError(
                    f"the gradient has {bad} NaN or infinite entries at step t={state.t + 1}; "
                    "nothing was updated. Check the loss for overflow (a learning rate too large "
                    "makes it diverge) or log(0)."
                )
        else:
            self._packed_step(theta, g, buffer, hyper, state.counters)

    def _hyper_with_eta(self, eta):
        hyper = self.hyper.copy()
        # a schedule passes a finite positive Python float: accepted without the
        # full check (its abstract-class tests cost about 1 us per step); NaN,
        # inf, 0, negatives and every other type go through it and its errors
        hyper[ETA] = eta if type(eta) is float and 0.0 < eta < _INF else _checks.positive(eta, "eta")
        return hyper

    def _step_slow(self, theta, g, state, eta):
        """Validate with clear errors; handle non-contiguous θ and g correctly."""
        if not isinstance(state, State):
            raise TypeError(
                f"state must come from {type(self).__name__}.init(theta), got {type(state).__name__}"
            )
        if state.optimizer_name != type(self).__name__:
            raise ValueError(
                f"this state belongs to {state.optimizer_name}, not {type(self).__name__}; "
                f"create one with {type(self).__name__}.init(theta)"
            )
        _checks.float_array(theta, "theta")
        _checks.float_array(g, "g")
        if theta.shape != state.shape or theta.dtype != state.buffer.dtype:
            raise ValueError(
                f"theta has shape {theta.shape} and dtype {theta.dtype}, but the state was made "
                f"for shape {state.shape} and dtype {state.buffer.dtype}; call init(theta) again"
            )
        _checks.same_layout(g, theta, "g", "theta")
        if not theta.flags.writeable:
            raise ValueError("theta is read-only; the optimizer updates it in place. Pass a writable copy.")
        if np.may_share_memory(theta, g):
            g = g.copy()  # the kernel would read g after writing theta
        work = np.ascontiguousarray(theta)
        self.step(work, np.ascontiguousarray(g), state, eta=eta)
        if work is not theta:
            theta[...] = work  # write back into the caller's strided array

    # -- where the gradient is evaluated -------------------------------------
    def lookahead(self, theta, state):
        """The point at which the next gradient must be evaluated.

        θ itself for every method except Nesterov accelerated gradient in the
        seed's form, where it is θ − γ v_{t−1}.
        """
        if self._packed_lookahead is lookahead_at_theta:
            return theta
        theta_c = np.ascontiguousarray(theta)
        out = np.empty_like(theta_c)
        self._packed_lookahead(theta_c.reshape(-1), state.buffer, self.hyper, out.reshape(-1))
        return out

    # -- description ---------------------------------------------------------
    def hyperparameters(self):
        """The constructor arguments, as a dict."""
        return dict(self._hyper_items)

    def __repr__(self):
        items = self._hyper_items + ((("check_finite", False),) if not self.check_finite else ())
        args = ", ".join(f"{k}={v!r}" for k, v in items)
        return f"{type(self).__name__}({args})"


def _generated_init(cls):
    """The constructor of ``cls``, with the signature its ``hypers`` declare."""
    sig = declare.signature(cls.hypers)

    def __init__(self, *args, **kwargs):
        try:
            bound = sig.bind(self, *args, **kwargs)
        except TypeError as error:
            raise TypeError(f"{cls.__name__}{str(sig).replace('self, ', '', 1)}: {error}") from None
        bound.apply_defaults()
        self._configure(bound.arguments)

    __init__.__signature__ = sig
    __init__.__qualname__ = f"{cls.__name__}.__init__"
    __init__.__module__ = cls.__module__
    __init__.__doc__ = f"Create a {cls.__name__}; the parameters are listed in the class docstring."
    return __init__
