"""What every service call carries: who acts, through which API, and when."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from allotment.domain.accounts import Account
from allotment.domain.errors import Forbidden, NotFound
from allotment.domain.identity import Principal, Scope
from allotment.services.ports import AuditEvent, UnitOfWork


@dataclass(frozen=True, slots=True)
class Context:
    principal: Principal
    dialect: str
    now: datetime
    requested_trade_date: date | None = None
    """A trade date the caller named (native API): bookings go there or are refused."""
    trade_date: date | None = None
    """The trade date this call books on, once `clearing.open_session` chose it."""
    late: bool = False
    """True when the business date was closed and `trade_date` is the next open one."""

    @property
    def company_id(self) -> int:
        return self.principal.company_id

    @property
    def today(self) -> date:
        """The trade date of this call's bookings (the UTC date until a session is open)."""
        return self.trade_date if self.trade_date is not None else self.now.date()

    def require(self, scope: Scope) -> None:
        if not self.principal.has(scope):
            raise Forbidden(f"this needs the {scope.value} scope", scope=scope.value)


def record(
    uow: UnitOfWork,
    ctx: Context,
    action: str,
    object_type: str,
    object_id: object,
    before: Mapping[str, Any] | None = None,
    after: Mapping[str, Any] | None = None,
) -> None:
    """Record an audit event in the same transaction as the write it describes."""
    uow.audit.add(
        AuditEvent(
            company_id=ctx.company_id,
            at=ctx.now,
            actor=ctx.principal.subject,
            actor_kind=ctx.principal.kind.value,
            action=action,
            object_type=object_type,
            object_id=str(object_id),
            dialect=ctx.dialect,
            before=before,
            after=after,
        )
    )


def visible_account(uow: UnitOfWork, ctx: Context, account_id: str) -> Account:
    """The account if the caller may see it: another company's is unknown (404), another
    client's within the company is forbidden (403)."""
    return check_visible(uow.accounts.account(account_id), ctx, account_id)


def check_visible(account: Account | None, ctx: Context, account_id: str) -> Account:
    """`visible_account`'s checks on an account read already (None: not found)."""
    if account is None or account.company_id != ctx.company_id:
        raise NotFound(f"account {account_id} does not exist", account_id=account_id)
    if not ctx.principal.may_act_for_client(account.client_id):
        raise Forbidden(f"not authorised for account {account_id}", account_id=account_id)
    return account


def visible_account_ids(uow: UnitOfWork, ctx: Context) -> frozenset[str] | None:
    """None when the caller sees every account of its company, else the ones it may see."""
    if ctx.principal.client_ids is None:
        return None
    accounts = uow.accounts.accounts(ctx.company_id, ctx.principal.client_ids)
    return frozenset(account.id for account in accounts)
