"""The int64 columns a uniform run's floors are checked on: exact at their scale, or declined."""

from __future__ import annotations

from decimal import Decimal

import numpy as np
import pytest

from allotment.services.journal.int_columns import (
    Inexact,
    Scale,
    first_true,
    refused_running,
)


def _figures(*texts: str) -> list[Decimal]:
    return [Decimal(text) for text in texts]


def test_a_scale_is_the_finest_digit_any_figure_carries_and_holds_each_exactly() -> None:
    figures = _figures("100000.00", "7", "0.125", "1E+3", "2.50")
    scale = Scale([figures, _figures("3")])
    assert scale.digits == 3
    assert scale.units(figures).tolist() == [100_000_000, 7_000, 125, 1_000_000, 2_500]


def test_equal_figures_written_with_other_digits_have_the_same_units() -> None:
    figures = _figures("7", "7.0", "7.000")
    assert Scale([figures]).units(figures).tolist() == [7, 7, 7]


@pytest.mark.parametrize("text", ["NaN", "Infinity", "-Infinity"])
def test_a_figure_that_is_not_finite_is_declined(text: str) -> None:
    with pytest.raises(Inexact):
        Scale([_figures("1", text)])


def test_a_digit_finer_than_int64_holds_is_declined() -> None:
    with pytest.raises(Inexact):
        Scale([_figures("1", "1E-19")])
    assert Scale([_figures("1E-18")]).digits == 18


def test_a_figure_past_int64_is_declined() -> None:
    figures = _figures("1", str(2**63))
    with pytest.raises(Inexact):
        Scale([figures]).units(figures)


def test_a_column_whose_running_sum_could_near_int64_is_declined() -> None:
    figures = [Decimal(2**58)] * 4
    with pytest.raises(Inexact):
        Scale([figures]).units(figures)
    assert Scale([figures[:3]]).units(figures[:3]).tolist() == [2**58] * 3


def test_a_floor_finer_than_the_scale_is_rounded_up_and_answers_the_same() -> None:
    scale = Scale([_figures("0.01")])
    assert scale.floor(Decimal("-0.005")) == 0  # -0.01 is below -0.005; 0.00 is not
    assert scale.floor(Decimal("-0.01")) == -1
    assert scale.floor(None) < -(2**61)
    assert scale.floor(Decimal("1E+30")) > 2**61
    assert scale.floor(Decimal("-1E+30")) < -(2**61)


def test_a_running_balance_is_refused_only_where_it_shrinks_below_its_floor() -> None:
    moves = np.array([-3, 5, -4, -4, 10, -1], dtype=np.int64)
    # running from 2: -1, 4, 0, -4, 6, 5
    refused = refused_running(2, moves, 0)
    assert refused.tolist() == [True, False, False, True, False, False]
    assert first_true(refused, 6) == 0
    assert first_true(refused_running(2, moves, -2), 6) == 3
    assert first_true(refused_running(2, moves, -10), 6) == 6
    assert first_true(np.zeros(0, dtype=np.bool_), 0) == 0
