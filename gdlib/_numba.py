"""The one place that decides how gdlib compiles with Numba.

Policy, and why:

* ``cache=True`` everywhere: a second process loads machine code from
  ``__pycache__`` instead of recompiling (the book executes dozens of
  notebooks, the grader one process per submission). Numba's own cache only
  watches the file of each function, while a compiled function takes in the
  code of every kernel it calls, from other files: edit ``gdlib/norms.py``
  and LARS would keep running the old norm. So every function of gdlib is
  cached against the digest of *all* of gdlib's sources
  (:func:`package_stamp`, :class:`_PackageStamped`): editing any of them
  recompiles everything once, and never runs stale machine code.
* ``error_model="numpy"``: division follows IEEE rules instead of raising
  ``ZeroDivisionError``. Measured on this project's machines, the default
  ("python") model blocks SIMD vectorisation of every loop that divides and
  made the adaptive optimizers 3-4x slower. gdlib never relies on the raise:
  the kernels guard their own 0/0 (see ``gdlib.optim._moments``).
* no ``fastmath`` in element-wise kernels: it did not speed them up, and
  it would let the compiler reorder their arithmetic. One exception,
  reductions: the sums of squares behind a norm (``gdlib.norms``: the
  clipping's global norm, LARS's and LAMB's trust ratios) and the score
  wᵀx + b of the linear models (``gdlib.models.linear``):
  ``jit(reduction=True)`` compiles such a loop with ``fastmath={"reassoc"}``
  and nothing else (no ``contract``, no ``arcp``, no ``nnan``), so LLVM may
  split the running sum into SIMD lanes. Without it a float64 sum is one
  serial chain of additions, bound by their latency (measured: 3-4x the
  bandwidth floor). The flag covers the whole loop, and the functions it
  calls (Numba compiles them under the caller's flags): keep its other
  arithmetic free of anything to reassociate, and test it bit for bit (LAMB
  updates its moments in such a loop: ``tests/test_lars_lamb.py``). The
  order of the sum is fixed by the compiled code, not by the threads:
  callers sum fixed-size blocks (``REDUCTION_BLOCK``), in parallel or not,
  then add the blocks' sums in order, so the serial and parallel twins, and
  a Python-driven step and the same step inside a compiled loop, agree bit
  for bit.
* ``nogil=True``: kernels can run on several Python threads (Hogwild!).
* Two compiled twins of each element-wise kernel, one serial, one with
  ``parallel=True``. A parallel loop costs about 10 microseconds to start
  its threads, so it only pays on large arrays: a size threshold picks the
  twin, ``PARALLEL_MIN_SIZE`` unless the environment variable
  ``GDLIB_PARALLEL_MIN_SIZE`` says otherwise when an optimizer is created
  (``parallel_min_size()``). The threshold is a run-time value, never a
  compile-time constant: each optimizer stores it as the last entry of its
  hyperparameter vector h and the compiled steps read it from there
  (``use_parallel``). A Numba global is frozen into the machine code, and
  the cached machine code outlives any later change of the variable.
  ``twins`` writes the choice between the two once, for every kernel
  (``Twins.dispatch``); no step function repeats it.
* Named constants, not numbered slots: ``constants("seed", "optax", ...)``
  gives a named tuple of the codes 0, 1, ... . Numba freezes a module-level
  named tuple into the machine code, so kernels read ``h[H.beta1]`` or
  compare ``form == FORM.optax`` at no cost. They never change at run time
  (only the parallel threshold does, and it lives in h).
* Supported dtypes: float32 and float64 (``FLOAT_DTYPES``). Hyperparameters
  are always passed as float64 and converted to the array dtype once per
  call, so float32 arithmetic stays float32 inside the loop.
"""

from __future__ import annotations

import collections
import functools
import hashlib
import os
import types as _pytypes

import numba
import numpy as np

FLOAT_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))

#: Arrays with at least this many elements use the multi-threaded twin.
#: Measured on the project's 2-core machines (median of one step): starting
#: the threads costs about 3 us; Adam's parallel twin wins from about 10^4
#: elements, SGD's and the finite check's from about 5·10^4. One threshold
#: keeps the rule simple; below it, small arrays never pay for threads.
PARALLEL_MIN_SIZE = 50_000


