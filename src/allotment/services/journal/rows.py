"""The allocation rows of booked requests: what `booking.book` writes next to each entry."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from decimal import Decimal

from allotment.domain.ledger import BookingCode
from allotment.services.calendar import SettlementDates
from allotment.services.context import Context
from allotment.services.journal.requests import BookingRequest
from allotment.services.ports import AllocationRow, UnitOfWork


def allocation_rows(
    uow: UnitOfWork,
    ctx: Context,
    booked: Sequence[tuple[BookingRequest | BookingCode, Decimal]],
    entry_ids: Sequence[int],
) -> list[AllocationRow]:
    """One row per booked request (with its trade value), tied to its entry."""
    settlement = SettlementDates(uow, ctx.today)
    rows = []
    for (request, value), entry_id in zip(booked, entry_ids, strict=True):
        assert isinstance(request, BookingRequest)
        rows.append(
            _allocation_row(ctx, request, value, entry_id, settlement.of(request.instrument))
        )
    return rows


def _allocation_row(
    ctx: Context, request: BookingRequest, value: Decimal, entry_id: int, settles: date
) -> AllocationRow:
    # Positional, in AllocationRow's order: half the cost of keywords, 100,000 times a fill.
    return AllocationRow(
        ctx.company_id,
        entry_id,
        ctx.dialect,
        ctx.today,
        request.client.id,
        request.counterparty.id,
        request.instrument.id,
        request.side,
        request.action or request.side,
        request.quantity,
        request.price,
        value,
        request.commission,
        request.tax,
        request.other_fees,
        request.net_amount(value),
        request.comment,
        ctx.now,
        ctx.principal.subject,
        request.block_id,
        request.reference,
        "booked",
        settles,
        ctx.late,
    )
