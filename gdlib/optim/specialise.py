"""Compiled loops specialised for one optimizer step and one gradient (opt-in).

The whole-run loops (:func:`gdlib.optim.loop.run_compiled`, the epochs of
:mod:`gdlib.epoch`) call three functions per step: the optimizer's packed
step, its look-ahead and a gradient. By default they take them as
first-class function arguments: one loop compiled once per dtype (eager signatures,
cached) for every optimizer and gradient, whose calls are indirect calls the
compiler cannot see through, and calling it from Python costs about 0.2 ms
for typing its arguments. With ``specialise=True`` the same loop's source is
compiled once per (step, look-ahead, gradient), those arguments turned into
globals (:func:`loop_for`):

* below the parallel threshold (small θ, where every ``Twins.dispatch`` picks
  the serial twin anyway), the step is inlined into the loop
  (:func:`inlined_step`) with the serial loop of each of its kernels inlined
  in place of the dispatch, and so are the look-ahead and the gradient: the
  same arithmetic in the same order, so results are bit-identical, with no
  call and no choice between twins per step;
* from the threshold on, the three are direct calls.

Measured on 10^4 Adam steps on Beale (thread CPU time, load average ~5):
first-class arguments 1.45 ms, direct calls 1.27 ms, the step's kernel called
without its dispatch 0.96 ms, everything inlined 0.72 ms, a hand-fused loop
0.47 ms.

Each new pair costs about 1-1.6 s of cold compilation for a run, ~3.5 s for an
epoch (load ~2), and saves 40-66 ns a step (Adam on Beale, 10^4-10^6 steps) or
0.1-0.8 ms a digits epoch (softmax, MLP 64-32-10): a run repays its compile
only past ~2·10^7 steps, so there is no automatic switch and the default is
the generic loop (bench/bench_cold_chapter.py: a chapter-like script, cold,
28.8 s generic against 42.0 s specialised).

The machine code is cached next to the gradient's source when the gradient's
own code is (see :func:`specialised`); its cache name carries a digest of
the gradient's and the step's files and of all of gdlib (:func:`source_stamp`),
so editing any of them compiles anew.
"""

from __future__ import annotations

import ast
import hashlib
import inspect
import os
import sys
import textwrap
import types

import numba

from .. import _numba
from .._numba import Twins, jit_template, njit_options
from .base import lookahead_at_theta

def source_stamp(*functions):
    """A short digest of the source files of ``functions`` (by size and
    modification time) and of all of gdlib (``gdlib._numba.package_stamp``):
    a specialised loop cached next to a gradient outside gdlib (a student's
    module, say) takes in that gradient, the step and whatever they call in
    gdlib, so editing any of them changes its cache name instead of loading
    machine code compiled from the old source. (Inside gdlib the cache's own
    source stamp is the package's digest already.)"""
    digest = hashlib.sha1(_numba.package_stamp().encode())
    for path in sorted({getattr(f, "py_func", f).__code__.co_filename for f in functions}):
        st = os.stat(path)
        digest.update(f"{path}:{st.st_size}:{st.st_mtime_ns};".encode())
    return digest.hexdigest()[:10]


def _copy(func, globals_, name):
    copy = types.FunctionType(func.__code__, globals_, name, func.__defaults__, func.__closure__)
    copy.__qualname__ = name
    copy.__module__ = func.__module__
    return copy


def inlined(func):
    """An always-inlined copy of ``func`` (a Numba dispatcher or a Python
    function): compiled only inside its callers, so never cached alone."""
    func = getattr(func, "py_func", func)
    return numba.njit(**njit_options(inline="always", cache=False))(_copy(func, func.__globals__, func.__name__))


def _serial_inline(kernel):
    """``kernel.dispatch(h, theta, ...)`` below the parallel threshold: the
    kernel's own loop (``prange`` is ``range`` without ``parallel``), inlined."""
    name = kernel.source.__name__ + "_inline"
    params = ", ".join(inspect.signature(kernel.source).parameters)
    namespace = {"_kernel": inlined(kernel.source)}
    exec(f"def {name}(h, {params}):\n    _kernel({params})\n", namespace)  # the dispatch's arguments
    return numba.njit(**njit_options(inline="always", cache=False))(namespace[name])


