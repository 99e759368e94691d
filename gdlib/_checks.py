"""Input validation shared by gdlib's thin Python layer.

Every message says what was wrong and how to fix it. Kernels never see
unvalidated input.
"""

from __future__ import annotations

import math
import numbers

import numpy as np

from ._numba import FLOAT_DTYPES


def real_number(value, name):
    """Return ``value`` as a Python float, or raise TypeError/ValueError."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number, got {value!r} of type {type(value).__name__}")
    value = float(value)
    if not math.isfinite(value):
        raise ValueError(f"{name} must be finite, got {value!r}")
    return value


def positive(value, name):
    value = real_number(value, name)
    if value <= 0:
        raise ValueError(f"{name} must be > 0, got {value!r}; a learning rate or scale must be positive")
    return value


def non_negative(value, name):
    value = real_number(value, name)
    if value < 0:
        raise ValueError(f"{name} must be >= 0, got {value!r}")
    return value


def decay_rate(value, name):
    """A decay or momentum coefficient: 0 <= value < 1."""
    value = real_number(value, name)
    if not 0.0 <= value < 1.0:
        raise ValueError(
            f"{name} must lie in [0, 1), got {value!r}; values like 0.9 or 0.999 are usual, "
            "and 1 would stop the average from ever forgetting its start"
        )
    return value


def whole_number(value, name, low=1):
    """Return ``value`` as a Python int >= ``low``, or raise ValueError (a bool is not a number here)."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)) or value < low:
        raise ValueError(f"{name} must be a whole number >= {low}, got {value!r}")
    return int(value)


def flag(value, name):
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must be True or False, got {value!r}")
    return bool(value)


def choice(value, name, options):
    if value not in options:
        listed = ", ".join(repr(o) for o in options)
        raise ValueError(f"{name} must be one of {listed}; got {value!r}")
    return value


def float_array(x, name):
    """Check that ``x`` is a NumPy array of a supported float dtype."""
    if not isinstance(x, np.ndarray):
        raise TypeError(
            f"{name} must be a NumPy array, got {type(x).__name__}; "
            f"wrap it with np.asarray({name}, dtype=np.float64)"
        )
    if x.dtype not in FLOAT_DTYPES:
        raise TypeError(
            f"{name} has dtype {x.dtype}; gdlib works on float32 or float64 arrays. "
            f"Convert it with {name}.astype(np.float64)"
        )
    if x.size == 0:
        raise ValueError(f"{name} is empty; an optimizer needs at least one parameter")
    return x


def same_layout(x, ref, name, ref_name):
    if x.shape != ref.shape:
        raise ValueError(f"{name} has shape {x.shape} but {ref_name} has shape {ref.shape}; they must match")
    if x.dtype != ref.dtype:
        raise TypeError(
            f"{name} has dtype {x.dtype} but {ref_name} has dtype {ref.dtype}; "
            f"use {name}.astype({ref_name}.dtype)"
        )


def layer_pairs(theta_layers, update_layers):
    """The input of a layer-wise trust ratio (both ``trust_ratios``, gdlib's and
    the reference's, validate with this one function): two sequences with one
    entry per layer, θ_l and u_l of one shape, real and finite. Returns the
    pairs (θ_l, u_l) as float64 arrays."""
    try:
        n_theta, n_update = len(theta_layers), len(update_layers)
    except TypeError:
        raise TypeError("theta_layers and update_layers must be sequences of arrays, one per layer "
                        f"(got {type(theta_layers).__name__} and {type(update_layers).__name__})") from None
    if n_theta != n_update:
        raise ValueError(f"theta_layers has {n_theta} layers and update_layers {n_update}; give one update per layer")
    pairs = []
    for k, (theta, u) in enumerate(zip(theta_layers, update_layers)):
        try:
            theta, u = np.asarray(theta, dtype=np.float64), np.asarray(u, dtype=np.float64)
        except (TypeError, ValueError):
            raise TypeError(f"layer {k}: θ_l and u_l must be arrays of real numbers") from None
        if theta.shape != u.shape:
            raise ValueError(f"layer {k}: θ_l has shape {theta.shape} but u_l has shape {u.shape}; they must match")
        if not (np.all(np.isfinite(theta)) and np.all(np.isfinite(u))):
            raise ValueError(f"layer {k}: θ_l and u_l must be finite (a NaN or an infinity has no trust ratio)")
        pairs.append((theta, u))
    return pairs
