"""One number is written alike on screen and in the report (measurement/figures.py; its twin
web/src/figures.ts is checked by web/test/figures.test.ts over the same cases)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from measurement.figures import signed_tenths, tenths

CASES = [
    (38.25, "38.3"), (38.24, "38.2"), (38.35, "38.4"), (0.15, "0.2"), (0.05, "0.1"),
    (0.04, "0.0"), (20.35, "20.4"), (2.675, "2.7"), (100.05, "100.1"), (12, "12.0"),
    (0.0, "0.0"), (-0.0, "0.0"), (-38.25, "-38.3"), (-0.04, "0.0"), (1e-7, "0.0"),
    (9.95, "10.0"), (99.95, "100.0"), (123456.78, "123456.8"),
]


@pytest.mark.parametrize(("value", "text"), CASES)
def test_one_decimal_halves_away_from_zero(value: float, text: str) -> None:
    assert tenths(value) == text


def test_python_formatting_alone_would_write_a_half_otherwise() -> None:
    assert f"{38.25:.1f}" == "38.2"  # half to even on the binary value
    assert tenths(38.25) == "38.3"


def test_an_exact_sum_is_written_by_the_same_rule() -> None:
    assert tenths(Decimal("20.25") + Decimal("18.0")) == "38.3"
    assert tenths(Decimal("38.249")) == "38.2"


@pytest.mark.parametrize("value", [float("nan"), float("inf"), float("-inf")])
def test_what_is_not_a_number_is_refused(value: float) -> None:
    with pytest.raises(ValueError, match="cannot write"):
        tenths(value)


def test_a_change_carries_its_sign_and_zero_none() -> None:
    assert [signed_tenths(v) for v in (2.25, -2.25, -0.04, 0.0)] == ["+2.3", "-2.3", "0.0", "0.0"]


def test_a_number_too_wide_for_the_default_decimal_context_is_still_written() -> None:
    assert tenths(1e30) == "1" + "0" * 30 + ".0"  # its shortest form, 1e+30
    assert tenths(Decimal("1e40")).endswith(".0")
