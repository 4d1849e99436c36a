"""Block-trade dialect: checking every line of a request in memory (SPEC §4.3).

What the checks need (the clients, their trading accounts, the references already used on the
master, the company's GST rate) is read up front in a few set-based queries; then each line is
checked against every rule, in a fixed order, without a round trip per line. The rules and
their texts are listed in docs/decisions/0007-blocktrade-dialect.md.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal

from allotment.domain.accounts import Account, AccountRole
from allotment.domain.instruments import Instrument
from allotment.domain.numbers import CENT, MAX_SCALE, fits_storage, is_multiple_of, plain
from allotment.services.blocks import unallocated
from allotment.services.blocktrade.reading import (
    MAX_REFERENCE_LENGTH,
    REQUIRED_FIELDS,
    BlockAllocation,
    BlockTradeBlockAllocation,
)
from allotment.services.context import Context
from allotment.services.ports import BlockRecord, UnitOfWork

MONEY_TOLERANCE = Decimal("0.01")
"""TradeValue, GSTValue and NetAmount may differ from the computed amount by this much."""
LOOKUP_CHUNK = 5000
MAX_MAGNITUDE = Decimal(10) ** 15
"""Numbers stay below this with at most 9 decimals (24 digits, as the native API allows), so
that the ledger's sums stay exact in Decimal's default 28 digits."""


@dataclass(slots=True)
class LineChecker:
    """What the checks of one request need, read once, and the running state of its lines
    (the references seen and the quantity requested so far): check the lines in order."""

    request: BlockTradeBlockAllocation
    ctx: Context
    master: BlockRecord | None
    instrument: Instrument | None
    master_price: Decimal | None
    tax_rate: Decimal
    known_clients: frozenset[int]
    accounts: dict[int, Account]
    taken: set[str]
    seen: set[str]
    requested: Decimal = Decimal(0)

    def errors(self, line: BlockAllocation) -> list[str]:
        """Every rule the line breaks, in a fixed order (empty when it passes)."""
        found = _missing(line) or _out_of_range(line)
        if found:
            return found
        found += self._master_errors()
        found += self._reference_errors(line)
        found += self._client_errors(line)
        found += self._quantity_errors(line)
        found += self._price_errors(line)
        found += self._money_errors(line)
        return found

    def _master_errors(self) -> list[str]:
        master, wanted = self.master, self.request.block_trade_allocation_id
        if master is None or self.instrument is None:
            return [f"Invalid block trade allocation:{wanted}"]
        if master.status == "cancelled":
            return [f"Block trade allocation {wanted} is cancelled"]
        if master.master_reference != self.request.master_reference:
            return [
                f"MasterReference {self.request.master_reference} does not match "
                f"block trade allocation {wanted}"
            ]
        return []

    def _client_errors(self, line: BlockAllocation) -> list[str]:
        client_id = line.client_id
        if client_id not in self.known_clients:
            return [f"Invalid client:{client_id}"]
        if not self.ctx.principal.may_act_for_client(client_id):
            return [f"Not authorised to create order allocation for this client #{client_id}"]
        if self.instrument is not None and client_id not in self.accounts:
            return [f"Invalid client:{client_id}"]
        return []

    def _quantity_errors(self, line: BlockAllocation) -> list[str]:
        if line.quantity <= 0 or line.quantity != line.quantity.to_integral_value():
            return ["Quantity must be a whole number greater than zero"]
        if self.master is None:
            return []
        self.requested += line.quantity
        available = unallocated(self.master)
        if self.requested > available:
            return [
                f"Quantity {plain(line.quantity)} exceeds the unallocated quantity of block "
                f"trade allocation {self.master.id}: {plain(available)} unallocated, "
                f"{plain(self.requested)} requested up to this allocation"
            ]
        return []

    def _price_errors(self, line: BlockAllocation) -> list[str]:
        if self.master is None or self.instrument is None:
            return []
        if self.master_price is None:
            return [
                f"Price cannot be checked: block trade allocation {self.master.id} has no fills"
            ]
        if line.price != self.master_price:
            return [
                f"Price {plain(line.price)} does not equal the average price "
                f"{plain(self.master_price)} of block trade allocation {self.master.id}"
            ]
        return []

    def _money_errors(self, line: BlockAllocation) -> list[str]:
        found = [
            text
            for name, fee in (
                ("CustomBrokerageFee", line.custom_brokerage_fee),
                ("GSTValue", line.gst_value),
                ("OtherFees", line.other_fees),
            )
            for text in _fee_errors(name, fee)
        ]
        value = line.quantity * line.price
        if abs(line.trade_value - value) > MONEY_TOLERANCE:
            found.append(
                f"TradeValue {plain(line.trade_value)} does not equal Quantity × Price = "
                f"{plain(value)} (within {MONEY_TOLERANCE})"
            )
        gst = self.tax_rate * line.custom_brokerage_fee
        if abs(line.gst_value - gst) > MONEY_TOLERANCE:
            found.append(
                f"GSTValue {plain(line.gst_value)} does not equal the GST rate "
                f"{plain(self.tax_rate)} × CustomBrokerageFee = {plain(gst)} "
                f"(within {MONEY_TOLERANCE})"
            )
        if self.master is not None:
            found += _net_amount_errors(line, self.master.side)
        return found

    def _reference_errors(self, line: BlockAllocation) -> list[str]:
        reference = line.allocation_reference
        if not reference:
            return ["AllocationReference is required"]
        if len(reference) > MAX_REFERENCE_LENGTH:
            return [f"AllocationReference must be at most {MAX_REFERENCE_LENGTH} characters long"]
        if reference in self.seen:
            return [f"AllocationReference {reference} is repeated in this request"]
        self.seen.add(reference)
        if reference in self.taken:
            return [
                f"AllocationReference {reference} is already used on block trade allocation "
                f"{self.request.block_trade_allocation_id}"
            ]
        return []


def _missing(line: BlockAllocation) -> list[str]:
    """The vendor's resource model marks every BlockAllocation member but NotesForClient
    Required: a line without one is refused, naming each (a number left out is never taken as
    0), and its other rules, which would only compute with those zeros, are not checked."""
    if not line.missing:
        return []
    absent = set(line.missing)
    if not line.allocation_reference:
        absent.add("AllocationReference")
    return [f"{name} is required" for name in REQUIRED_FIELDS if name in absent]


def _out_of_range(line: BlockAllocation) -> list[str]:
    return [f"{name} is out of range" for name, value in _numbers(line) if not _storable(value)]


def _storable(value: Decimal) -> bool:
    """Below MAX_MAGNITUDE with at most 9 decimals."""
    if abs(value) >= MAX_MAGNITUDE:
        return False
    exponent = value.as_tuple().exponent
    return (isinstance(exponent, int) and exponent >= -MAX_SCALE) or fits_storage(value)


def _numbers(line: BlockAllocation) -> list[tuple[str, Decimal]]:
    return [
        ("Quantity", line.quantity),
        ("Price", line.price),
        ("TradeValue", line.trade_value),
        ("NetAmount", line.net_amount),
        ("CustomBrokerageFee", line.custom_brokerage_fee),
        ("GSTValue", line.gst_value),
        ("OtherFees", line.other_fees),
    ]


def _fee_errors(name: str, fee: Decimal) -> list[str]:
    if fee < 0:
        return [f"{name} must not be negative"]
    if not is_multiple_of(fee, CENT):
        return [f"{name} must be in whole cents"]
    return []


def _net_amount_errors(line: BlockAllocation, side: str) -> list[str]:
    """FIX AllocNetMoney: trade value plus fees on a purchase, minus fees on a sale."""
    fees = line.custom_brokerage_fee + line.gst_value + line.other_fees
    if side == "Buy":
        expected, rule = line.trade_value + fees, "TradeValue + fees"
    else:
        expected, rule = line.trade_value - fees, "TradeValue − fees"
    if abs(line.net_amount - expected) <= MONEY_TOLERANCE:
        return []
    purpose = "a purchase" if side == "Buy" else "a sale"
    return [
        f"NetAmount {plain(line.net_amount)} does not equal {rule} = {plain(expected)} "
        f"for {purpose} (within {MONEY_TOLERANCE})"
    ]


def line_checker(
    uow: UnitOfWork,
    ctx: Context,
    request: BlockTradeBlockAllocation,
    master: BlockRecord | None,
    instrument: Instrument | None,
) -> LineChecker:
    """Everything the checks need, read in a few set-based queries (no round trip per line)."""
    company = uow.identity.company(ctx.company_id)
    assert company is not None
    client_ids = sorted({line.client_id for line in request.allocation_details})
    known: set[int] = set()
    accounts: dict[int, Account] = {}
    for start in range(0, len(client_ids), LOOKUP_CHUNK):
        chunk = frozenset(client_ids[start : start + LOOKUP_CHUNK])
        known.update(client.id for client in uow.accounts.clients(ctx.company_id, chunk))
        if instrument is not None:
            for account in uow.accounts.accounts(ctx.company_id, chunk):
                if _trading_account(account, instrument) and account.client_id not in accounts:
                    assert account.client_id is not None
                    accounts[account.client_id] = account
    taken: set[str] = set()
    if master is not None and master.id is not None:
        references = sorted(
            {line.allocation_reference or "" for line in request.allocation_details} - {""}
        )
        for start in range(0, len(references), LOOKUP_CHUNK):
            chunk_refs = references[start : start + LOOKUP_CHUNK]
            taken |= uow.allocations.references_taken(master.id, chunk_refs)
    return LineChecker(
        request=request,
        ctx=ctx,
        master=master,
        instrument=instrument,
        master_price=master_price(master, instrument),
        tax_rate=company.tax_rate,
        known_clients=frozenset(known),
        accounts=accounts,
        taken=taken,
        seen=set(),
    )


def _trading_account(account: Account, instrument: Instrument) -> bool:
    """A ClientID maps to the client's first active client-role account in the currency."""
    return (
        account.role is AccountRole.CLIENT
        and account.is_open
        and account.currency == instrument.currency
    )


def master_price(master: BlockRecord | None, instrument: Instrument | None) -> Decimal | None:
    """The master's average price at the instrument's price increment (half-even): the one
    price every child of the master is booked at."""
    if master is None or instrument is None or master.filled_quantity == 0:
        return None
    exact = master.filled_notional / master.filled_quantity
    increment = instrument.price_increment
    steps = (exact / increment).to_integral_value(rounding=ROUND_HALF_EVEN)
    return steps * increment
