"""Clearing sessions and the end of day (SPEC §5).

A session is a (company, trade date). Closing it registers every allocation booked on that
trade date in a clearing report (JSON and CSV, stored with the session) and makes those bookings
final: once a trade date is closed, nothing more is booked on it; later bookings go to the next
open trade date and are late (`open_session`), so a booking of a closed session can only be
reversed by an entry dated in a later session. Closing twice returns the report stored the first
time.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from datetime import date, datetime
from typing import Protocol

from allotment.domain.errors import Forbidden, InvalidInstruction, SessionClosed
from allotment.domain.identity import Scope
from allotment.services.calendar import company_business_date, next_weekday
from allotment.services.clearing_report import ClearingReport, build_report
from allotment.services.context import Context, record
from allotment.services.ports import UnitOfWork

OPEN = "open"
CLOSED = "closed"


@dataclass(frozen=True, slots=True)
class SessionRecord:
    company_id: int
    trade_date: date
    status: str
    closed_at: datetime | None = None
    closed_by: str | None = None
    allocation_count: int | None = None
    report_json: str | None = None
    report_csv: str | None = None


class ClearingRepository(Protocol):
    def hold_status(self, company_id: int, trade_date: date) -> str: ...
    def lock(self, company_id: int, trade_date: date) -> SessionRecord: ...
    def close(
        self,
        company_id: int,
        trade_date: date,
        closed_at: datetime,
        closed_by: str,
        allocation_count: int,
        report_json: str,
        report_csv: str,
    ) -> None: ...
    def get(self, company_id: int, trade_date: date) -> SessionRecord | None: ...
    def company_ids(self) -> list[int]: ...


def _repository(uow: UnitOfWork) -> ClearingRepository:
    return uow.clearing


def ensure_open(uow: UnitOfWork, company_id: int, trade_date: date) -> None:
    """Refuse bookings dated in a closed session; hold the session open until commit. (A
    booking that names no trade date goes through `open_session`, which is never refused.)

    A unit of work without the clearing capability (a test fake) has no sessions to close.
    """
    try:
        repository = _repository(uow)
    except KeyError:
        return
    if repository.hold_status(company_id, trade_date) == CLOSED:
        raise SessionClosed(
            f"the clearing session of {trade_date.isoformat()} is closed: its bookings are "
            "final and nothing more can be booked on that trade date",
            trade_date=trade_date.isoformat(),
        )


def on_trade_date(ctx: Context, trade_date: date | None) -> Context:
    """The context asking to book on `trade_date` (None: the business date)."""
    return ctx if trade_date is None else replace(ctx, requested_trade_date=trade_date)


LATE_LOOKAHEAD_DAYS = 366
"""How far past closed trade dates a late booking looks for an open one (a year of closes in
advance cannot happen: only today or earlier can be closed)."""


def open_session(uow: UnitOfWork, ctx: Context) -> Context:
    """The context dated on the trade date its bookings go to, that session held open until
    the transaction ends (decision 0025).

    An explicit `requested_trade_date` that is closed is refused (SessionClosed). Otherwise the
    trade date is the company's business date in its time zone; when that is closed, the next
    weekday that is open, and the bookings are late. A context already dated is returned as it
    is (its session is held by this transaction already).
    """
    if ctx.trade_date is not None:
        return ctx
    business = company_business_date(uow, ctx)
    requested = ctx.requested_trade_date
    if requested is not None:
        if requested > business:
            raise InvalidInstruction(
                f"trade date {requested.isoformat()} is in the future: the company's business "
                f"date is {business.isoformat()}",
                trade_date=requested.isoformat(),
            )
        ensure_open(uow, ctx.company_id, requested)
        return replace(ctx, trade_date=requested)
    try:
        repository = _repository(uow)
    except KeyError:
        return replace(ctx, trade_date=business)
    day = business
    for _ in range(LATE_LOOKAHEAD_DAYS):
        if repository.hold_status(ctx.company_id, day) != CLOSED:
            return replace(ctx, trade_date=day, late=day != business)
        day = next_weekday(day)
    raise SessionClosed("no open trade date within a year", trade_date=day.isoformat())


def close_session(uow: UnitOfWork, ctx: Context, trade_date: date) -> ClearingReport:
    """Register every allocation of the trade date in a report and make them final."""
    ctx.require(Scope.ADMIN)
    if trade_date > company_business_date(uow, ctx):
        raise InvalidInstruction(
            f"trade date {trade_date.isoformat()} is in the future; only today or earlier "
            "sessions can be closed",
            trade_date=trade_date.isoformat(),
        )
    repository = _repository(uow)
    held = repository.lock(ctx.company_id, trade_date)
    if held.status == CLOSED:
        return _stored(held)
    report = build_report(uow, ctx.company_id, trade_date, CLOSED, ctx.now, ctx.principal.subject)
    repository.close(
        ctx.company_id,
        trade_date,
        ctx.now,
        ctx.principal.subject,
        report.allocation_count,
        report.json_text,
        report.csv_text,
    )
    record(
        uow,
        ctx,
        "clearing.session.closed",
        "clearing_session",
        trade_date.isoformat(),
        before={"status": OPEN},
        after={"status": CLOSED, "allocation_count": report.allocation_count},
    )
    return report


def get_report(uow: UnitOfWork, ctx: Context, trade_date: date) -> ClearingReport:
    """The stored report of a closed session, or a provisional one of an open session."""
    _require_reader(ctx)
    stored = _repository(uow).get(ctx.company_id, trade_date)
    if stored is not None and stored.status == CLOSED:
        return _stored(stored)
    return build_report(uow, ctx.company_id, trade_date, OPEN, None, None)


def _require_reader(ctx: Context) -> None:
    ctx.require(Scope.READ)
    if ctx.principal.client_ids is not None:
        raise Forbidden(
            "the clearing report covers every client of the company; it needs access to all clients"
        )


def company_ids(uow: UnitOfWork) -> list[int]:
    return _repository(uow).company_ids()


def _stored(held: SessionRecord) -> ClearingReport:
    assert held.report_json is not None and held.report_csv is not None
    document = json.loads(held.report_json)
    return ClearingReport(
        company_id=held.company_id,
        trade_date=held.trade_date,
        status=held.status,
        closed_at=held.closed_at,
        closed_by=held.closed_by,
        allocation_count=held.allocation_count or 0,
        totals=document["totals"],
        json_text=held.report_json,
        csv_text=held.report_csv,
    )
