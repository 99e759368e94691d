"""How an optimizer declares its hyperparameters: once, by name.

Each optimizer module starts with a tuple of :class:`Hyper` entries, for
example Adam's::

    HYPERS = (eta(0.001), BETA1, BETA2, eps(1e-8), eps_inside_sqrt(False, "..."), ...)
    H = slots(HYPERS)

and its class sets ``hypers = HYPERS``. From that one declaration:

* the constructor's signature (positional entries first, then the
  ``keyword`` ones, then ``check_finite``), its defaults and its validation
  (each entry's ``check``);
* ``hyperparameters()``, ``repr`` and the attributes ``opt.eta``, ...;
* the packed vector h, one float per entry in the order declared (a flag is
  1.0 or 0.0, a choice is its code, the index in its options), followed by
  the parallel threshold;
* ``H``, the named slots of h for the compiled kernels: ``h[H.beta1]``.

Forms are choices: ``one_of("seed", "optax")`` validates the name, and
``constants("seed", "optax")`` (``gdlib._numba``) gives the kernels the
same codes by name, ``FORM.optax``.

The first entry is always η (``h[0]``): schedules and the compiled loops
set the learning rate there.
"""

from __future__ import annotations

import inspect
from typing import Callable, NamedTuple

from .. import _checks
from .._numba import constants


class Hyper(NamedTuple):
    """One hyperparameter: its name, default, validation and meaning."""

    name: str
    default: object
    check: Callable  # check(value, name) returns the validated value or raises
    doc: str
    keyword: bool = False  # keyword-only in the constructor


def one_of(*options):
    """A check accepting exactly one of ``options`` (a form's names); its
    code in h is the option's index."""

    def check(value, name):
        return _checks.choice(value, name, options)

    check.options = options
    return check


def encode(hyper, value):
    """The float that stands for ``value`` in h (a tuple of floats for an
    entry declared with an ``encode`` of its own, such as ``layers``; keep it last)."""
    own = getattr(hyper.check, "encode", None)
    if own is not None:
        return own(value)
    options = getattr(hyper.check, "options", None)
    if options is not None:
        return float(options.index(value))
    return float(value)


def slots(hypers):
    """The named indices of h: ``slots(HYPERS).beta1`` is β1's position."""
    return constants(*(h.name for h in hypers))


def ordered(hypers):
    """The entries in the constructor's order: positional ones, then keyword-only ones."""
    return tuple(h for h in hypers if not h.keyword) + tuple(h for h in hypers if h.keyword)


def signature(hypers):
    """The constructor's signature (with ``self`` and ``check_finite``)."""
    P = inspect.Parameter
    params = [P("self", P.POSITIONAL_OR_KEYWORD)]
    for h in ordered(hypers):
        kind = P.KEYWORD_ONLY if h.keyword else P.POSITIONAL_OR_KEYWORD
        params.append(P(h.name, kind, default=h.default))
    params.append(P("check_finite", P.KEYWORD_ONLY, default=True))
    return inspect.Signature(params)


# -- entries shared by several optimizers ------------------------------------
def eta(default, doc="learning rate η > 0", keyword=False):
    return Hyper("eta", default, _checks.positive, doc, keyword)


def eps(default, doc="ε >= 0, keeps the denominator away from zero"):
    return Hyper("eps", default, _checks.non_negative, doc)


def eps_inside_sqrt(default, doc):
    return Hyper("eps_inside_sqrt", default, _checks.flag, doc, keyword=True)


def eta_inside_velocity():
    return Hyper("eta_inside_velocity", True, _checks.flag,
                 "True (seed): v_t = γ v_{t−1} + η g_t; False (PyTorch): b_t = γ b_{t−1} + g_t, θ ← θ − η b_t",
                 keyword=True)


BETA1 = Hyper("beta1", 0.9, _checks.decay_rate, "decay β1 in [0, 1) of the first moment m_t")
BETA2 = Hyper("beta2", 0.999, _checks.decay_rate, "decay β2 in [0, 1) of the second moment v_t")
GAMMA_MOMENTUM = Hyper("gamma", 0.9, _checks.decay_rate, "momentum term γ in [0, 1)")
BIAS_CORRECTION = Hyper("bias_correction", True, _checks.flag, "divide m_t and v_t by (1 − β^t)", keyword=True)
