"""Running Alembic migrations programmatically (no alembic.ini to find)."""

from __future__ import annotations

from functools import cache
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, inspect, text

MIGRATIONS = Path(__file__).parent / "migrations"
VERSION_TABLE = "alembic_version"


def _config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


def upgrade(engine: Engine) -> None:
    """Bring the database to every head revision (each dialect keeps its own branch)."""
    config = _config()
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "heads")


@cache
def head_revisions() -> frozenset[str]:
    """The revisions this version of allotment expects (read from its migration scripts once)."""
    return frozenset(ScriptDirectory.from_config(_config()).get_heads())


def is_current(engine: Engine) -> bool:
    """Is the database's schema at every head revision? (An empty database is not.) Raises the
    driver's error when the database cannot be reached."""
    with engine.connect() as connection:
        if not inspect(connection).has_table(VERSION_TABLE):
            return False
        rows = connection.execute(text(f"SELECT version_num FROM {VERSION_TABLE}"))
        current = {str(row[0]) for row in rows}
    return current == head_revisions()
