"""The messages between the grader and the sandbox's child: plain JSON, arrays as ``.npy`` bytes.

Both sides import this module, so it uses only the standard library and NumPy:
the sandbox mounts this file next to ``_child.py`` and nothing else of the
project (see :class:`autograde.sandbox.Bubblewrap`).

A value is encoded as ``{"t": kind, "v": payload}``. The grader may send what
the checks need to hand over (numbers, arrays, lists, tuples, dicts, and two
recipes the child rebuilds: :class:`Rng` and :class:`Quadratic`); the child may
send back only numbers, numeric arrays and containers of them. Decoding never
runs code: arrays are loaded with ``allow_pickle=False``, nesting and sizes are
bounded, and anything else is refused with :class:`Unreadable`.

A message on the pipe is a 4-byte big-endian length and that many bytes of JSON.
"""

from __future__ import annotations

import base64
import binascii
import io
import json
import struct
from dataclasses import dataclass

import numpy as np

HEADER = struct.Struct(">I")
MAX_MESSAGE = 200_000_000  # bytes of one message
MAX_DEPTH = 20  # nesting of lists, tuples and dicts
MAX_ELEMENTS = 10_000_000  # elements of one array
NUMERIC = "biuf"  # the array kinds an answer may hold: booleans, integers, floats


class Unsendable(TypeError):
    """A value the wire cannot carry (an object, an array of objects, nesting too deep)."""


class Unreadable(ValueError):
    """A message that is not what the other side may send."""


@dataclass
class Rng:
    """A NumPy generator the child rebuilds from its seed (``make`` rebuilds it in process)."""

    seed: int

    def make(self):
        return np.random.default_rng(self.seed)


@dataclass
class Quadratic:
    """∇J for J = ½ θᵀAθ, a gradient function the child rebuilds from its matrix."""

    A: np.ndarray

    def __call__(self, x):
        x = np.asarray(x, dtype=np.float64)
        return (self.A @ x.reshape(-1)).reshape(x.shape)


def pack(message):
    """The bytes of one message: its length, then its JSON."""
    data = json.dumps(message).encode()
    return HEADER.pack(len(data)) + data


def message_size(header):
    """The length announced by a 4-byte header; refuses a length over :data:`MAX_MESSAGE`."""
    (size,) = HEADER.unpack(header)
    if size > MAX_MESSAGE:
        raise Unreadable("far too much data")
    return size


def _array(value):
    arr = np.asarray(value)
    if arr.dtype.kind not in NUMERIC or arr.size > MAX_ELEMENTS:
        raise Unsendable("return arrays of numbers")
    buf = io.BytesIO()
    np.save(buf, arr, allow_pickle=False)
    return {"t": "array", "v": base64.b64encode(buf.getvalue()).decode()}


def encode(value, depth=0):
    """Plain JSON data for ``value``, or :class:`Unsendable` saying what cannot be sent."""
    if depth > MAX_DEPTH:
        raise Unsendable("the returned value is nested too deeply")
    if isinstance(value, Rng):
        return {"t": "rng", "v": int(value.seed)}
    if isinstance(value, Quadratic):
        return {"t": "quadratic", "v": _array(np.asarray(value.A, dtype=np.float64))}
    if isinstance(value, (np.ndarray, np.generic)):
        return _array(value)
    if isinstance(value, bool) or value is None:
        return {"t": "const", "v": value}
    if isinstance(value, int):
        return {"t": "int", "v": str(value)}
    if isinstance(value, float):
        return {"t": "float", "v": repr(value)}
    if isinstance(value, (list, tuple)):
        return {"t": type(value).__name__, "v": [encode(v, depth + 1) for v in value]}
    if isinstance(value, dict):
        return {"t": "dict", "v": [[str(k), encode(v, depth + 1)] for k, v in value.items()]}
    raise Unsendable(f"cannot return a {type(value).__name__}; return NumPy arrays, numbers, tuples, lists or dicts")


def _load_array(payload):
    try:
        arr = np.load(io.BytesIO(base64.b64decode(payload, validate=True)), allow_pickle=False)
    except (TypeError, ValueError, EOFError, OSError, binascii.Error):
        raise Unreadable("the returned value could not be read") from None
    if not isinstance(arr, np.ndarray) or arr.dtype.kind not in NUMERIC:
        raise Unreadable(f"returned an array of {getattr(arr, 'dtype', type(arr).__name__)}; return numbers")
    return arr


def decode(obj, *, recipes=False, depth=0):
    """The value an :func:`encode` result stands for; :class:`Unreadable` for anything else.

    Only the child accepts ``recipes`` (:class:`Rng`, :class:`Quadratic`, rebuilt as live objects):
    the grader decodes an answer as data only."""
    if depth > MAX_DEPTH or not isinstance(obj, dict):
        raise Unreadable("the returned value could not be read")
    kind, value = obj.get("t"), obj.get("v")
    try:
        if kind == "array" and isinstance(value, str):
            return _load_array(value)
        if kind == "int" and isinstance(value, str) and len(value) <= 4300:
            return int(value)
        if kind == "float" and isinstance(value, str) and len(value) <= 40:
            return float(value)
        if kind == "const" and (value is None or isinstance(value, bool)):
            return value
        if kind in ("list", "tuple") and isinstance(value, list):
            items = [decode(v, recipes=recipes, depth=depth + 1) for v in value]
            return items if kind == "list" else tuple(items)
        if kind == "dict" and isinstance(value, list):
            return {_key(pair): decode(pair[1], recipes=recipes, depth=depth + 1) for pair in value}
        if recipes and kind == "rng" and isinstance(value, int):
            return np.random.default_rng(value)
        if recipes and kind == "quadratic":
            return Quadratic(decode(value, depth=depth + 1))
    except (TypeError, ValueError) as exc:
        if isinstance(exc, Unreadable):
            raise
        raise Unreadable("the returned value could not be read") from None
    raise Unreadable("the returned value could not be read")


def _key(pair):
    if not (isinstance(pair, list) and len(pair) == 2 and isinstance(pair[0], str)):
        raise Unreadable("the returned value could not be read")
    return pair[0]


def answer(message, n_args=None):
    """Check the envelope of the child's answer (to a call with ``n_args`` arguments); returns it.

    ``{"ok": true, "result": ..., "after": [n_args values]}`` or ``{"ok": false, "kind": ...,
    "type": ..., "error": ...}`` with strings; anything else is :class:`Unreadable`."""
    if not isinstance(message, dict) or not isinstance(message.get("ok"), bool):
        raise Unreadable("the answer could not be read")
    if message["ok"] and n_args is not None:
        after = message.get("after")
        if "result" not in message or not isinstance(after, list) or len(after) != n_args:
            raise Unreadable("the answer could not be read")
    elif not all(isinstance(message.get(k, ""), str) for k in ("kind", "type", "error")):
        raise Unreadable("the answer could not be read")
    return message
