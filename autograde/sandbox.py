"""Run untrusted student code in a separate, limited process.

Design (why the grade cannot be faked):

* The student's code runs in its own Python process (``_child.py``). The
  references (gdlib), the comparisons and the grades live only in the grading
  process: the child receives inputs and returns outputs, nothing else.
* The child's ``sys.path`` holds the standard library and a directory linking
  only NumPy, Numba and llvmlite, so it cannot import gdlib, the checks, or
  another framework's optimizers; monkeypatching anything there changes only
  the child.
* Outputs come back as JSON with arrays as ``.npy`` bytes loaded with
  ``allow_pickle=False``: nothing the child sends is executed by the grader.
* Limits: CPU time, address space, file size (so printing megabytes fails
  instead of filling the disk), open files; a wall-clock timeout per call;
  a fresh empty working directory; and, where the grader may create a mount
  namespace (as root on Linux, e.g. in CI), the child sees the whole file
  system read-only except its working directory, so it cannot delete or
  change the course's files. Elsewhere it runs with the grader's rights,
  which the grading report says.
* If the child hangs, exits (``sys.exit``, ``os._exit``) or crashes, the call
  fails with a clear message, the process is killed and a fresh one started
  for the next call: one question's disaster does not cost the others.
"""

from __future__ import annotations

import base64
import ctypes
import io
import json
import os
import resource
import select
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

from .checker import Quadratic, Rng, StudentError

CHILD = Path(__file__).with_name("_child.py")
ALLOWED_PACKAGES = ("numpy", "numpy.libs", "numba", "llvmlite")


def _site_of(module_name):
    module = __import__(module_name)
    return Path(module.__file__).resolve().parent.parent


