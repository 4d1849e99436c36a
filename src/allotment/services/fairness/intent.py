"""Pre-trade intent (SPEC §12): the allocation a block was meant to have, written once before its
first fill and never edited, and the adjustments each fill's allocation made to what the engine
decided (a margin reduction, a refusal, a booking to the error account, an over-fill).

An intent is a key's split of the block's ordered quantity (the engine's exact targets, as the
key stood when the intent was written) or an explicit list of quantities summing to the ordered
quantity. The repository is reached as ``uow.intent``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from fractions import Fraction
from typing import Protocol

from allotment.domain.accounts import AccountRole
from allotment.domain.allocation.exact import fraction_text
from allotment.domain.errors import Conflict, InvalidInstruction, NotFound
from allotment.domain.identity import Scope
from allotment.domain.numbers import fits_storage, is_multiple_of
from allotment.services import blocks
from allotment.services.context import Context, record, visible_account
from allotment.services.desk.records import Refusal
from allotment.services.ports import BlockRecord, FillRecord, UnitOfWork

KEY = "key"
LIST = "list"
MARGIN_REDUCTION = "MarginReduction"
REFUSED = "Refused"
ERROR_ACCOUNT = "ErrorAccount"
OVER_FILL = "OverFill"
REDUCED_REASON = "Reduced"  # saxo_fill_plan.REDUCED: a part cut to what the account can pay


@dataclass(frozen=True, slots=True)
class IntentLine:
    account_id: str
    quantity: Fraction
    """Exact: a key's split of the ordered quantity may be a fraction of an increment."""


@dataclass(frozen=True, slots=True)
class Intent:
    block_id: int
    source: str  # "key" (a snapshot of the key's split) or "list"
    key_id: str | None
    lines: tuple[IntentLine, ...]
    recorded_at: datetime
    recorded_by: str


@dataclass(frozen=True, slots=True)
class Adjustment:
    """One change a fill's allocation made to the engine's part of an account (or, for the
    error account, what it was booked)."""

    block_id: int
    fill_sequence: int
    account_id: str
    kind: str
    quantity: Decimal
    detail: str
    price: Decimal
    trade_date: date
    recorded_at: datetime


class IntentRepository(Protocol):
    def intent(self, company_id: int, block_id: int) -> Intent | None: ...
    def add_intent(self, company_id: int, intent: Intent) -> None: ...
    def intended_blocks(
        self, company_id: int, period: tuple[date | None, date | None]
    ) -> list[int]: ...
    def add_adjustments(self, company_id: int, rows: Sequence[Adjustment]) -> None: ...
    def adjustments(self, company_id: int, block_id: int) -> list[Adjustment]: ...
    def booked(self, company_id: int, block_id: int) -> dict[str, Decimal]: ...
    def targets(self, company_id: int, block_id: int) -> dict[str, Fraction]: ...
    def block_refusals(self, company_id: int, block_id: int) -> list[Refusal]: ...
    def refusals_between(
        self, company_id: int, start: datetime | None, end: datetime | None
    ) -> list[Refusal]: ...


def repository(uow: UnitOfWork) -> IntentRepository:
    return uow.intent


@dataclass(frozen=True, slots=True)
class IntentDraft:
    """Either ``key_id`` (the block's own key when neither is given) or ``lines``."""

    key_id: str | None = None
    lines: tuple[tuple[str, Decimal], ...] | None = None


def record_intent(uow: UnitOfWork, ctx: Context, block_id: int, draft: IntentDraft) -> Intent:
    """Write a block's intended allocation: refused (409) once the block has a fill or an
    intent. The block is locked, as a fill locks it, so an intent and a first fill are ordered."""
    ctx.require(Scope.WRITE)
    block = blocks.get_block(uow, ctx, block_id, lock=True)
    visible_account(uow, ctx, block.account_id)
    if block.filled_quantity or uow.blocks.fills(block_id):
        raise Conflict(f"block {block_id} has fills: its intent is recorded before the first")
    if repository(uow).intent(ctx.company_id, block_id) is not None:
        raise Conflict(f"block {block_id} has an intent already; an intent is never edited")
    if draft.lines is not None and draft.key_id is not None:
        raise InvalidInstruction("give either key_id or lines, not both")
    if draft.lines is not None:
        lines = _listed(uow, ctx, block, draft.lines)
        source, key_id = LIST, None
    else:
        key_id = draft.key_id or block.allocation_key_id
        if key_id is None:
            raise InvalidInstruction(
                f"block {block_id} has no allocation key: give key_id or lines"
            )
        lines = _key_split(uow, ctx, block, key_id)
        source = KEY
    intent = Intent(block_id, source, key_id, lines, ctx.now, ctx.principal.subject)
    repository(uow).add_intent(ctx.company_id, intent)
    record(uow, ctx, "block.intent_recorded", "block", block_id, after=intent_dict(intent))
    return intent