def parallel_min_size():
    """The threshold in force now: ``GDLIB_PARALLEL_MIN_SIZE`` if set, else
    ``PARALLEL_MIN_SIZE``. Read at run time (when an optimizer is created),
    so setting the variable takes effect with or without a warm cache."""
    value = os.environ.get("GDLIB_PARALLEL_MIN_SIZE")
    if value is None or value.strip() == "":
        return PARALLEL_MIN_SIZE
    try:
        size = int(value)
    except ValueError:
        raise ValueError(f"GDLIB_PARALLEL_MIN_SIZE must be an integer number of elements, got {value!r}") from None
    if size < 0:
        raise ValueError(f"GDLIB_PARALLEL_MIN_SIZE must be >= 0, got {size}")
    return size


_POLICY = dict(cache=True, error_model="numpy", nogil=True)
_PACKAGE = os.path.dirname(os.path.abspath(__file__))


def sources_digest(folder):
    """A digest of the content (and relative paths) of every ``.py`` file under ``folder``."""
    digest = hashlib.sha256()
    for here, dirs, files in os.walk(folder):  # top-down: pruning dirs in place skips __pycache__
        dirs[:] = sorted(d for d in dirs if d != "__pycache__")
        for name in sorted(f for f in files if f.endswith(".py")):
            path = os.path.join(here, name)
            digest.update(os.path.relpath(path, folder).encode() + b"\0")
            with open(path, "rb") as f:
                digest.update(f.read())
    return digest.hexdigest()


@functools.lru_cache(maxsize=None)
def package_stamp():
    """:func:`sources_digest` of gdlib, taken once per process: the source
    stamp of every cached gdlib function."""
    return sources_digest(_PACKAGE)


class _PackageStamped:
    """A Numba cache locator for gdlib's own files (mixed into Numba's
    locators, same places on disk), whose source stamp is
    :func:`package_stamp` instead of the function's file alone: an index
    written under another stamp is stale and its entries are compiled anew."""

    def get_source_stamp(self):
        return package_stamp()

    @classmethod
    def from_function(cls, py_func, py_file):
        if os.path.commonpath([_PACKAGE, os.path.abspath(py_file)]) != _PACKAGE:
            return None  # not gdlib's: Numba's own locators decide
        return super().from_function(py_func, py_file)


def _register_locators():
    from numba.core import caching

    ours = [type(f"PackageStamped{base.__name__}", (_PackageStamped, base), {})
            for base in (caching.UserProvidedCacheLocator, caching.InTreeCacheLocator,
                         caching.UserWideCacheLocator)]
    if not any(issubclass(c, _PackageStamped) for c in caching.CacheImpl._locator_classes):
        caching.CacheImpl._locator_classes[:0] = ours


_register_locators()

#: Elements per block of a blocked sum (see ``jit(reduction=True)``): the
#: blocks' partial sums are independent, so a parallel twin sums them on
#: several threads, and a block of four float64 arrays (64 KiB) stays in the
#: L2 cache between two loops over it.
REDUCTION_BLOCK = 2048


def njit_options(**extra):
    """The keyword arguments of ``numba.njit`` under the project's policy
    (a fresh dict; ``extra`` adds to it, e.g. ``parallel=True``)."""
    return dict(_POLICY, **extra)


# A cached function that calls a parallel kernel links against the thread
# scheduler's symbols (``allocate_sched``, ``do_scheduling``). They are only
# registered with LLVM once Numba's threading layer has started; loading such
# a function from the cache before that aborts the process with
# "LLVM ERROR: Symbol not found". Start the layer now, before any load.
from numba.np.ufunc.parallel import _launch_threads  # noqa: E402

_launch_threads()


def jit(func=None, *, signatures=None, parallel=False, reduction=False):
    """Compile under the project's policy: ``@jit`` (serial, compiled at the
    first call), ``@jit(signatures=[...])`` (compiled now, for these types),
    ``@jit(parallel=True)`` (a ``prange`` loop on Numba's threads) or
    ``@jit(reduction=True)`` (a sum LLVM may split into SIMD lanes: the
    only use of ``fastmath``, see the module docstring)."""
    extra = dict(parallel=True) if parallel else {}
    if reduction:
        extra["fastmath"] = {"reassoc"}
    options = njit_options(**extra)

    def compile_(f):
        return numba.njit(signatures, **options)(f) if signatures else numba.njit(**options)(f)

    return compile_ if func is None else compile_(func)


def inline(func):
    """Compile a small helper that Numba always inlines into its caller."""
    return numba.njit(**njit_options(inline="always"))(func)


def constants(*names):
    """Named integer codes 0, 1, ... for ``names``, as a named tuple that
    compiled code reads as constants: ``FORM = constants("seed", "optax")``
    gives ``FORM.seed == 0``, ``FORM.optax == 1`` and ``FORM._fields[1] == "optax"``."""
    return collections.namedtuple("Codes", names)(*range(len(names)))


