"""All tables, in one metadata: the foundation's and each capability's (for migrations and the
schema check). The repositories are built by the unit of work (decision 0038)."""

from allotment.adapters import calendar
from allotment.adapters.database import (
    allocation_files,
    blocktrade,
    bookbuilding,
    bookbuilding_tables,
    clearing,
    dates,
    desk,
    exports,
    fairness,
    fix,
    intent,
    saxo,
    tables,
)
from allotment.adapters.database.tables import metadata

__all__ = [
    "allocation_files",
    "blocktrade",
    "bookbuilding",
    "bookbuilding_tables",
    "calendar",
    "clearing",
    "dates",
    "desk",
    "exports",
    "fairness",
    "fix",
    "intent",
    "metadata",
    "saxo",
    "tables",
]
