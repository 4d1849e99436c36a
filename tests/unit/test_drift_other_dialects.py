"""Drift of a block booked by a dialect other than the Saxo fill (decision 0046): a booking to
the error account that no fill recorded is the error account's, a request refused as a whole
is an event outside the identity, and the identity holds on every line."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from fractions import Fraction
from types import SimpleNamespace
from typing import Any

from allotment.services.desk.records import Refusal
from allotment.services.fairness import drift
from allotment.services.fairness.intent import ERROR_ACCOUNT, Adjustment, Intent, IntentLine

NOW = datetime(2026, 3, 2, 12, tzinfo=UTC)
ERROR = "C7-ERROR"


class _Found:
    def __init__(self, booked: dict[str, Decimal], adjustments: list[Adjustment]) -> None:
        self._booked, self._adjustments = booked, adjustments

    def booked(self, company_id: int, block_id: int) -> dict[str, Decimal]:
        return self._booked

    def targets(self, company_id: int, block_id: int) -> dict[str, Fraction]:
        return {}

    def adjustments(self, company_id: int, block_id: int) -> list[Adjustment]:
        return self._adjustments

    def block_refusals(self, company_id: int, block_id: int) -> list[Refusal]:
        refused = Refusal(7, "native", "block 5", "A-2", "AccountClosed", "closed", NOW, "desk")
        return [Refusal(**{**_fields(refused), "block_id": 5, "quantity": Decimal(40)})]


def _fields(refusal: Refusal) -> dict[str, Any]:
    return {name: getattr(refusal, name) for name in refusal.__slots__}


def _drift(booked: dict[str, Decimal], adjustments: list[Adjustment]) -> drift.BlockDrift:
    intent = Intent(
        5,
        "list",
        None,
        (IntentLine("A-1", Fraction(60)), IntentLine("A-2", Fraction(40))),
        NOW,
        "desk",
    )
    uow: Any = SimpleNamespace(intent=_Found(booked, adjustments))
    return drift._drift(uow, 7, intent)


def test_an_error_account_booking_no_fill_recorded_is_the_error_account_s_and_its_event() -> None:
    found = _drift({"A-1": Decimal(60), ERROR: Decimal(40)}, [])
    lines = {line.account_id: line for line in found.lines}
    assert lines[ERROR].error_account == 40 and lines[ERROR].remainder == 0
    assert lines["A-2"].requests_refused == 40 and lines["A-2"].unfilled == -40
    for line in found.lines:
        moved = Fraction(line.error_account - line.margin_reduced - line.refused)
        assert line.unfilled + line.remainder + moved == line.drift
    kinds = sorted((event.kind, event.account_id, event.quantity) for event in found.events)
    assert kinds == [(ERROR_ACCOUNT, ERROR, 40), (drift.REQUEST_REFUSED, "A-2", 40)]


def test_a_fill_s_own_error_account_adjustment_is_not_counted_twice() -> None:
    recorded = Adjustment(5, 1, ERROR, ERROR_ACCOUNT, Decimal(40), "", Decimal(1), NOW.date(), NOW)
    found = _drift({"A-1": Decimal(60), ERROR: Decimal(40)}, [recorded])
    lines = {line.account_id: line for line in found.lines}
    assert lines[ERROR].error_account == 40
    assert [e.kind for e in found.events].count(ERROR_ACCOUNT) == 1
