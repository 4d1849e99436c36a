"""The ledger against a small reference model.

Hypothesis drives random deposits, withdrawals, opening positions, transfer batches (through
`services.booking.book`, atomic or independent, between client accounts and an average account)
and reversals through the services on a real SQLite database. The reference model is plain dicts
of Decimal: it predicts each result code from SPEC §3 (cash floors, no short positions on cash
accounts, no premium over the average account's cost) and, after every step, the stored
balances, the journal and `ledger check` must agree with it.
"""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import ROUND_HALF_EVEN, Decimal
from fractions import Fraction
from pathlib import Path
from typing import Any, ClassVar

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from allotment.bootstrap import Container, build
from allotment.domain.accounts import Account, AccountRole, AccountType
from allotment.domain.errors import Conflict, InvalidInstruction
from allotment.domain.identity import ALL_SCOPES, Principal, PrincipalKind
from allotment.domain.instruments import Instrument
from allotment.domain.ledger import BookingCode
from allotment.services import registry
from allotment.services.context import Context
from allotment.services.journal import book as booking
from allotment.services.journal import ledger
from allotment.services.ports import EntryFilter
from allotment.settings import Settings

NOW = datetime(2024, 5, 6, 14, 30, tzinfo=UTC)
CENT = Decimal("0.01")
USD = "USD"
CASH, SECURITY = "cash", "security"
FEE, EXTERNAL = "C1-FEE", "C1-EXTERNAL"
CLIENT_ACCOUNTS = ("CASH-A", "CASH-B", "MARGIN-C")
AVERAGE = "AVG"
FLOORS = {
    "CASH-A": Decimal(0),
    "CASH-B": Decimal(0),
    "MARGIN-C": Decimal(-5000),
    AVERAGE: Decimal(-200000),
}
"""Lowest cash each account may reach: zero for cash accounts, minus the credit limit else."""
MARGIN_TYPES = {"MARGIN-C", AVERAGE}
PREMIUM_TOLERANCE = Decimal("1e-9")
AMBIGUITY = Decimal("1e-6")
"""Within this distance of the premium boundary the model accepts either answer (the ledger
keeps costs to 9 decimals, the model exactly)."""

Key = tuple[str, str, str]
"""(account id, cash or security, currency or instrument id)."""
Leg = tuple[str, str, str, Decimal, Decimal | None]
"""A posting as the model sees it: account, kind, asset, amount, price."""


@dataclass
class Model:
    quantity: dict[Key, Decimal]
    cost: dict[Key, Fraction]

    def copy(self) -> Model:
        return Model(dict(self.quantity), dict(self.cost))

    def code_for(self, legs: list[Leg], short_allowed: bool) -> BookingCode:
        """SPEC §3 for one entry: the first balance, in key order, that breaks its floor."""
        before = {key: self.quantity.get(key, Decimal(0)) for key in _keys(legs)}
        after = dict(before)
        for account, kind, asset, amount, _price in legs:
            after[(account, kind, asset)] += amount
        for key in sorted(after):
            account, kind, _asset = key
            if account in (FEE, EXTERNAL) or after[key] >= before[key]:
                continue
            may_short = short_allowed and account in MARGIN_TYPES
            if kind == SECURITY and after[key] < 0 and not may_short:
                return BookingCode.INSUFFICIENT_POSITION
            if kind == CASH and after[key] < FLOORS[account]:
                return BookingCode.INSUFFICIENT_FUNDS
        return BookingCode.OK

    def apply(self, legs: list[Leg]) -> None:
        for account, kind, asset, amount, price in legs:
            key = (account, kind, asset)
            old = self.quantity.get(key, Decimal(0))
            if kind == SECURITY:
                self.cost[key] = _average_cost_after(
                    old, self.cost.get(key, Fraction(0)), amount, price or Decimal(0)
                )
            self.quantity[key] = old + amount


