"""Run untrusted student code in a separate, limited process, isolated by bubblewrap.

Design (why the grade cannot be faked, and why the grader cannot be harmed):

* The student's code runs in its own Python process (``_child.py``). The
  references (gdlib), the comparisons and the grades live only in the grading
  process: the child receives inputs and returns outputs, nothing else.
  Outputs come back as JSON with arrays as ``.npy`` bytes loaded with
  ``allow_pickle=False`` (:mod:`autograde.wire`): nothing the child sends is
  executed by the grader, and a malformed answer is the student's error.
* The child is started by bubblewrap (``bwrap``, :class:`Bubblewrap`), which gives it:

  - its own PID namespace (it sees and can signal only its own processes;
    ``--die-with-parent`` and ``--new-session``: when the grader ends a call
    by killing bwrap, the namespace ends and everything it started with it);
  - a file system built from an allow-list: the Python runtime (its
    site-packages hidden), the system's shared libraries, NumPy, Numba and
    llvmlite, the child script and its codec (``wire.py``), all read-only,
    plus a private tmpfs as working directory. The course directory,
    ``solutions/``, ``submitted/``, the gradebook, home directories and the
    host's ``/tmp`` are not there at all;
  - no network (its own, empty network namespace), no capabilities, a
    non-root uid (65534): as an ordinary user through a user namespace, as
    root by dropping to uid 65534 with ``setpriv`` inside the sandbox.

* Limits: CPU time, address space, file size (so printing megabytes fails
  instead of filling the disk), open files, the size of the working
  directory, a process count (a fork bomb meets a wall), and a wall-clock
  timeout per call.
* If the child hangs, exits or crashes, the call fails with a clear message,
  the sandbox is killed and a fresh one started for the next call: one
  question's disaster does not cost the others.
* No silent fallback: where bubblewrap cannot run, :func:`require_sandbox`
  raises :class:`SandboxUnavailable` saying what to install. Running without
  the sandbox (``sandbox=None``) is for trusted code only and is the caller's
  explicit choice.
"""

from __future__ import annotations

import glob
import json
import os
import resource
import select
import shutil
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

from . import wire
from .errors import MissingFunction, StudentCrash, StudentError, StudentTimeout, TooMuchOutput, WrongShape, raised

CHILD = Path(__file__).with_name("_child.py")
WIRE = Path(wire.__file__)  # the codec the child loads from beside itself: the only other file mounted
ALLOWED_PACKAGES = ("numpy", "numpy.libs", "numba", "llvmlite")
SANDBOX_UID = 65534  # "nobody": the uid the student's code runs as
MAX_PROCESSES = 64  # processes and threads the student's code may have at once
INSTALL_HINT = ("install bubblewrap (Debian/Ubuntu: apt-get install bubblewrap; Fedora: dnf install bubblewrap) "
                "on a Linux kernel that allows user namespaces; or, for trusted submissions only, grade with "
                "--no-sandbox")
# where things are inside the sandbox
_SITE, _CHILD, _SETPRIV, _WORK = "/sandbox/site", "/sandbox/child.py", "/sandbox/setpriv", "/work"
_WIRE = "/sandbox/wire.py"  # beside the child, which loads it from there
_SYSTEM_LIBRARIES = ("/usr/lib", "/usr/lib64", "/usr/lib32", "/lib", "/lib64", "/lib32")


class SandboxUnavailable(RuntimeError):
    """Bubblewrap cannot isolate the student's code on this machine: nothing is graded."""


def _package_dirs():
    """{name: directory} of the packages a student may import."""
    dirs = {}
    for name in ALLOWED_PACKAGES:
        module = __import__(name.split(".")[0])
        source = Path(module.__file__).resolve().parent.parent / name
        if source.exists():
            dirs[name] = source
    return dirs


