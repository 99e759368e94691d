"""Answers of the wrong structure or size, as an attacker writes them: each gets a named, plain
mistake and 0 for its question, never an internal error; right answers keep full marks.

Each attack wraps the correct answer (``submissions/correct.py``) so that only the structure of what
it returns is wrong: the layers of LARS, clipping or LAMB laid end to end or flattened, a layer too
few or too many, a Python int beyond float64 (which NumPy refuses with OverflowError), a ragged
state. They are graded in process (the notebook's check) and, as a class is graded, by
:func:`autograde.engine.grade_cells` in the bubblewrap sandbox, where a failure of the checks
would be reported as an "internal error".
"""

import textwrap

import pytest

from autograde import checker
from autograde.engine import grade_cells
from autograde.sandbox import SandboxUnavailable, require_sandbox
from wrong_answers import CORRECT, namespace

HUGE = "too large for a float (beyond about 1.8e308)"
LARS_ONE_PER_LAYER = "lars_step must return the new θ_l as one array per layer, shaped like the layers passed in"
CLIP_ONE_PER_LAYER = ("clip_by_global_norm must return the clipped gradients as one array per layer, shaped like "
                      "the layers passed in")

# (question, attack, the function redefined around the correct one `_right`, words its report must hold[,
# the cases where the attack changes nothing, so the answer is right there])
ATTACKS = [
    ("lars_step", "layers concatenated", """
        def lars_step(*args):
            theta, v = _right(*args)
            return [np.concatenate([x.ravel() for x in theta])], [np.concatenate([x.ravel() for x in v])]
        """, f"{LARS_ONE_PER_LAYER}: expected 2 arrays of shapes (4, 3), (3,), got 1 array of shape (15,)"),
    ("lars_step", "W flattened", """
        def lars_step(*args):
            theta, v = _right(*args)
            return [x.ravel() for x in theta], [x.ravel() for x in v]
        """, f"{LARS_ONE_PER_LAYER}: expected 2 arrays of shapes (4, 3), (3,), got 2 arrays of shapes (12,), (3,)"),
    ("lars_step", "W transposed", """
        def lars_step(*args):
            theta, v = _right(*args)
            return [x.T.copy() for x in theta], [x.T.copy() for x in v]
        """, f"{LARS_ONE_PER_LAYER}: expected 2 arrays of shapes (4, 3), (3,), got 2 arrays of shapes (3, 4), (3,)"),
    ("lars_step", "a layer too few", """
        def lars_step(*args):
            theta, v = _right(*args)
            return theta[:-1], v[:-1]
        """, f"{LARS_ONE_PER_LAYER}: expected 2 arrays of shapes (4, 3), (3,), got 1 array of shape (4, 3)"),
    ("lars_step", "a layer too many", """
        def lars_step(*args):
            theta, v = _right(*args)
            return theta + [np.zeros(0)], v + [np.zeros(0)]
        """, f"{LARS_ONE_PER_LAYER}: expected 2 arrays of shapes (4, 3), (3,), got 3 arrays of shapes (4, 3), (3,), (0,)"),
    ("lars_step", "velocities concatenated", """
        def lars_step(*args):
            theta, v = _right(*args)
            return theta, [np.concatenate([x.ravel() for x in v])]
        """, "lars_step must return the new v_l as one array per layer"),
    ("lars_step", "a huge int", """
        def lars_step(*args):
            theta, v = _right(*args)
            return [10**400 for _ in theta], v
        """, f"lars_step returned a whole number {HUGE}"),
    ("clip_by_global_norm", "layers concatenated", """
        def clip_by_global_norm(grads, max_norm):
            clipped, norm = _right(grads, max_norm)
            return [np.concatenate([g.ravel() for g in clipped])], norm
        """, f"{CLIP_ONE_PER_LAYER}: expected 3 arrays of shapes (3, 2), (4,), (1,), got 1 array of shape (11,)"),
    ("clip_by_global_norm", "a matrix flattened", """
        def clip_by_global_norm(grads, max_norm):
            clipped, norm = _right(grads, max_norm)
            return [g.ravel() for g in clipped], norm
        """, f"{CLIP_ONE_PER_LAYER}: expected 3 arrays of shapes (3, 2), (4,), (1,), got 3 arrays of shapes (6,), "
             f"(4,), (1,)", {"many small layers"}),  # six 1-D layers: nothing to flatten
    ("clip_by_global_norm", "a ragged list left in an argument", """
        def clip_by_global_norm(grads, max_norm):
            clipped, norm = _right(grads, max_norm)
            grads[0] = [[1.0, 2.0], [3.0]]
            return clipped, norm
        """, "the arrays passed in were modified"),
    ("clip_by_global_norm", "the norm per layer", """
        def clip_by_global_norm(grads, max_norm):
            clipped, norm = _right(grads, max_norm)
            return clipped, np.full(len(grads), norm)
        """, "clip_by_global_norm must return the global norm ‖g‖ as one number, got an array of shape (3,)"),
    ("clip_by_global_norm", "a huge int norm", """
        def clip_by_global_norm(grads, max_norm):
            return _right(grads, max_norm)[0], 10**400
        """, f"clip_by_global_norm returned a whole number {HUGE}"),
    ("lamb_trust_ratio", "a column of ratios", """
        def lamb_trust_ratio(theta_layers, update_layers):
            return _right(theta_layers, update_layers)[:, None]
        """, "lamb_trust_ratio must return one trust ratio per layer, a 1-D array of 3 numbers (shape (3,)); "
             "yours has shape (3, 1)"),
    ("lamb_trust_ratio", "a ratio too few", """
        def lamb_trust_ratio(theta_layers, update_layers):
            return _right(theta_layers, update_layers)[:-1]
        """, "a 1-D array of 3 numbers (shape (3,)); yours has shape (2,)"),
    ("lamb_trust_ratio", "a ratio per element", """
        def lamb_trust_ratio(theta_layers, update_layers):
            ratios = _right(theta_layers, update_layers)
            return np.concatenate([np.full(np.size(w), r) for w, r in zip(theta_layers, ratios)])
        """, "a 1-D array of 3 numbers (shape (3,)); yours has shape (12,)"),
    ("lamb_trust_ratio", "a huge int", """
        def lamb_trust_ratio(theta_layers, update_layers):
            return [10**400] * len(theta_layers)
        """, f"lamb_trust_ratio returned a whole number {HUGE}"),
    ("warmup_cosine", "a huge int", """
        def warmup_cosine(t, eta, warmup, total, eta_min):
            return 10**309
        """, f"warmup_cosine returned a whole number {HUGE}"),
    ("heavy_ball_rate", "a huge int", """
        def heavy_ball_rate(eta, gamma, A):
            return 10**309
        """, f"heavy_ball_rate returned a whole number {HUGE}"),
    ("tuned_heavy_ball", "a huge int among the outputs", """
        def tuned_heavy_ball(A):
            eta, gamma, rate = _right(A)
            return eta, gamma, 10**309
        """, f"tuned_heavy_ball returned a whole number {HUGE}"),
    ("adam_step", "θ a huge int", """
        def adam_step(theta, g, state, **hyper):
            return 10**309, _right(theta, g, state, **hyper)[1]
        """, f"adam_step returned a whole number {HUGE}"),
    ("adam_step", "θ a dict", """
        def adam_step(theta, g, state, **hyper):
            theta, state = _right(theta, g, state, **hyper)
            return {"θ": theta}, state
        """, "adam_step must return θ as an array of numbers"),
    ("adam_step", "a ragged state", """
        def adam_step(theta, g, state, **hyper):
            theta, state = _right(theta, g, state, **hyper)
            return theta, dict(state, m=[[1.0, 2.0], [3.0]])
        """, "adam_step: state['m'] must be a float array shaped like θ (6,)"),
    ("early_stopping", "an infinite epoch", """
        def early_stopping(val_losses, patience, min_delta=0.0):
            return float("inf"), _right(val_losses, patience, min_delta)[1]
        """, "early_stopping must return the pair (stop_epoch, best_epoch) of whole numbers, got (inf, "),
    ("early_stopping", "a huge int epoch", """
        def early_stopping(val_losses, patience, min_delta=0.0):
            return 10**400, 0
        """, f"early_stopping returned a whole number {HUGE}"),
    ("early_stopping", "three numbers", """
        def early_stopping(val_losses, patience, min_delta=0.0):
            return (*_right(val_losses, patience, min_delta), 0)
        """, "early_stopping must return the pair (stop_epoch, best_epoch) of whole numbers, got shape (3,)"),
    ("epoch_batches", "a huge int index", """
        def epoch_batches(n, batch_size, rng):
            return [[10**400]] + _right(n, batch_size, rng)
        """, "epoch_batches must return a list of 1-D integer index arrays"),
]