def _keys(legs: list[Leg]) -> list[Key]:
    return [(account, kind, asset) for account, kind, asset, _a, _p in legs]


def _average_cost_after(old: Decimal, cost: Fraction, amount: Decimal, price: Decimal) -> Fraction:
    """Average cost: buying adds at the price, selling keeps the average, crossing zero restarts."""
    new = old + amount
    if new == 0:
        return Fraction(0)
    if amount > 0 and old >= 0:
        return cost + Fraction(amount) * Fraction(price)
    if amount < 0 and new > 0:
        return cost * Fraction(new) / Fraction(old)
    return Fraction(new) * Fraction(price)


def _trade_legs(
    client: str,
    counterparty: str,
    asset: str,
    side: str,
    quantity: Decimal,
    price: Decimal,
    commission: Decimal,
) -> list[Leg]:
    seller, buyer = (counterparty, client) if side == "Buy" else (client, counterparty)
    value = (quantity * price).quantize(CENT, rounding=ROUND_HALF_EVEN)
    # The client's commission is netted into its own cash leg: one line per account and asset.
    paid = {client: commission}
    legs: list[Leg] = [
        (seller, SECURITY, asset, -quantity, price),
        (buyer, SECURITY, asset, quantity, price),
        (buyer, CASH, USD, -value - paid.get(buyer, Decimal(0)), None),
        (seller, CASH, USD, value - paid.get(seller, Decimal(0)), None),
    ]
    if commission:
        legs.append((FEE, CASH, USD, commission, None))
    return legs


@dataclass(frozen=True)
class TransferItem:
    client: str
    counterparty: str
    instrument: int
    side: str
    units: int
    price: Decimal
    commission: Decimal
    short_allowed: bool


prices = st.one_of(
    st.sampled_from([Decimal("90.00"), Decimal("100.00"), Decimal("110.00")]),
    st.integers(1, 20_000).map(lambda cents: Decimal(cents) * CENT),
)
transfer_items = st.builds(
    TransferItem,
    client=st.sampled_from(CLIENT_ACCOUNTS),
    counterparty=st.sampled_from((*CLIENT_ACCOUNTS, AVERAGE, AVERAGE, AVERAGE)),
    instrument=st.integers(0, 1),
    side=st.sampled_from(["Buy", "Sell"]),
    units=st.integers(-3, 80).map(lambda units: max(units, 0)),
    price=prices,
    commission=st.sampled_from([Decimal(0), Decimal(0), Decimal("1.50"), Decimal("9.99")]),
    short_allowed=st.booleans(),
)
amounts = st.integers(1, 3_000_000).map(lambda cents: Decimal(cents) * CENT)
any_account = st.sampled_from((*CLIENT_ACCOUNTS, AVERAGE))


