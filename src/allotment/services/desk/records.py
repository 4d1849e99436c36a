"""What the desk shows beside the ledger: refused allocation items (each dialect records the
items it refuses, with the refusal's code and message, where it turns them into its answer),
the idempotency keys still in flight, and the audit trail of one object. Each queue item says
what to do next."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Protocol

from allotment.domain.identity import Scope
from allotment.services.context import Context
from allotment.services.ports import AuditEvent, IdempotencyRecord, UnitOfWork, UnitOfWorkFactory

if TYPE_CHECKING:
    from allotment.services.blocktrade.children import LineError

MESSAGE_LENGTH = 500


@dataclass(frozen=True, slots=True)
class RefusedItem:
    """One allocation item a dialect refused: the account it was for, the code and message it
    answered."""

    account_id: str | None
    code: str
    message: str
    quantity: Decimal | None = None
    """What the item asked for (the drift report's refused request), where it says."""
    block_id: int | None = None
    """The block the item allocated from, where it names one."""


@dataclass(frozen=True, slots=True)
class Refusal:
    company_id: int
    dialect: str
    object_ref: str
    """What the item belonged to, as the dialect names it (a block, a batch, a reference)."""
    account_id: str | None
    code: str
    message: str
    at: datetime
    actor: str
    id: int | None = None
    block_id: int | None = None
    quantity: Decimal | None = None


class RecordsRepository(Protocol):
    def add_refusals(self, refusals: Sequence[Refusal]) -> None: ...
    def refusals(
        self, company_id: int, start: datetime, end: datetime, limit: int
    ) -> list[Refusal]: ...
    def keys_in_flight(self, company_id: int, limit: int) -> list[IdempotencyRecord]: ...
    def audit_of(
        self, company_id: int, object_type: str | None, object_id: str, after_id: int, limit: int
    ) -> list[AuditEvent]: ...


def _repository(uow: UnitOfWork) -> RecordsRepository:
    return uow.desk


def record_refusals(
    uow: UnitOfWork, ctx: Context, object_ref: object, items: Iterable[RefusedItem]
) -> None:
    """Keep the refused items of one request (in the caller's transaction; a request refused
    as a whole records them in a transaction of their own, after its rollback)."""
    rows = [
        Refusal(
            company_id=ctx.company_id,
            dialect=ctx.dialect,
            object_ref=str(object_ref)[:100],
            account_id=item.account_id[:64] if item.account_id else None,
            code=item.code[:60],
            message=item.message[:MESSAGE_LENGTH],
            at=ctx.now,
            actor=ctx.principal.subject,
            block_id=item.block_id,
            quantity=item.quantity,
        )
        for item in items
    ]
    if rows:
        _repository(uow).add_refusals(rows)


NEXT_STEP = {
    "InsufficientPosition": "Deliver or borrow the position, then send the item again.",
    "InsufficientFunds": "Fund the account (or raise its credit limit), then send it again.",
    "AccountClosed": "Book to an open account of the client, or reopen the account.",
    "InvalidAccount": "Check the account id with the client, then send the item again.",
    "AccountTypeMismatch": "Send it to the client's account of the right type.",
    "NotAuthorizedForAccount": "Have a user who may act for this client send it.",
    "InvalidQuantity": "Send a positive quantity in the instrument's increment.",
    "InvalidPrice": "Send a positive price in the instrument's tick.",
    "InvalidSymbol": "Check the instrument's symbol (or create the instrument).",
}
DEFAULT_STEP = "Correct the item as its message says, then send it again."


def next_step(refusal: Refusal) -> str:
    return NEXT_STEP.get(refusal.code, DEFAULT_STEP)


def refusals(
    uow: UnitOfWork, ctx: Context, start: datetime, end: datetime, limit: int
) -> list[Refusal]:
    """The company's refused items between `start` and `end`, newest first; a client-scoped
    user sees those of its clients' accounts only."""
    ctx.require(Scope.READ)
    found = _repository(uow).refusals(ctx.company_id, start, end, limit)
    if ctx.principal.client_ids is None:
        return found
    return [r for r in found if r.account_id is not None and _mine(uow, ctx, r.account_id)]


def _mine(uow: UnitOfWork, ctx: Context, account_id: str) -> bool:
    account = uow.accounts.account(account_id)
    return (
        account is not None
        and account.company_id == ctx.company_id
        and ctx.principal.may_act_for_client(account.client_id)
    )


@dataclass(frozen=True, slots=True)
class KeyInFlight:
    key: str
    state: str
    age: timedelta
    next_step: str


def keys_in_flight(uow: UnitOfWork, ctx: Context, limit: int) -> list[KeyInFlight]:
    """The company's Idempotency-Keys claimed and not completed (admin scope: a key says
    nothing of whose request it was), oldest first, with what to do about each."""
    ctx.require(Scope.ADMIN)
    return [
        KeyInFlight(record.key or "", record.state, ctx.now - created, _key_step(record, ctx.now))
        for record in _repository(uow).keys_in_flight(ctx.company_id, limit)
        if (created := record.created_at) is not None
    ]


def _key_step(record: IdempotencyRecord, now: datetime) -> str:
    if record.state == "booked":
        return (
            "Booked, but the server stopped before its answer was kept: look the booking up, "
            f"then forget the key (allotment idempotency forget {record.key})."
        )
    if record.leased_until is not None and record.leased_until > now:
        return "Still running: wait; its lease is renewed while the request runs."
    return (
        "Its request stopped before booking (the lease passed): the client may send it again "
        "with the same key, which then runs anew."
    )


def audit_of(
    uow: UnitOfWork,
    ctx: Context,
    object_type: str | None,
    object_id: str,
    after_id: int,
    limit: int,
) -> list[AuditEvent]:
    """The audit trail of one object (admin scope, as the API's audit trail)."""
    ctx.require(Scope.ADMIN)
    return _repository(uow).audit_of(ctx.company_id, object_type, object_id, after_id, limit)


def record_apart(
    factory: UnitOfWorkFactory, ctx: Context, object_ref: object, items: Iterable[RefusedItem]
) -> None:
    """Keep the refused items of a request refused as a whole, whose own transaction was
    rolled back: in a transaction of their own."""
    with factory() as uow:
        record_refusals(uow, ctx, object_ref, items)
        uow.commit()


def block_trade_items(
    errors: Iterable[LineError], block_id: int | None = None
) -> list[RefusedItem]:
    """A refused block-trade allocation's lines: the client (its account where the checks
    found one), the vendor's error texts, the quantity and the master's block."""
    return [
        RefusedItem(
            e.account_id,
            "LineRefused",
            f"client {e.block_allocation.client_id}, {e.block_allocation.quantity}: "
            + "; ".join(e.errors),
            e.block_allocation.quantity,
            block_id,
        )
        for e in errors
    ]
