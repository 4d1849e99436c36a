"""Keeping PostgreSQL's id sequences ahead of ids chosen by the caller.

Some ids are chosen rather than generated (the demo's client 1574444, master block 195). On
PostgreSQL the table's sequence does not see such an insert, so a later generated id would
collide with it; after inserting a chosen id the sequence is moved past the largest id.
"""

from __future__ import annotations

from sqlalchemy import Connection, Table, text


def follow_chosen_id(connection: Connection, table: Table) -> None:
    if connection.dialect.name != "postgresql":
        return  # SQLite's autoincrement continues from the largest id by itself
    connection.execute(
        text(
            f"SELECT setval(pg_get_serial_sequence('{table.name}', 'id'), "
            f'(SELECT max(id) FROM "{table.name}"))'
        )
    )
