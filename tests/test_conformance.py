"""Every optimizer of gdlib.ALL is declared well and appears everywhere it must.

An optimizer is one module (declaration, kernels, class) plus entries in
other places; CONTRIBUTING.md lists them. This test fails, naming the
missing place, when one is forgotten:

* the declaration (``cls.hypers``) is well formed, and drives the
  constructor, ``hyperparameters()``, ``repr`` and the kernels' slots ``H``;
* ``tests/cases.py`` runs it against a ``gdlib.reference`` rule, with every
  form and every flag value;
* ``tests/test_torch_oracle.py`` compares it with torch.optim (or
  ``TORCH_EXEMPT`` says why not);
* a book chapter presents it;
* an autograded question asks for it.
"""

import inspect
import json
import math
import pathlib
import sys

import numpy as np
import pytest

import gdlib
from gdlib import reference
from gdlib.optim import declare

ROOT = pathlib.Path(__file__).resolve().parents[1]
ALL = gdlib.ALL
ids = [cls.__name__ for cls in ALL]

#: Optimizers torch.optim does not implement, with the reason (none today).
TORCH_EXEMPT = {
    "LARS": "torch.optim has no LARS; tests/test_lars_lamb.py compares it with optax.lars",
    "LAMB": "torch.optim has no LAMB; tests/test_lars_lamb.py compares it with optax.lamb",
}
#: The chapter of an optimizer whose chapter is not book/<name in lower case>.md.
CHAPTER = {"SGD": "gd-variants", "AdamW": "weight-decay", "LARS": "large-batch", "LAMB": "large-batch"}
#: The graded question of an optimizer whose question is not "<name in lower case>_step".
#: LAMB's question is its per-layer trust ratio (beyond_the_overview).
QUESTION = {"SGD": "sgd_epoch", "LAMB": "lamb_trust_ratio"}
#: PENDING (lead: remove an entry once its chapter or graded question is merged).
PENDING_CHAPTER = set()
PENDING_QUESTION = set()


# -- the declaration ----------------------------------------------------------
@pytest.mark.parametrize("cls", ALL, ids=ids)
def test_declaration_is_well_formed(cls):
    hypers = cls.hypers
    assert hypers, f"{cls.__name__} declares no hyperparameters"
    assert all(isinstance(h, declare.Hyper) for h in hypers)
    names = [h.name for h in hypers]
    assert len(set(names)) == len(names), f"{cls.__name__}: a name is declared twice: {names}"
    assert names[0] == "eta", f"{cls.__name__}: η must be the first entry (h[0], where schedules write)"
    for h in hypers:
        assert h.doc.strip(), f"{cls.__name__}.{h.name} has no doc"
        assert h.check(h.default, h.name) == h.default, f"{cls.__name__}.{h.name}: the default fails its check"
        assert math.isfinite(declare.encode(h, h.default))
        assert h.name in cls.__doc__, f"{cls.__name__}'s docstring does not describe {h.name}"
    module = sys.modules[cls.__module__]
    assert module.H == declare.slots(hypers), f"{module.__name__}.H is not slots({cls.__name__}.hypers)"
    assert module.H._fields == tuple(names)


@pytest.mark.parametrize("cls", ALL, ids=ids)
def test_constructor_hyperparameters_and_repr_follow_the_declaration(cls):
    params = inspect.signature(cls).parameters
    ordered = declare.ordered(cls.hypers)
    assert list(params) == [h.name for h in ordered] + ["check_finite"]
    for h in ordered:
        assert params[h.name].default == h.default
        assert (params[h.name].kind is inspect.Parameter.KEYWORD_ONLY) == h.keyword
    opt = cls()
    assert opt.hyperparameters() == {h.name: h.default for h in ordered}
    assert len(opt.hyper) == len(cls.hypers) + 1  # + the parallel threshold
    for i, h in enumerate(cls.hypers):
        assert opt.hyper[i] == declare.encode(h, h.default)
    namespace = vars(gdlib)
    for made in [opt, cls(check_finite=False)] + [make() for make in _case_factories(cls)]:
        again = eval(repr(made), namespace)
        assert type(again) is cls and again.hyperparameters() == made.hyperparameters(), repr(made)
        assert again.check_finite == made.check_finite
        np.testing.assert_array_equal(again.hyper, made.hyper)


