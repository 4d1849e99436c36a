"""Saxo allocation keys (SPEC §4.2): create, read, list, deactivate, and preview a split.

A key says how a block order placed with it is split across client accounts: by percentage
(totalling 100) or by units, with a priority and an "accepts remainder" flag per participant,
an error account, a margin-handling rule and a status. The split itself is the allocation
engine's (`domain.allocation.engine.split`); this module checks the rules Saxo documents:
participants are client accounts of the owner's company, at least one accepts the remainder,
UnitValue is never negative, ExternalReference has at most 50 characters.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal, localcontext

from allotment.domain.accounts import Account, AccountRole, Client
from allotment.domain.allocation.engine import Method, Participant, SplitRequest, split
from allotment.domain.allocation.errors import EngineError, PercentagesDoNotTotal100
from allotment.domain.allocation.exact import total_of
from allotment.domain.allocation.fills import FillPolicy
from allotment.domain.allocation.result import SplitResult
from allotment.domain.errors import Conflict, Forbidden, InvalidInstruction, NotFound, RuleViolation
from allotment.domain.identity import Scope
from allotment.domain.instruments import Instrument
from allotment.services.context import Context, record
from allotment.services.ports import UnitOfWork
from allotment.services.registry import house_account
from allotment.services.saxo.accounts import clients_by_id
from allotment.services.saxo.records import (
    AllocationKey,
    KeyParticipant,
    KeyStatus,
    MarginHandling,
    SaxoRepository,
    UnitType,
)

MAX_PARTICIPANTS = 100_000
MAX_EXTERNAL_REFERENCE = 50
MAX_KEY_ID = 2**62


class AllocationKeyNotFound(NotFound):
    code = "AllocationKeyNotFound"


@dataclass(frozen=True, slots=True)
class ParticipantDraft:
    unit_value: Decimal
    priority: int
    accepts_remainder: bool
    account_key: str | None = None
    account_id: str | None = None


@dataclass(frozen=True, slots=True)
class KeyDraft:
    """A key as a client asks for it (Saxo's AllocationKeyCreateRequest, plus the details the
    key's own view shows: instrument, direction, external reference, error account)."""

    name: str
    unit_type: UnitType
    margin_handling: MarginHandling
    one_time: bool
    owner_account_key: str
    participants: Sequence[ParticipantDraft]
    fill_policy: FillPolicy = FillPolicy.PRO_RATA
    uic: int | None = None
    asset_type: str | None = None
    buy_sell: str | None = None
    external_reference: str | None = None
    error_account: str | None = None
    """Account id or account key of one of the company's error accounts (default: the
    company's error account)."""


@dataclass(frozen=True, slots=True)
class KeyView:
    key: AllocationKey
    accounts: Mapping[str, Account]
    """Participants, owner and error account, by id."""
    clients: Mapping[int, Client]
    is_valid: bool


def repository(uow: UnitOfWork) -> SaxoRepository:
    return uow.saxo


def parse_key_id(text: str) -> int:
    """AllocationKeyId is the text of a positive integer; anything else names no key."""
    if not (text.isascii() and text.isdigit()) or not 0 < int(text) < MAX_KEY_ID:
        raise AllocationKeyNotFound(f"allocation key {text} does not exist", key_id=text)
    return int(text)


def create_key(
    uow: UnitOfWork, ctx: Context, draft: KeyDraft, *, key_id: int | None = None
) -> AllocationKey:
    """Check the draft against Saxo's rules and store it as Active (or OneTime)."""
    ctx.require(Scope.WRITE)
    _check_shape(draft)
    owner = _owner(uow, ctx, draft.owner_account_key)
    accounts = _participant_accounts(uow, ctx, draft.participants)
    participants = tuple(
        KeyParticipant(account.id, p.unit_value, p.priority, p.accepts_remainder)
        for account, p in zip(accounts, draft.participants, strict=True)
    )
    check_split_rules(draft.unit_type, participants)
    _instrument_of(uow, draft.uic, draft.asset_type)
    if key_id is not None and repository(uow).key(ctx.company_id, key_id) is not None:
        raise Conflict(f"allocation key {key_id} exists already", key_id=key_id)
    key = repository(uow).add_key(
        AllocationKey(
            id=key_id,
            company_id=ctx.company_id,
            name=draft.name,
            unit_type=draft.unit_type,
            margin_handling=draft.margin_handling,
            status=KeyStatus.ONE_TIME if draft.one_time else KeyStatus.ACTIVE,
            fill_policy=draft.fill_policy,
            owner_account_id=owner.id,
            error_account_id=_error_account(uow, ctx, draft.error_account).id,
            participants=participants,
            created_at=ctx.now,
            created_by=ctx.principal.subject,
            uic=draft.uic,
            asset_type=draft.asset_type,
            buy_sell=draft.buy_sell,
            external_reference=draft.external_reference,
            participant_count=len(participants),
            total_unit_values=total_of([p.unit_value for p in participants]),
        )
    )
    record(uow, ctx, "allocation_key.created", "allocation_key", key.id, after=_audit_view(key))
    return key


def _check_shape(draft: KeyDraft) -> None:
    reference = draft.external_reference
    if reference is not None and len(reference) > MAX_EXTERNAL_REFERENCE:
        raise InvalidInstruction(
            f"ExternalReference may have at most {MAX_EXTERNAL_REFERENCE} characters; "
            f"it has {len(reference)}",
            field="ExternalReference",
        )
    if not draft.participants:
        raise InvalidInstruction(
            "ParticipatingAccountsInfo needs at least one participant",
            field="ParticipatingAccountsInfo",
        )
    if len(draft.participants) > MAX_PARTICIPANTS:
        raise InvalidInstruction(
            f"ParticipatingAccountsInfo may list at most {MAX_PARTICIPANTS} participants",
            field="ParticipatingAccountsInfo",
        )
    if not any(p.accepts_remainder for p in draft.participants):
        raise RuleViolation(
            "at least one participant must have AcceptRemainderAmount true, to receive what "
            "cannot be split evenly",
            field="ParticipatingAccountsInfo",
        )


def check_split_rules(unit_type: UnitType, participants: Sequence[KeyParticipant]) -> None:
    """The engine's own checks of the weights (percentages total 100 within 1e-9, no negative
    value, no participant twice), run by splitting nothing."""
    try:
        split_participants(unit_type, participants, Decimal(0), Decimal(1))
    except PercentagesDoNotTotal100 as error:
        raise RuleViolation(
            f"the UnitValues of a Percentage key must total 100; they total {error.total}",
            field="ParticipatingAccountsInfo",
        ) from error
    except EngineError as error:
        raise RuleViolation(error.message, field="ParticipatingAccountsInfo") from error


def method_of(unit_type: UnitType, *, of_cash: bool = False) -> Method:
    """The engine's method for a key's UnitValues, splitting a quantity (or, `of_cash`, a cash
    amount). CashAmount values split a quantity in proportion (Ratio) and a cash amount as
    fixed amounts (Unit); Saxo documents CashAmount as Unit in cash."""
    if unit_type is UnitType.CASH_AMOUNT:
        return Method.UNIT if of_cash else Method.RATIO
    if of_cash and unit_type is UnitType.UNIT:
        raise RuleViolation(
            "a Unit key's UnitValues are quantities: it cannot split a cash amount",
            field="OrderAmountType",
        )
    return Method(unit_type.value)


def split_participants(
    unit_type: UnitType,
    participants: Sequence[KeyParticipant],
    total: Decimal,
    increment: Decimal,
    *,
    of_cash: bool = False,
) -> SplitResult:
    request = SplitRequest(
        total=total,
        participants=tuple(
            Participant(p.account_id, p.unit_value, p.priority, p.accepts_remainder)
            for p in participants
        ),
        method=method_of(unit_type, of_cash=of_cash),
        increment=increment,
    )
    return split(request)


TOTAL_PLACES = Decimal("1e-9")


def shown_total(total: Decimal) -> Decimal:
    """TotalUnitValues as shown: the exact sum rounded half-even to 9 decimal places (the
    tolerance within which a Percentage key totals 100), trailing zeros dropped. Thirds sent as
    JSON floats (33.333333333333336 three times) total 100.000000000000008 exactly; shown as
    100, a client reading it as a double never sees 100.00000000000001."""
    with localcontext() as context:
        context.prec = max(context.prec, len(total.as_tuple().digits) + 12)
        rounded = total.quantize(TOTAL_PLACES, rounding=ROUND_HALF_EVEN)
    return rounded.normalize()


def split_key(
    key: AllocationKey, total: Decimal, increment: Decimal, *, of_cash: bool = False
) -> SplitResult:
    """The engine's split of `total` by the key; its errors become rule violations."""
    try:
        return split_participants(
            key.unit_type, key.participants, total, increment, of_cash=of_cash
        )
    except EngineError as error:
        raise RuleViolation(error.message, engine_code=error.code) from error


def _owner(uow: UnitOfWork, ctx: Context, account_key: str) -> Account:
    owner = uow.accounts.account_by_key(account_key)
    if owner is None or owner.company_id != ctx.company_id:
        raise RuleViolation(f"OwnerAccountKey {account_key} is unknown", field="OwnerAccountKey")
    if owner.role is not AccountRole.AVERAGE or not owner.is_open:
        raise RuleViolation(
            f"OwnerAccountKey {account_key} is not an open block trading (average) account",
            field="OwnerAccountKey",
        )
    return owner


def _participant_accounts(
    uow: UnitOfWork, ctx: Context, drafts: Sequence[ParticipantDraft]
) -> list[Account]:
    """Each participant's account, read in bulk, checked: a client account of the company
    that the caller may act for, open, and named once."""
    by_key = repository(uow).account_ids_by_keys([d.account_key for d in drafts if d.account_key])
    ids = [by_key.get(d.account_key, "") if d.account_key else d.account_id or "" for d in drafts]
    found = repository(uow).accounts([i for i in ids if i])
    accounts: list[Account] = []
    seen: set[str] = set()
    for index, (draft, account_id) in enumerate(zip(drafts, ids, strict=True)):
        account = found.get(account_id)
        name = draft.account_key or draft.account_id or "(none)"
        field = f"ParticipatingAccountsInfo[{index}]"
        if account is None or account.company_id != ctx.company_id:
            raise RuleViolation(f"participant account {name} is unknown", field=field)
        if account.role is not AccountRole.CLIENT:
            raise RuleViolation(
                f"participant account {name} is not a client account: a key may only "
                "allocate to client accounts",
                field=field,
            )
        if not account.is_open:
            raise RuleViolation(f"participant account {name} is closed", field=field)
        if not ctx.principal.may_act_for_client(account.client_id):
            raise Forbidden(f"not authorised for account {name}", account_id=account.id)
        if account.id in seen:
            raise RuleViolation(f"participant account {name} is listed twice", field=field)
        seen.add(account.id)
        accounts.append(account)
    return accounts


def _error_account(uow: UnitOfWork, ctx: Context, named: str | None) -> Account:
    if named is None:
        return house_account(uow, ctx.company_id, AccountRole.ERROR)
    account = uow.accounts.account(named) or uow.accounts.account_by_key(named)
    if account is None or account.company_id != ctx.company_id:
        raise RuleViolation(f"ErrorAccount {named} is unknown", field="ErrorAccount")
    if account.role is not AccountRole.ERROR:
        raise RuleViolation(f"ErrorAccount {named} is not an error account", field="ErrorAccount")
    return account


def _instrument_of(uow: UnitOfWork, uic: int | None, asset_type: str | None) -> Instrument | None:
    if uic is None:
        if asset_type is not None:
            raise InvalidInstruction("AssetType needs a Uic", field="Uic")
        return None
    instrument = uow.instruments.by_uic(uic, asset_type)
    if instrument is None:
        what = f"Uic {uic}" + (f" with AssetType {asset_type}" if asset_type else "")
        raise RuleViolation(f"no instrument has {what}", field="Uic")
    return instrument


def key_view(
    uow: UnitOfWork, ctx: Context, key_id: str, *, lock: bool = False, clients: bool = True
) -> KeyView:
    """The key with its accounts (and, with `clients`, their clients), if the caller may see
    every participant."""
    ctx.require(Scope.READ)
    key = repository(uow).key(ctx.company_id, parse_key_id(key_id), lock=lock)
    if key is None:
        raise AllocationKeyNotFound(f"allocation key {key_id} does not exist", key_id=key_id)
    wanted = [p.account_id for p in key.participants]
    accounts = repository(uow).accounts([*wanted, key.owner_account_id, key.error_account_id])
    client_ids = {a.client_id for a in accounts.values() if a.client_id is not None}
    if not all(ctx.principal.may_act_for_client(client_id) for client_id in client_ids):
        raise Forbidden(f"not authorised for every participant of key {key_id}", key_id=key_id)
    found = clients_by_id(uow, ctx.company_id, client_ids) if clients else {}
    is_valid = all(accounts[account_id].is_open for account_id in wanted)
    return KeyView(key, accounts, found, is_valid)


def delete_key(uow: UnitOfWork, ctx: Context, key_id: str) -> None:
    """Saxo's DELETE: the key becomes Inactive (it stays readable, and orders placed with it
    keep their allocation)."""
    ctx.require(Scope.WRITE)
    view = key_view(uow, ctx, key_id, lock=True, clients=False)
    deactivate(uow, ctx, view.key, "allocation_key.deleted")


def deactivate(uow: UnitOfWork, ctx: Context, key: AllocationKey, action: str) -> None:
    if key.status is KeyStatus.INACTIVE:
        return
    assert key.id is not None
    repository(uow).set_key_status(key.id, KeyStatus.INACTIVE)
    record(
        uow,
        ctx,
        action,
        "allocation_key",
        key.id,
        before={"status": key.status.value},
        after={"status": KeyStatus.INACTIVE.value},
    )


def _audit_view(key: AllocationKey) -> dict[str, object]:
    return {
        "name": key.name,
        "unit_type": key.unit_type.value,
        "margin_handling": key.margin_handling.value,
        "status": key.status.value,
        "owner_account_id": key.owner_account_id,
        "error_account_id": key.error_account_id,
        "participants": key.participant_count,
        "total_unit_values": key.total_unit_values,
    }
