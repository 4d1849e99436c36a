"""Book-building (primary market): deals, tranches, investor accounts, indications, the CAS
allocation record and its rules, and the automatic distribution of a tranche.

Book-building allocations are not booked on the ledger: they say how many new shares each
investor is to receive; settlement happens later, outside allotment.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import ROUND_FLOOR, Decimal
from enum import StrEnum
from fractions import Fraction
from typing import Any

from allotment.domain.allocation.engine import split
from allotment.domain.allocation.model import Method, Participant, SplitRequest
from allotment.domain.errors import InvalidInstruction

ZERO = Decimal(0)
SHARE = Decimal(1)


class OrderStatus(StrEnum):
    PENDING = "pending"
    DELIVERED = "delivered"
    SUCCESSFUL = "successful"
    FAILED = "failed"
    DELETE_PENDING = "deletePending"


class DistributionType(StrEnum):
    MANUAL = "manual"
    AUTO = "auto"
    NONE = "none"


class ValueType(StrEnum):
    CASH = "cash"
    QUANTITY = "quantity"


class CommentType(StrEnum):
    PUBLIC = "public"
    PRIVATE = "private"


# pending -> delivered -> successful | failed; a delivered allocation that is deleted waits in
# deletePending. Staying in the same status is always allowed.
_NEXT: dict[OrderStatus, frozenset[OrderStatus]] = {
    OrderStatus.PENDING: frozenset({OrderStatus.DELIVERED}),
    OrderStatus.DELIVERED: frozenset({OrderStatus.SUCCESSFUL, OrderStatus.FAILED}),
    OrderStatus.SUCCESSFUL: frozenset(),
    OrderStatus.FAILED: frozenset(),
    OrderStatus.DELETE_PENDING: frozenset(),
}


def check_transition(old: OrderStatus, new: OrderStatus) -> None:
    """The CAS orderStatus lifecycle; a move outside it is a bad request on orderStatus."""
    if new is old or new in _NEXT[old]:
        return
    raise InvalidInstruction(
        f"orderStatus cannot change from {old.value} to {new.value}",
        field="orderStatus",
    )


def on_delete(status: OrderStatus) -> OrderStatus | None:
    """What a delete does: a delivered allocation waits in deletePending, others go (None)."""
    if status in (OrderStatus.DELIVERED, OrderStatus.DELETE_PENDING):
        return OrderStatus.DELETE_PENDING
    return None


def is_stale(stored: str | None, incoming: str | None) -> bool:
    """True when `incoming` is older than `stored`. A version is compared as the source sends
    it: SQL Server rowversions (8 bytes, sent base64-encoded as JSON serialisers write byte
    arrays, "AAAAAAAAB9E=", or as SQL Server shows them, "0x00000000000007D1") as the unsigned
    big-endian numbers they are; integers as integers; anything else, or two versions of
    different kinds, as text. A request without a version does not take part in the check."""
    if stored is None or incoming is None:
        return False
    for read in (_rowversion, _integer):
        stored_number, incoming_number = read(stored), read(incoming)
        if stored_number is not None and incoming_number is not None:
            return incoming_number < stored_number
    return incoming < stored


ROWVERSION_BYTES = 8
_BASE64 = re.compile(r"[A-Za-z0-9+/]{11}=")
_HEX = re.compile(r"0[xX][0-9A-Fa-f]{16}")


def _rowversion(text: str) -> int | None:
    """The number an 8-byte SQL Server rowversion holds, or None when `text` is not one."""
    stripped = text.strip()
    if _HEX.fullmatch(stripped):
        return int(stripped[2:], 16)
    if not _BASE64.fullmatch(stripped):
        return None
    raw = base64.b64decode(stripped, validate=True)
    if len(raw) != ROWVERSION_BYTES or base64.b64encode(raw).decode("ascii") != stripped:
        return None
    return int.from_bytes(raw, "big")


def _integer(text: str) -> int | None:
    stripped = text.strip()
    body = stripped[1:] if stripped[:1] in "+-" else stripped
    return int(stripped) if body.isdigit() and body.isascii() else None


@dataclass(frozen=True, slots=True)
class Deal:
    id: str
    company_id: int
    name: str
    issuer: str
    created_at: datetime
    created_by: str


@dataclass(frozen=True, slots=True)
class Tranche:
    id: str
    company_id: int
    deal_id: str
    name: str
    offered_size: Decimal  # shares
    offer_price: Decimal
    currency: str
    minimum_allocation: Decimal  # shares; 0: no minimum
    created_at: datetime
    created_by: str


@dataclass(frozen=True, slots=True)
class InvestorAccount:
    id: str
    company_id: int
    name: str
    finra_5130: bool  # restricted person under FINRA Rule 5130 (new issues)
    finra_5131: bool  # executive officer/director under FINRA Rule 5131 (spinning)
    created_at: datetime
    created_by: str

    @property
    def restriction(self) -> str | None:
        rules = [
            rule for rule, flag in (("5130", self.finra_5130), ("5131", self.finra_5131)) if flag
        ]
        if not rules:
            return None
        return "restricted under FINRA Rule " + " and ".join(rules)


@dataclass(frozen=True, slots=True)
class Indication:
    id: str
    company_id: int
    deal_id: str
    tranche_id: str
    investor_account_id: str
    demand_type: ValueType
    demand_amount: Decimal  # shares, or cash in the tranche's currency
    limit_price: Decimal | None
    priority_tier: int  # 1 is served first
    created_at: datetime
    created_by: str


@dataclass(frozen=True, slots=True)
class AllocationValue:
    type: ValueType
    amount: Decimal


@dataclass(frozen=True, slots=True)
class BookAllocation:
    """One CAS allocation as stored; the dialect renders it in the seed's camelCase shape."""

    id: str
    company_id: int
    deal_id: str
    tranche_id: str
    investor_account_id: str
    indication_id: str | None
    indication_group_id: str | None
    source_id: str | None
    source_row_version: str | None
    order_status: OrderStatus
    distribution_type: DistributionType
    value: AllocationValue
    override: AllocationValue | None
    status_messages: tuple[Mapping[str, Any], ...]
    comment: Mapping[str, Any] | None
    detail: Mapping[str, Any] | None
    created_by: str
    created_at: datetime
    last_modified_by: str
    last_modified_at: datetime

    @property
    def effective(self) -> AllocationValue:
        """What the investor gets: the override when the desk set one."""
        return self.override or self.value


