"""A preview's request and answer, shared by `POST /api/v1/allocations/preview` and
`allotment allocate`, so that the command line prints exactly what the endpoint answers:
the models, `to_request` (a request for `services.preview`) and `render` (its answer)."""

from __future__ import annotations

from decimal import (
    ROUND_05UP,
    ROUND_CEILING,
    ROUND_DOWN,
    ROUND_FLOOR,
    ROUND_HALF_DOWN,
    ROUND_HALF_EVEN,
    ROUND_HALF_UP,
    ROUND_UP,
    Decimal,
)
from fractions import Fraction
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field

from allotment.domain.allocation.engine import Method, RemainderPolicy
from allotment.domain.allocation.exact import fraction_text
from allotment.domain.allocation.explain import ParticipantExplanation, Reason
from allotment.domain.allocation.fees import FeeSchedule, Side, TradeAmounts
from allotment.domain.allocation.fills import FillPolicy
from allotment.domain.allocation.pricing import PRICE_PLACES, Fill
from allotment.entrypoints.wire import DecimalOut, DecimalStr, Model
from allotment.services import preview as previews

MAX_PARTICIPANTS = 100_000
MAX_FILLS = 100
FractionText = Annotated[
    str, Field(pattern=r"^-?[0-9]{1,30}(/[1-9][0-9]{0,29}|\.[0-9]{1,30})?$", max_length=70)
]
"""An exact number: an integer, a decimal or a fraction with a non-zero denominator."""
MAX_PRIORITY = 2**31 - 1
Rounding = Literal[
    "ROUND_HALF_UP",
    "ROUND_HALF_EVEN",
    "ROUND_HALF_DOWN",
    "ROUND_UP",
    "ROUND_DOWN",
    "ROUND_CEILING",
    "ROUND_FLOOR",
    "ROUND_05UP",
]
_ROUNDINGS = {
    mode: mode
    for mode in (
        ROUND_HALF_UP,
        ROUND_HALF_EVEN,
        ROUND_HALF_DOWN,
        ROUND_UP,
        ROUND_DOWN,
        ROUND_CEILING,
        ROUND_FLOOR,
        ROUND_05UP,
    )
}


class PreviewParticipantIn(Model):
    key: str = Field(
        min_length=1, max_length=100, description="Unique; an account id for ledger weights."
    )
    weight: DecimalStr | None = Field(
        default=None,
        description="Percentage, units, ratio or cash amount by method; omit for Equal, or for "
        "every participant of a NetLiquidation or AvailableEquity split to read the accounts' "
        "values from the ledger.",
    )
    priority: int = Field(default=1, ge=1, le=MAX_PRIORITY, description="1 comes first.")
    accepts_remainder: bool = False
    minimum_quantity: DecimalStr | None = None
    maximum_quantity: DecimalStr | None = None


class PreviewFillIn(Model):
    quantity: DecimalStr
    price: DecimalStr


class PreviewFeesIn(Model):
    """The fee terms the preview applies to its parts."""

    commission_per_share: DecimalStr = Decimal(0)
    commission_rate: DecimalStr = Field(default=Decimal(0), description="0.05 is 5 %.")
    commission_minimum: DecimalStr = Decimal(0)
    tax_rate: DecimalStr = Field(default=Decimal(0), description="On the commission (GST).")
    other_fees: DecimalStr = Field(default=Decimal(0), description="Flat, per allocation.")


class PreviewIn(Model):
    """A split to preview: `participants` (with `method`) or an `allocation_key_id`."""

    method: Method | None = Field(
        default=None, description="Required with participants; a key brings its own."
    )
    total: DecimalStr = Field(description="The quantity to split (the block's ordered size).")
    participants: list[PreviewParticipantIn] | None = Field(
        default=None, max_length=MAX_PARTICIPANTS
    )
    allocation_key_id: str | None = Field(
        default=None,
        min_length=1,
        max_length=50,
        description="A Saxo allocation key of the caller's company, instead of participants.",
    )
    increment: DecimalStr | None = Field(
        default=None,
        description="Quantities are multiples of it (default 1; with a key, its instrument's).",
    )
    round_lot: DecimalStr | None = None
    minimum_quantity: DecimalStr | None = None
    price: DecimalStr | None = Field(
        default=None, description="What Cash amounts buy at; prices the parts without fills."
    )
    side: Side | None = Field(default=None, description="For the net amounts (default Buy).")
    fills: list[PreviewFillIn] = Field(default_factory=list, max_length=MAX_FILLS)
    fill_policy: FillPolicy | None = Field(
        default=None, description="How fills are allocated (default ProRata, or the key's)."
    )
    fees: PreviewFeesIn | None = None
    price_places: int = Field(default=PRICE_PLACES, ge=0, le=9)
    price_rounding: Rounding = "ROUND_HALF_UP"
    remainder_policy: RemainderPolicy = Field(
        default=RemainderPolicy.LARGEST_REMAINDER,
        description="LargestRemainder decides this split alone; Fair gives the remainder to "
        "the most negative cumulative deviation (with `carried_deviations`).",
    )
    carried_deviations: dict[str, FractionText] | None = Field(
        default=None,
        max_length=MAX_PARTICIPANTS,
        description="Per participant key, its cumulative deviation so far in increments, exact: "
        '"-1/3", "0.5", "2".',
    )


