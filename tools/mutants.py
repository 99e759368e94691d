"""Mutation testing of gdlib's optimizers and the exercise checker: ``make mutants``.

A small runner rather than mutmut or cosmic-ray: mutmut 3 swaps whole
functions through Python trampolines, which Numba cannot compile, and both
tools would start a fresh interpreter for every mutant, paying for torch's,
jax's and Numba's imports and for a cold compilation each time. Here:

1. the project is copied to a work directory (``--workdir``, default
   ``.mutants/``), with its own Numba cache (``NUMBA_CACHE_DIR``), so the
   checkout and its ``__pycache__`` are never touched;
2. each mutant is one small change of the abstract syntax tree of a target
   file (an operator, a comparison, a number, a boolean, an ``and``/``or``,
   a ``not``, two neighbouring call arguments or list items swapped), written
   back as the original source with only that expression replaced (in
   parentheses);
3. a parent process imports the heavy libraries once and forks a child per
   mutant, which imports gdlib from the mutated copy and runs the fast tests
   for that file (``-m "not slow" -x``, see ``TESTS``) with pytest;
4. a mutant is killed when the tests fail (or time out), and survives when
   they pass.

Numba (0.68) keys its cache by a hash of each source file's content, not
by what a compiled function inlined or linked from other files: a kernel in
``adam.py`` would be loaded from the cache with the unmutated ``_moments``
helpers inlined into it. So while a file is mutated, every file of the
package that imports from it (``from .X import``; for ``base.py`` also
``loop.py``, whose compiled loop links the step functions) gets a comment
naming the mutant, which changes its hash and forces its recompilation.

Usage::

    python tools/mutants.py                     # every target, all mutants
    python tools/mutants.py gdlib/optim/adam.py # some files
    python tools/mutants.py --list              # the mutants only, no tests
    python tools/mutants.py --sample 100        # a reproducible random subset
    python tools/mutants.py --match "base.py:99" # the mutants whose description contains this

It prints one line per mutant, then the score and every survivor, and
writes the same report to ``<workdir>/report.txt``.
"""

from __future__ import annotations

import argparse
import ast
import os
import random
import re
import shutil
import signal
import sys
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TARGETS = sorted(str(p.relative_to(ROOT)) for p in (ROOT / "gdlib" / "optim").glob("*.py")
                 if p.name != "__init__.py") + ["autograde/runner.py", "autograde/steps.py"]

OPTIM_TESTS = ["tests/test_reference.py", "tests/test_twins.py", "tests/test_torch_oracle.py",
               "tests/test_optax_oracle.py", "tests/test_equivalences.py", "tests/test_bad_input.py"]
# (files, -k expression) per target; the -k keeps the run to the mutated optimizer's cases.
TESTS = {
    "gdlib/optim/_moments.py": (OPTIM_TESTS, None),
    "gdlib/optim/base.py": (OPTIM_TESTS + ["tests/test_compiled_loop.py", "tests/test_properties.py"], None),
    "gdlib/optim/loop.py": (["tests/test_compiled_loop.py", "tests/test_bad_input.py", "tests/test_convergence.py"],
                            None),
    "gdlib/optim/specialise.py": (["tests/test_compiled_loop.py", "tests/test_train.py", "tests/test_numba_cache.py"],
                                  None),
    "gdlib/optim/sgd.py": (OPTIM_TESTS, "sgd or SGD"),
    "gdlib/optim/momentum.py": (OPTIM_TESTS, "momentum or Momentum or nesterov or Nesterov"),
    "gdlib/optim/nesterov.py": (OPTIM_TESTS, "nesterov or Nesterov"),
    "gdlib/optim/adagrad.py": (OPTIM_TESTS, "adagrad or Adagrad"),
    "gdlib/optim/adadelta.py": (OPTIM_TESTS, "adadelta or Adadelta"),
    "gdlib/optim/rmsprop.py": (OPTIM_TESTS, "rmsprop or RMSprop"),
    "gdlib/optim/adam.py": (OPTIM_TESTS, "adam or Adam"),
    "gdlib/optim/adamax.py": (OPTIM_TESTS, "adamax or AdaMax"),
    "gdlib/optim/nadam.py": (OPTIM_TESTS, "nadam or Nadam"),
    "gdlib/optim/amsgrad.py": (OPTIM_TESTS, "amsgrad or AMSGrad"),
    "autograde/runner.py": (["tests/test_exercise_checks.py", "tests/test_autograde_parts.py", "tests/test_grading.py"],
                            None),
    "autograde/steps.py": (["tests/test_exercise_checks.py", "tests/test_grading.py"], None),
}
COPY = ["gdlib", "autograde", "tests", "solutions", "pyproject.toml", "nbgrader_config.py"]
HEAVY_IMPORTS = ["numpy", "scipy", "numba", "torch", "jax", "optax", "hypothesis", "pytest", "sklearn", "nbformat"]


