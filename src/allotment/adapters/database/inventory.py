"""How much the ledger holds: what `allotment ledger check` reports it has read."""

from __future__ import annotations

from sqlalchemy import Engine, func, select

from allotment.adapters.database import tables as t


def ledger_counts(engine: Engine) -> dict[str, int]:
    """Rows of the journal, its postings and the running balances."""
    with engine.connect() as connection:
        return {
            name: int(connection.execute(select(func.count()).select_from(table)).scalar_one())
            for name, table in (
                ("entries", t.journal_entries),
                ("postings", t.postings),
                ("balances", t.balances),
            )
        }