def shares_for(value: AllocationValue, price: Decimal) -> Decimal:
    """A quantity, or what a cash amount buys at `price`, floored to whole shares."""
    if value.type is ValueType.QUANTITY:
        return value.amount.to_integral_value(rounding=ROUND_FLOOR)
    return (value.amount / price).to_integral_value(rounding=ROUND_FLOOR)


class Exclusion(StrEnum):
    RESTRICTED = "Restricted"
    LIMIT_BELOW_OFFER = "LimitBelowOfferPrice"
    NO_DEMAND = "NoDemand"
    BELOW_MINIMUM = "BelowMinimumAllocation"


@dataclass(frozen=True, slots=True)
class Excluded:
    indication: Indication
    reason: Exclusion
    message: str


class Basis(StrEnum):
    AUTO = "auto"  # pro rata to demand by the engine
    FIXED = "fixed"  # an override, a manual allocation or one already delivered: kept


@dataclass(frozen=True, slots=True)
class Share:
    indication: Indication
    quantity: Decimal
    demand_quantity: Decimal
    basis: Basis
    kept_allocation_id: str | None = None


@dataclass(frozen=True, slots=True)
class Distribution:
    tranche: Tranche
    shares: tuple[Share, ...]
    excluded: tuple[Excluded, ...]
    allocated: Decimal
    unallocated: Decimal
    replaced_allocation_ids: tuple[str, ...] = field(default=())
    targets: Mapping[str, Fraction] = field(default_factory=dict)
    """The engine's exact target of each indication it split (by id), those left below the
    minimum included: what the fairness ledger records of a distribution."""


def demand_quantity(indication: Indication, offer_price: Decimal) -> Decimal:
    return shares_for(
        AllocationValue(indication.demand_type, indication.demand_amount), offer_price
    )


