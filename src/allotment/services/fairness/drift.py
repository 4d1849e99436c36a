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

An account without fairness rows for the block (a Priority key's fills, an instructed
quantity) has its target taken as what was booked, so its remainder is zero. A booking to the
error account that no fill recorded as an adjustment (another dialect's) is its error_account.

Requests refused as a whole (an ETNA item, a block-trade child, a line booked from the desk:
the refusals every dialect keeps) booked nothing, so they are outside the identity: each is an
event (``RequestRefused``) and ``requests_refused`` sums what they asked for. Over a period,
the lines of the blocks whose intent was recorded in it are summed per account, and the
requests refused in it from no such block (an ETNA transfer has none) are added to their
account's line.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_EVEN, Decimal
from fractions import Fraction

from allotment.domain.accounts import AccountRole
from allotment.domain.allocation.exact import fraction_text, round_fraction
from allotment.domain.errors import Forbidden, InvalidInstruction
from allotment.domain.identity import Scope
from allotment.services.context import Context, visible_account, visible_account_ids
from allotment.services.desk.records import Refusal
from allotment.services.fairness.intent import (
    ERROR_ACCOUNT,
    MARGIN_REDUCTION,
    REFUSED,
    Adjustment,
    Intent,
    IntentRepository,
    get_intent,
    repository,
)
from allotment.services.ports import UnitOfWork
from allotment.services.registry import house_account_id

REMAINDER = "Remainder"
REQUEST_REFUSED = "RequestRefused"
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
    requests_refused: Decimal = ZERO

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
            self.requests_refused + other.requests_refused,
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
            "requests_refused": str(self.requests_refused),
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
    refused = [r for r in found.block_refusals(company_id, intent.block_id) if r.account_id]
    intended = {line.account_id: line.quantity for line in intent.lines}
    to_error = _error_bookings(company_id, booked, adjustments)
    accounts = list(intended) + sorted(
        {
            *booked,
            *targets,
            *(a.account_id for a in adjustments),
            *(r.account_id or "" for r in refused),
        }
        - set(intended)
    )
    lines = tuple(
        _line(account_id, intended, booked, targets, adjustments, to_error, refused)
        for account_id in accounts
    )
    events = [_event(adjustment) for adjustment in adjustments]
    events += [
        DriftEvent(
            account_id, ERROR_ACCOUNT, Fraction(quantity), None, "booked to the error account"
        )
        for account_id, quantity in to_error.items()
    ]
    events += [_refused_event(refusal) for refusal in refused]
    events += [
        DriftEvent(line.account_id, REMAINDER, line.remainder, None, "the remainder rule")
        for line in lines
        if line.remainder
    ]
    return BlockDrift(intent, lines, tuple(events))


def _error_bookings(
    company_id: int, booked: dict[str, Decimal], adjustments: Sequence[Adjustment]
) -> dict[str, Decimal]:
    """What the error account was booked from the block where no fill recorded it (a booking
    of another dialect): the fill path records its own as adjustments."""
    error_id = house_account_id(company_id, AccountRole.ERROR)
    quantity = booked.get(error_id, ZERO)
    if not quantity or any(a.kind == ERROR_ACCOUNT for a in adjustments):
        return {}
    return {error_id: quantity}


def _line(
    account_id: str,
    intended: dict[str, Fraction],
    booked: dict[str, Decimal],
    targets: dict[str, Fraction],
    adjustments: Sequence[Adjustment],
    to_error_elsewhere: dict[str, Decimal],
    refused_requests: Sequence[Refusal],
) -> DriftLine:
    def total(kind: str) -> Decimal:
        return sum(
            (a.quantity for a in adjustments if a.account_id == account_id and a.kind == kind),
            ZERO,
        )

    reduced, refused, to_error = total(MARGIN_REDUCTION), total(REFUSED), total(ERROR_ACCOUNT)
    to_error += to_error_elsewhere.get(account_id, ZERO)
    given = booked.get(account_id, ZERO)
    target = targets.get(account_id)
    if target is None:  # no pro rata target recorded: the target is what the fills decided
        target = Fraction(given + reduced + refused - to_error)
    asked = sum((r.quantity or ZERO for r in refused_requests if r.account_id == account_id), ZERO)
    return DriftLine(
        account_id,
        intended.get(account_id, Fraction(0)),
        target,
        given,
        reduced,
        refused,
        to_error,
        requests_refused=asked,
    )


def _refused_event(refusal: Refusal) -> DriftEvent:
    return DriftEvent(
        refusal.account_id or "",
        REQUEST_REFUSED,
        Fraction(refusal.quantity or ZERO),
        None,
        f"{refusal.dialect} {refusal.object_ref} refused ({refusal.code}): {refusal.message}"[:500],
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
    blocks = found.intended_blocks(ctx.company_id, period)
    for block_id in blocks:
        intent = found.intent(ctx.company_id, block_id)
        assert intent is not None
        for line in _drift(uow, ctx.company_id, intent).lines:
            if account_id is not None and line.account_id != account_id:
                continue
            held = sums.get(line.account_id)
            sums[line.account_id] = line if held is None else held.plus(line)
    for refusal in _refused_elsewhere(found, ctx.company_id, period, set(blocks)):
        if account_id is not None and refusal.account_id != account_id:
            continue
        assert refusal.account_id is not None
        line = DriftLine(
            refusal.account_id,
            Fraction(0),
            Fraction(0),
            ZERO,
            blocks=0,
            requests_refused=refusal.quantity or ZERO,
        )
        held = sums.get(line.account_id)
        sums[line.account_id] = line if held is None else held.plus(line)
    return [sums[key] for key in sorted(sums)]


def _refused_elsewhere(
    found: IntentRepository,
    company_id: int,
    period: tuple[date | None, date | None],
    intended: set[int],
) -> list[Refusal]:
    """The requests refused in the period (both days included) from no block of the period's
    intents: those are counted with their block."""
    start, end = period
    return [
        refusal
        for refusal in found.refusals_between(
            company_id,
            None if start is None else _midnight(start),
            None if end is None else _midnight(end + timedelta(days=1)),
        )
        if refusal.block_id is None or refusal.block_id not in intended
    ]


def _midnight(day: date) -> datetime:
    return datetime.combine(day, datetime.min.time(), UTC)


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
    "requests_refused",
)


def as_csv(lines: Iterable[tuple[int | None, DriftLine]]) -> str:
    """Drift lines as CSV (block id empty for a period's sums)."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=CSV_COLUMNS, lineterminator="\r\n")
    writer.writeheader()
    for block_id, line in lines:
        writer.writerow({"block_id": "" if block_id is None else block_id, **line.as_dict()})
    return out.getvalue()
