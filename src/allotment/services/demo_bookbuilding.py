"""Demo data of the bookbuilding dialect (SPEC §8)."""

from __future__ import annotations

from allotment.services.context import Context
from allotment.services.ports import UnitOfWork


def load(uow: UnitOfWork, ctx: Context) -> None:
    """Nothing yet beyond the shared demo accounts."""
