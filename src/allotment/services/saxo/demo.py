"""Demo data of the Saxo dialect (SPEC §8): allocation key 227 of the seed, owned by the demo's
block trading account, splitting 10 % / 90 % between two client accounts; and the instrument
Saxo's block-order sample orders (Uic 21, FxSpot: EURUSD), so that the sample runs as it is."""

from __future__ import annotations

from decimal import Decimal

from allotment.domain.instruments import Instrument
from allotment.services.context import Context
from allotment.services.ports import UnitOfWork
from allotment.services.saxo.keys import KeyDraft, ParticipantDraft, create_key
from allotment.services.saxo.records import MarginHandling, UnitType

KEY_ID = 227
OWNER_ACCOUNT_KEY = "LZTc7DdejXODf-WSl2aCyQ=="
PARTICIPANTS = (
    ("Hk9Jw0lYxXO7qcBuZMR1bQ==", Decimal(10), True),  # SX-2001, client 2001
    ("W1Y2v3E4R5t6y7U8i9O0pA==", Decimal(90), False),  # SX-2002, client 2002
)


SAMPLE_INSTRUMENT = Instrument(0, "EURUSD", 21, "FxSpot", "USD", Decimal(1), Decimal("0.00001"))
"""Saxo's Uic 21 is EURUSD; an FX spot amount is in whole units of the base currency and its
price (USD per EUR) has five decimals."""


def load(uow: UnitOfWork, ctx: Context) -> None:
    if uow.instruments.by_uic(SAMPLE_INSTRUMENT.uic, SAMPLE_INSTRUMENT.asset_type) is None:
        uow.instruments.add(SAMPLE_INSTRUMENT)
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