# ------------------------------------------------------------------ mutants
@dataclass
class Mutant:
    path: str
    line: int
    col: int
    end_line: int
    end_col: int
    original: str
    replacement: str
    kind: str

    def describe(self):
        return f"{self.path}:{self.line} {self.kind}: {self.original!r} -> {self.replacement!r}"


SWAP_BINOP = {ast.Add: ast.Sub, ast.Sub: ast.Add, ast.Mult: ast.Div, ast.Div: ast.Mult, ast.Pow: ast.Mult,
              ast.FloorDiv: ast.Mult, ast.Mod: ast.FloorDiv}
SWAP_CMP = {ast.Lt: ast.LtE, ast.LtE: ast.Lt, ast.Gt: ast.GtE, ast.GtE: ast.Gt, ast.Eq: ast.NotEq,
            ast.NotEq: ast.Eq, ast.Is: ast.IsNot, ast.IsNot: ast.Is, ast.In: ast.NotIn, ast.NotIn: ast.In}


def _is_docstring(node, parent):
    return (isinstance(parent, (ast.Module, ast.FunctionDef, ast.ClassDef)) and parent.body
            and parent.body[0] is node and isinstance(node, ast.Expr)
            and isinstance(node.value, ast.Constant) and isinstance(node.value.value, str))


class _Finder(ast.NodeVisitor):
    """Collect (node, mutated node, kind) inside function bodies, outside
    docstrings, raise statements and messages (strings, f-strings)."""

    def __init__(self):
        self.found = []
        self.in_function = 0

    def generic_visit(self, node):
        for child in ast.iter_child_nodes(node):
            if _is_docstring(child, node) or isinstance(child, (ast.Raise, ast.JoinedStr, ast.Assert)):
                continue
            self.visit(child)

    def visit_FunctionDef(self, node):
        self.in_function += 1
        for child in node.body:
            if not _is_docstring(child, node):
                self.visit(child)
        self.in_function -= 1

    def add(self, node, new, kind):
        if self.in_function:
            self.found.append((node, new, kind))

    def visit_BinOp(self, node):
        if type(node.op) in SWAP_BINOP:
            self.add(node, ast.BinOp(node.left, SWAP_BINOP[type(node.op)](), node.right), "operator")
        self.generic_visit(node)

    def visit_AugAssign(self, node):
        if type(node.op) in SWAP_BINOP:
            new = ast.AugAssign(node.target, SWAP_BINOP[type(node.op)](), node.value)
            self.add(node, new, "augmented assignment")
        self.generic_visit(node)

    def visit_Compare(self, node):
        for i, op in enumerate(node.ops):
            if type(op) in SWAP_CMP:
                ops = list(node.ops)
                ops[i] = SWAP_CMP[type(op)]()
                self.add(node, ast.Compare(node.left, ops, node.comparators), "comparison")
        self.generic_visit(node)

    def visit_BoolOp(self, node):
        other = ast.Or() if isinstance(node.op, ast.And) else ast.And()
        self.add(node, ast.BoolOp(other, node.values), "and/or")
        self.generic_visit(node)

    def visit_UnaryOp(self, node):
        if isinstance(node.op, (ast.Not, ast.USub)):
            self.add(node, node.operand, "drop unary")
        self.generic_visit(node)

    def visit_Constant(self, node):
        v = node.value
        if isinstance(v, bool):
            self.add(node, ast.Constant(not v), "boolean")
        elif isinstance(v, int):
            self.add(node, ast.Constant(v + 1), "number")
        elif isinstance(v, float):
            self.add(node, ast.Constant(v + 1.0 if v in (0.0, 1.0) else v * 2.0), "number")

    def visit_If(self, node):
        if not isinstance(node.test, (ast.Compare, ast.UnaryOp, ast.BoolOp)):
            self.add(node.test, ast.UnaryOp(ast.Not(), node.test), "negate condition")
        self.generic_visit(node)

    def _swaps(self, node, items, kind, build):
        for i in range(len(items) - 1):
            a, b = items[i], items[i + 1]
            if any(isinstance(x, ast.Starred) or isinstance(x, ast.Constant) and isinstance(x.value, str)
                   for x in (a, b)) or ast.dump(a) == ast.dump(b):
                continue  # a name beside its message string only raises TypeError
            swapped = list(items)
            swapped[i], swapped[i + 1] = b, a
            self.add(node, build(swapped), kind)

    def visit_Call(self, node):
        self._swaps(node, node.args, "swap arguments", lambda args: ast.Call(node.func, args, node.keywords))
        self.generic_visit(node)

    def visit_List(self, node):
        self._swaps(node, node.elts, "swap list items", lambda elts: ast.List(elts, node.ctx))
        self.generic_visit(node)


