"""Reading Saxo allocation keys: the filtered list, and the preview of a split
(`/trade/v1/allocationkeys/distributions/{id}`), computed by the allocation engine."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from decimal import Decimal

from allotment.domain.errors import Forbidden, InvalidInstruction, RuleViolation
from allotment.domain.identity import Scope
from allotment.services.context import Context
from allotment.services.ports import UnitOfWork
from allotment.services.saxo.accounts import master_client_key
from allotment.services.saxo.keys import key_view, repository, split_key
from allotment.services.saxo.records import AllocationKey, KeyQuery, KeyStatus

QUANTITY = "Quantity"
CASH_AMOUNT = "CashAmount"
CENT = Decimal("0.01")
"""Cash is split in cents (every currency the demo and Saxo's samples use has two decimals)."""


@dataclass(frozen=True, slots=True)
class KeyFilter:
    statuses: frozenset[KeyStatus] = frozenset({KeyStatus.ACTIVE})
    account_key: str | None = None
    client_key: str | None = None
    include_sub_clients: bool = True
    """Keys belong to the company (the master client), never to a sub-client: accepted as
    Saxo documents it, it changes nothing here."""
    skip: int = 0
    top: int = 1000


@dataclass(frozen=True, slots=True)
class KeyPage:
    keys: list[AllocationKey]
    count: int
    owner_keys: Mapping[str, str] = field(default_factory=dict)
    """Owner account id -> its account key."""
    invalid: frozenset[int] = frozenset()
    """Keys with a closed participant (IsValid false)."""


def list_keys(uow: UnitOfWork, ctx: Context, wanted: KeyFilter) -> KeyPage:
    ctx.require(Scope.READ)
    query = KeyQuery(
        company_id=ctx.company_id,
        statuses=wanted.statuses,
        only_clients=ctx.principal.client_ids,
        skip=wanted.skip,
        top=wanted.top,
    )
    if wanted.account_key is not None:
        account = uow.accounts.account_by_key(wanted.account_key)
        if account is None or account.company_id != ctx.company_id:
            return KeyPage([], 0)
        query = replace(query, account_id=account.id)
    if wanted.client_key not in (None, master_client_key(ctx.company_id)):
        assert wanted.client_key is not None
        client = uow.accounts.client_by_key(ctx.company_id, wanted.client_key)
        if client is None:
            return KeyPage([], 0)
        if not ctx.principal.may_act_for_client(client.id):
            raise Forbidden(f"not authorised for client {client.id}", client_id=client.id)
        query = replace(query, participant_client_id=client.id)
    keys, count = repository(uow).keys(query)
    owners = uow.accounts.accounts_by_ids([key.owner_account_id for key in keys])
    invalid = repository(uow).closed_participants([key.id for key in keys if key.id])
    return KeyPage(
        keys,
        count,
        {account_id: account.account_key for account_id, account in owners.items()},
        frozenset(invalid),
    )


@dataclass(frozen=True, slots=True)
class Distribution:
    remainder: Decimal
    amounts: list[tuple[str, Decimal]]
    """Per participant, in the key's order: account id and amount."""


def preview(
    uow: UnitOfWork,
    ctx: Context,
    key_id: str,
    total: Decimal,
    *,
    uic: int | None = None,
    asset_type: str | None = None,
    amount_type: str | None = None,
) -> Distribution:
    """How the key would split `total`: the engine's split, in the instrument's quantity
    increment (the one named, else the key's own, else whole units); with OrderAmountType
    CashAmount, `total` is cash, split in cents. Nothing is stored."""
    view = key_view(uow, ctx, key_id, clients=False)
    if amount_type not in (None, QUANTITY, CASH_AMOUNT):
        raise RuleViolation(
            f"OrderAmountType {amount_type} is not supported: it is {QUANTITY} or {CASH_AMOUNT}",
            field="OrderAmountType",
        )
    if (uic is None) != (asset_type is None):
        raise InvalidInstruction("Uic and AssetType go together", field="Uic")
    key = view.key
    uic, asset_type = (uic, asset_type) if uic is not None else (key.uic, key.asset_type)
    increment = Decimal(1)
    if uic is not None:
        instrument = uow.instruments.by_uic(uic, asset_type)
        if instrument is None:
            raise RuleViolation(f"no instrument has Uic {uic} and AssetType {asset_type}")
        increment = instrument.quantity_increment
    if not total.is_finite() or total < 0:
        raise InvalidInstruction("Totalamount must be zero or positive", field="Totalamount")
    of_cash = amount_type == CASH_AMOUNT
    result = split_key(key, total, CENT if of_cash else increment, of_cash=of_cash)
    amounts = [
        (participant.account_id, quantity)
        for participant, quantity in zip(key.participants, result.quantities, strict=True)
    ]
    return Distribution(result.remainder, amounts)
