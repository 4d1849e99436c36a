"""Demo data of the Saxo dialect (SPEC §8): allocation key 227 of the seed, owned by the demo's
block trading account, splitting 10 % / 90 % between two client accounts."""

from __future__ import annotations

from decimal import Decimal

from allotment.services import saxo_orders  # noqa: F401  (allocates block orders' fills)
from allotment.services.context import Context
from allotment.services.ports import UnitOfWork
from allotment.services.saxo import KeyDraft, ParticipantDraft, create_key
from allotment.services.saxo_records import MarginHandling, UnitType

KEY_ID = 227
OWNER_ACCOUNT_KEY = "LZTc7DdejXODf-WSl2aCyQ=="
PARTICIPANTS = (
    ("Hk9Jw0lYxXO7qcBuZMR1bQ==", Decimal(10), True),  # SX-2001, client 2001
    ("W1Y2v3E4R5t6y7U8i9O0pA==", Decimal(90), False),  # SX-2002, client 2002
)


def load(uow: UnitOfWork, ctx: Context) -> None:
    create_key(
        uow,
        ctx,
        KeyDraft(
            name="MyAllocation_Key",
            unit_type=UnitType.PERCENTAGE,
            margin_handling=MarginHandling.REDUCE,
            one_time=False,
            owner_account_key=OWNER_ACCOUNT_KEY,
            participants=[
                ParticipantDraft(unit_value, 1, accepts, account_key=account_key)
                for account_key, unit_value, accepts in PARTICIPANTS
            ],
            uic=4361,
            asset_type="CfdOnStock",
            buy_sell="Buy",
            external_reference="Order123",
        ),
        key_id=KEY_ID,
    )
