"""Preview an allocation: the engine's split of a total, priced and explained, nothing stored.

The one service behind `POST /api/v1/allocations/preview` and `allotment allocate`. The
participants come from the request, or from a Saxo allocation key of the caller's company
(split exactly as `GET /trade/v1/allocationkeys/distributions/{id}` splits it). For the
`NetLiquidation` and `AvailableEquity` methods, participants given without a weight are
account ids whose weights are read from the ledger (in bulk):

* net liquidation = cash in the account's currency + Σ position quantity × average cost
  (the positions' cost: the ledger keeps no market prices, and no exchange rates, so a
  position in another currency counts at its cost in that currency);
* available equity = what the account can spend now: its cash less its floor (a cash
  account: its cash; margin and day-trader accounts: cash + credit limit).

Either is counted as zero when negative (an account in deficit takes no part).

With fills, the block is allocated fill by fill against the split of the total (pro rata, or
the key's policy), every part is priced at the block's average price (exact, and reported at
`price_places` with the named rounding mode), and the cash residue of that rounding is
reported for the error account. Without fills, parts are priced at `price` when given.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from decimal import ROUND_HALF_EVEN, ROUND_HALF_UP, Decimal
from fractions import Fraction

from allotment.domain.allocation.engine import (
    Method,
    Participant,
    RemainderPolicy,
    SplitRequest,
    split,
)
from allotment.domain.allocation.errors import EngineError
from allotment.domain.allocation.exact import total_of
from allotment.domain.allocation.explain import Explanation
from allotment.domain.allocation.fees import FeeSchedule, Side, TradeAmounts, compute_fees
from allotment.domain.allocation.fills import FillPolicy, allocate_fills, fill_targets
from allotment.domain.allocation.pricing import PRICE_PLACES, BlockPrice, Fill, price_block
from allotment.domain.allocation.result import SplitResult
from allotment.domain.errors import InvalidInstruction
from allotment.domain.identity import Scope
from allotment.domain.numbers import ZERO
from allotment.services.context import Context
from allotment.services.ports import UnitOfWork
from allotment.services.preview_ledger import ledger_weights
from allotment.services.saxo.keys import (
    AllocationKeyNotFound,
    key_view,
    method_of,
    split_participants,
)

TARGET_PLACES = 6
TARGET_ROUNDING = ROUND_HALF_EVEN
"""The explanation's decimal targets: six places, half to even (the exact target is given as
a fraction alongside)."""
LEDGER_METHODS = frozenset({Method.NET_LIQUIDATION, Method.AVAILABLE_EQUITY})


class PreviewRefused(InvalidInstruction):
    """The engine refused the input: its own code (`PercentagesDoNotTotal100`,
    `IncrementDoesNotDivide`, ...), message and facts, as an invalid instruction."""

    def __init__(self, error: EngineError) -> None:
        facts = {
            name: value for name, value in vars(error).items() if name not in {"message", "facts"}
        }
        super().__init__(error.message, **facts)
        self.code = error.code


class UnknownAllocationKey(InvalidInstruction):
    code = "UnknownAllocationKey"


@dataclass(frozen=True, slots=True)
class PreviewParticipant:
    key: str
    weight: Decimal | None = None
    """None: no weight (Equal), or read from the ledger (NetLiquidation, AvailableEquity)."""
    priority: int = 1
    accepts_remainder: bool = False
    minimum_quantity: Decimal | None = None
    maximum_quantity: Decimal | None = None


@dataclass(frozen=True, slots=True)
class PreviewRequest:
    total: Decimal
    method: Method | None = None
    """Required with participants; an allocation key brings its own."""
    participants: Sequence[PreviewParticipant] | None = None
    allocation_key_id: str | None = None
    increment: Decimal | None = None
    """None: 1, or with an allocation key its instrument's quantity increment."""
    round_lot: Decimal | None = None
    minimum_quantity: Decimal | None = None
    price: Decimal | None = None
    side: Side = Side.BUY
    fills: Sequence[Fill] = ()
    fill_policy: FillPolicy | None = None
    """None: pro rata, or the allocation key's policy."""
    fees: FeeSchedule | None = None
    price_places: int = PRICE_PLACES
    price_rounding: str = ROUND_HALF_UP
    remainder_policy: RemainderPolicy = RemainderPolicy.LARGEST_REMAINDER
    carried_deviations: Mapping[str, Fraction] | None = None
    """Per participant, its cumulative deviation so far in increments (the Fair policy)."""


