"""Scores that mean what they say: wrong answers earn at most a third, feedback says why in plain words."""

import re

import numpy as np
import pytest

from autograde import checker, questions
from autograde.errors import NotImplementedYet, raised
from wrong_answers import CORRECT, QUESTIONS, RULE_MISTAKES, STEP_QUESTIONS, all_rows, namespace, with_function

ROWS = all_rows()


def run(question, ns, visible=False):
    return checker.check(question, checker.InProcessCaller(ns), visible=visible)


@pytest.mark.parametrize("label, question, ns", ROWS, ids=[r[0] for r in ROWS])
def test_no_wrong_answer_earns_more_than_a_third_of_the_question(label, question, ns):
    result = run(question, ns)
    assert result.score <= result.points / 3, result.report()
    assert result.passed < len(result.cases), result.report()


@pytest.mark.parametrize("question, mistake", RULE_MISTAKES, ids=[f"{q}-{m.name}" for q, m in RULE_MISTAKES])
def test_every_named_mistake_is_told_apart_and_named(question, mistake):
    result = run(question, with_function(question, mistake.rule))
    assert any(not c.passed for c in result.cases)
    assert mistake.message in result.report()


@pytest.mark.parametrize("question", QUESTIONS)
def test_honest_answers_keep_exact_full_marks(question):
    result = run(question, namespace(CORRECT))
    assert result.score == result.points and result.passed == len(result.cases), result.report()


def _in_place(q):
    """Right values, but written into the arrays passed in."""
    def step(*args, **hyper):
        theta, state = q.reference(*args, **hyper)
        old = args[1] if q.gradient == "lookahead" else args[2]
        for key in q.keys:
            old[key][...] = state[key]
        return theta, state
    return step


@pytest.mark.parametrize("question", list(STEP_QUESTIONS))
def test_modifying_the_inputs_is_a_condition_not_points_and_the_advice_names_this_optimizer_s_state(question):
    q = STEP_QUESTIONS[question]
    report = run(question, with_function(question, _in_place(q))).report()
    assert report.splitlines()[0] == f"{question}: 0.00 / {q.points:.2f} points", report
    assert "the arrays passed in were modified" in report
    named = set(re.findall(r"write (\w+) = \.\.\., not (\w+) \+=", report)[0])
    assert named and named <= set(q.keys), report
    others = {k for p in STEP_QUESTIONS.values() for k in p.keys} - set(q.keys)
    assert not {k for k in others if re.search(rf"\b{k} [+*]?=", report)}, report


@pytest.mark.parametrize("label, question, ns", ROWS, ids=[r[0] for r in ROWS])
def test_no_advice_is_repeated(label, question, ns):
    said = []
    for line in run(question, ns).report().splitlines()[1:]:
        if line.startswith("  -> "):
            said.append(line[5:])
        elif ": " in line:
            said.append(line.split(": ", 1)[1])
    said = [s for s in said if s != "the same as above"]
    assert len(said) == len(set(said)), said


@pytest.mark.parametrize("label, question, ns", [r for r in ROWS if "never updates " in r[0]
                                                 and "the state" not in r[0]], ids=lambda v: v if isinstance(v, str) else "")
def test_an_entry_returned_unchanged_is_named(label, question, ns):
    key = label.rsplit(" ", 1)[-1]
    report = run(question, ns).report()
    assert f"You forgot to update the state entry {key!r}" in report, report


def test_an_rmsprop_that_never_updates_its_state_is_told_so():
    q = questions.find("rmsprop_step")
    ns = with_function(q.function, lambda theta, g, state, eta, gamma, eps: (
        theta - eta * g / np.sqrt(state["Eg2"] + eps), state))
    result = run(q.function, ns)
    assert result.score == 0 and "You forgot to update the state entry 'Eg2'" in result.report()


@pytest.mark.parametrize("question", QUESTIONS)
def test_an_untouched_answer_gets_a_plain_sentence(question):
    ns = namespace(CORRECT)
    q = STEP_QUESTIONS.get(question)
    name = q.init if q else question  # the first function the check calls

    def untouched(*args, **kwargs):
        raise NotImplementedError()

    ns[name] = untouched
    report = run(question, ns).report()
    assert (f"you have not implemented `{name}` yet: replace `raise NotImplementedError()` with your code"
            in report), report
    assert "NotImplementedError: " not in report
    assert report.count("you have not implemented") == 1, report


def test_the_sandbox_s_wording_of_an_untouched_answer_reads_the_same():
    in_process, sandbox = raised("adam_step", "NotImplementedError", ""), raised(
        "adam_step", "NotImplementedError", "", wording="{name}: {kind}: {text}")
    assert isinstance(in_process, NotImplementedYet) and str(in_process) == str(sandbox)
    other = raised("adam_step", "ValueError", "bad", wording="{name}: {kind}: {text}")
    assert str(other) == "adam_step: ValueError: bad" and not isinstance(other, NotImplementedYet)


@pytest.mark.parametrize("question", ["adam_step", "early_stopping"])
def test_the_visible_check_says_what_it_is(question):
    wrong = namespace(CORRECT)
    wrong[question] = lambda *a, **k: None
    for ns, passed in ((namespace(CORRECT), 2), (wrong, 0)):
        result = run(question, ns, visible=True)
        header = result.report().splitlines()[0]
        assert header == (f"{question}: visible checks: {passed} of 2 passed; your grade also uses hidden cases")
        assert "points" not in result.report()


def test_scores_are_shown_with_the_same_two_decimals_everywhere():
    result = checker.QuestionResult("q", 5, [checker.CaseResult(str(i), i < 5) for i in range(6)])
    assert result.score == 4.17  # stored in the gradebook as shown
    assert result.report().splitlines()[0] == "q: 4.17 / 5.00 points"
    assert checker.format_score(5) == "5.00"