def distribute(
    tranche: Tranche,
    indications: Sequence[Indication],
    investors: Mapping[str, InvestorAccount],
    existing: Iterable[BookAllocation],
) -> Distribution:
    """Distribute a tranche across its indications.

    Policy (docs/decisions/0008): restricted investors (FINRA 5130/5131), limits below the
    offer price and zero demand are excluded with a reason. An indication whose allocation
    the desk fixed (an overrideAllocation, a manual allocation, or any allocation no longer
    pending) keeps it, and that quantity comes off the tranche first. The rest is shared tier
    by tier (tier 1 first, then tier 2 from what is left, ...), each tier pro rata to demand
    with demand as the cap and the tranche's minimum allocation as the minimum.
    """
    fixed, replaced = _fixed_allocations(existing, tranche.offer_price)
    shares: list[Share] = []
    excluded: list[Excluded] = []
    tiers: dict[int, list[tuple[Indication, Decimal]]] = {}
    for indication in sorted(indications, key=lambda i: (i.priority_tier, i.id)):
        demand = demand_quantity(indication, tranche.offer_price)
        if indication.id in fixed:
            kept_id, quantity = fixed[indication.id]
            shares.append(Share(indication, quantity, demand, Basis.FIXED, kept_id))
            continue
        reason = _exclusion(indication, investors[indication.investor_account_id], tranche, demand)
        if reason is not None:
            excluded.append(reason)
            continue
        tiers.setdefault(indication.priority_tier, []).append((indication, demand))
    available = tranche.offered_size - sum((s.quantity for s in shares), ZERO)
    if available < 0:
        raise InvalidInstruction(
            "the kept allocations exceed the tranche's offered size",
            field="offeredSize",
            kept=tranche.offered_size - available,
        )
    targets: dict[str, Fraction] = {}
    for tier in sorted(tiers):
        given, exact = _pro_rata(available, tiers[tier], tranche.minimum_allocation)
        targets.update(exact)
        for indication, demand in tiers[tier]:
            quantity = given[indication.id]
            if quantity == 0 and tranche.minimum_allocation > 0 and demand > 0:
                message = f"pro rata share below the minimum of {tranche.minimum_allocation}"
                excluded.append(Excluded(indication, Exclusion.BELOW_MINIMUM, message))
                continue
            shares.append(Share(indication, quantity, demand, Basis.AUTO))
            available -= quantity
    allocated = sum((s.quantity for s in shares), ZERO)
    return Distribution(
        tranche,
        tuple(shares),
        tuple(excluded),
        allocated,
        tranche.offered_size - allocated,
        tuple(replaced),
        targets,
    )


def _fixed_allocations(
    existing: Iterable[BookAllocation], price: Decimal
) -> tuple[dict[str, tuple[str, Decimal]], list[str]]:
    """Kept quantities by indication id, and the ids of the auto allocations to replace."""
    fixed: dict[str, tuple[str, Decimal]] = {}
    replaced: list[str] = []
    for allocation in sorted(existing, key=lambda a: a.id):
        keep = (
            allocation.override is not None
            or allocation.distribution_type is not DistributionType.AUTO
            or allocation.order_status is not OrderStatus.PENDING
        )
        if not keep:
            replaced.append(allocation.id)
        elif allocation.indication_id is not None and allocation.indication_id not in fixed:
            fixed[allocation.indication_id] = (
                allocation.id,
                shares_for(allocation.effective, price),
            )
    return fixed, replaced


def _exclusion(
    indication: Indication, investor: InvestorAccount, tranche: Tranche, demand: Decimal
) -> Excluded | None:
    if investor.restriction is not None:
        return Excluded(indication, Exclusion.RESTRICTED, investor.restriction)
    limit = indication.limit_price
    if limit is not None and limit < tranche.offer_price:
        message = f"limit price {limit} is below the offer price {tranche.offer_price}"
        return Excluded(indication, Exclusion.LIMIT_BELOW_OFFER, message)
    if demand <= 0:
        return Excluded(indication, Exclusion.NO_DEMAND, "demand is less than one share")
    return None


def _pro_rata(
    available: Decimal, members: Sequence[tuple[Indication, Decimal]], minimum: Decimal
) -> tuple[dict[str, Decimal], dict[str, Fraction]]:
    """The engine's split: weight = demand, maximum = demand, whole shares (largest
    remainder, ties by key); the quantities and the exact targets, by indication id."""
    participants = tuple(
        Participant(key=indication.id, weight=demand, maximum_quantity=demand)
        for indication, demand in members
    )
    request = SplitRequest(
        total=available,
        participants=participants,
        method=Method.RATIO,
        increment=SHARE,
        minimum_quantity=minimum if minimum > 0 else None,
    )
    result = split(request)
    targets = {row.key: row.target_quantity for row in result.explanation.participants}
    return result.by_key(), targets
