"""The allocation rows of booked requests, built column by column (journal/rows), hold every
field as the request gives it, one row at a time: the net amount as `net_amount` computes it,
the action or else the side, each instrument's own settlement date."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from types import SimpleNamespace
from typing import Any

import pytest

from allotment.domain.accounts import Account, AccountRole, AccountStatus, AccountType
from allotment.domain.identity import Principal, PrincipalKind
from allotment.domain.instruments import Instrument
from allotment.services.calendar import WEEKDAYS, settlement_cycle
from allotment.services.context import Context
from allotment.services.journal.requests import BookingRequest
from allotment.services.journal.rows import allocation_rows
from allotment.services.ports import AllocationRow

TODAY = date(2026, 3, 6)  # a Friday: a two-day cycle settles on the Tuesday after
NOW = datetime(2026, 3, 6, 15, 30, tzinfo=UTC)
STOCK = Instrument(7, "XYZ", 7, "Stock", "USD", Decimal(1), Decimal("0.01"))
BOND = Instrument(8, "BND", 8, "Bond", "USD", Decimal("0.5"), Decimal("0.001"), settlement_days=1)


def _account(account_id: str, role: AccountRole = AccountRole.CLIENT) -> Account:
    return Account(
        account_id, 1, 1, f"key-{account_id}", AccountType.CASH, role, AccountStatus.ACTIVE, "USD"
    )


def _context(late: bool) -> Context:
    principal = Principal(3, "desk-user", PrincipalKind.USER, frozenset(), None)
    return Context(principal, "saxo", NOW, trade_date=TODAY, late=late)


def _requests() -> list[BookingRequest]:
    average = _account("AVG", AccountRole.AVERAGE)
    fees = _account("FEES", AccountRole.FEE)
    return [
        BookingRequest(_account("C1"), average, STOCK, "Buy", Decimal(10), Decimal("150.02")),
        BookingRequest(
            _account("C2"), average, STOCK, "Sell", Decimal(3), Decimal("150.02"),
            Decimal("1.50"), Decimal("0.15"), Decimal("0.01"), "SellShort", True, fees,
            "a comment", "ref-2", 44,
        ),
        BookingRequest(
            _account("C3"), average, BOND, "Buy", Decimal("2.5"), Decimal("99.125"),
            Decimal("0.00"), Decimal("0.3"), Decimal("2"), "", False, fees, "", None, None,
        ),
        BookingRequest(
            _account("C1"), average, STOCK, "Sell", Decimal(1), Decimal("150.02"),
            Decimal("7"), reference="ref-4",
        ),
    ]  # fmt: skip


def _one_by_one(ctx: Context, request: BookingRequest, value: Decimal, entry_id: int) -> Any:
    """The row as written field by field from one request."""
    settles = WEEKDAYS.settlement_date(
        request.instrument.market, ctx.today, settlement_cycle(request.instrument)
    )
    return AllocationRow(
        company_id=ctx.company_id,
        entry_id=entry_id,
        dialect=ctx.dialect,
        trade_date=ctx.today,
        account_id=request.client.id,
        source_account_id=request.counterparty.id,
        instrument_id=request.instrument.id,
        side=request.side,
        action=request.action or request.side,
        quantity=request.quantity,
        price=request.price,
        trade_value=value,
        commission=request.commission,
        tax=request.tax,
        other_fees=request.other_fees,
        net_amount=request.net_amount(value),
        comment=request.comment,
        created_at=ctx.now,
        created_by=ctx.principal.subject,
        block_id=request.block_id,
        reference=request.reference,
        status="booked",
        settlement_date=settles,
        late=ctx.late,
    )


@pytest.mark.parametrize("picked", [[0, 1, 2, 3], [0], [1, 3], [2, 0], []])
@pytest.mark.parametrize("late", [False, True])
def test_each_row_holds_its_request_fields_as_given(picked: list[int], late: bool) -> None:
    ctx = _context(late)
    uow: Any = SimpleNamespace(exchange_calendar=WEEKDAYS)
    requests = [_requests()[i] for i in picked]
    values = [r.quantity * r.price for r in requests]
    entry_ids = [100 + i for i in range(len(requests))]
    rows = allocation_rows(uow, ctx, requests, values, entry_ids)
    expected = [
        _one_by_one(ctx, r, v, e) for r, v, e in zip(requests, values, entry_ids, strict=True)
    ]
    assert rows == expected
    for row, wanted in zip(rows, expected, strict=True):  # the same digits, not only values
        assert [str(field) for field in row] == [str(field) for field in wanted]


def test_a_value_or_an_entry_missing_is_refused() -> None:
    uow: Any = SimpleNamespace(exchange_calendar=WEEKDAYS)
    requests = _requests()
    with pytest.raises(ValueError):
        allocation_rows(uow, _context(False), requests, [Decimal(1)] * 3, [1, 2, 3, 4])
    with pytest.raises(ValueError):
        allocation_rows(uow, _context(False), requests, [Decimal(1)] * 4, [1, 2, 3])
