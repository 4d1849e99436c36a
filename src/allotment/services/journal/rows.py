"""The allocation rows of booked requests: what `booking.book` writes next to each entry.

A fill or a file books up to 100,000 requests at a time: the rows are built column by column
(each field read from every request by C-level `map`, the net amounts summed as
`BookingRequest.net_amount` sums them, in the same order), then zipped into rows, without a
Python call per row to gather its fields."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from itertools import repeat
from operator import add, attrgetter, sub

from allotment.services.calendar import SettlementDates
from allotment.services.context import Context
from allotment.services.journal.requests import BookingRequest
from allotment.services.ports import AllocationRow, UnitOfWork


def allocation_rows(
    uow: UnitOfWork,
    ctx: Context,
    requests: Sequence[BookingRequest],
    values: Sequence[Decimal],
    entry_ids: Sequence[int],
) -> list[AllocationRow]:
    """One row per booked request (with its trade value, in `values`), tied to its entry."""
    count = len(requests)
    if len(values) != count or len(entry_ids) != count:
        raise ValueError(f"{count} requests, {len(values)} values, {len(entry_ids)} entries")
    settlement = SettlementDates(uow, ctx.today)
    instrument_ids = list(map(_INSTRUMENT_ID, requests))
    instruments = dict(zip(instrument_ids, map(_INSTRUMENT, requests), strict=True))
    settles = {key: settlement.of(instrument) for key, instrument in instruments.items()}
    sides = list(map(_SIDE, requests))
    commissions, taxes, others = (list(map(get, requests)) for get in _FEES)
    actions = [action or side for action, side in zip(map(_ACTION, requests), sides, strict=True)]
    # Positional, in AllocationRow's order: the fields shared by every row repeated.
    return list(
        map(
            AllocationRow,
            repeat(ctx.company_id, count),
            entry_ids,
            repeat(ctx.dialect, count),
            repeat(ctx.today, count),
            map(_CLIENT_ID, requests),
            map(_COUNTERPARTY_ID, requests),
            instrument_ids,
            sides,
            actions,
            map(_QUANTITY, requests),
            map(_PRICE, requests),
            values,
            commissions,
            taxes,
            others,
            _net_amounts(sides, values, commissions, taxes, others),
            map(_COMMENT, requests),
            repeat(ctx.now, count),
            repeat(ctx.principal.subject, count),
            map(_BLOCK_ID, requests),
            map(_REFERENCE, requests),
            repeat("booked", count),
            map(settles.__getitem__, instrument_ids),
            repeat(ctx.late, count),
        )
    )


def _net_amounts(
    sides: list[str],
    values: Sequence[Decimal],
    commissions: list[Decimal],
    taxes: list[Decimal],
    others: list[Decimal],
) -> list[Decimal]:
    """`BookingRequest.net_amount` of each row: the trade value plus the fees (commission +
    tax + other fees, in that order) on a buy, minus them on a sale."""
    fees = list(map(add, map(add, commissions, taxes), others))
    buying = list(map(_BUY.__eq__, sides))
    if all(buying):
        return list(map(add, values, fees))
    if not any(buying):
        return list(map(sub, values, fees))
    return [
        value + fee if buy else value - fee
        for buy, value, fee in zip(buying, values, fees, strict=True)
    ]


_BUY = "Buy"
_INSTRUMENT = attrgetter("instrument")
_INSTRUMENT_ID = attrgetter("instrument.id")
_SIDE = attrgetter("side")
_ACTION = attrgetter("action")
_CLIENT_ID = attrgetter("client.id")
_COUNTERPARTY_ID = attrgetter("counterparty.id")
_QUANTITY = attrgetter("quantity")
_PRICE = attrgetter("price")
_COMMENT = attrgetter("comment")
_BLOCK_ID = attrgetter("block_id")
_REFERENCE = attrgetter("reference")
_FEES = (attrgetter("commission"), attrgetter("tax"), attrgetter("other_fees"))
