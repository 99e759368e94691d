"""The sandbox process: holds the student's code and nothing of the grader.

Started by :mod:`autograde.sandbox` (inside bubblewrap) as ``python -I -S
_child.py SITE FD NPROC`` with a ``sys.path`` of the standard library plus SITE,
a directory that holds only NumPy, Numba and llvmlite (so neither gdlib, nor
the checks, nor another framework's optimizers can be imported). Before any
student code runs it limits its processes to NPROC (0: no limit); inside the
sandbox's user namespace the count covers the sandbox only. It reads length-prefixed JSON requests on its
original standard input and answers on the pipe FD; the
student's own prints go to a size-limited log file that the parent set up as
fds 1 and 2. Arrays cross the pipe as ``.npy`` bytes, loaded without pickle.
"""

import base64
import io
import json
import os
import resource
import struct
import sys

if int(sys.argv[3]) > 0:  # a fork bomb meets a wall
    resource.setrlimit(resource.RLIMIT_NPROC, (int(sys.argv[3]), int(sys.argv[3])))
sys.path.append(sys.argv[1])
sys.dont_write_bytecode = True

import numpy as np  # noqa: E402

# The protocol keeps private copies of the pipes; the student's code sees a log file.
_IN = os.fdopen(os.dup(0), "rb", buffering=0)
_OUT = os.fdopen(int(sys.argv[2]), "wb", buffering=0)
_devnull = os.open(os.devnull, os.O_RDONLY)
os.dup2(_devnull, 0)


def _read():
    header = _IN.read(4)
    if len(header) < 4:
        sys.exit(0)
    (size,) = struct.unpack(">I", header)
    data = b""
    while len(data) < size:
        chunk = _IN.read(size - len(data))
        if not chunk:
            sys.exit(0)
        data += chunk
    return json.loads(data)


def _write(obj):
    data = json.dumps(obj).encode()
    _OUT.write(struct.pack(">I", len(data)) + data)


def _encode(value, depth=0):
    if depth > 20:
        raise TypeError("the returned value is nested too deeply")
    if isinstance(value, np.ndarray) or isinstance(value, np.generic) and not isinstance(value, (np.bool_,)):
        arr = np.asarray(value)
        if arr.dtype == object or arr.size > 10_000_000:
            raise TypeError("return arrays of numbers")
        buf = io.BytesIO()
        np.save(buf, arr, allow_pickle=False)
        return {"t": "array", "v": base64.b64encode(buf.getvalue()).decode()}
    if isinstance(value, bool) or value is None:
        return {"t": "const", "v": value}
    if isinstance(value, int):
        return {"t": "int", "v": str(value)}
    if isinstance(value, float):
        return {"t": "float", "v": repr(value)}
    if isinstance(value, (list, tuple)):
        return {"t": type(value).__name__, "v": [_encode(v, depth + 1) for v in value]}
    if isinstance(value, dict):
        return {"t": "dict", "v": [[str(k), _encode(v, depth + 1)] for k, v in value.items()]}
    raise TypeError(f"cannot return a {type(value).__name__}; return NumPy arrays, numbers, tuples, lists or dicts")


class _Quadratic:
    def __init__(self, A):
        self.A = A

    def __call__(self, x):
        x = np.asarray(x, dtype=np.float64)
        return (self.A @ x.reshape(-1)).reshape(x.shape)


# The codec mirrors autograde.sandbox on purpose: this process must not import autograde.
def _decode(obj):
    kind, value = obj["t"], obj.get("v")
    if kind == "array":
        return np.load(io.BytesIO(base64.b64decode(value)), allow_pickle=False)
    if kind == "int":
        return int(value)
    if kind == "float":
        return float(value)
    if kind == "const":
        return value
    if kind in ("list", "tuple"):
        items = [_decode(v) for v in value]
        return items if kind == "list" else tuple(items)
    if kind == "dict":
        return {k: _decode(v) for k, v in value}
    if kind == "rng":
        return np.random.default_rng(int(value))
    if kind == "quadratic":
        return _Quadratic(_decode(value))
    raise ValueError(kind)


def main():
    namespace = {"__name__": "__student__"}
    while True:
        request = _read()
        try:
            if request["op"] == "load":
                exec(compile(request["source"], "<your notebook>", "exec"), namespace)
                _write({"ok": True})
                continue
            fn = namespace.get(request["name"])
            if not callable(fn):
                _write({"ok": False, "error": f"define a function called {request['name']}"})
                continue
            args = [_decode(a) for a in request["args"]]
            kwargs = {k: _decode(v) for k, v in request["kwargs"].items()}
            result = fn(*args, **kwargs)
            after = [{"t": "const", "v": None} if isinstance(a, (np.random.Generator, _Quadratic)) else _encode(a)
                     for a in args]  # the arguments as the call left them (to notice in-place changes)
            _write({"ok": True, "result": _encode(result), "after": after})
        except SystemExit:
            raise
        except BaseException as exc:  # report, keep serving
            _write({"ok": False, "error": f"{type(exc).__name__}: {exc}"[:2000]})


if __name__ == "__main__":
    main()