# Right answers in another form than correct.py's: full marks all the same.
RIGHT_IN_ANOTHER_FORM = [
    ("lars_step", "tuples of layers", """
        def lars_step(*args):
            theta, v = _right(*args)
            return tuple(theta), tuple(v)
        """),
    ("lamb_trust_ratio", "a list of floats", """
        def lamb_trust_ratio(theta_layers, update_layers):
            return [float(r) for r in _right(theta_layers, update_layers)]
        """),
    ("clip_by_global_norm", "a Python float norm", """
        def clip_by_global_norm(grads, max_norm):
            clipped, norm = _right(grads, max_norm)
            return clipped, float(norm)
        """),
    ("epoch_batches", "int64 and uint64 batches mixed", """
        def epoch_batches(n, batch_size, rng):
            return [b.astype(np.uint64) if i % 2 else b for i, b in enumerate(_right(n, batch_size, rng))]
        """),
    ("adam_step", "an extra, ragged entry in the state", """
        def adam_step(theta, g, state, **hyper):
            theta, state = _right(theta, g, state, **hyper)
            return theta, dict(state, notes=[[1.0], [2.0, 3.0]])
        """),
    ("early_stopping", "epochs as floats", """
        def early_stopping(val_losses, patience, min_delta=0.0):
            return tuple(float(e) for e in _right(val_losses, patience, min_delta))
        """),
]


