"""The comparison of two computations of a network's outputs (runtime.parity), as onnxruntime's against torch's
and the generated source's against the compiled module's are judged."""

from __future__ import annotations

import numpy as np
import pytest

from runtime.parity import ParityError, Tolerance, compare

TIGHT = Tolerance(rtol=1e-5, scaled=1e-5)


def test_nan_and_inf_in_both_agree_and_against_a_number_do_not() -> None:
    expected = np.array([1.0, np.nan, np.inf, -np.inf])
    assert compare(["Y"], [expected], [expected.copy()], TIGHT).max_abs == 0.0
    for wrong in (np.array([1.0, 0.0, np.inf, -np.inf]), np.array([1.0, np.nan, 5.0, -np.inf])):
        with pytest.raises(ParityError, match=r"output 'Y' differs .*: largest difference inf of its scale") as caught:
            compare(["Y"], [expected], [wrong], TIGHT)
        assert caught.value.output == "Y"


def test_an_output_of_zeros_keeps_an_absolute_tolerance() -> None:
    zeros = np.zeros(4)
    parity = compare(["Y"], [zeros], [zeros + 1e-6], TIGHT)
    assert parity.max_abs == pytest.approx(1e-6) and parity.max_scaled == pytest.approx(1e-6)
    with pytest.raises(ParityError):
        compare(["Y"], [zeros], [zeros + 1e-3], TIGHT)


def test_each_output_is_judged_on_its_own_scale_and_named() -> None:
    logits, probabilities = np.array([500.0, -20.0, 1e-6]), np.array([0.5, 0.25, 0.25])
    parity = compare(["logits", "p"], [logits, probabilities], [logits + [0, 0, 4e-3], probabilities], TIGHT)
    assert parity.max_scaled == pytest.approx(4e-3 / 500)
    with pytest.raises(ParityError, match=r"^output 'p' differs") as caught:  # 4e-3 is a large error there
        compare(["logits", "p"], [logits, probabilities], [logits, probabilities + [0, 0, 4e-3]], TIGHT)
    assert caught.value.output == "p"


def test_another_shape_is_named() -> None:
    with pytest.raises(ParityError, match=r"^output 'Y' has shape \[2, 3\] instead of \[3, 2\]$"):
        compare(["Y"], [np.zeros((3, 2))], [np.zeros((2, 3))], TIGHT)
