"""The parts of the checks, one at a time: the wire codec, the callers, the error classes, the runner, the registry."""

import base64
import dataclasses
import io
import json
import re

import numpy as np
import pytest

from autograde import course, questions, wire
from autograde.caller import Caller, InProcessCaller
from autograde.errors import (MissingFunction, NotImplementedYet, StudentCrash, StudentError, StudentRaised,
                              StudentTimeout, WrongShape)
from autograde.runner import MODIFIED, Case, Mistake, Question, run
from autograde.sandbox import CHILD, SandboxCaller
from wrong_answers import CORRECT, namespace


# ------------------------------------------------------------------ the wire
def _same(a, b):
    if isinstance(a, np.ndarray):
        return isinstance(b, np.ndarray) and a.dtype == b.dtype and a.shape == b.shape and np.array_equal(
            a, b, equal_nan=a.dtype.kind == "f")
    if isinstance(a, (list, tuple)):
        return type(a) is type(b) and len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, float) and np.isnan(a):
        return isinstance(b, float) and np.isnan(b)
    return type(a) is type(b) and a == b


@pytest.mark.parametrize("value", [
    np.array([1.0, np.nan, np.inf, -np.inf, -0.0]), np.arange(6, dtype=np.float32).reshape(2, 3),
    np.array([1, 2], dtype=np.int8), np.array([True, False]), np.array(2.5), np.zeros((0, 3)),
    float("nan"), float("inf"), -1e-310, 3, 2**80, True, None,
    [np.ones(2), (1, 2.0), {"m": np.zeros(3), "t": 4}], (np.ones(2), np.ones(3)),  # ragged as a list: fine
], ids=repr)
def test_values_cross_the_wire_unchanged(value):
    message = json.loads(json.dumps(wire.encode(value)))  # what the pipe carries is JSON
    assert _same(value, wire.decode(message))


def test_numpy_scalars_cross_as_zero_dimensional_arrays_of_their_dtype():
    out = wire.decode(wire.encode(np.float32(1.5)))
    assert out.shape == () and out.dtype == np.float32 and out == 1.5


@pytest.mark.parametrize("value", [np.array([np.zeros(2), np.zeros(3)], dtype=object), object(), "text",
                                   np.array(["a", "b"]), {1: object()}], ids=repr)
def test_what_is_not_numbers_is_refused_before_it_is_sent(value):
    with pytest.raises(wire.Unsendable):
        wire.encode(value)


def test_nesting_is_bounded():
    deep = []
    for _ in range(wire.MAX_DEPTH + 5):
        deep = [deep]
    with pytest.raises(wire.Unsendable):
        wire.encode(deep)
    message = {"t": "list", "v": []}
    for _ in range(wire.MAX_DEPTH + 5):
        message = {"t": "list", "v": [message]}
    with pytest.raises(wire.Unreadable):
        wire.decode(message)


def _npy(arr, allow_pickle=False):
    buf = io.BytesIO()
    np.save(buf, arr, allow_pickle=allow_pickle)
    return base64.b64encode(buf.getvalue()).decode()


@pytest.mark.parametrize("forged", [
    {"t": "rng", "v": 1},  # a recipe: only the child rebuilds those
    {"t": "quadratic", "v": {"t": "array", "v": _npy(np.eye(2))}},
    {"t": "array", "v": _npy(np.array([{"x": 1}], dtype=object), allow_pickle=True)},  # a pickle
    {"t": "array", "v": _npy(np.array(["abc"]))},  # not numbers
    {"t": "array", "v": "not base64 !"},
    {"t": "int", "v": 3}, {"t": "int", "v": "1" * 5000}, {"t": "float", "v": "1" * 100}, {"t": "const", "v": "x"},
    {"t": "dict", "v": [[1, {"t": "const", "v": None}]]}, {"t": "dict", "v": [["a"]]},
    {"t": "code", "v": "import os"}, {"t": "list", "v": "abc"}, [1, 2], "text", None,
], ids=lambda f: json.dumps(f)[:40])
def test_forged_values_are_refused(forged):
    with pytest.raises(wire.Unreadable):
        wire.decode(forged)


