"""Layers: how a layer-wise optimizer (LARS, LAMB) splits the flat θ.

gdlib's optimizers work on one flat vector θ. LARS and LAMB need more: a
trust ratio ‖θ_l‖ / ‖u_l‖ per *layer* l, that is per segment θ[o_l : o_{l+1}]
of θ. A :class:`Layers` holds those segment boundaries

    0 = o_0 < o_1 < … < o_L = d

and, per segment, two flags: whether weight decay applies to it (``decay``)
and whether its step is scaled by the trust ratio (``trust``). Frameworks
call these the weight-decay mask and the trust-ratio mask (optax's
``weight_decay_mask`` and ``trust_ratio_mask``); it is usual to switch both
off for biases and batch-normalisation parameters.

A model that knows its layout builds one: ``MLP.layers()`` gives a segment
for every weight matrix, bias vector and batch-norm γ and β. The optimizer
takes it at construction (``LARS(layers=model.layers())``) and packs it into
its hyperparameter vector h, so the compiled kernels, including the ones
inside :func:`gdlib.train`'s epoch, loop over the segments. ``layers=None``
(the default) treats the whole θ as one layer with both flags on.

Packed form, after the scalar hyperparameters in h:
``[L, o_0, …, o_L, decay_0, …, decay_{L−1}, trust_0, …, trust_{L−1}]``, or
``[0]`` for ``None``.
"""

from __future__ import annotations

import numpy as np

from .._numba import jit
from .declare import Hyper


class Layers:
    """Segments θ[o_l : o_{l+1}] of a flat θ, with a decay and a trust flag each.

    Parameters
    ----------
    offsets : sequence of int
        0 = o_0 < o_1 < … < o_L: strictly increasing, starting at 0; the last
        one must equal θ's size (checked when the optimizer's ``init(theta)`` runs).
    decay, trust : bool or sequence of bool
        Per segment (or one value for all): apply weight decay; scale the
        step by the trust ratio. Both True by default.
    names : sequence of str, optional
        A label per segment (``"W1"``, ``"b1"``, ...), for display only.
    """

    def __init__(self, offsets, decay=True, trust=True, names=None):
        try:
            o = np.asarray(offsets)
        except Exception:  # noqa: BLE001 (ragged or odd input: say what is expected)
            o = None
        if o is None or o.ndim != 1 or o.size < 2 or not (np.issubdtype(o.dtype, np.integer) or o.dtype == bool):
            raise TypeError(f"offsets must be a 1-D sequence of at least two integers 0 = o_0 < … < o_L, got {offsets!r}")
        o = o.astype(np.int64)
        if o[0] != 0:
            raise ValueError(f"offsets must start at 0 (the first segment begins at θ[0]), got {o[0]}")
        if np.any(np.diff(o) <= 0):
            raise ValueError(f"offsets must be strictly increasing (no empty or overlapping layers), got {o.tolist()}")
        n = o.size - 1
        self.offsets = o
        self.decay = self._flags(decay, n, "decay")
        self.trust = self._flags(trust, n, "trust")
        if names is not None:
            names = tuple(str(s) for s in names)
            if len(names) != n:
                raise ValueError(f"names has {len(names)} entries for {n} layers")
        self.names = names

    @staticmethod
    def _flags(value, n, name):
        if isinstance(value, (bool, np.bool_)):
            return np.full(n, bool(value))
        flags = np.asarray(value)
        if flags.shape != (n,) or flags.dtype != bool:
            raise ValueError(f"{name} must be a bool or a sequence of {n} bools (one per layer), got {value!r}")
        return flags.copy()

    def __len__(self):
        return self.offsets.size - 1

    @property
    def size(self):
        """d, the size of θ the segments cover."""
        return int(self.offsets[-1])

    def packed(self):
        """The floats stored in h (see the module docstring)."""
        return (float(len(self)), *map(float, self.offsets), *map(float, self.decay), *map(float, self.trust))

    def check_covers(self, size):
        """Raise unless the segments cover a θ of ``size`` elements exactly."""
        if self.size != size:
            raise ValueError(
                f"the layers cover {self.size} parameters but theta has {size}; build them for this θ "
                "(e.g. model.layers() for the model whose init_params made θ)")

    def segments(self):
        """(start, stop, decay, trust) for each layer."""
        return [(int(a), int(b), bool(d), bool(r))
                for a, b, d, r in zip(self.offsets[:-1], self.offsets[1:], self.decay, self.trust)]

    def __eq__(self, other):
        return (isinstance(other, Layers) and np.array_equal(self.offsets, other.offsets)
                and np.array_equal(self.decay, other.decay) and np.array_equal(self.trust, other.trust))

    __hash__ = None

    def __repr__(self):
        flags = lambda f: bool(f[0]) if f.all() or not f.any() else [bool(x) for x in f]  # noqa: E731
        extra = "" if self.names is None else f", names={list(self.names)!r}"
        return f"Layers(offsets={self.offsets.tolist()}, decay={flags(self.decay)!r}, trust={flags(self.trust)!r}{extra})"


def check_layers(value, name):
    """The declaration's check: None (one layer) or a :class:`Layers`."""
    if value is None or isinstance(value, Layers):
        return value
    raise TypeError(f"{name} must be None (θ is one layer) or a gdlib.Layers, e.g. model.layers(); "
                    f"got {type(value).__name__}")


#: The declaration entry, keyword-only and always last (h[H.layers] starts the table).
LAYERS = Hyper("layers", None, check_layers,
               "None (θ is one layer) or a gdlib.Layers: the segments θ_l with their decay and trust flags",
               keyword=True)


class LayerwiseOptimizer:
    """Mixin: check at ``init(theta)`` that the layers cover θ exactly."""

    def _init_state(self, state):
        if self.layers is not None:
            self.layers.check_covers(int(np.prod(state.shape)))


# -- reading the packed table inside the kernels -------------------------------
@jit
def n_segments(h, at):
    """How many segments the table at h[at] describes (1 for ``None``)."""
    return max(1, int(h[at]))


@jit
def segment(h, at, d, k):
    """(start, stop, decay, trust) of segment k of a θ of size d."""
    L = int(h[at])
    if L == 0:
        return 0, d, True, True
    if int(h[at + L + 1]) != d:
        raise ValueError("the layers do not cover theta exactly; build them for this θ (e.g. model.layers())")
    return int(h[at + 1 + k]), int(h[at + 2 + k]), h[at + L + 2 + k] != 0.0, h[at + 2 * L + 2 + k] != 0.0


def _encode(value):
    return 0.0 if value is None else value.packed()


check_layers.encode = _encode
