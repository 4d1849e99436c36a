"""What booking takes and answers: one allocation to book, the outcome of booking it, and the
checks that need no balance."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from fractions import Fraction
from typing import NamedTuple

from allotment.domain.accounts import Account
from allotment.domain.instruments import Instrument
from allotment.domain.ledger import BookingCode, FeeLeg, Trade
from allotment.domain.numbers import ZERO, is_multiple_of


class FairnessNote(NamedTuple):
    """What the engine decided for one allocation: its exact target (quantity units), the key
    it was split by ("" for none) and the remainder policy applied (SPEC §12)."""

    target_quantity: Fraction
    key: str
    policy: str


class BookingRequest(NamedTuple):
    """One allocation: `client` buys from or sells to `counterparty` (the source account).
    A named tuple: a block fill builds one per participant."""

    client: Account
    counterparty: Account
    instrument: Instrument
    side: str
    """Buy or Sell, seen from the client account."""
    quantity: Decimal
    price: Decimal
    commission: Decimal = ZERO
    tax: Decimal = ZERO
    other_fees: Decimal = ZERO
    action: str = ""
    short_allowed: bool = False
    fee_account: Account | None = None
    comment: str = ""
    reference: str | None = None
    block_id: int | None = None
    fees_paid_by_client: bool = True
    fairness: FairnessNote | None = None
    """The engine's exact target for this allocation, recorded in the fairness ledger."""

    @property
    def fees_total(self) -> Decimal:
        return self.commission + self.tax + self.other_fees

    def trade(self) -> Trade:
        buying = self.side == "Buy"
        seller, buyer = (
            (self.counterparty, self.client) if buying else (self.client, self.counterparty)
        )
        fees: tuple[FeeLeg, ...] = ()
        if self.fee_account is not None:
            payer = self.client.id if self.fees_paid_by_client else self.counterparty.id
            fees = tuple(
                FeeLeg(kind, payer, self.fee_account.id, amount)
                for kind, amount in (
                    ("commission", self.commission),
                    ("tax", self.tax),
                    ("other", self.other_fees),
                )
                if amount
            )
        return Trade(seller.id, buyer.id, self.instrument, self.quantity, self.price, fees)

    def net_amount(self, trade_value: Decimal) -> Decimal:
        """FIX AllocNetMoney: trade value plus fees on a buy, minus fees on a sale."""
        if self.side == "Buy":
            return trade_value + self.fees_total
        return trade_value - self.fees_total


class BookingOutcome(NamedTuple):
    """What booking one request came to (a named tuple: a fill answers 100,000 of them)."""

    code: BookingCode
    allocation_id: int | None = None
    entry_id: int | None = None


def shape_code(request: BookingRequest) -> BookingCode:
    """Checks that need no balance: open accounts, distinct accounts, increments, signs."""
    if not request.client.is_open or not request.counterparty.is_open:
        return BookingCode.ACCOUNT_CLOSED
    if request.client.id == request.counterparty.id:
        return BookingCode.SAME_ACCOUNT
    increment = request.instrument.quantity_increment
    if request.quantity <= 0 or not is_multiple_of(request.quantity, increment):
        return BookingCode.INVALID_QUANTITY
    if request.price < 0 or not is_multiple_of(request.price, request.instrument.price_increment):
        return BookingCode.INVALID_PRICE
    if min(request.commission, request.tax, request.other_fees) < 0:
        return BookingCode.INVALID_PRICE
    return BookingCode.OK


def accounts_of(requests: Sequence[BookingRequest | BookingCode]) -> dict[str, Account]:
    """Every account a batch's requests touch (client, counterparty, fee account), by id."""
    accounts: dict[str, Account] = {}
    for request in requests:
        if isinstance(request, BookingRequest):
            accounts[request.client.id] = request.client
            accounts[request.counterparty.id] = request.counterparty
            if request.fee_account is not None:
                accounts[request.fee_account.id] = request.fee_account
    return accounts
