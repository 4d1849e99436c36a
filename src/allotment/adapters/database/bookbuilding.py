"""Tables and repository of the bookbuilding capability (being built). They share the foundation's
metadata; the repository is reached as `uow.extension("bookbuilding")`."""

from __future__ import annotations
