"""Instruments: what is traded, and the increments its quantities and prices move in."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal


@dataclass(frozen=True, slots=True)
class Instrument:
    id: int
    symbol: str
    uic: int
    asset_type: str
    currency: str
    quantity_increment: Decimal
    price_increment: Decimal