@dataclass(frozen=True, slots=True)
class PreviewPart:
    key: str
    weight: Decimal | None
    """The weight the split used (None for Equal)."""
    quantity: Decimal
    """With fills: what the fills give it; otherwise its share of the total."""
    price: Decimal | None
    amounts: TradeAmounts | None


@dataclass(frozen=True, slots=True)
class Preview:
    method: Method
    total: Decimal
    increment: Decimal
    allocation_key_id: str | None
    side: Side | None
    """Set when the parts carry amounts."""
    parts: tuple[PreviewPart, ...]
    allocated: Decimal
    remainder: Decimal
    """What nobody could take: of the total, or with fills, of the filled quantity."""
    filled: Decimal | None
    block_price: BlockPrice | None
    fee_totals: TradeAmounts | None
    explanation: Explanation
    """Of the split of the total: each participant's exact target, quantity and deviation."""
    cumulative_deviations: Mapping[str, Fraction]
    """Per participant, the carried deviation plus this split's, in increments."""


def needs_database(request: PreviewRequest) -> bool:
    """Whether the preview reads stored data: an allocation key, or ledger weights."""
    return request.allocation_key_id is not None or _reads_ledger(request)


def preview(ctx: Context, request: PreviewRequest, uow: UnitOfWork | None = None) -> Preview:
    """Split, allocate the fills, price and explain; nothing is written. ``uow`` is needed
    only when ``needs_database(request)``."""
    ctx.require(Scope.READ)
    if needs_database(request) and uow is None:
        raise RuntimeError("this preview reads stored data: pass a unit of work")
    try:
        return _preview(ctx, request, uow)
    except EngineError as error:
        raise PreviewRefused(error) from error


def _preview(ctx: Context, request: PreviewRequest, uow: UnitOfWork | None) -> Preview:
    if request.allocation_key_id is not None:
        assert uow is not None
        result, policy = _split_by_key(uow, ctx, request, request.allocation_key_id)
    else:
        result, policy = _split_participants(uow, ctx, request), FillPolicy.PRO_RATA
    split_request = result.request
    quantities, remainder, filled, block_price = _filled(request, result, policy)
    price = block_price.reported if block_price is not None else request.price
    if request.fees is not None and price is None:
        raise InvalidInstruction(
            "fees need a price: give the block's fills, or a price", field="fees"
        )
    amounts = _amounts(request, quantities, price)
    weights = _weights_used(split_request)
    parts = tuple(
        PreviewPart(
            participant.key,
            weight,
            quantity,
            price,
            None if amounts is None else amounts[index],
        )
        for index, (participant, weight, quantity) in enumerate(
            zip(split_request.participants, weights, quantities, strict=True)
        )
    )
    return Preview(
        method=split_request.method,
        total=split_request.total,
        increment=split_request.increment,
        allocation_key_id=request.allocation_key_id,
        side=None if amounts is None else request.side,
        parts=parts,
        allocated=total_of(list(quantities)),
        remainder=remainder,
        filled=filled,
        block_price=block_price,
        fee_totals=None if amounts is None else _fee_totals(amounts),
        explanation=result.explanation,
        cumulative_deviations=result.cumulative_deviations(),
    )


def _filled(
    request: PreviewRequest, result: SplitResult, policy: FillPolicy
) -> tuple[tuple[Decimal, ...], Decimal, Decimal | None, BlockPrice | None]:
    """The quantities once the fills are allocated against the split (by the request's policy,
    or the key's), the remainder, the quantity filled and the block's price; without fills,
    the split's own quantities and remainder."""
    if not request.fills:
        return result.quantities, result.remainder, None, None
    filling = allocate_fills(
        fill_targets(result),
        [fill.quantity for fill in request.fills],
        request.fill_policy or policy,
        increment=result.request.increment,
    )
    quantities = tuple(part.quantity for part in filling.cumulative)
    # The over-fill goes to the error account at the same price: count it, so that the
    # residue is the rounding of the price alone.
    block_price = price_block(
        request.fills,
        [*quantities, filling.remainder],
        places=request.price_places,
        rounding=request.price_rounding,
    )
    filled = total_of([fill.quantity for fill in request.fills])
    return quantities, filling.remainder, filled, block_price


