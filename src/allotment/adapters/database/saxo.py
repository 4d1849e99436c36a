"""Tables and repository of the saxo capability (being built). They share the foundation's
metadata; the repository is reached as `uow.extension("saxo")`."""

from __future__ import annotations
