"""The company's time zone, written by `services.calendar.set_time_zone` through
`uow.dates` (it is read with the company)."""

from __future__ import annotations

from sqlalchemy import Connection, update

from allotment.adapters.database import tables as t


class SqlDatesRepository:
    def __init__(self, connection: Connection) -> None:
        self._db = connection

    def set_time_zone(self, company_id: int, time_zone: str) -> None:
        self._db.execute(
            update(t.companies).where(t.companies.c.id == company_id).values(time_zone=time_zone)
        )
