"""Tables and repository of the blocktrade capability (being built). They share the foundation's
metadata; the repository is reached as `uow.extension("blocktrade")`."""

from __future__ import annotations
