"""The migrations build exactly the schema the code declares, on both databases."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from allotment.adapters.database.engine import make_engine
from allotment.adapters.database.migrate import is_current, upgrade
from allotment.adapters.database.schema import metadata


def test_the_migrated_schema_matches_the_declared_tables(database_url: str) -> None:
    engine = make_engine(database_url)
    try:
        with engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": False})
            differences = compare_metadata(context, metadata)
        assert differences == []
        assert is_current(engine)
    finally:
        engine.dispose()


def test_upgrading_twice_changes_nothing(database_url: str) -> None:
    engine = make_engine(database_url)
    try:
        upgrade(engine)
        assert is_current(engine)
    finally:
        engine.dispose()


def test_tables_a_fill_rewrites_leave_room_for_updates_in_place(database_url: str) -> None:
    """PostgreSQL: every participant's cash balance and holder row is updated by each fill, so
    their pages are filled to half, for updates that stay on the page (0008, 0011)."""
    engine = make_engine(database_url)
    try:
        if engine.dialect.name != "postgresql":
            pytest.skip("a PostgreSQL storage setting")
        with engine.connect() as connection:
            options = dict(
                connection.exec_driver_sql(
                    "SELECT relname, reloptions FROM pg_class "
                    "WHERE relname IN ('balances', 'saxo_block_holders')"
                ).all()
            )
        assert options == {
            "balances": ["fillfactor=50"],
            "saxo_block_holders": ["fillfactor=50"],
        }
    finally:
        engine.dispose()
