"""The exercise checks: full marks for correct answers, the right diagnosis for each common mistake."""

import pytest

from autograde import checker
from submissions.mistakes import MISTAKES
from wrong_answers import CORRECT, QUESTIONS, namespace, with_replaced


@pytest.mark.parametrize("question", QUESTIONS)
def test_correct_answers_get_full_marks(question):
    result = checker.check(question, checker.InProcessCaller(namespace(CORRECT)))
    assert result.score == result.points, result.report()


@pytest.mark.parametrize("question, wrong, words", MISTAKES, ids=[f"{m[0]}-{i}" for i, m in enumerate(MISTAKES)])
def test_each_common_mistake_is_named(question, wrong, words):
    result = checker.check(question, checker.InProcessCaller(namespace(with_replaced(question, wrong))))
    assert result.score < result.points
    report = result.report()
    assert words in report, report


@pytest.mark.parametrize("question", QUESTIONS)
def test_a_missing_or_raising_function_scores_zero_with_a_message(question):
    result = checker.check(question, checker.InProcessCaller({}))
    assert result.score == 0
    assert "define a function called" in result.report() or "inputs left unchanged" in result.report()
    raising = namespace(with_replaced(question, f"def {question}(*args, **kwargs):\n    raise NotImplementedError()\n"))
    result = checker.check(question, checker.InProcessCaller(raising))
    assert result.score <= result.points / 6 + 1e-12
    assert "NotImplementedError" in result.report()
