"""The sandbox process: holds the student's code and nothing of the grader.

Started by :mod:`autograde.sandbox` (inside bubblewrap) as ``python -I -S
_child.py SITE FD NPROC`` with a ``sys.path`` of the standard library plus SITE,
a directory that holds only NumPy, Numba and llvmlite (so neither gdlib, nor
the checks, nor another framework's optimizers can be imported). The message
codec is :mod:`autograde.wire`, loaded from the file next to this one (the
sandbox mounts both, and no other file of the project). Before any student code
runs it limits its processes to NPROC (0: no limit); inside the sandbox's user
namespace the count covers the sandbox only. It reads length-prefixed JSON
requests on its original standard input and answers on the pipe FD; the
student's own prints go to a size-limited log file that the parent set up as
fds 1 and 2.

An answer says what happened as data: ``{"ok": true, "result", "after"}``, or
``{"ok": false, "kind", "type", "error"}`` with ``kind`` one of ``missing`` (no
such function), ``raised`` (the student's code raised ``type``),
``unsendable`` (the result is not numbers and arrays) and ``output_limit``
(printing hit the log's size limit).
"""

import errno
import importlib.util
import os
import resource
import sys

if int(sys.argv[3]) > 0:  # a fork bomb meets a wall
    resource.setrlimit(resource.RLIMIT_NPROC, (int(sys.argv[3]), int(sys.argv[3])))
sys.path.append(sys.argv[1])
sys.dont_write_bytecode = True


def _load_wire():
    spec = importlib.util.spec_from_file_location("_autograde_wire", os.path.join(os.path.dirname(__file__), "wire.py"))
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


import numpy as np  # noqa: E402  (after the site directory is on the path)

wire = _load_wire()

# The protocol keeps private copies of the pipes; the student's code sees a log file.
_IN = os.fdopen(os.dup(0), "rb", buffering=0)
_OUT = os.fdopen(int(sys.argv[2]), "wb", buffering=0)
_devnull = os.open(os.devnull, os.O_RDONLY)
os.dup2(_devnull, 0)


def _read_exactly(size):
    data = b""
    while len(data) < size:
        chunk = _IN.read(size - len(data))
        if not chunk:
            sys.exit(0)
        data += chunk
    return data


def _read():
    import json

    return json.loads(_read_exactly(wire.message_size(_read_exactly(wire.HEADER.size))))


def _failure(kind, exc):
    name = "TypeError" if isinstance(exc, wire.Unsendable) else type(exc).__name__
    return {"ok": False, "kind": kind, "type": name, "error": f"{name}: {exc}"[:2000]}


def _serve(request, namespace):
    if request["op"] == "load":
        exec(compile(request["source"], "<your notebook>", "exec"), namespace)
        return {"ok": True}
    fn = namespace.get(request["name"])
    if not callable(fn):
        return {"ok": False, "kind": "missing", "type": "", "error": f"define a function called {request['name']}"}
    args = [wire.decode(a, recipes=True) for a in request["args"]]
    kwargs = {k: wire.decode(v, recipes=True) for k, v in request["kwargs"].items()}
    result = fn(*args, **kwargs)
    try:
        # the arguments as the call left them (to notice in-place changes); recipes come back as None
        after = [None if isinstance(a, (np.random.Generator, wire.Quadratic)) else a for a in args]
        return {"ok": True, "result": wire.encode(result), "after": [wire.encode(a) for a in after]}
    except wire.Unsendable as exc:
        return _failure("unsendable", exc)


def main():
    namespace = {"__name__": "__student__"}
    while True:
        request = _read()
        try:
            answer = _serve(request, namespace)
        except SystemExit:
            raise
        except BaseException as exc:  # report, keep serving
            too_much = isinstance(exc, OSError) and exc.errno == errno.EFBIG
            answer = _failure("output_limit" if too_much else "raised", exc)
        _OUT.write(wire.pack(answer))

if __name__ == "__main__":
    main()
