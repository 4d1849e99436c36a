"""Drift (SPEC §12): a block's pre-trade intent against what was booked, per account, and why.

Per account of a block, exactly: ``drift = booked - intended`` and

    drift = unfilled + remainder - margin_reduced - refused + error_account

* ``unfilled = target - intended``: the engine's targets of the fills so far (the fairness
  ledger's, the fill pro rata to the key's split) against the intent, what the block has not
  filled, or a key that changed since the intent;
* ``remainder = (booked + margin_reduced + refused - error_account) - target``: what the
  remainder rule gave beyond (or short of) the exact targets;
* ``margin_reduced``, ``refused``: the engine's part cut by margin (MarginHandling Reduce) or
  refused by the ledger (a closed account, an overdraft), both booked to the error account;
* ``error_account``: what the error account was booked (its own line).

An account without fairness rows for the block (a Priority key's fills) has its target taken
as what the fills gave it, so its remainder is zero. Over a period, the lines of the blocks
whose intent was recorded in it are summed per account.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_EVEN, Decimal
from fractions import Fraction

from allotment.domain.allocation.exact import fraction_text, round_fraction
from allotment.domain.errors import Forbidden, InvalidInstruction
from allotment.domain.identity import Scope
from allotment.services.context import Context, visible_account, visible_account_ids
from allotment.services.fairness.intent import (
    ERROR_ACCOUNT,
    MARGIN_REDUCTION,
    REFUSED,
    Adjustment,
    Intent,
    get_intent,
    repository,
)
from allotment.services.ports import UnitOfWork

REMAINDER = "Remainder"
ZERO = Decimal(0)


@dataclass(frozen=True, slots=True)
class DriftLine:
    account_id: str
    intended: Fraction
    target: Fraction
    booked: Decimal
    margin_reduced: Decimal = ZERO
    refused: Decimal = ZERO
    error_account: Decimal = ZERO
    blocks: int = 1

    @property
    def drift(self) -> Fraction:
        return Fraction(self.booked) - self.intended

    @property
    def unfilled(self) -> Fraction:
        return self.target - self.intended

    @property
    def remainder(self) -> Fraction:
        decided = self.booked + self.margin_reduced + self.refused - self.error_account
        return Fraction(decided) - self.target

    def plus(self, other: DriftLine) -> DriftLine:
        return DriftLine(
            self.account_id,
            self.intended + other.intended,
            self.target + other.target,
            self.booked + other.booked,
            self.margin_reduced + other.margin_reduced,
            self.refused + other.refused,
            self.error_account + other.error_account,
            self.blocks + other.blocks,
        )

    def as_dict(self) -> dict[str, str | int]:
        return {
            "account_id": self.account_id,
            "blocks": self.blocks,
            "intended_quantity": fraction_text(self.intended),
            "target_quantity": fraction_text(self.target),
            "booked_quantity": str(self.booked),
            "drift": fraction_text(self.drift),
            "drift_decimal": str(round_fraction(self.drift, 6, ROUND_HALF_EVEN)),
            "unfilled": fraction_text(self.unfilled),
            "remainder": fraction_text(self.remainder),
            "margin_reduced": str(self.margin_reduced),
            "refused": str(self.refused),
            "error_account": str(self.error_account),
        }


@dataclass(frozen=True, slots=True)
class DriftEvent:
    """One reason an account's outcome moved from its intent: an adjustment of a fill, or the
    remainder rule's deviation over the block."""

    account_id: str
    kind: str
    quantity: Fraction
    fill_sequence: int | None
    detail: str

    def as_dict(self) -> dict[str, str | int | None]:
        return {
            "account_id": self.account_id,
            "kind": self.kind,
            "quantity": fraction_text(self.quantity),
            "fill_sequence": self.fill_sequence,
            "detail": self.detail,
        }


@dataclass(frozen=True, slots=True)
class BlockDrift:
    intent: Intent
    lines: tuple[DriftLine, ...]
    events: tuple[DriftEvent, ...]


