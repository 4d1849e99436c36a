"""All tables, in one metadata: the foundation's and each capability's (for migrations and the
schema check). The repositories are built by the unit of work (decision 0038)."""

from allotment.adapters import calendar
from allotment.adapters.database import (
    allocation_files,
    clearing,
    dates,
    desk,
    exports,
    fairness,
    intent,
    tables,
)
from allotment.adapters.database.blocktrade import repository as blocktrade
from allotment.adapters.database.bookbuilding import repository as bookbuilding
from allotment.adapters.database.bookbuilding import tables as bookbuilding_tables
from allotment.adapters.database.fix import repository as fix
from allotment.adapters.database.saxo import repository as saxo
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