class PartOut(BaseModel):
    key: str
    weight: DecimalOut | None
    quantity: DecimalOut
    price: DecimalOut | None = None
    trade_value: DecimalOut | None = None
    commission: DecimalOut | None = None
    tax: DecimalOut | None = None
    other_fees: DecimalOut | None = None
    net_amount: DecimalOut | None = None


class AveragePriceOut(BaseModel):
    exact: str = Field(description='The exact volume-weighted average, e.g. "503/50".')
    reported: DecimalOut
    places: int
    rounding: str


class AmountsOut(BaseModel):
    trade_value: DecimalOut
    commission: DecimalOut
    tax: DecimalOut
    other_fees: DecimalOut
    net_amount: DecimalOut


class ExplanationRowOut(BaseModel):
    key: str
    target_exact: str = Field(description='The exact target quantity, e.g. "301/3".')
    target: DecimalOut = Field(description="The target at `target_places`, `target_rounding`.")
    quantity: DecimalOut
    deviation_increments: str = Field(description='(quantity - target) / increment, e.g. "-1/3".')
    cumulative_deviation_increments: str = Field(
        description="The carried deviation plus this split's, in increments, exact."
    )
    reason: Reason


class ExplanationOut(BaseModel):
    target_places: int
    target_rounding: str
    leftover_to_acceptors: bool
    remainder_policy: RemainderPolicy
    participants: list[ExplanationRowOut]


class PreviewOut(BaseModel):
    method: Method
    total: DecimalOut
    increment: DecimalOut
    allocation_key_id: str | None
    side: Side | None = Field(description="Set when the parts carry amounts.")
    parts: list[PartOut]
    allocated: DecimalOut
    remainder: DecimalOut
    filled: DecimalOut | None
    average_price: AveragePriceOut | None
    cash_residue: DecimalOut | None = Field(
        description="Block notional - filled quantity x reported price, for the error account."
    )
    fees: AmountsOut | None = Field(description="The parts' amounts added up.")
    explanation: ExplanationOut


def to_request(body: PreviewIn) -> previews.PreviewRequest:
    participants = None
    if body.participants is not None:
        participants = [
            previews.PreviewParticipant(
                p.key,
                p.weight,
                p.priority,
                p.accepts_remainder,
                p.minimum_quantity,
                p.maximum_quantity,
            )
            for p in body.participants
        ]
    fees = None
    if body.fees is not None:
        fees = FeeSchedule(
            commission_per_share=body.fees.commission_per_share,
            commission_rate=body.fees.commission_rate,
            commission_minimum=body.fees.commission_minimum,
            tax_rate=body.fees.tax_rate,
            other_fees=body.fees.other_fees,
        )
    return previews.PreviewRequest(
        total=body.total,
        method=body.method,
        participants=participants,
        allocation_key_id=body.allocation_key_id,
        increment=body.increment,
        round_lot=body.round_lot,
        minimum_quantity=body.minimum_quantity,
        price=body.price,
        side=body.side or Side.BUY,
        fills=tuple(Fill(fill.quantity, fill.price) for fill in body.fills),
        fill_policy=body.fill_policy,
        fees=fees,
        price_places=body.price_places,
        price_rounding=_ROUNDINGS[body.price_rounding],
        remainder_policy=body.remainder_policy,
        carried_deviations=None
        if body.carried_deviations is None
        else {key: Fraction(text) for key, text in body.carried_deviations.items()},
    )


def render(found: previews.Preview) -> PreviewOut:
    block = found.block_price
    return PreviewOut(
        method=found.method,
        total=found.total,
        increment=found.increment,
        allocation_key_id=found.allocation_key_id,
        side=found.side,
        parts=[_part(part) for part in found.parts],
        allocated=found.allocated,
        remainder=found.remainder,
        filled=found.filled,
        average_price=None
        if block is None
        else AveragePriceOut(
            exact=fraction_text(block.exact),
            reported=block.reported,
            places=block.places,
            rounding=block.rounding,
        ),
        cash_residue=None if block is None else block.residue,
        fees=None if found.fee_totals is None else AmountsOut(**_amounts(found.fee_totals)),
        explanation=ExplanationOut(
            target_places=previews.TARGET_PLACES,
            target_rounding=previews.TARGET_ROUNDING,
            leftover_to_acceptors=found.explanation.leftover_to_acceptors,
            remainder_policy=found.explanation.remainder_policy,
            participants=[
                _row(row, found.cumulative_deviations[row.key])
                for row in found.explanation.participants
            ],
        ),
    )


def _part(part: previews.PreviewPart) -> PartOut:
    amounts = {} if part.amounts is None else _amounts(part.amounts)
    return PartOut(
        key=part.key, weight=part.weight, quantity=part.quantity, price=part.price, **amounts
    )


def _amounts(amounts: TradeAmounts) -> dict[str, Any]:
    return {
        "trade_value": amounts.trade_value,
        "commission": amounts.commission,
        "tax": amounts.tax,
        "other_fees": amounts.other_fees,
        "net_amount": amounts.net_amount,
    }


def _row(row: ParticipantExplanation, cumulative: Fraction) -> ExplanationRowOut:
    return ExplanationRowOut(
        key=row.key,
        target_exact=row.target_text(),
        target=row.target_decimal(previews.TARGET_PLACES, previews.TARGET_ROUNDING),
        quantity=row.quantity,
        deviation_increments=fraction_text(row.deviation_increments),
        cumulative_deviation_increments=fraction_text(cumulative),
        reason=row.reason,
    )