class LedgerMachine(RuleBasedStateMachine):
    template: ClassVar[Path]

    def __init__(self) -> None:
        super().__init__()
        self.workdir = Path(tempfile.mkdtemp(prefix="ledger-model-"))
        database = self.workdir / "model.db"
        shutil.copy(self.template, database)
        self.box: Container = build(
            Settings(
                database_url=f"sqlite:///{database}",
                secret_key="model-test-secret-0123456789-abcdefghij",
                var_dir=self.workdir,
                fast_password_hashing=True,
                log_level="WARNING",
            )
        )
        self.ctx, self.accounts, self.instruments = self._set_up()
        self.model = Model({}, {})
        self.entries: dict[int, list[Leg]] = {}
        self.reversals: set[int] = set()
        self.reversed: set[int] = set()

    def teardown(self) -> None:
        self.box.engine.dispose()
        shutil.rmtree(self.workdir, ignore_errors=True)

    def _set_up(self) -> tuple[Context, dict[str, Account], list[Instrument]]:
        with self.box.uow() as uow:
            company = registry.create_company(uow, "Model Co", Decimal("0.10"), USD, NOW)
            assert registry.house_account_id(company.id, AccountRole.FEE) == FEE
            ctx = Context(
                Principal(company.id, "model", PrincipalKind.USER, ALL_SCOPES, None), "model", NOW
            )
            for number, account_id in enumerate(CLIENT_ACCOUNTS, start=1):
                registry.create_client(uow, ctx, f"client {number}", number)
                registry.open_account(
                    uow,
                    ctx,
                    account_id=account_id,
                    client_id=number,
                    account_type=AccountType.MARGIN
                    if account_id in MARGIN_TYPES
                    else AccountType.CASH,
                    role=AccountRole.CLIENT,
                    currency=USD,
                    credit_limit=-FLOORS[account_id],
                )
            registry.open_account(
                uow,
                ctx,
                account_id=AVERAGE,
                client_id=None,
                account_type=AccountType.MARGIN,
                role=AccountRole.AVERAGE,
                currency=USD,
                credit_limit=-FLOORS[AVERAGE],
            )
            instruments = [
                registry.create_instrument(
                    uow, ctx, Instrument(0, "WHOLE", 1, "Stock", USD, Decimal(1), CENT)
                ),
                registry.create_instrument(
                    uow, ctx, Instrument(0, "FRAC", 2, "Stock", USD, Decimal("0.0001"), CENT)
                ),
            ]
            accounts = uow.accounts.accounts_by_ids([*CLIENT_ACCOUNTS, AVERAGE, FEE, EXTERNAL])
            uow.commit()
        return ctx, accounts, instruments

    # Rules ------------------------------------------------------------------------------------
    @initialize()
    def fund_every_account(self) -> None:
        """Some cash and both instruments everywhere (the average account at 100), so that most
        transfers can book and the refusals come from the random steps."""
        for account in (*CLIENT_ACCOUNTS, AVERAGE):
            self.deposit(account, Decimal("20000.00"))
            for instrument in (0, 1):
                self.open_position(account, instrument, 100, Decimal("100.00"))

    @rule(account=any_account, amount=amounts)
    def deposit(self, account: str, amount: Decimal) -> None:
        legs: list[Leg] = [(account, CASH, USD, amount, None), (EXTERNAL, CASH, USD, -amount, None)]
        with self.box.uow() as uow:
            entry_id = ledger.move_cash(uow, self.ctx, account, amount, deposit=True)
            uow.commit()
        self._booked(entry_id, legs)

    @rule(account=any_account, amount=amounts)
    def withdraw(self, account: str, amount: Decimal) -> None:
        legs: list[Leg] = [(account, CASH, USD, -amount, None), (EXTERNAL, CASH, USD, amount, None)]
        expected = self.model.code_for(legs, short_allowed=False)
        with self.box.uow() as uow:
            try:
                entry_id = ledger.move_cash(uow, self.ctx, account, amount, deposit=False)
            except ledger.LedgerRefused as refusal:
                assert refusal.code == expected.value
                return
            uow.commit()
        assert expected is BookingCode.OK
        self._booked(entry_id, legs)

    @rule(
        account=any_account, instrument=st.integers(0, 1), units=st.integers(1, 500), price=prices
    )
    def open_position(self, account: str, instrument: int, units: int, price: Decimal) -> None:
        found = self.instruments[instrument]
        quantity = units * found.quantity_increment
        asset = str(found.id)
        legs: list[Leg] = [
            (account, SECURITY, asset, quantity, price),
            (EXTERNAL, SECURITY, asset, -quantity, price),
        ]
        with self.box.uow() as uow:
            entry_id = ledger.open_position(uow, self.ctx, account, found, quantity, price)
            uow.commit()
        self._booked(entry_id, legs)

    @rule(items=st.lists(transfer_items, min_size=1, max_size=4), atomic=st.booleans())
    def transfer(self, items: list[TransferItem], atomic: bool) -> None:
        requests = [self._request(item) for item in items]
        with self.box.uow() as uow:
            outcomes = booking.book(uow, self.ctx, requests, atomic=atomic)
            uow.commit()
        scratch = self.model.copy()
        booked: list[tuple[int | None, list[Leg]]] = []
        for item, request, outcome in zip(items, requests, outcomes, strict=True):
            legs = _trade_legs(
                item.client,
                item.counterparty,
                str(request.instrument.id),
                item.side,
                request.quantity,
                item.price,
                item.commission,
            )
            allowed = self._allowed_codes(scratch, item, request.quantity, legs)
            assert outcome.code in allowed, (item, outcome, allowed)
            if outcome.code is BookingCode.OK:
                scratch.apply(legs)
            booked.append((outcome.entry_id, legs))
        refused = any(outcome.code is not BookingCode.OK for outcome in outcomes)
        if atomic and refused:
            assert all(outcome.entry_id is None for outcome in outcomes)
            return
        self.model = scratch
        for (entry_id, legs), outcome in zip(booked, outcomes, strict=True):
            if outcome.code is BookingCode.OK:
                assert entry_id is not None and outcome.allocation_id is not None
                self.entries[entry_id] = legs
            else:
                assert entry_id is None

    @precondition(lambda self: bool(self.entries))
    @rule(data=st.data())
    def reverse(self, data: st.DataObject) -> None:
        fresh = sorted(set(self.entries) - self.reversed - self.reversals)
        pick_fresh = fresh and data.draw(st.integers(0, 3), label="fresh") > 0
        entry_id = data.draw(st.sampled_from(fresh if pick_fresh else sorted(self.entries)))
        legs = [(a, k, s, -amount, price) for a, k, s, amount, price in self.entries[entry_id]]
        with self.box.uow() as uow:
            try:
                reversal_id = ledger.reverse_entry(uow, self.ctx, entry_id, "model")
            except InvalidInstruction:
                assert entry_id in self.reversals
                return
            except Conflict:
                assert entry_id in self.reversed
                return
            except ledger.LedgerRefused as refusal:
                assert entry_id not in self.reversals | self.reversed
                assert refusal.code == self.model.code_for(legs, short_allowed=True).value
                return
            uow.commit()
        assert entry_id not in self.reversals | self.reversed
        assert self.model.code_for(legs, short_allowed=True) is BookingCode.OK
        self.reversed.add(entry_id)
        self.reversals.add(reversal_id)
        self._booked(reversal_id, legs)

    # Helpers ----------------------------------------------------------------------------------
    def _booked(self, entry_id: int, legs: list[Leg]) -> None:
        assert entry_id not in self.entries
        self.model.apply(legs)
        self.entries[entry_id] = legs

    def _request(self, item: TransferItem) -> booking.BookingRequest:
        instrument = self.instruments[item.instrument]
        return booking.BookingRequest(
            client=self.accounts[item.client],
            counterparty=self.accounts[item.counterparty],
            instrument=instrument,
            side=item.side,
            quantity=item.units * instrument.quantity_increment,
            price=item.price,
            commission=item.commission,
            fee_account=self.accounts[FEE],
            short_allowed=item.short_allowed,
        )

    def _allowed_codes(
        self, model: Model, item: TransferItem, quantity: Decimal, legs: list[Leg]
    ) -> set[BookingCode]:
        if item.client == item.counterparty:
            return {BookingCode.SAME_ACCOUNT}
        if quantity == 0:
            return {BookingCode.INVALID_QUANTITY}
        by_rules = model.code_for(legs, item.short_allowed)
        if item.side != "Buy" or item.counterparty != AVERAGE:
            return {by_rules}
        key = (AVERAGE, SECURITY, legs[0][2])
        held = model.quantity.get(key, Decimal(0))
        if held <= 0:
            return {by_rules}
        excess = Fraction(item.price * held) - model.cost.get(key, Fraction(0))
        excess -= Fraction(PREMIUM_TOLERANCE)
        if excess > Fraction(AMBIGUITY):
            return {BookingCode.PREMIUM_NOT_ALLOWED}
        if excess < -Fraction(AMBIGUITY):
            return {by_rules}
        return {BookingCode.PREMIUM_NOT_ALLOWED, by_rules}

    # Invariants -------------------------------------------------------------------------------
    @invariant()
    def balances_equal_the_model(self) -> None:
        with self.box.uow(write=False) as uow:
            stored = uow.ledger.balances(list(self.accounts))
        quantities = {(k.account_id, k.kind.value, k.asset): b.quantity for k, b in stored.items()}
        for key in set(quantities) | set(self.model.quantity):
            assert quantities.get(key, Decimal(0)) == self.model.quantity.get(key, Decimal(0)), key
        for stored_key, balance in stored.items():
            if stored_key.kind.value == SECURITY:
                key = (stored_key.account_id, stored_key.kind.value, stored_key.asset)
                model_cost = self.model.cost.get(key, Fraction(0))
                assert abs(Fraction(balance.cost_amount) - model_cost) < Fraction(AMBIGUITY), key

    @invariant()
    def every_entry_balances_per_asset_and_the_journal_matches(self) -> None:
        with self.box.uow(write=False) as uow:
            stored = uow.ledger.entries(EntryFilter(company_id=self.ctx.company_id, limit=100_000))
        assert {entry.id for entry in stored} == set(self.entries)
        for entry in stored:
            totals: dict[tuple[str, str], Decimal] = {}
            for posting in entry.entry.postings:
                asset = (posting.kind.value, posting.asset)
                totals[asset] = totals.get(asset, Decimal(0)) + posting.amount
            assert all(total == 0 for total in totals.values()), (entry.id, totals)
            legs = self.entries[entry.id]
            expected = sorted((a, k, s, amount) for a, k, s, amount, _p in legs)
            actual = sorted(
                (p.account_id, p.kind.value, p.asset, p.amount) for p in entry.entry.postings
            )
            assert actual == expected

    @invariant()
    def ledger_check_agrees(self) -> None:
        with self.box.uow(write=False) as uow:
            assert ledger.check_ledger(uow) == []


