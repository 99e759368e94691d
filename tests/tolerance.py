"""Per-entry tolerances: each entry judged on its own scale.

A tolerance of ``rtol × max|array|`` leaves the small entries of an array
effectively unchecked (a v_t entry of 1e-12 next to one of 1e6). Here every
entry i of a quantity x gets its own bound

    |actual_i − expected_i| <= rtol · S_i,   S_i = |x_0,i| + Σ_k |x_k,i − x_{k−1},i|,

the path length of the entry's trajectory up to now, computed from the
float64 reference. The rounding error a step adds to an entry is a few
units in the last place of the terms it adds up, and those terms are
bounded by the entry's size and its change in that step, so S_i bounds
the error of the whole run while staying as small as the entry itself
when the entry stays small.
"""

import numpy as np

#: Calibrated on tests/cases.py (worst seen: 6.3e-7 in float32, 4e-16 in float64)
#: with a margin of 3x to 10x: a few units in the last place over a run.
RTOL = {np.dtype(np.float32): 2e-6, np.dtype(np.float64): 4e-15}


class EntryScale:
    """The running path length S_i of one quantity, fed with float64 values."""

    def __init__(self, x0):
        x0 = np.asarray(x0, dtype=np.float64)
        self.previous = x0.copy()
        self.scale = np.abs(x0)

    def update(self, x):
        x = np.asarray(x, dtype=np.float64)
        self.scale = self.scale + np.abs(x - self.previous)
        self.previous = x.copy()
        return self.scale


def assert_entries_close(actual, expected, scale, dtype, what, rtol=None):
    """``actual`` equals ``expected`` entry by entry within rtol · scale_i,
    plus the dtype's smallest normal number (a float64 oracle value below it
    cannot be represented in float32: it underflows to a subnormal or 0)."""
    rtol = RTOL[np.dtype(dtype)] if rtol is None else rtol
    actual = np.asarray(actual, dtype=np.float64)
    expected = np.asarray(expected, dtype=np.float64)
    err = np.abs(actual - expected)
    bound = rtol * scale + np.finfo(dtype).tiny
    bad = ~(err <= bound)
    if bad.any():
        i = np.flatnonzero(bad.reshape(-1))
        k = i[np.argmax((err.reshape(-1) / np.maximum(bound.reshape(-1), 1e-300))[i])]
        raise AssertionError(
            f"{what}: {i.size} of {err.size} entries differ; worst entry {k}: "
            f"actual {actual.reshape(-1)[k]!r}, expected {expected.reshape(-1)[k]!r}, "
            f"error {err.reshape(-1)[k]:.3g} > {rtol:g} × entry scale {scale.reshape(-1)[k]:.3g}"
        )


def worst_ratio(actual, expected, scale):
    """max_i |actual_i − expected_i| / S_i (for calibrating RTOL)."""
    err = np.abs(np.asarray(actual, np.float64) - np.asarray(expected, np.float64))
    with np.errstate(invalid="ignore", divide="ignore"):
        r = np.where(err == 0, 0.0, err / scale)
    return float(np.max(r)) if r.size else 0.0
