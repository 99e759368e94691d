"""The two book extensions behind the API reference (book/api.md), without building the book."""

from __future__ import annotations

import inspect
import sys
from pathlib import Path

import gdlib

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "book" / "_ext"))

from api_refs import _candidates, _key, equation_refs  # noqa: E402
from docstring_sections import trailing_prose  # noqa: E402


def _lines(obj):
    return inspect.getdoc(obj).splitlines()


def test_prose_after_the_parameters_is_split_off_and_fields_are_not():
    lines = _lines(gdlib.Adam)
    j = trailing_prose(lines)
    assert lines[j:] == ["State: ``m`` (m_t) and ``v`` (v_t), both uncorrected."]
    assert trailing_prose(_lines(gdlib.models.check_gradient)) is None  # ends with its parameters
    returns = ["Summary.", "", "Returns", "-------", "int", "    the count", "", "str", "    a name"]
    assert trailing_prose(returns) is None  # a second type-only field is not prose
    assert trailing_prose(["No sections.", "", "Just prose."]) is None


def test_a_name_as_its_module_sees_it_is_the_object_the_page_documents():
    assert _key("gdlib.optim.RunResult") == _key("gdlib.RunResult") == _key("gdlib.optim.loop.RunResult")
    assert _key("gdlib.optim.Optimizer.step") == _key("gdlib.Optimizer.step")
    assert _key("gdlib.Adam.step") != _key("gdlib.Optimizer.step")  # each class's entry is its own
    assert _key("gdlib.train") == _key("gdlib.train.train")  # the package exports the function
    assert _key("gdlib.train.TrainResult") is not None  # through the module the function shadows
    assert _key("gdlib.models.EVAL") != _key("gdlib.train.EVAL")  # equal ints, told apart by their owner
    assert _key("gdlib.no_such_name") is None
    assert _candidates("Optimizer.step", "gdlib.optim.loop", None) == [
        "gdlib.optim.loop.Optimizer.step", "gdlib.optim.Optimizer.step", "gdlib.Optimizer.step", "Optimizer.step"]


def test_the_books_equation_labels_in_a_docstring_become_equation_references():
    assert equation_refs("Adam (book: eq-adam-moments, eq-adam-update):") == (
        "Adam (the book's equations :eq:`eq-adam-moments`, :eq:`eq-adam-update`):")
    assert equation_refs("Gradient descent (book: eq-gd): θ") == "Gradient descent (the book's equation :eq:`eq-gd`): θ"
    assert equation_refs("no label (book) here") == "no label (book) here"