def test_the_ledger_agrees_with_a_reference_model_after_every_step(sqlite_template: Path) -> None:
    machine: Any = type("BoundLedgerMachine", (LedgerMachine,), {"template": sqlite_template})
    run_state_machine_as_test(
        machine,
        settings=settings(
            max_examples=25,
            stateful_step_count=20,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow],
        ),
    )


@pytest.mark.parametrize(
    ("old", "amount", "price", "cost_after"),
    [
        (Decimal(0), Decimal(10), Decimal(5), Fraction(50)),
        (Decimal(10), Decimal(-4), Decimal(9), Fraction(30)),
        (Decimal(10), Decimal(-10), Decimal(9), Fraction(0)),
        (Decimal(10), Decimal(-15), Decimal(9), Fraction(-45)),
    ],
)
def test_the_reference_model_keeps_average_cost_as_the_spec_says(
    old: Decimal, amount: Decimal, price: Decimal, cost_after: Fraction
) -> None:
    assert (
        _average_cost_after(old, Fraction(50) if old else Fraction(0), amount, price) == cost_after
    )


def test_the_reference_model_refuses_a_cash_account_going_below_zero() -> None:
    model = Model({("CASH-A", CASH, USD): Decimal("10.00")}, {})
    too_much: list[Leg] = [("CASH-A", CASH, USD, Decimal("-10.01"), None)]
    all_of_it: list[Leg] = [("CASH-A", CASH, USD, Decimal("-10.00"), None)]
    assert model.code_for(too_much, short_allowed=False) is BookingCode.INSUFFICIENT_FUNDS
    assert model.code_for(all_of_it, short_allowed=False) is BookingCode.OK