_INLINED_STEPS = {}


def inlined_step(step):
    """``step`` (an optimizer's packed step) always inlined, each call it makes
    to a ``Twins.dispatch`` of its module replaced by that kernel's serial loop."""
    if step not in _INLINED_STEPS:
        func = step.py_func
        module = sys.modules[func.__module__]
        kernels = {id(v.dispatch): v for v in vars(module).values() if isinstance(v, Twins)}
        names = dict(func.__globals__)
        for name in func.__code__.co_names:
            if id(names.get(name)) in kernels:
                names[name] = _serial_inline(kernels[id(names[name])])
        _INLINED_STEPS[step] = numba.njit(**njit_options(inline="always", cache=False))(
            _copy(func, names, func.__name__ + "_inline"))
    return _INLINED_STEPS[step]


def cached(dispatcher):
    """Whether Numba caches ``dispatcher``'s machine code (``cache=True`` and a source file)."""
    return (not isinstance(getattr(dispatcher, "_cache", None), numba.core.caching.NullCache)
            and os.path.isfile(dispatcher.py_func.__code__.co_filename))


def specialised(template, anchor, name, stamped, **names):
    """Compile ``template`` reading ``names`` as its globals, under the
    project's policy. If ``anchor`` (the gradient) and every dispatcher in
    ``stamped`` (the step, the look-ahead) are cached, so is the result, next
    to ``anchor``'s source, named after it, ``name`` and the digest of the
    sources; else it is compiled in every process (a function without a
    source file, typed in a notebook say, gives no key to cache on)."""
    if all(cached(f) for f in (anchor, *stamped)):
        return jit_template(template, anchor, f"_{name}_{source_stamp(*stamped)}", **names)
    return numba.njit(**njit_options(cache=False))(_copy(template, dict(names), f"{template.__name__}_{name}"))


def _functions_as_globals(loop, n):
    """The source of ``loop`` (a generic loop, a dispatcher or a Python
    function) as a new Python function without its first ``n`` parameters,
    which it then reads as globals: one loop body for both paths. The code
    keeps the file name and line numbers of ``loop``'s source."""
    func = getattr(loop, "py_func", loop)
    tree = ast.parse(textwrap.dedent(inspect.getsource(func)))
    ast.increment_lineno(tree, func.__code__.co_firstlineno - 1)
    definition = tree.body[0]
    definition.decorator_list = []
    definition.args.args = definition.args.args[n:]
    namespace = {}
    exec(compile(tree, func.__code__.co_filename, "exec"), namespace)
    return namespace[func.__name__]


_TEMPLATES = {}

#: The compiled loops, by (loop, step, look-ahead, function, small θ).
LOOPS = {}


def loop_for(loop, step, lookahead, function, small, *, inline_function=True):
    """The generic ``loop`` (a whole-run loop whose first four parameters are
    the packed ``step``, the ``lookahead``, ``function`` (a gradient or a
    model's loss and gradient) and ``at_theta`` (the look-ahead is θ itself))
    compiled for these three, which it reads as globals, taking the rest of
    its arguments. ``small``: θ is below the parallel threshold, and the step,
    the look-ahead and (if ``inline_function``) the function are inlined.
    Bit-identical to the generic loop: the same arithmetic in the same order."""
    key = (loop, step, lookahead, function, small)
    if key not in LOOPS:
        if loop not in _TEMPLATES:
            _TEMPLATES[loop] = _functions_as_globals(loop, 4)
        template = _TEMPLATES[loop]
        params = list(inspect.signature(getattr(loop, "py_func", loop)).parameters)[:4]
        at_theta = lookahead is lookahead_at_theta
        name = template.__name__.strip("_") + "_" + step.py_func.__name__
        if not at_theta:
            name += "_" + lookahead.py_func.__name__
        if small:
            name += "_inline"
            step, lookahead = inlined_step(step), inlined(lookahead)
            function = inlined(function) if inline_function else function
        names = dict(getattr(loop, "py_func", loop).__globals__)
        names.update(zip(params, (step, lookahead, function, at_theta)))
        LOOPS[key] = specialised(template, key[3], name, key[1:4], **names)
    return LOOPS[key]