# -- the places an optimizer must appear ----------------------------------------
def _case_factories(cls):
    from cases import CASES

    return [make for _, make, _, _ in CASES if type(make()) is cls]


@pytest.mark.parametrize("cls", ALL, ids=ids)
def test_cases_run_it_against_a_reference_rule_with_every_form_and_flag(cls):
    from cases import CASES

    mine = [(case_id, make(), make_ref) for case_id, make, make_ref, _ in CASES if type(make()) is cls]
    assert mine, f"tests/cases.py has no case for {cls.__name__}"
    for case_id, _, make_ref in mine:
        assert isinstance(make_ref(np.zeros(2)), reference.Rule), f"{case_id}: not a gdlib.reference rule"
    for h in cls.hypers:
        values = getattr(h.check, "options", (True, False) if isinstance(h.default, bool) else None)
        if values is None:
            continue
        seen = {getattr(opt, h.name) for _, opt, _ in mine}
        assert seen >= set(values), f"tests/cases.py never runs {cls.__name__}({h.name}={set(values) - seen})"


@pytest.mark.parametrize("cls", ALL, ids=ids)
def test_torch_oracle_covers_it(cls):
    if cls.__name__ in TORCH_EXEMPT:
        pytest.skip(TORCH_EXEMPT[cls.__name__])
    pytest.importorskip("torch")
    import test_torch_oracle

    assert any(type(opt) is cls for _, opt, _, _ in test_torch_oracle.CASES), (
        f"tests/test_torch_oracle.py has no case for {cls.__name__}; add one, or an entry in TORCH_EXEMPT with "
        "the reason")


@pytest.mark.parametrize("cls", ALL, ids=ids)
def test_a_chapter_presents_it(cls):
    name = cls.__name__
    if name in PENDING_CHAPTER:
        pytest.skip(f"PENDING: {name}'s chapter is being written (remove it from PENDING_CHAPTER when merged)")
    chapter = ROOT / "book" / f"{CHAPTER.get(name, name.lower())}.md"
    assert chapter.exists(), f"no chapter {chapter.relative_to(ROOT)} for {name} (or map it in CHAPTER)"
    text = chapter.read_text(encoding="utf-8")
    assert f"gdlib.{name}" in text or f"reference.{name}" in text, f"{chapter.name} never uses gdlib.{name}"
    toc = (ROOT / "_toc.yml").read_text(encoding="utf-8")
    assert f"book/{chapter.stem}\n" in toc, f"{chapter.name} is not in _toc.yml"


def _sources(folder, patterns):
    texts = []
    for pattern in patterns:
        for path in sorted((ROOT / folder).rglob(pattern)):
            text = path.read_text(encoding="utf-8", errors="replace")
            if path.suffix == ".ipynb":
                text = "\n".join("".join(c["source"]) for c in json.loads(text)["cells"])
            texts.append(text)
    return "\n".join(texts)


@pytest.mark.parametrize("cls", ALL, ids=ids)
def test_an_autograded_question_asks_for_it(cls):
    name = cls.__name__
    if name in PENDING_QUESTION:
        pytest.skip(f"PENDING: {name}'s graded question is being written (remove it from PENDING_QUESTION when merged)")
    question = QUESTION.get(name, f"{name.lower()}_step")
    assert f'"{question}"' in _sources("autograde", ["*.py"]), f"autograde/ grades no question {question!r}"
    assert f"def {question}(" in _sources("solutions", ["*.ipynb", "*.py"]), (
        f"no solution notebook defines {question}()")
