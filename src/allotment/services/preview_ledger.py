"""The weights of a NetLiquidation or AvailableEquity preview read from the ledger (see
`services.preview`): net liquidation is cash plus the positions at cost, available equity is
what the account can spend now; either counts as zero when negative."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

from allotment.domain.accounts import Account, AccountType
from allotment.domain.allocation.engine import Method
from allotment.domain.allocation.exact import plus, total_of
from allotment.domain.errors import Forbidden, InvalidInstruction
from allotment.domain.ledger import AssetKind
from allotment.domain.numbers import ZERO
from allotment.services.context import Context
from allotment.services.ports import UnitOfWork


class UnknownAccount(InvalidInstruction):
    code = "UnknownAccount"


def ledger_weights(
    uow: UnitOfWork, ctx: Context, method: Method, account_ids: Sequence[str]
) -> list[Decimal]:
    """Net liquidation or available equity of each account (see the module docstring),
    read with one query for the accounts and one for their balances."""
    accounts = uow.accounts.accounts_by_ids(account_ids)
    for account_id in account_ids:
        account = accounts.get(account_id)
        if account is None or account.company_id != ctx.company_id:
            raise UnknownAccount(
                f"participant {account_id!r} is not an account of the company",
                key=account_id,
                field="participants",
            )
        if not ctx.principal.may_act_for_client(account.client_id):
            raise Forbidden(f"not authorised for account {account_id}", account_id=account_id)
    cash: dict[str, Decimal] = {}
    positions: dict[str, list[Decimal]] = {}
    for key, balance in uow.ledger.balances(account_ids).items():
        account = accounts[key.account_id]
        if key.kind is AssetKind.CASH and key.asset == account.currency:
            cash[key.account_id] = balance.quantity
        elif key.kind is AssetKind.SECURITY:
            positions.setdefault(key.account_id, []).append(balance.cost_amount)
    if method is Method.NET_LIQUIDATION:
        values = [plus(cash.get(i, ZERO), total_of(positions.get(i, []))) for i in account_ids]
    else:
        values = [_available(accounts[i], cash.get(i, ZERO)) for i in account_ids]
    return [max(value, ZERO) for value in values]


def _available(account: Account, cash: Decimal) -> Decimal:
    if account.type is AccountType.CASH:
        return cash
    return plus(cash, account.credit_limit)