def make_site(directory):
    """A directory that links only the packages a student may import (for --no-sandbox runs)."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    for name, source in _package_dirs().items():
        if not (directory / name).exists():
            (directory / name).symlink_to(source)
    return directory


class Bubblewrap:
    """The bubblewrap command line that runs ``_child.py`` isolated (see the module's docstring).

    As an ordinary user, bwrap makes a user namespace in which the child is uid 65534 with no
    capabilities. As root, bwrap builds the same namespaces and mounts without a user namespace
    (the runtime may live where only root can read, e.g. /root/.pyenv), keeps only the right to
    change uid, and ``setpriv`` inside the sandbox drops to uid 65534 with every capability gone
    before Python starts: the student's code is never root, not even in a namespace.
    """

    def __init__(self, bwrap=None, *, work_bytes=64 << 20):
        self.bwrap = bwrap or shutil.which("bwrap") or "/usr/bin/bwrap"
        if not Path(self.bwrap).is_file() or not sys.platform.startswith("linux"):
            raise SandboxUnavailable(f"bubblewrap (bwrap) was not found: {INSTALL_HINT}")
        self.as_root = os.geteuid() == 0
        self.setpriv = shutil.which("setpriv") or "/usr/bin/setpriv"
        if self.as_root and not Path(self.setpriv).exists():
            raise SandboxUnavailable("setpriv (util-linux) was not found: grading as root needs it to drop to an "
                                     "unprivileged uid inside the sandbox")
        self.python = os.path.realpath(sys.executable)
        self.work_bytes = work_bytes
        self._args = self._build()

    def _build(self):
        args = ["--unshare-pid", "--unshare-net", "--unshare-ipc", "--unshare-uts", "--unshare-cgroup-try",
                "--die-with-parent", "--new-session", "--clearenv", "--cap-drop", "ALL"]
        if self.as_root:
            args += ["--cap-add", "CAP_SETUID", "--cap-add", "CAP_SETGID", "--cap-add", "CAP_SETPCAP"]
        else:
            args += ["--unshare-user", "--uid", str(SANDBOX_UID), "--gid", str(SANDBOX_UID), "--disable-userns"]
        made = set()

        def parents(dest):  # mount points' parents, traversable by the sandbox's uid
            out = []
            for parent in reversed(Path(dest).parents):
                if str(parent) != "/" and str(parent) not in made:
                    made.add(str(parent))
                    out += ["--perms", "0755", "--dir", str(parent)]
            return out

        mounted = []

        def ro(source, dest=None):
            source = os.path.realpath(source)
            if dest is None and any(source == m or source.startswith(m + "/") for m in mounted):
                return []  # already inside a mounted tree
            if dest is None:
                mounted.append(source)
            return parents(dest or source) + ["--ro-bind", source, dest or source]

        # the runtime, and the shared libraries that it, NumPy and Numba load
        prefix = os.path.realpath(sys.base_prefix)
        for path in sorted({prefix, *(p for p in _SYSTEM_LIBRARIES if os.path.isdir(p) and not os.path.islink(p))},
                           key=len):
            args += ro(path)
        for path in _SYSTEM_LIBRARIES:
            if os.path.islink(path):
                args += parents(path) + ["--symlink", os.readlink(path), path]
        if not any(self.python.startswith(m + "/") for m in mounted):
            args += ro(self.python)
        # no installed packages but the allowed ones: hide every site- and dist-packages of the runtime
        for tree in mounted:
            for pattern in ("python3*/*-packages", "lib/python3*/*-packages", "lib64/python3*/*-packages",
                            "local/lib/python3*/*-packages"):
                for hidden in sorted(glob.glob(os.path.join(tree, pattern))):
                    if hidden.endswith(("/site-packages", "/dist-packages")) and os.path.isdir(hidden):
                        args += ["--tmpfs", hidden]
        for name, source in _package_dirs().items():
            args += ro(source, f"{_SITE}/{name}")
        args += ro(CHILD, _CHILD)
        args += ro(WIRE, _WIRE)
        if self.as_root:
            args += ro(self.setpriv, _SETPRIV)
        args += ["--proc", "/proc", "--dev", "/dev", "--perms", "0777", "--size", str(self.work_bytes),
                 "--tmpfs", _WORK, "--chdir", _WORK]
        env = {"HOME": _WORK, "TMPDIR": _WORK, "NUMBA_CACHE_DIR": _WORK, "PATH": "/usr/bin:/bin",
               "LANG": "C.UTF-8", "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1",
               "MKL_NUM_THREADS": "1", "NUMBA_NUM_THREADS": "1"}
        for key, value in env.items():
            args += ["--setenv", key, value]
        return args

    def command(self, fd):
        """bwrap's command line that runs the child, answering on file descriptor ``fd``."""
        drop = []
        if self.as_root:
            drop = [_SETPRIV, f"--reuid={SANDBOX_UID}", f"--regid={SANDBOX_UID}", "--clear-groups",
                    "--inh-caps=-all", "--bounding-set=-all", "--no-new-privs", "--"]
        return [self.bwrap, *self._args, *drop, self.python, "-I", "-S", "-u", _CHILD, _SITE, str(fd), str(MAX_PROCESSES)]


_PROBE = """
import os
def probe():
    status = dict(line.split(':', 1) for line in open('/proc/self/status').read().splitlines() if ':' in line)
    pids = [p for p in os.listdir('/proc') if p.isdigit()]
    return [os.getuid(), int(status['CapEff'], 16), len(pids)]
"""


def require_sandbox(bwrap=None):
    """The :class:`Bubblewrap` of this machine, checked by running a probe in it; or
    :class:`SandboxUnavailable` saying why and what to install."""
    sandbox = Bubblewrap(bwrap)
    caller = SandboxCaller([("the probe", _PROBE)], sandbox=sandbox, call_timeout=60)
    try:
        uid, caps, n_pids = caller.call("probe")[0]
    except (StudentError, OSError) as exc:
        raise SandboxUnavailable(f"bubblewrap could not start the sandbox ({exc}; {caller.log_tail()}): "
                                 f"{INSTALL_HINT}") from None
    finally:
        caller.close()
    if uid == 0 or caps != 0 or n_pids > 3:
        raise SandboxUnavailable(f"the sandbox does not isolate as it must (uid {uid}, capabilities {caps:#x}, "
                                 f"{n_pids} processes visible)")
    return sandbox


class SandboxCaller:
    """A :class:`autograde.caller.Caller` that runs the student's functions in a sandbox.

    ``sandbox`` is a :class:`Bubblewrap` (see :func:`require_sandbox`); ``None`` runs the child
    with the limits but without isolation, for trusted code only."""

    def __init__(self, source, *, sandbox, call_timeout=10.0, cpu_seconds=120, memory_bytes=4 << 30,
                 log_bytes=1 << 20):
        # one source string, or a list of (label, source) cells loaded one by one so that a cell
        # that raises costs only what it defines
        self.cells = [("your code", source)] if isinstance(source, str) else list(source)
        self.skipped = set()  # cells that hung or ended the process while loading
        self.sandbox = sandbox
        self.call_timeout = call_timeout
        self.limits = (cpu_seconds, memory_bytes, log_bytes)
        self.proc = None
        self.workdir = None
        self.notes = []  # problems worth telling the student (printed too much, ...)
        self.timed_out = {}  # function name → message: a function that hung once is not run again
        self.starts = 0  # sandboxes started (each one a fresh process)

    # -- process management ------------------------------------------------
    def _limits(self):
        cpu, memory, log = self.limits
        os.setsid()  # own process group: closing kills bwrap, and with it the sandbox's PID namespace
        resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu))
        resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
        resource.setrlimit(resource.RLIMIT_FSIZE, (log, log))
        resource.setrlimit(resource.RLIMIT_NOFILE, (64, 64))
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # writing past the limit fails instead of killing

    def _start(self):
        self.starts += 1
        self.workdir = Path(tempfile.mkdtemp(prefix="autograde-"))  # the grader's side: the output log
        log = open(self.workdir / "output.log", "wb")
        read_fd, write_fd = os.pipe()  # the child's answers arrive on this pipe
        if self.sandbox is not None:
            cmd, cwd, env = self.sandbox.command(write_fd), "/", {}
        else:  # trusted code only: limits, no isolation
            site = make_site(self.workdir / "site")
            cmd = [sys.executable, "-I", "-S", "-u", str(CHILD), str(site), str(write_fd), "0"]
            cwd = self.workdir
            env = {"PATH": "/usr/bin:/bin", "HOME": str(self.workdir), "NUMBA_CACHE_DIR": str(self.workdir),
                   "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "NUMBA_NUM_THREADS": "1",
                   "PYTHONHASHSEED": "0"}
        self.proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=log, stderr=log, cwd=cwd, env=env,
                                     preexec_fn=self._limits, pass_fds=(write_fd,), close_fds=True)
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

    def log_tail(self, size=500):
        """The end of what the child (or bwrap) printed, for the grader's own diagnostics."""
        log = self._last_log
        return log[-size:].decode(errors="replace").strip() if log else ""

    _last_log = b""

    def close(self):
        if self.proc is not None:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)  # bwrap dies, its PID namespace with everything in it
            except (ProcessLookupError, PermissionError):
                pass
            self.proc.wait()
            self._answers.close()
            self.proc = None
        if self.workdir is not None:
            log = self.workdir / "output.log"
            if log.exists():
                with open(log, "rb") as f:
                    f.seek(max(0, log.stat().st_size - 2000))
                    self._last_log = f.read()
                if log.stat().st_size >= self.limits[2]:
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
                raise StudentTimeout(f"{deadline_what} took longer than {self.call_timeout:g} s (an endless loop?)")
            chunk = self._answers.read(size - len(data))
            if not chunk:
                code = self.proc.poll() if self.proc else None
                self.close()
                raise StudentCrash(f"{deadline_what} ended the Python process"
                                   + (f" (exit status {code})" if code is not None else "")
                                   + ": do not call sys.exit, os._exit or anything that stops the interpreter")
            data += chunk
        return data

    def _request(self, message, what, n_args=None):
        """Send one request; the child's answer, its envelope checked (a failure raised as a StudentError)."""
        try:
            self.proc.stdin.write(wire.pack(message))
            self.proc.stdin.flush()
        except (BrokenPipeError, OSError):
            self.close()
            raise StudentCrash(f"{what}: the Python process running your code had already stopped") from None
        try:
            size = wire.message_size(self._read_exactly(wire.HEADER.size, what))
        except wire.Unreadable:
            self.close()
            raise WrongShape(f"{what} returned far too much data") from None
        try:
            answer = wire.answer(json.loads(self._read_exactly(size, what)), n_args)
        except ValueError:  # not JSON, or not an answer (wire.Unreadable)
            self.close()
            raise WrongShape(f"{what}: the answer could not be read") from None
        if not answer["ok"]:
            raise self._failure(answer, what, call=n_args is not None)
        return answer

    def _failure(self, answer, what, call):
        """The StudentError subclass for a failed request (a call's, or loading a cell's)."""
        kind, error = answer.get("kind", ""), answer.get("error") or "failed"
        if kind == "missing":
            return MissingFunction(f"{what}: {error}")
        if kind == "output_limit" and call:
            return TooMuchOutput(f"{what} printed more than {self.limits[2] >> 20} MB of output; printing was stopped")
        if kind == "unsendable":
            return WrongShape(f"{what}: {error}")
        if call:
            return raised(what, answer.get("type", ""), error.partition(": ")[2], wording="{name}: {kind}: {text}")
        return StudentError(f"{what}: {error}")

    def call(self, name, *args, **kwargs):
        if name in self.timed_out:
            raise StudentTimeout(self.timed_out[name])
        if self.proc is None:
            self._start()
        try:
            answer = self._request({"op": "call", "name": name, "args": [wire.encode(a) for a in args],
                                    "kwargs": {k: wire.encode(v) for k, v in kwargs.items()}}, name, len(args))
        except StudentTimeout as exc:  # a function that hung once is not run again
            self.timed_out[name] = str(exc)
            raise
        try:
            return wire.decode(answer["result"]), [wire.decode(a) for a in answer["after"]]
        except wire.Unreadable as exc:
            self.close()  # whatever wrote it, the next call starts from a fresh process
            raise WrongShape(str(exc)) from None