def _offset(lines, line, col):
    """Character offset of (1-based line, UTF-8 byte column) in the source."""
    before = sum(len(l) for l in lines[: line - 1])
    return before + len(lines[line - 1].encode("utf-8")[:col].decode("utf-8"))


def mutants_of(path):
    source = (ROOT / path).read_text(encoding="utf-8")
    tree = ast.parse(source)
    finder = _Finder()
    finder.visit(tree)
    out = []
    for node, new, kind in finder.found:
        original = ast.get_source_segment(source, node)
        if original is None:
            continue
        replacement = ast.unparse(ast.fix_missing_locations(new))
        if isinstance(node, ast.expr):
            replacement = f"({replacement})"
        out.append(Mutant(path, node.lineno, node.col_offset, node.end_lineno, node.end_col_offset,
                          original, replacement, kind))
    return source, out


def apply(source, m):
    lines = source.splitlines(keepends=True)
    start, end = _offset(lines, m.line, m.col), _offset(lines, m.end_line, m.end_col)
    mutated = source[:start] + m.replacement + source[end:]
    ast.parse(mutated)  # still valid Python
    return mutated


# ------------------------------------------------------------------ running
def _dependents(workdir, path):
    """Files whose compiled code includes code of ``path`` (Numba inlines and links across files)."""
    module = Path(path).stem
    pattern = re.compile(rf"^from \.{re.escape(module)} import", re.M)
    folder = (workdir / path).parent
    found = [p for p in folder.glob("*.py") if p.name != Path(path).name and pattern.search(p.read_text())]
    if Path(path).name == "base.py" and (folder / "loop.py").exists():
        found.append(folder / "loop.py")
    return sorted(set(found))


def _run_child(workdir, files, keyword, timeout, log):
    args = ["-q", "-x", "-m", "not slow", "-p", "no:cacheprovider", "--no-header", "-W", "ignore", *files]
    if keyword:
        args += ["-k", keyword]
    pid = os.fork()
    if pid == 0:  # child: gdlib is imported here, from the mutated copy
        try:
            fd = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
            os.dup2(fd, 1)
            os.dup2(fd, 2)
            os.chdir(workdir)
            sys.path.insert(0, str(workdir))
            import pytest

            code = pytest.main(args)
        except BaseException:  # noqa: BLE001 - report, never return into the parent's loop
            import traceback

            traceback.print_exc()
            code = 3
        os._exit(int(code))
    deadline = time.monotonic() + timeout
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            return os.waitstatus_to_exitcode(status)
        if time.monotonic() > deadline:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            return "timeout"
        time.sleep(0.05)


def prepare(workdir):
    if workdir.exists():
        shutil.rmtree(workdir)
    workdir.mkdir(parents=True)
    for name in COPY:
        src = ROOT / name
        if src.is_dir():
            shutil.copytree(src, workdir / name, ignore=shutil.ignore_patterns("__pycache__", "*.nbi", "*.nbc"))
        elif src.exists():
            shutil.copy2(src, workdir / name)