def test_recipes_are_rebuilt_by_the_child_only():
    rng = wire.decode(wire.encode(wire.Rng(7)), recipes=True)
    assert rng.standard_normal() == np.random.default_rng(7).standard_normal()
    grad = wire.decode(wire.encode(wire.Quadratic(np.diag([1.0, 2.0]))), recipes=True)
    assert np.array_equal(grad(np.ones(2)), [1.0, 2.0])


@pytest.mark.parametrize("forged", [
    {"ok": "yes"}, {"ok": True, "result": {"t": "const", "v": None}},  # no arguments back
    {"ok": True, "result": {"t": "const", "v": None}, "after": []},  # one argument was sent
    {"ok": False, "kind": 3, "error": "x"}, {"ok": False, "error": ["x"]}, ["ok"],
])
def test_forged_envelopes_are_refused(forged):
    with pytest.raises(wire.Unreadable):
        wire.answer(forged, n_args=1)


def test_an_announced_size_over_the_limit_is_refused():
    with pytest.raises(wire.Unreadable):
        wire.message_size(wire.HEADER.pack(wire.MAX_MESSAGE + 1))
    assert wire.message_size(wire.pack({"ok": True})[:4]) == len(json.dumps({"ok": True}))


def test_the_child_imports_only_the_wire_from_the_project():
    imports = re.findall(r"^\s*(?:from|import) ([\w.]+)", CHILD.read_text(), re.M)
    assert not [name for name in imports if name.split(".")[0] in ("autograde", "gdlib")], imports
    assert "wire.py" in CHILD.read_text()
    source = (CHILD.parent / "wire.py").read_text()
    assert set(re.findall(r"^(?:from|import) (\w+)", source, re.M)) <= {
        "__future__", "base64", "binascii", "io", "json", "struct", "dataclasses", "numpy"}


def test_the_sandbox_mounts_the_child_and_its_codec_and_nothing_else_of_the_project():
    from autograde.sandbox import Bubblewrap, SandboxUnavailable

    try:
        args = Bubblewrap()._args
    except SandboxUnavailable:
        pytest.skip("bubblewrap is not installed")
    project = str(CHILD.parent.parent)
    binds = [(args[i + 1], args[i + 2]) for i, a in enumerate(args) if a == "--ro-bind"]
    mine = [(src, dest) for src, dest in binds if src.startswith(project + "/") and "/sandbox/site/" not in dest]
    assert sorted(mine) == sorted([(str(CHILD), "/sandbox/child.py"), (str(CHILD.parent / "wire.py"),
                                                                       "/sandbox/wire.py")])


# --------------------------------------------------------- callers and errors
SOURCE = '''
import numpy as np
def f32(): return np.ones(3, dtype=np.float32) * np.float32(np.nan)
def untouched(x): raise NotImplementedError()
def bad(x): raise ValueError("bad")
def obj(): return object()
def loop(): 
    while True: pass
def leave(): 
    import os; os._exit(3)
def forge():
    import os, sys, json, struct
    data = json.dumps({"ok": True, "result": {"t": "rng", "v": 1}, "after": []}).encode()
    os.write(int(sys.argv[2]), struct.pack(">I", len(data)) + data)
    return 1.0
'''


def test_both_callers_are_callers():
    assert isinstance(InProcessCaller({}), Caller)
    assert isinstance(SandboxCaller("", sandbox=None), Caller)


def test_the_in_process_caller_says_what_happened_by_class():
    caller = InProcessCaller(namespace(SOURCE))
    with pytest.raises(MissingFunction, match="define a function called nothing"):
        caller.call("nothing")
    with pytest.raises(NotImplementedYet, match="you have not implemented `untouched` yet"):
        caller.call("untouched", 1)
    with pytest.raises(StudentRaised, match="bad raised ValueError: bad") as raised:
        caller.call("bad", 1)
    assert raised.value.kind == "ValueError" and not isinstance(raised.value, NotImplementedYet)


