"""Demo data of the book-building dialect (SPEC §8): one deal with one tranche, three investor
accounts (one restricted under FINRA Rule 5130) and their indications. The ids are fixed, so
that the documentation and a CAS client can name them."""

from __future__ import annotations

import uuid
from decimal import Decimal

from allotment.domain.bookbuilding import ValueType
from allotment.services.bookbuilding import book
from allotment.services.context import Context
from allotment.services.ports import UnitOfWork

_NAMESPACE = uuid.UUID("6f1c2a6e-1d2b-4c36-9a51-3b0b8f0d2a10")


def demo_id(name: str) -> str:
    """The fixed id of a demo object, e.g. demo_id("tranche")."""
    return str(uuid.uuid5(_NAMESPACE, name))


DEAL_ID = demo_id("deal")
TRANCHE_ID = demo_id("tranche")
INVESTORS = [
    # (key, name, FINRA 5130, FINRA 5131)
    ("alpha", "Alpha Capital Management", False, False),
    ("beta", "Beta Pension Fund", False, False),
    ("gamma", "Gamma Securities (broker-dealer)", True, False),
]
INDICATIONS = [
    # (investor key, demand type, amount, limit price, priority tier)
    ("alpha", ValueType.QUANTITY, Decimal(600_000), None, 1),
    ("beta", ValueType.CASH, Decimal("10000000.00"), Decimal("21.00"), 1),
    ("gamma", ValueType.QUANTITY, Decimal(200_000), None, 1),
]


def load(uow: UnitOfWork, ctx: Context) -> None:
    """A 1,000,000-share IPO tranche at 20.00 USD (minimum allocation 100 shares)."""
    book.create_deal(
        uow, ctx, name="Acme Robotics IPO", issuer="Acme Robotics Inc.", deal_id=DEAL_ID
    )
    book.create_tranche(
        uow,
        ctx,
        deal_id=DEAL_ID,
        name="US institutional tranche",
        offered_size=Decimal(1_000_000),
        offer_price=Decimal("20.00"),
        currency="USD",
        minimum_allocation=Decimal(100),
        tranche_id=TRANCHE_ID,
    )
    for key, name, finra_5130, finra_5131 in INVESTORS:
        book.create_investor(
            uow,
            ctx,
            name=name,
            finra_5130=finra_5130,
            finra_5131=finra_5131,
            investor_id=demo_id(f"investor-{key}"),
        )
    for key, demand_type, amount, limit, tier in INDICATIONS:
        book.create_indication(
            uow,
            ctx,
            tranche_id=TRANCHE_ID,
            investor_account_id=demo_id(f"investor-{key}"),
            demand_type=demand_type,
            demand_amount=amount,
            limit_price=limit,
            priority_tier=tier,
            indication_id=demo_id(f"indication-{key}"),
        )
