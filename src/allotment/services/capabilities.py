"""The repositories of the capabilities, as the unit of work exposes them (`uow.saxo`,
`uow.fix`, ...; decision 0038): each protocol stays beside the services that use it, and a
capability whose services each name a part of its repository (FIX, the desk) is joined here."""

from __future__ import annotations

from datetime import date
from typing import Protocol

from allotment.services.allocation_files.parts import FileClaims
from allotment.services.blocktrade.children import ClientOrderRepository
from allotment.services.bookbuilding.ports import BookbuildingRepository
from allotment.services.clearing import ClearingRepository
from allotment.services.desk.blocks import BlotterRepository
from allotment.services.desk.records import RecordsRepository
from allotment.services.desk.sessions import SessionRepository
from allotment.services.exports import ExportRepository
from allotment.services.fairness import FairnessRepository
from allotment.services.fairness.intent import IntentRepository
from allotment.services.fix.allocations import FixInstructionRepository
from allotment.services.fix.orders import FixOrderRepository
from allotment.services.fix.outbox import FixOutboxRepository
from allotment.services.fix.sessions import FixSessionRepository
from allotment.services.saxo.records import SaxoRepository

__all__ = [
    "BookbuildingRepository",
    "ClearingRepository",
    "ClientOrderRepository",
    "DatesRepository",
    "DeskRepository",
    "ExchangeCalendar",
    "ExportRepository",
    "FairnessRepository",
    "FileClaims",
    "FixRepository",
    "IntentRepository",
    "Savepoint",
    "SaxoRepository",
]


class Savepoint(Protocol):
    """Part of a unit of work's transaction, undone alone (rollback) or kept (commit)."""

    def commit(self) -> None: ...
    def rollback(self) -> None: ...


class FixRepository(
    FixSessionRepository,
    FixInstructionRepository,
    FixOutboxRepository,
    FixOrderRepository,
    Protocol,
):
    """FIX sessions, the allocation instructions and orders they carried, and each session's
    place in the outbox."""


class DeskRepository(SessionRepository, BlotterRepository, RecordsRepository, Protocol):
    """The desk's sign-in sessions, its blotter query, and the records its exceptions queue and
    audit page read."""


class DatesRepository(Protocol):
    def set_time_zone(self, company_id: int, time_zone: str) -> None:
        """The company's time zone (read back with the company)."""


class ExchangeCalendar(Protocol):
    """Sessions (trading days) of exchanges, named by their ISO 10383 MIC."""

    def settlement_date(self, market: str | None, trade_date: date, cycle_days: int) -> date:
        """The `cycle_days`-th session after the trade date (a trade date that is no session
        of the market counts from the market's next session); with no market, weekdays."""
