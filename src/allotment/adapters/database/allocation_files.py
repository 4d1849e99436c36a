"""The references of the rows imported from client allocation files, one per row for ever
(decision 0033); reached as `uow.allocation_files`."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import (
    BigInteger,
    Column,
    Connection,
    ForeignKey,
    String,
    Table,
    any_,
    bindparam,
    delete,
    select,
)
from sqlalchemy.dialects.postgresql import ARRAY

from allotment.adapters.database.bulk import insert_rows
from allotment.adapters.database.tables import metadata

allocation_file_rows = Table(
    "allocation_file_rows",
    metadata,
    Column("company_id", ForeignKey("companies.id"), primary_key=True),
    Column("reference", String(100), primary_key=True),
    Column("import_id", String(32), nullable=False),
    Column("line", BigInteger, nullable=False),
)

LOOKUP_CHUNK = 5_000
"""References asked for per statement (well under every database's parameter limit)."""


class SqlAllocationFileRepository:
    def __init__(self, connection: Connection) -> None:
        self._db = connection

    def claimed(self, company_id: int, references: Sequence[str]) -> dict[str, tuple[str, int]]:
        r = allocation_file_rows
        found: dict[str, tuple[str, int]] = {}
        unique = sorted(set(references))
        if self._db.dialect.name == "postgresql":
            # One array parameter: a chunk's references in one statement, nothing to expand.
            wanted = bindparam("references", unique, type_=ARRAY(String))
            query = select(r.c.reference, r.c.import_id, r.c.line).where(
                r.c.company_id == company_id, r.c.reference == any_(wanted)
            )
            return {ref: (import_id, line) for ref, import_id, line in self._db.execute(query)}
        for start in range(0, len(unique), LOOKUP_CHUNK):
            query = select(r.c.reference, r.c.import_id, r.c.line).where(
                r.c.company_id == company_id,
                r.c.reference.in_(unique[start : start + LOOKUP_CHUNK]),
            )
            for reference, import_id, line in self._db.execute(query):
                found[reference] = (import_id, line)
        return found

    def claim(self, company_id: int, run: str, rows: Sequence[tuple[str, int]]) -> None:
        if rows:
            insert_rows(
                self._db,
                allocation_file_rows,
                [
                    {"company_id": company_id, "reference": ref, "import_id": run, "line": line}
                    for ref, line in rows
                ],
            )

    def release(self, company_id: int, references: Sequence[str]) -> None:
        r = allocation_file_rows
        for start in range(0, len(references), LOOKUP_CHUNK):
            self._db.execute(
                delete(r).where(
                    r.c.company_id == company_id,
                    r.c.reference.in_(references[start : start + LOOKUP_CHUNK]),
                )
            )