def test_the_sandbox_caller_says_what_happened_by_class():
    with SandboxCaller(SOURCE, sandbox=None, call_timeout=2) as caller:
        result, _ = caller.call("f32")
        assert result.dtype == np.float32 and np.isnan(result).all()
        with pytest.raises(MissingFunction):
            caller.call("nothing")
        with pytest.raises(NotImplementedYet, match="you have not implemented `untouched` yet"):
            caller.call("untouched", np.ones(2))
        with pytest.raises(StudentRaised, match="bad: ValueError: bad"):
            caller.call("bad", 1)
        with pytest.raises(WrongShape, match="cannot return a object"):
            caller.call("obj")
        with pytest.raises(WrongShape, match="could not be read"):  # a forged answer: refused, fresh process
            caller.call("forge")
        assert caller.call("f32")[0].dtype == np.float32
        with pytest.raises(StudentCrash, match="ended the Python process"):
            caller.call("leave")
        with pytest.raises(StudentTimeout, match="took longer than 2 s"):
            caller.call("loop")
        with pytest.raises(StudentTimeout):  # not run again
            caller.call("loop")
        assert all(issubclass(c, StudentError) for c in (StudentTimeout, StudentCrash, WrongShape, MissingFunction))


# ------------------------------------------------------------------ the runner
def _twice(x):
    return 2 * x


TOY = Question(
    function="twice", reference=_twice, what="value", unchanged=(0,), points=3,
    cases=[Case(f"case {i}", (np.arange(3.0) + i,)) for i in range(3)],
    mistakes=[Mistake("square", "You squared x.", lambda x: x * x),
              Mistake("negative", "Some entry is negative.", test=lambda case, answer, expected: (answer < 0).any())])


@pytest.mark.parametrize("body, score, words", [
    ("return 2 * x", 3.0, None),
    ("return x * x", 0.0, "You squared x."),
    ("return -x", 0.0, "Some entry is negative."),
    ("x *= 2\n    return x", 0.0, MODIFIED),
    ("return 'two'", 0.0, "twice must return arrays of numbers"),
    ("raise NotImplementedError()", 0.0, "you have not implemented `twice` yet"),
])
def test_the_runner_checks_compares_and_names(body, score, words):
    result = run(TOY, InProcessCaller(namespace(f"def twice(x):\n    {body}\n")))
    assert result.score == score and len(result.cases) == len(TOY.cases), result.report()
    assert words is None or words in result.report(), result.report()


def test_the_visible_check_runs_the_first_cases_and_says_so():
    result = run(TOY, InProcessCaller(namespace("def twice(x):\n    return 2 * x\n")), visible=True)
    assert len(result.cases) == TOY.visible and result.report().startswith("twice: visible checks: 2 of 2 passed")


def test_a_mistake_is_a_rule_or_a_test():
    with pytest.raises(ValueError):
        Mistake("neither", "words")
    with pytest.raises(ValueError):
        Mistake("both", "words", rule=_twice, test=lambda *a: True)


def test_the_number_of_steps_comes_from_the_question():
    adam = questions.find("adam_step")
    short = dataclasses.replace(adam, steps=3, cases=None)
    assert all(len(case.args[1]) == 3 for case in short.cases)
    calls = []

    class Counting(InProcessCaller):
        def call(self, name, *args, **kwargs):
            calls.append(name)
            return super().call(name, *args, **kwargs)

    result = run(short, Counting(namespace(CORRECT)))
    assert result.score == result.points and calls.count("adam_step") == 3 * len(short.cases)


# ---------------------------------------------------------------- the registry
def test_every_assignment_declares_the_questions_its_notebook_checks():
    assert list(questions.BY_ASSIGNMENT) == list(course.ASSIGNMENTS)
    for name, declared in questions.BY_ASSIGNMENT.items():
        notebook = (course.ROOT / "solutions" / name / f"{name}.ipynb").read_text()
        checked = set(re.findall(r'check\(\\"(\w+)\\"', notebook))
        assert checked == {q.function for q in declared}, name
