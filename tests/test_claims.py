import numpy as np
import pytest

from gdlib.claims import CHECKED, ClaimError, claim, close, ratio


def test_a_claim_that_holds_is_recorded_and_returned():
    text = claim(np.float64(3) < 5, "three is less than five", a=3, b=5)
    assert text == "three is less than five"
    assert CHECKED[-1] == text


def test_a_claim_the_run_contradicts_names_itself_and_its_evidence():
    with pytest.raises(ClaimError, match=r"'Momentum is faster'.*momentum=160.*gd=93"):
        claim(160 < 93, "Momentum is faster", momentum=160, gd=93)


def test_an_ambiguous_condition_is_refused():
    with pytest.raises(TypeError, match="one truth value"):
        claim(np.array([True, False]), "all steps shrink")
    with pytest.raises(TypeError, match="statement"):
        claim(True, "")


def test_helpers():
    assert close(1.0, 1.0 + 1e-9, rtol=1e-8) and not close(1.0, 1.1, rtol=1e-3)
    assert ratio(6, 2) == 3.0 and ratio(1, 0) == float("inf")
