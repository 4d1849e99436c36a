"""The block's average price, exact and as reported, and the cash it leaves behind.

Every participant of a block gets the block's volume-weighted average price. It is kept
exact (a Fraction), reported at a stated number of places with a named rounding mode, and
the difference between the block's notional and what the allocations are charged at the
reported price is the cash residue, booked to the error account: nothing disappears.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction

from allotment.domain.allocation.errors import InvalidPrice, InvalidQuantity, NoFills
from allotment.domain.allocation.exact import minus, round_fraction, times, total_of

# Prices are reported to four places unless the caller says otherwise.
PRICE_PLACES = 4


@dataclass(frozen=True, slots=True)
class Fill:
    """One execution of the block."""

    quantity: Decimal
    price: Decimal


@dataclass(frozen=True, slots=True)
class BlockPrice:
    exact: Fraction  # Σ quantity × price / Σ quantity, exactly
    reported: Decimal  # ``exact`` at ``places`` with ``rounding``
    places: int
    rounding: str
    notional: Decimal  # Σ fill quantity × fill price
    allocated_notional: Decimal  # Σ allocated quantity × reported price
    residue: Decimal  # notional - allocated_notional, for the error account


def average_price(fills: Sequence[Fill]) -> Fraction:
    """The exact volume-weighted average price of the fills."""
    _check_fills(fills)
    quantity = sum((Fraction(fill.quantity) for fill in fills), Fraction(0))
    if quantity == 0:
        raise NoFills()
    return Fraction(block_notional(fills)) / quantity


def report_price(
    exact: Fraction, places: int = PRICE_PLACES, rounding: str = ROUND_HALF_UP
) -> Decimal:
    """The price as stated to clients: ``places`` decimals, rounded with the named mode."""
    return round_fraction(exact, places, rounding)


def block_notional(fills: Sequence[Fill]) -> Decimal:
    """Σ quantity × price over the fills, exactly."""
    return total_of([times(fill.quantity, fill.price) for fill in fills])


def cash_residue(
    fills: Sequence[Fill], allocated_quantities: Iterable[Decimal], reported_price: Decimal
) -> Decimal:
    """Block notional - Σ allocated quantity × reported price, exactly.

    Pass every allocation of the block, the error account's included, so that the residue
    is the rounding of the price alone.
    """
    allocated = total_of(list(allocated_quantities))
    return minus(block_notional(fills), times(allocated, reported_price))


def price_block(
    fills: Sequence[Fill],
    allocated_quantities: Iterable[Decimal],
    places: int = PRICE_PLACES,
    rounding: str = ROUND_HALF_UP,
) -> BlockPrice:
    """Average price (exact and reported) and the cash residue of a block, in one go."""
    exact = average_price(fills)
    reported = report_price(exact, places, rounding)
    notional = block_notional(fills)
    allocated_notional = times(total_of(list(allocated_quantities)), reported)
    return BlockPrice(
        exact,
        reported,
        places,
        rounding,
        notional,
        allocated_notional,
        minus(notional, allocated_notional),
    )


def _check_fills(fills: Sequence[Fill]) -> None:
    if not fills:
        raise NoFills()
    for fill in fills:
        if not fill.quantity.is_finite() or fill.quantity < 0:
            raise InvalidQuantity("fill quantity", fill.quantity, "a non-negative quantity")
        if not fill.price.is_finite() or fill.price <= 0:
            raise InvalidPrice("fill price", fill.price)