def _source(question, body):
    """correct.py, then the question's function redefined around the correct one (kept as `_right`)."""
    return f"{CORRECT}\n_right = {question}\n{textwrap.dedent(body)}"


def _in_process(question, body):
    return checker.check(question, checker.InProcessCaller(namespace(_source(question, body))))


def _ids(rows):
    return [f"{row[0]}-{row[1]}" for row in rows]


ROWS = [(*row, set()) if len(row) == 4 else row for row in ATTACKS]


def _check_wrong(result, words, right_cases):
    """Every case the attack changes fails with the words; only the cases it leaves right pass."""
    report = result.report()
    assert "internal error" not in report, report
    assert {c.name for c in result.cases if c.passed} == right_cases, report
    assert len(result.cases) > len(right_cases) and words in report, report
    if not right_cases:
        assert result.score == 0, report


@pytest.mark.parametrize("question, attack, body, words, right_cases", ROWS, ids=_ids(ROWS))
def test_a_wrong_structure_is_named_and_scores_zero_in_the_notebook(question, attack, body, words, right_cases):
    _check_wrong(_in_process(question, body), words, right_cases)


@pytest.mark.parametrize("question, form, body", RIGHT_IN_ANOTHER_FORM, ids=_ids(RIGHT_IN_ANOTHER_FORM))
def test_a_right_answer_in_another_form_keeps_full_marks(question, form, body):
    result = _in_process(question, body)
    assert result.score == result.points and result.passed == len(result.cases), result.report()


# ------------------------------------------------------- graded as a class is
@pytest.fixture(scope="module")
def sandbox():
    try:
        return require_sandbox()
    except SandboxUnavailable as exc:
        pytest.skip(f"no bubblewrap sandbox here: {exc}")


def _graded(source, questions, sandbox):
    """{question: QuestionResult} of ``source`` graded by the engine, in the sandbox."""
    results = grade_cells([("answers", source)], "", {f"check_{q}": 3.0 for q in questions}, sandbox, 10)
    return {g.removeprefix("check_"): r for g, r in results.items()}


@pytest.mark.parametrize("question, attack, body, words, right_cases", ROWS, ids=_ids(ROWS))
def test_a_wrong_structure_is_named_and_scores_zero_in_the_sandbox(question, attack, body, words, right_cases,
                                                                     sandbox):
    _check_wrong(_graded(_source(question, body), [question], sandbox)[question], words, right_cases)


def test_right_answers_keep_full_marks_in_the_sandbox(sandbox):
    graded = _graded(CORRECT, sorted({row[0] for row in ATTACKS + RIGHT_IN_ANOTHER_FORM}), sandbox)
    for question, form, body in RIGHT_IN_ANOTHER_FORM:
        graded[f"{question} ({form})"] = _graded(_source(question, body), [question], sandbox)[question]
    wrong = {name: r.report() for name, r in graded.items() if r.score != r.points or not r.cases}
    assert not wrong, wrong
