"""Tables and repository of the clearing capability (being built). They share the foundation's
metadata; the repository is reached as `uow.extension("clearing")`."""

from __future__ import annotations
