"""Why one allocation is what it is (SPEC §12): the method, the exact target, the remainder rule
applied, every adjustment (lot rule, margin reduction, refusal, error account) and the fees, in
words and as data.

The target and the rule come from the allocation's fairness row (absent for a quantity that was
instructed, not split: an ETNA transfer, a FIX or file allocation, a block-trade client's
holding); the adjustments from the block's fill that booked it (its comment names the fill).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction

from allotment.domain.allocation.exact import fraction_text
from allotment.domain.allocation.model import RemainderPolicy
from allotment.domain.errors import NotFound
from allotment.domain.identity import Scope
from allotment.services.context import Context, visible_account
from allotment.services.fairness import FairnessRow, _repository
from allotment.services.fairness.intent import Adjustment, repository
from allotment.services.ports import AllocationRow, UnitOfWork

FILL = re.compile(r"\bfill (\d+)\b")
RULES = {
    RemainderPolicy.LARGEST_REMAINDER.value: (
        "largest remainder: each participant got the whole increments of its exact target, the "
        "increments left went to the largest fractional parts (ties: remainder acceptors, "
        "priority, then account)"
    ),
    RemainderPolicy.FAIR.value: (
        "Fair: the increments left went to the participants furthest behind their cumulative "
        "exact targets (the carried deviation from the fairness ledger)"
    ),
}
INSTRUCTED = {
    "etna": "a transfer of the quantity instructed (ETNA): no split, no remainder",
    "fix": "the quantity of the allocation instruction (FIX 35=J): no split, no remainder",
    "blocktrade": "the client's holding of the master allocation (block-trade)",
    "bookbuilding": "the tranche's distribution to the investor (book-building)",
}


@dataclass(frozen=True, slots=True)
class AllocationExplanation:
    allocation: AllocationRow
    allocation_id: int
    symbol: str
    increment: Decimal
    method: str
    key_id: str | None
    remainder_policy: str | None
    remainder_rule: str
    target_quantity: Fraction | None
    fill_sequence: int | None
    adjustments: tuple[Adjustment, ...]

    @property
    def deviation_increments(self) -> Fraction | None:
        if self.target_quantity is None:
            return None
        given = Fraction(self.allocation.quantity) - self.target_quantity
        return given / Fraction(self.increment)

    def words(self) -> list[str]:
        row = self.allocation
        said = [f"Method: {self.method}."]
        if self.target_quantity is not None:
            said.append(
                f"Exact target {fraction_text(self.target_quantity)}, given {row.quantity} "
                f"({fraction_text(self.deviation_increments or Fraction(0))} increments)."
            )
        said.append(f"Remainder rule: {self.remainder_rule}.")
        said.append(f"Lot rule: quantities are whole multiples of {self.increment} {self.symbol}.")
        for item in self.adjustments:
            said.append(_adjustment_words(item))
        if not self.adjustments:
            said.append("No adjustment: nothing was reduced, refused or sent to the error account.")
        said.append(
            f"Fees: commission {row.commission}, tax {row.tax}, other {row.other_fees}; "
            f"net amount {row.net_amount} at {row.price}."
        )
        return said


def _adjustment_words(item: Adjustment) -> str:
    what = {
        "MarginReduction": "cut by the margin check (MarginHandling Reduce) by",
        "Refused": f"refused by the ledger ({item.detail}), the whole part",
        "ErrorAccount": "booked to the error account:",
        "OverFill": "an over-fill booked to the error account:",
    }.get(item.kind, item.kind)
    return f"Fill {item.fill_sequence}: {what} {item.quantity}."


def explain_allocation(uow: UnitOfWork, ctx: Context, allocation_id: int) -> AllocationExplanation:
    ctx.require(Scope.READ)
    row = uow.allocations.get(ctx.company_id, allocation_id)
    if row is None:
        raise NotFound(f"allocation {allocation_id} does not exist", allocation_id=allocation_id)
    visible_account(uow, ctx, row.account_id)
    instrument = uow.instruments.get(row.instrument_id)
    assert instrument is not None
    note = _fairness_row(uow, ctx, row, allocation_id)
    fill = _fill_sequence(row)
    adjustments: tuple[Adjustment, ...] = ()
    if row.block_id is not None and fill is not None:
        adjustments = tuple(
            item
            for item in repository(uow).adjustments(ctx.company_id, row.block_id)
            if item.account_id == row.account_id and item.fill_sequence == fill
        )
    key_id = note.key or None if note is not None else None
    policy = note.policy if note is not None else None
    return AllocationExplanation(
        allocation=row,
        allocation_id=allocation_id,
        symbol=instrument.symbol,
        increment=instrument.quantity_increment,
        method=_method(uow, ctx, row, key_id, note is not None),
        key_id=key_id,
        remainder_policy=policy,
        remainder_rule=_rule(row, policy),
        target_quantity=note.target_quantity if note is not None else None,
        fill_sequence=fill,
        adjustments=adjustments,
    )


def _fairness_row(
    uow: UnitOfWork, ctx: Context, row: AllocationRow, allocation_id: int
) -> FairnessRow | None:
    try:
        found = _repository(uow)
    except KeyError:
        return None
    return found.by_allocation(ctx.company_id, row.account_id, row.trade_date, allocation_id)


def _fill_sequence(row: AllocationRow) -> int | None:
    found = FILL.search(row.comment) if row.block_id is not None else None
    return int(found.group(1)) if found else None


def _method(
    uow: UnitOfWork, ctx: Context, row: AllocationRow, key_id: str | None, split: bool
) -> str:
    if key_id is not None and row.dialect == "saxo":
        from allotment.services.saxo import (
            keys as saxo,  # the Saxo dialect's keys; imported when asked for
        )

        key = saxo.repository(uow).key(ctx.company_id, saxo.parse_key_id(key_id))
        if key is not None:
            return (
                f"{key.unit_type.value} allocation key {key_id} ({key.name!r}), fills shared "
                f"{key.fill_policy.value}, MarginHandling {key.margin_handling.value}"
            )
        return f"allocation key {key_id}"
    if split and row.dialect == "fix":
        return "the engine's split of a preliminary allocation instruction (FIX 35=J) by its ratios"
    if "error account" in row.comment:
        return "the error account's share of a fill (what participants could not take)"
    return INSTRUCTED.get(row.dialect, f"the quantity instructed ({row.dialect})")


def _rule(row: AllocationRow, policy: str | None) -> str:
    if policy is not None:
        return RULES.get(policy, policy)
    return "none: the quantity was not split by the engine"


def as_dict(found: AllocationExplanation) -> dict[str, object]:
    row = found.allocation
    deviation = found.deviation_increments
    return {
        "allocation_id": found.allocation_id,
        "account_id": row.account_id,
        "symbol": found.symbol,
        "side": row.side,
        "quantity": str(row.quantity),
        "price": str(row.price),
        "block_id": row.block_id,
        "fill_sequence": found.fill_sequence,
        "method": found.method,
        "allocation_key": found.key_id,
        "remainder_policy": found.remainder_policy,
        "remainder_rule": found.remainder_rule,
        "target_quantity": None
        if found.target_quantity is None
        else fraction_text(found.target_quantity),
        "deviation_increments": None if deviation is None else fraction_text(deviation),
        "increment": str(found.increment),
        "adjustments": [
            {
                "kind": item.kind,
                "quantity": str(item.quantity),
                "fill_sequence": item.fill_sequence,
                "detail": item.detail,
            }
            for item in found.adjustments
        ],
        "fees": {
            "commission": str(row.commission),
            "tax": str(row.tax),
            "other_fees": str(row.other_fees),
            "net_amount": str(row.net_amount),
        },
        "words": found.words(),
    }