def main(argv=None):
    parser = argparse.ArgumentParser(description="Mutation testing of gdlib/optim and autograde's runner")
    parser.add_argument("files", nargs="*", help=f"targets (default: {len(TARGETS)} files)")
    parser.add_argument("--list", action="store_true", help="list the mutants and stop")
    parser.add_argument("--sample", type=int, help="test a reproducible random subset of this many mutants")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--match", action="append", default=[],
                        help="only mutants whose description (as listed) contains this text; repeatable")
    parser.add_argument("--timeout", type=float, default=600.0, help="seconds per mutant (then: killed)")
    parser.add_argument("--workdir", type=Path, default=ROOT / ".mutants")
    args = parser.parse_args(argv)
    targets = args.files or TARGETS
    unknown = [t for t in targets if t not in TESTS]
    if unknown:
        parser.error(f"no tests are mapped for {unknown}; known: {sorted(TESTS)}")
    sources, mutants = {}, []
    for path in targets:
        sources[path], found = mutants_of(path)
        mutants += found
    if args.match:
        mutants = [m for m in mutants if any(text in m.describe() for text in args.match)]
    if args.sample and args.sample < len(mutants):
        mutants = sorted(random.Random(args.seed).sample(mutants, args.sample), key=lambda m: (m.path, m.line))
    if args.list:
        for m in mutants:
            print(m.describe())
        print(f"{len(mutants)} mutants")
        return 0

    workdir = args.workdir.resolve()
    prepare(workdir)
    os.environ["NUMBA_CACHE_DIR"] = str(workdir / ".numba_cache")
    os.environ.setdefault("HYPOTHESIS_PROFILE", "gdlib")
    for name in HEAVY_IMPORTS:  # once, in the parent; each child forks with them loaded
        try:
            __import__(name)
        except ImportError:
            pass
    assert "gdlib" not in sys.modules  # imported by each child, from the mutated copy
    log = workdir / "child.log"
    originals = {p: p.read_text(encoding="utf-8")
                 for folder in ("gdlib", "autograde") for p in (workdir / folder).rglob("*.py")}

    # The unmutated code must pass every selected test (this also warms the private cache).
    files = sorted({f for m in mutants for f in TESTS[m.path][0]})
    start = time.monotonic()
    code = _run_child(workdir, files, None, args.timeout * 5, log)
    if code != 0:
        print(f"the tests fail on the unmutated code (exit {code}); see {log}")
        return 2
    print(f"baseline: {len(files)} test files pass on the unmutated code ({time.monotonic() - start:.0f} s)",
          flush=True)

    results = []
    for n, m in enumerate(mutants, start=1):
        target = workdir / m.path
        start = time.monotonic()
        try:
            target.write_text(apply(sources[m.path], m), encoding="utf-8")
        except SyntaxError:
            continue
        dependents = _dependents(workdir, m.path)
        for dep in dependents:
            dep.write_text(originals[dep] + f"\n# recompiled for mutant {n}: {m.describe()!r}\n", encoding="utf-8")
        files, keyword = TESTS[m.path]
        code = _run_child(workdir, files, keyword, args.timeout, log)
        target.write_text(sources[m.path], encoding="utf-8")
        for dep in dependents:
            dep.write_text(originals[dep], encoding="utf-8")
        # killed: a test failed; crashed: the process died (a segfault from an index out of
        # bounds in compiled code); timeout: the mutant made the tests hang. All are detections.
        status = ("survived" if code == 0 else "timeout" if code == "timeout" else "killed" if code == 1
                  else "crashed" if isinstance(code, int) and code < 0 else f"error {code}")
        if status.startswith("error") or status == "crashed":
            shutil.copy(log, workdir / f"error-{n}.log")
        results.append((m, status))
        print(f"[{n}/{len(mutants)}] {status:8s} {time.monotonic() - start:5.0f} s  {m.describe()}", flush=True)

    killed = sum(1 for _, s in results if s != "survived")
    counts = {s: sum(1 for _, x in results if x == s) for s in sorted({x for _, x in results})}
    lines = [f"mutation score: {killed}/{len(results)} detected = {100.0 * killed / max(len(results), 1):.1f}% "
             f"({', '.join(f'{v} {k}' for k, v in counts.items())})"]
    for path in sorted({m.path for m, _ in results}):
        mine = [s for m, s in results if m.path == path]
        k = sum(1 for s in mine if s != "survived")
        lines.append(f"  {path}: {k}/{len(mine)}")
    survivors = [m for m, s in results if s == "survived"]
    lines.append(f"survivors ({len(survivors)}):")
    lines += [f"  {m.describe()}" for m in survivors]
    report = "\n".join(lines)
    print(report)
    (workdir / "report.txt").write_text(report + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