def make_site(directory):
    """A directory that links only the packages a student may import."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    for name in ALLOWED_PACKAGES:
        base = _site_of(name.split(".")[0])
        source = base / name
        if source.exists() and not (directory / name).exists():
            (directory / name).symlink_to(source)
    return directory


def _encode(value):
    if isinstance(value, Rng):
        return {"t": "rng", "v": int(value.seed)}
    if isinstance(value, Quadratic):
        return {"t": "quadratic", "v": _encode(np.asarray(value.A))}
    if isinstance(value, np.ndarray):
        buf = io.BytesIO()
        np.save(buf, value, allow_pickle=False)
        return {"t": "array", "v": base64.b64encode(buf.getvalue()).decode()}
    if isinstance(value, (bool, type(None))):
        return {"t": "const", "v": value}
    if isinstance(value, (int, np.integer)):
        return {"t": "int", "v": str(int(value))}
    if isinstance(value, (float, np.floating)):
        return {"t": "float", "v": repr(float(value))}
    if isinstance(value, (list, tuple)):
        return {"t": type(value).__name__, "v": [_encode(v) for v in value]}
    if isinstance(value, dict):
        return {"t": "dict", "v": [[str(k), _encode(v)] for k, v in value.items()]}
    raise TypeError(type(value))


def _decode(obj, depth=0):
    """Rebuild the child's answer from plain data; anything unexpected is the student's error."""
    if depth > 20 or not isinstance(obj, dict):
        raise StudentError("the returned value could not be read")
    kind, value = obj.get("t"), obj.get("v")
    if kind == "array":
        arr = np.load(io.BytesIO(base64.b64decode(value)), allow_pickle=False)
        if arr.dtype.kind not in "biuf":
            raise StudentError(f"returned an array of {arr.dtype}; return numbers")
        return arr
    if kind == "int":
        return int(value)
    if kind == "float":
        return float(value)
    if kind == "const":
        return value
    if kind in ("list", "tuple"):
        items = [_decode(v, depth + 1) for v in value]
        return items if kind == "list" else tuple(items)
    if kind == "dict":
        return {str(k): _decode(v, depth + 1) for k, v in value}
    raise StudentError("the returned value could not be read")


_CLONE_NEWNS, _MS_RDONLY, _MS_REMOUNT, _MS_BIND, _MS_REC, _MS_PRIVATE = 0x20000, 1, 32, 4096, 16384, 1 << 18


def _read_only_root_except(writable):
    """In a new mount namespace: make "/" read-only, keeping ``writable`` writable."""
    libc = ctypes.CDLL(None, use_errno=True)
    steps = [
        lambda: libc.unshare(_CLONE_NEWNS),
        lambda: libc.mount(b"none", b"/", None, _MS_REC | _MS_PRIVATE, None),
        lambda: libc.mount(writable.encode(), writable.encode(), None, _MS_BIND, None),
        lambda: libc.mount(None, b"/", None, _MS_REMOUNT | _MS_BIND | _MS_RDONLY, None),
    ]
    for step in steps:
        if step() != 0:
            os._exit(97)  # cannot protect the files: refuse to run the student's code


def can_protect_files():
    """True if a child process can be given a read-only view of the file system."""
    if os.geteuid() != 0 or not sys.platform.startswith("linux"):
        return False
    probe = tempfile.mkdtemp(prefix="autograde-probe-")
    try:
        code = subprocess.run([sys.executable, "-c", "import pathlib, sys; pathlib.Path(sys.argv[1], 'x').touch();"
                               "open('/autograde-write-test', 'w')", probe],
                              preexec_fn=lambda: _read_only_root_except(probe), capture_output=True).returncode
        return code == 1 and Path(probe, "x").exists() and not Path("/autograde-write-test").exists()
    finally:
        shutil.rmtree(probe, ignore_errors=True)


class SandboxCaller:
    """A :class:`autograde.checker.Caller` that runs the student's functions in a sandbox."""

    def __init__(self, source, *, site, call_timeout=10.0, cpu_seconds=120, memory_bytes=4 << 30,
                 log_bytes=1 << 20):
        # one source string, or a list of (label, source) cells loaded one by one so that a cell
        # that raises costs only what it defines
        self.cells = [("your code", source)] if isinstance(source, str) else list(source)
        self.skipped = set()  # cells that hung or ended the process while loading
        self.site = Path(site)
        self.call_timeout = call_timeout
        self.limits = (cpu_seconds, memory_bytes, log_bytes)
        self.proc = None
        self.workdir = None
        self.notes = []  # problems worth telling the student (printed too much, ...)
        self.timed_out = {}  # function name → message: a function that hung once is not run again

    # -- process management ------------------------------------------------
    def _limits(self):
        cpu, memory, log = self.limits
        os.setsid()  # own process group: a timeout kills everything it started
        resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu))
        resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
        resource.setrlimit(resource.RLIMIT_FSIZE, (log, log))
        resource.setrlimit(resource.RLIMIT_NOFILE, (64, 64))
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # writing past the limit fails instead of killing
        if self.read_only_root:
            _read_only_root_except(str(self.workdir))

    read_only_root = None  # decided once per process: can this grader make the file system read-only?

    def _start(self):
        if SandboxCaller.read_only_root is None:
            SandboxCaller.read_only_root = can_protect_files()
        self.workdir = Path(tempfile.mkdtemp(prefix="autograde-"))
        os.chmod(self.workdir, 0o777)
        log = open(self.workdir / "output.log", "wb")
        os.chmod(self.workdir / "output.log", 0o666)
        read_fd, write_fd = os.pipe()  # the child's answers arrive on fd 3
        env = {"PATH": "/usr/bin:/bin", "HOME": str(self.workdir), "NUMBA_CACHE_DIR": str(self.workdir),
               "OMP_NUM_THREADS": "1", "NUMBA_NUM_THREADS": "1", "PYTHONHASHSEED": "0"}
        self.proc = subprocess.Popen(
            [sys.executable, "-I", "-S", str(CHILD), str(self.site), str(write_fd)], stdin=subprocess.PIPE, stdout=log,
            stderr=log, cwd=self.workdir, env=env, preexec_fn=self._limits, pass_fds=(write_fd,),
            close_fds=True)
        os.close(write_fd)
        log.close()
        self._answers = os.fdopen(read_fd, "rb", buffering=0)
        for label, source in self.cells:
            if label in self.skipped:
                continue
            try:
                self._request({"op": "load", "source": source}, f"running {label}")
            except StudentError as exc:
                note = str(exc)
                if note not in self.notes:
                    self.notes.append(note)
                if self.proc is None:  # the cell hung or ended the process: never run it again
                    self.skipped.add(label)
                    return self._start()

    def close(self):
        if self.proc is not None:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
            self.proc.wait()
            self._answers.close()
            self.proc = None
        if self.workdir is not None:
            log = self.workdir / "output.log"
            if log.exists() and log.stat().st_size >= self.limits[2]:
                self.notes.append("Your code printed more than 1 MB; the rest of its output was dropped.")
            shutil.rmtree(self.workdir, ignore_errors=True)
            self.workdir = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    # -- protocol ----------------------------------------------------------
    def _read_exactly(self, size, deadline_what):
        data = b""
        while len(data) < size:
            ready, _, _ = select.select([self._answers], [], [], self.call_timeout)
            if not ready:
                self.close()
                raise StudentError(f"{deadline_what} took longer than {self.call_timeout:g} s (an endless loop?)")
            chunk = self._answers.read(size - len(data))
            if not chunk:
                code = self.proc.poll() if self.proc else None
                self.close()
                raise StudentError(f"{deadline_what} ended the Python process"
                                   + (f" (exit status {code})" if code is not None else "")
                                   + ": do not call sys.exit, os._exit or anything that stops the interpreter")
            data += chunk
        return data

    def _request(self, message, what):
        data = json.dumps(message).encode()
        try:
            self.proc.stdin.write(struct.pack(">I", len(data)) + data)
            self.proc.stdin.flush()
        except (BrokenPipeError, OSError):
            self.close()
            raise StudentError(f"{what}: the Python process running your code had already stopped") from None
        (size,) = struct.unpack(">I", self._read_exactly(4, what))
        if size > 200_000_000:
            self.close()
            raise StudentError(f"{what} returned far too much data")
        try:
            answer = json.loads(self._read_exactly(size, what))
        except ValueError:
            self.close()
            raise StudentError(f"{what}: the answer could not be read") from None
        if not answer.get("ok"):
            raise StudentError(f"{what}: {answer.get('error', 'failed')}")
        return answer

    def call(self, name, *args, **kwargs):
        if name in self.timed_out:
            raise StudentError(self.timed_out[name])
        if self.proc is None:
            self._start()
        try:
            answer = self._request({"op": "call", "name": name, "args": [_encode(a) for a in args],
                                    "kwargs": {k: _encode(v) for k, v in kwargs.items()}}, name)
        except StudentError as exc:
            message = str(exc)
            if "took longer than" in message:
                self.timed_out[name] = message
            if "File too large" in message:
                message = f"{name} printed more than {self.limits[2] >> 20} MB of output; printing was stopped"
                raise StudentError(message) from None
            raise
        after = [_decode(a) for a in answer.get("after", [])]
        return _decode(answer.get("result")), after
