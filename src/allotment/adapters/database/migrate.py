"""Running Alembic migrations programmatically (no alembic.ini to find)."""

from __future__ import annotations

from dataclasses import dataclass
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


def current_revisions(engine: Engine) -> list[str]:
    """The revisions the database is at (one per branch; none for an empty database)."""
    with engine.connect() as connection:
        if not inspect(connection).has_table(VERSION_TABLE):
            return []
        rows = connection.execute(text(f"SELECT version_num FROM {VERSION_TABLE}"))
        return sorted(str(row[0]) for row in rows)


@dataclass(frozen=True)
class Revision:
    revision: str
    down_revision: str | None
    description: str
    head: bool


def history() -> list[Revision]:
    """Every migration of this version, newest first."""
    script = ScriptDirectory.from_config(_config())
    found = []
    for item in script.walk_revisions():
        down = item.down_revision
        below = ", ".join(down) if isinstance(down, tuple | list) else down
        found.append(Revision(item.revision, below, (item.doc or "").strip(), item.is_head))
    return sorted(found, key=lambda r: r.revision, reverse=True)


def downgrade(engine: Engine, target: str) -> None:
    """Undo migrations down to `target`: a revision (its branch is taken down to it, other
    branches stay), `base` (everything), or Alembic's relative forms (`0013@-1`)."""
    config = _config()
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, target)


def applied_revisions(engine: Engine) -> set[str]:
    """Every revision applied: those the database is at and all they were built on."""
    script = ScriptDirectory.from_config(_config())
    applied: set[str] = set()
    waiting = current_revisions(engine)
    while waiting:
        revision = script.get_revision(waiting.pop())
        if revision is None or revision.revision in applied:
            continue
        applied.add(revision.revision)
        down = revision.down_revision
        waiting.extend([down] if isinstance(down, str) else list(down or ()))
    return applied