def get_intent(uow: UnitOfWork, ctx: Context, block_id: int) -> Intent:
    block = blocks.get_block(uow, ctx, block_id)
    visible_account(uow, ctx, block.account_id)
    intent = repository(uow).intent(ctx.company_id, block_id)
    if intent is None:
        raise NotFound(f"block {block_id} has no intent", block_id=block_id)
    return intent


def _listed(
    uow: UnitOfWork, ctx: Context, block: BlockRecord, listed: Sequence[tuple[str, Decimal]]
) -> tuple[IntentLine, ...]:
    instrument = uow.instruments.get(block.instrument_id)
    assert instrument is not None
    if not listed:
        raise InvalidInstruction("an intent lists at least one account")
    seen: set[str] = set()
    for index, (account_id, quantity) in enumerate(listed):
        where = f"lines[{index}]"
        account = visible_account(uow, ctx, account_id)
        if account.role is not AccountRole.CLIENT:
            raise InvalidInstruction(f"{where}: {account_id} is not a client account", field=where)
        if account_id in seen:
            raise InvalidInstruction(f"{where}: account {account_id} is listed twice", field=where)
        seen.add(account_id)
        if quantity < 0 or not fits_storage(quantity):
            raise InvalidInstruction(f"{where}: quantity must not be negative", field=where)
        if not is_multiple_of(quantity, instrument.quantity_increment):
            raise InvalidInstruction(
                f"{where}: quantity must be a multiple of {instrument.quantity_increment}",
                field=where,
            )
    total = sum((quantity for _, quantity in listed), Decimal(0))
    if total != block.ordered_quantity:
        raise InvalidInstruction(
            f"the intended quantities total {total}, the block orders {block.ordered_quantity}"
        )
    return tuple(IntentLine(account_id, Fraction(quantity)) for account_id, quantity in listed)


def _key_split(
    uow: UnitOfWork, ctx: Context, block: BlockRecord, key_id: str
) -> tuple[IntentLine, ...]:
    """The engine's exact targets of the block's ordered quantity split by the key."""
    from allotment.services.saxo import (
        keys as saxo,  # the Saxo dialect's keys; imported when asked for
    )

    view = saxo.key_view(uow, ctx, key_id, clients=False)
    instrument = uow.instruments.get(block.instrument_id)
    assert instrument is not None
    split = saxo.split_key(view.key, block.ordered_quantity, instrument.quantity_increment)
    return tuple(IntentLine(row.key, row.target_quantity) for row in split.explanation.participants)


def intent_dict(intent: Intent) -> dict[str, object]:
    return {
        "block_id": intent.block_id,
        "source": intent.source,
        "key_id": intent.key_id,
        "lines": [
            {"account_id": line.account_id, "quantity": fraction_text(line.quantity)}
            for line in intent.lines
        ],
        "recorded_at": intent.recorded_at.isoformat(),
        "recorded_by": intent.recorded_by,
    }


class _Holder(Protocol):
    @property
    def account_id(self) -> str: ...


class BookedPart(Protocol):
    """What a fill's allocation decided for one participant (saxo_fill_plan.Part)."""

    @property
    def holder(self) -> _Holder: ...
    @property
    def wanted(self) -> Decimal: ...
    @property
    def quantity(self) -> Decimal: ...
    @property
    def reason(self) -> str: ...


def record_adjustments(
    uow: UnitOfWork,
    ctx: Context,
    fill: FillRecord,
    parts: Sequence[BookedPart],
    diverted: tuple[Decimal, str],
) -> None:
    """After a fill's parts are booked: each part cut by margin or refused by the ledger, and
    what went to the error account (``diverted``: the over-fill and the error account's id)."""
    overfill, error_account_id = diverted
    rows: list[Adjustment] = []
    total = overfill
    for part in parts:
        if part.wanted == part.quantity:
            continue
        kind = MARGIN_REDUCTION if part.reason == REDUCED_REASON else REFUSED
        cut = part.wanted - part.quantity
        rows.append(_adjustment(ctx, fill, part.holder.account_id, (kind, cut), part.reason))
        total += cut
    if overfill:
        rows.append(_adjustment(ctx, fill, error_account_id, (OVER_FILL, overfill), "over-fill"))
    if total:
        detail = f"{len(rows) - (1 if overfill else 0)} participant(s) cut or refused"
        rows.append(_adjustment(ctx, fill, error_account_id, (ERROR_ACCOUNT, total), detail))
    if rows:
        try:
            found = repository(uow)
        except KeyError:  # a unit of work without the capability (a test fake)
            return
        found.add_adjustments(ctx.company_id, rows)


def _adjustment(
    ctx: Context, fill: FillRecord, account_id: str, what: tuple[str, Decimal], detail: str
) -> Adjustment:
    kind, quantity = what
    return Adjustment(
        fill.block_id,
        fill.sequence,
        account_id,
        kind,
        quantity,
        detail,
        fill.price,
        ctx.today,
        ctx.now,
    )