def _renamed_copy(func, suffix, *, template=None, globals_=None):
    # Numba names cache files after ``__qualname__``; two dispatchers built
    # from the same function would overwrite each other's cache entries.
    # A ``template`` (the dispatch below) is compiled with the code of the
    # template but the source file of ``func``: Numba's cache is then stored
    # next to ``func`` and invalidated when ``func``'s file changes (its key
    # also hashes the template's bytecode), and the template reads the twins
    # from its own ``globals_`` (no closure, which the cache would pickle).
    name = func.__name__ + suffix
    code = func.__code__ if template is None else template.__code__.replace(
        co_filename=func.__code__.co_filename, co_name=name)
    copy = _pytypes.FunctionType(
        code, func.__globals__ if globals_ is None else globals_, name, func.__defaults__, func.__closure__
    )
    copy.__qualname__ = name
    copy.__module__ = func.__module__
    copy.__doc__ = func.__doc__
    return copy


@inline
def use_parallel(n, h):
    """Whether an array of ``n`` elements takes the parallel twin, given the
    hyperparameter vector ``h`` whose last entry is the threshold."""
    return n >= h[h.size - 1]


def _dispatch_template(h, theta, *args):
    if use_parallel(theta.size, h):
        _parallel(theta, *args)  # noqa: F821 (a global of the compiled copy, see Twins)
    else:
        _serial(theta, *args)  # noqa: F821


class Twins:
    """A serial and a parallel compilation of one ``prange`` loop, and the
    choice between them.

    ``twins.serial`` and ``twins.parallel`` are Numba dispatchers callable
    from Python and from other compiled functions; ``twins.dispatch(h, theta,
    *args)`` calls the parallel twin when θ has at least the threshold of
    elements stored last in ``h`` (``use_parallel``), else the serial one.
    ``twins.source`` is the plain Python function, for the book to display.
    """

    def __init__(self, func):
        self.source = func
        self.serial = jit(_renamed_copy(func, "_serial"))
        self.parallel = jit(_renamed_copy(func, "_parallel"), parallel=True)
        chooser = dict(_serial=self.serial, _parallel=self.parallel, use_parallel=use_parallel)
        self.dispatch = jit(_renamed_copy(func, "_dispatch", template=_dispatch_template, globals_=chooser))
        self.__doc__ = func.__doc__
        self.__name__ = func.__name__

    def __repr__(self):
        return f"<gdlib kernel {self.source.__module__}.{self.__name__}>"


def jit_template(template, anchor, suffix, **names):
    """Compile the code of ``template`` as a new function named after
    ``anchor`` (a Python function or a Numba dispatcher) plus ``suffix``,
    reading ``names`` as its globals. Its Numba cache is stored next to
    ``anchor``'s source and invalidated when that file changes, like
    ``Twins.dispatch``: the way to fuse a generic piece of compiled code
    around each optimizer's step without a first-class function argument
    (which costs about 0.2 ms per call from Python)."""
    func = getattr(anchor, "py_func", anchor)
    return jit(_renamed_copy(func, suffix, template=template, globals_=dict(names)))


def twins(func):
    """Decorator: compile ``func`` twice, serial and parallel (see ``Twins``)."""
    return Twins(func)


# The uniform signature of every optimizer's packed step, for the compiled
# loops that take a step function as an argument:
#   step(theta, g, S, h, c) -> None
# theta, g: 1-D contiguous arrays of the parameter dtype;
# S: 2-D contiguous state buffer (one row per state vector);
# h: float64 hyperparameters in the order the optimizer declares them
#    (``gdlib.optim.declare``); h[ETA] = h[0] is always the learning rate
#    eta and h[-1] the parallel threshold (see ``use_parallel``);
# c: float64 counters, c[0] is the step count t (``COUNTER.t``), c[1] a
#    running product (``COUNTER.product``, Nadam's Π_t).
ETA = 0
COUNTER = constants("t", "product")


def step_signature(dtype):
    t = numba.from_dtype(np.dtype(dtype))
    return numba.types.void(
        t[::1], t[::1], t[:, ::1], numba.types.float64[::1], numba.types.float64[::1]
    )


def lookahead_signature(dtype):
    """``lookahead(theta, S, h, out)``: where the next gradient is evaluated."""
    t = numba.from_dtype(np.dtype(dtype))
    return numba.types.void(t[::1], t[:, ::1], numba.types.float64[::1], t[::1])
