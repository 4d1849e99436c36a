"""All tables, in one metadata: the foundation's and each dialect's (imported for their side
effect of registering on the shared metadata)."""

from allotment.adapters.database import tables
from allotment.adapters.database.tables import metadata

__all__ = ["metadata", "tables"]
