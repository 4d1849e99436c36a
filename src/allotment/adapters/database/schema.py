"""All tables, in one metadata: the foundation's and each capability's. Importing this module
also registers each capability's repository with the unit of work."""

from allotment.adapters.database import (
    blocktrade,
    bookbuilding,
    clearing,
    fairness,
    saxo,
    tables,
)
from allotment.adapters.database.tables import metadata

__all__ = ["blocktrade", "bookbuilding", "clearing", "fairness", "metadata", "saxo", "tables"]
