"""All tables, in one metadata: the foundation's and each capability's. Importing this module
also registers each capability's repository with the unit of work."""

from allotment.adapters import calendar
from allotment.adapters.database import (
    allocation_files,
    blocktrade,
    bookbuilding,
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
