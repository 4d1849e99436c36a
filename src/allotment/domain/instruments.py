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
    isin: str | None = None
    cusip: str | None = None
    market: str | None = None
    """The ISO 10383 MIC of the exchange whose calendar dates its trades (XNYS, XNAS, XASX)."""
    settlement_days: int | None = None
    """The settlement cycle in the market's business days, when it differs from the market's
    (`settlement_cycle`)."""


US_MARKETS = frozenset({"XNYS", "XNAS", "ARCX", "BATS", "XASE", "IEXG"})
"""US exchanges: T+1 since 28 May 2024 (SEC rule 15c6-1 as amended)."""
ASSET_TYPE_CYCLES = {"FxSpot": 2}
"""Asset types whose cycle is their own wherever they trade: an FX spot deal settles T+2."""
DEFAULT_CYCLE_DAYS = 2
"""T+2: where the market has not moved to T+1 (the ASX, among others)."""


def settlement_cycle(instrument: Instrument) -> int:
    """Business days of the instrument's market between trade date and settlement date."""
    if instrument.settlement_days is not None:
        return instrument.settlement_days
    if instrument.asset_type in ASSET_TYPE_CYCLES:
        return ASSET_TYPE_CYCLES[instrument.asset_type]
    if instrument.market in US_MARKETS:
        return 1
    return DEFAULT_CYCLE_DAYS