def _split_by_key(
    uow: UnitOfWork, ctx: Context, request: PreviewRequest, key_id: str
) -> tuple[SplitResult, FillPolicy]:
    """The key's split, made by the same function as the Saxo distributions preview; the
    request's lot rules and price, when given, apply on top."""
    if request.participants is not None:
        raise InvalidInstruction(
            "give participants or an allocation_key_id, not both", field="participants"
        )
    try:
        view = key_view(uow, ctx, key_id, clients=False)
    except AllocationKeyNotFound as error:
        raise UnknownAllocationKey(
            f"allocation key {key_id} does not exist", key_id=key_id, field="allocation_key_id"
        ) from error
    key = view.key
    method = method_of(key.unit_type)
    if request.method is not None and request.method is not method:
        raise InvalidInstruction(
            f"allocation key {key_id} splits by {method.value}, not {request.method.value}",
            field="method",
        )
    increment = request.increment
    if increment is None and key.uic is not None:
        instrument = uow.instruments.by_uic(key.uic, key.asset_type)
        increment = instrument.quantity_increment if instrument is not None else None
    result = split_participants(
        key.unit_type, key.participants, request.total, increment or Decimal(1)
    )
    rules = (request.round_lot, request.minimum_quantity, request.price)
    fair = request.remainder_policy is RemainderPolicy.FAIR or request.carried_deviations
    if fair or any(rule is not None for rule in rules):
        result = split(
            replace(
                result.request,
                round_lot=request.round_lot,
                minimum_quantity=request.minimum_quantity,
                price=request.price,
                remainder_policy=request.remainder_policy,
                carried_deviations=request.carried_deviations,
            )
        )
    return result, key.fill_policy


def _split_participants(
    uow: UnitOfWork | None, ctx: Context, request: PreviewRequest
) -> SplitResult:
    if request.method is None:
        raise InvalidInstruction("method is required with participants", field="method")
    given = request.participants or ()
    weights = _weights(uow, ctx, request.method, given)
    participants = tuple(
        Participant(
            p.key,
            weight,
            p.priority,
            p.accepts_remainder,
            p.minimum_quantity,
            p.maximum_quantity,
        )
        for p, weight in zip(given, weights, strict=True)
    )
    return split(
        SplitRequest(
            total=request.total,
            participants=participants,
            method=request.method,
            increment=Decimal(1) if request.increment is None else request.increment,
            round_lot=request.round_lot,
            minimum_quantity=request.minimum_quantity,
            price=request.price,
            remainder_policy=request.remainder_policy,
            carried_deviations=request.carried_deviations,
        )
    )


def _reads_ledger(request: PreviewRequest) -> bool:
    return (
        request.allocation_key_id is None
        and request.method in LEDGER_METHODS
        and bool(request.participants)
        and all(p.weight is None for p in request.participants or ())
    )


def _weights(
    uow: UnitOfWork | None,
    ctx: Context,
    method: Method,
    participants: Sequence[PreviewParticipant],
) -> list[Decimal]:
    missing = [p.key for p in participants if p.weight is None]
    if not missing or method is Method.EQUAL:
        return [ZERO if p.weight is None else p.weight for p in participants]
    if method in LEDGER_METHODS and len(missing) == len(participants):
        assert uow is not None
        return ledger_weights(uow, ctx, method, [p.key for p in participants])
    reason = (
        "give every participant a weight, or none (read from the ledger)"
        if method in LEDGER_METHODS
        else f"a {method.value} allocation needs a weight for every participant"
    )
    raise InvalidInstruction(
        f"participant {missing[0]!r} has no weight: {reason}", field="weight", key=missing[0]
    )


def _weights_used(request: SplitRequest) -> list[Decimal | None]:
    if request.method is Method.EQUAL:
        return [None] * len(request.participants)
    return [p.weight for p in request.participants]


def _amounts(
    request: PreviewRequest, quantities: Sequence[Decimal], price: Decimal | None
) -> list[TradeAmounts] | None:
    if price is None:
        return None
    schedule = request.fees or FeeSchedule()
    return [compute_fees(request.side, quantity, price, schedule) for quantity in quantities]


def _fee_totals(amounts: Sequence[TradeAmounts]) -> TradeAmounts:
    return TradeAmounts(
        total_of([a.trade_value for a in amounts]),
        total_of([a.commission for a in amounts]),
        total_of([a.tax for a in amounts]),
        total_of([a.other_fees for a in amounts]),
        total_of([a.net_amount for a in amounts]),
    )