def block_drift(uow: UnitOfWork, ctx: Context, block_id: int) -> BlockDrift:
    """The drift of one block, every account the caller may see (an account of another
    client of the company is left out for a caller limited to some clients)."""
    ctx.require(Scope.READ)
    intent = get_intent(uow, ctx, block_id)
    drift = _drift(uow, ctx.company_id, intent)
    visible = visible_account_ids(uow, ctx)
    if visible is None:
        return drift
    return BlockDrift(
        intent,
        tuple(line for line in drift.lines if line.account_id in visible),
        tuple(event for event in drift.events if event.account_id in visible),
    )


def _drift(uow: UnitOfWork, company_id: int, intent: Intent) -> BlockDrift:
    found = repository(uow)
    booked = found.booked(company_id, intent.block_id)
    targets = found.targets(company_id, intent.block_id)
    adjustments = found.adjustments(company_id, intent.block_id)
    intended = {line.account_id: line.quantity for line in intent.lines}
    accounts = list(intended) + sorted(
        {*booked, *targets, *(a.account_id for a in adjustments)} - set(intended)
    )
    lines = tuple(
        _line(account_id, intended, booked, targets, adjustments) for account_id in accounts
    )
    events = [_event(adjustment) for adjustment in adjustments]
    events += [
        DriftEvent(line.account_id, REMAINDER, line.remainder, None, "the remainder rule")
        for line in lines
        if line.remainder
    ]
    return BlockDrift(intent, lines, tuple(events))


def _line(
    account_id: str,
    intended: dict[str, Fraction],
    booked: dict[str, Decimal],
    targets: dict[str, Fraction],
    adjustments: Sequence[Adjustment],
) -> DriftLine:
    def total(kind: str) -> Decimal:
        return sum(
            (a.quantity for a in adjustments if a.account_id == account_id and a.kind == kind),
            ZERO,
        )

    reduced, refused, to_error = total(MARGIN_REDUCTION), total(REFUSED), total(ERROR_ACCOUNT)
    given = booked.get(account_id, ZERO)
    target = targets.get(account_id)
    if target is None:  # no pro rata target recorded: the target is what the fills decided
        target = Fraction(given + reduced + refused - to_error)
    return DriftLine(
        account_id, intended.get(account_id, Fraction(0)), target, given, reduced, refused, to_error
    )


def _event(adjustment: Adjustment) -> DriftEvent:
    return DriftEvent(
        adjustment.account_id,
        adjustment.kind,
        Fraction(adjustment.quantity),
        adjustment.fill_sequence,
        adjustment.detail,
    )


def period_drift(
    uow: UnitOfWork,
    ctx: Context,
    account_id: str | None,
    period: tuple[date | None, date | None],
) -> list[DriftLine]:
    """Per account, the drift summed over the blocks whose intent was recorded in the period
    (both ends included). Without an account, the caller must see every client."""
    ctx.require(Scope.READ)
    start, end = period
    if start is not None and end is not None and start > end:
        raise InvalidInstruction("from must not be after to", start=start, end=end)
    if account_id is not None:
        account_id = visible_account(uow, ctx, account_id).id
    elif ctx.principal.client_ids is not None:
        raise Forbidden("a drift report of every account needs access to all clients")
    found = repository(uow)
    sums: dict[str, DriftLine] = {}
    for block_id in found.intended_blocks(ctx.company_id, period):
        intent = found.intent(ctx.company_id, block_id)
        assert intent is not None
        for line in _drift(uow, ctx.company_id, intent).lines:
            if account_id is not None and line.account_id != account_id:
                continue
            held = sums.get(line.account_id)
            sums[line.account_id] = line if held is None else held.plus(line)
    return [sums[key] for key in sorted(sums)]


CSV_COLUMNS = (
    "block_id",
    "account_id",
    "blocks",
    "intended_quantity",
    "target_quantity",
    "booked_quantity",
    "drift",
    "drift_decimal",
    "unfilled",
    "remainder",
    "margin_reduced",
    "refused",
    "error_account",
)


def as_csv(lines: Iterable[tuple[int | None, DriftLine]]) -> str:
    """Drift lines as CSV (block id empty for a period's sums)."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=CSV_COLUMNS, lineterminator="\r\n")
    writer.writeheader()
    for block_id, line in lines:
        writer.writerow({"block_id": "" if block_id is None else block_id, **line.as_dict()})
    return out.getvalue()
