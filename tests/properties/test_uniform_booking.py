"""The uniform booking path decides exactly as the general path does.

`booking_uniform.decide_uniform` is a faster way to decide a batch of trades sharing one
counterparty, instrument, side and price; the general path (`Trade.entry` applied by
`LedgerState.apply`, item by item) is its oracle: the same codes, the same entries (postings in
the same order, with the same digits), the same trade values, the same final balances and the
same set of touched balances, for any mix of open and closed accounts, cash and margin
accounts, short and long positions, fees (zero, positive, negative), repeated clients, the
counterparty among the clients, and prices or quantities off their increments.
"""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

from hypothesis import example, given, settings
from hypothesis import strategies as st

from allotment.domain.accounts import Account, AccountRole, AccountStatus, AccountType
from allotment.domain.instruments import Instrument
from allotment.domain.ledger import (
    AssetKind,
    Balance,
    BalanceKey,
    BookingCode,
    JournalEntry,
    LedgerState,
)
from allotment.services.journal import book as booking
from allotment.services.journal.requests import BookingRequest
from allotment.services.journal.uniform import (
    decide_uniform,
    trade_values,
    uniform_keys,
    uniform_terms,
)

INSTRUMENT = Instrument(7, "XYZ", 7, "Stock", "USD", Decimal(1), Decimal("0.01"))
AMOUNTS = st.sampled_from(["0", "0.00", "1.00", "2.5", "-1.00", "0.01", "7"]).map(Decimal)


def _account(
    account_id: str,
    role: AccountRole = AccountRole.CLIENT,
    kind: AccountType = AccountType.CASH,
    open_: bool = True,
    credit: str = "0",
) -> Account:
    return Account(
        account_id,
        1,
        None if role is not AccountRole.CLIENT else 1,
        f"key-{account_id}",
        kind,
        role,
        AccountStatus.ACTIVE if open_ else AccountStatus.CLOSED,
        "USD",
        Decimal(credit),
    )


clients = st.builds(
    _account,
    st.sampled_from(["C1", "C2", "C3", "C4"]),
    st.just(AccountRole.CLIENT),
    st.sampled_from([AccountType.CASH, AccountType.MARGIN]),
    st.booleans().map(lambda closed: not closed) | st.just(True),
    st.sampled_from(["0", "100"]),
)
counterparties = st.builds(
    _account,
    st.sampled_from(["AVG", "C1"]),
    st.sampled_from([AccountRole.AVERAGE, AccountRole.CLIENT]),
    st.sampled_from([AccountType.CASH, AccountType.MARGIN]),
    st.booleans() | st.just(True),
    st.sampled_from(["0", "1000"]),
)
positions = st.tuples(
    st.sampled_from(["0", "5", "30", "-3", "1000"]).map(Decimal),
    st.sampled_from(["0", "50", "299.5", "10000.123"]).map(Decimal),
)
cash = st.sampled_from(["0", "10", "150.00", "100000", "-20"]).map(Decimal)


@st.composite
def batches(draw: st.DrawFn) -> tuple[list[BookingRequest], dict[BalanceKey, Balance]]:
    counterparty = draw(counterparties)
    fee_account = draw(st.none() | st.just(_account("FEE", AccountRole.FEE)))
    side = draw(st.sampled_from(["Buy", "Sell"]))
    price = Decimal(draw(st.sampled_from(["10.00", "10", "9.995", "0", "12.34"])))
    by_client, short = draw(st.booleans()), draw(st.booleans())
    requests = [
        BookingRequest(
            client=draw(clients),
            counterparty=counterparty,
            instrument=INSTRUMENT,
            side=side,
            quantity=Decimal(draw(st.sampled_from(["1", "3", "10", "2.5", "0", "-1", "25"]))),
            price=price,
            commission=draw(AMOUNTS),
            tax=draw(AMOUNTS),
            other_fees=draw(AMOUNTS),
            fee_account=fee_account,
            fees_paid_by_client=by_client,
            short_allowed=short,
            comment="c",
        )
        for _ in range(draw(st.integers(1, 12)))
    ]
    balances: dict[BalanceKey, Balance] = {}
    for account_id in ["C1", "C2", "C3", "C4", "AVG", "FEE"]:
        if draw(st.booleans()):
            quantity, cost = draw(positions)
            key = BalanceKey(account_id, AssetKind.SECURITY, str(INSTRUMENT.id))
            balances[key] = Balance(quantity, cost)
        if draw(st.booleans()):
            balances[BalanceKey(account_id, AssetKind.CASH, "USD")] = Balance(draw(cash))
    return requests, balances


def _copied(balances: dict[BalanceKey, Balance]) -> dict[BalanceKey, Balance]:
    return dict(balances)  # balances are immutable: a copy of the mapping is a copy


_UNCHANGED_BUT_BELOW_ITS_FLOOR = (
    [
        BookingRequest(
            _account("C1"),
            _account("AVG", AccountRole.AVERAGE),
            INSTRUMENT,
            "Buy",
            Decimal(1),
            Decimal(0),
        )
    ],
    {BalanceKey("C1", AssetKind.CASH, "USD"): Balance(Decimal(-20))},
)
"""Cash that does not move is not checked, even below its floor: only a shrinking balance is."""


@settings(max_examples=400, deadline=None)
@given(batches())
@example(_UNCHANGED_BUT_BELOW_ITS_FLOOR)
def test_the_uniform_path_decides_books_and_moves_balances_as_the_general_path(
    batch: tuple[list[BookingRequest], dict[BalanceKey, Balance]],
) -> None:
    requests, balances = batch
    terms = uniform_terms(requests)
    assert terms is not None
    accounts = booking._accounts_of(requests)
    items = range(len(requests))

    general = booking._Batch(None, None, requests, None)  # type: ignore[arg-type]
    general.trades.update({i: r.trade() for i, r in enumerate(requests)})
    general_keys = booking._posting_keys(general, items)
    general_state = LedgerState(accounts, _copied(balances))
    general_codes = booking._decide(general_state, general, items)

    keys = uniform_keys(terms, requests)
    uniform_state = LedgerState(accounts, _copied(balances))
    entries: dict[int, JournalEntry] = {}
    values: dict[int, Decimal] = {}
    uniform_codes = decide_uniform(
        uniform_state, terms, keys, requests, items, trade_values(terms, requests), entries, values
    )

    assert uniform_codes == general_codes
    assert set(keys.every) == general_keys
    accepted = [i for i, code in enumerate(general_codes) if code is BookingCode.OK]
    assert sorted(entries) == accepted
    for index in accepted:
        expected = general.entries[index]
        assert entries[index] == expected
        assert [tuple(map(str, p)) for p in entries[index].postings] == [
            tuple(map(str, p)) for p in expected.postings
        ]
        assert str(values[index]) == str(general.trades[index].trade_value)
    assert uniform_state.touched == general_state.touched
    assert {
        k: (str(b.quantity), str(b.cost_amount)) for k, b in uniform_state.balances.items()
    } == {k: (str(b.quantity), str(b.cost_amount)) for k, b in general_state.balances.items()}


def test_a_batch_with_two_counterparties_or_two_prices_is_not_uniform() -> None:
    client, average = _account("C1"), _account("AVG", AccountRole.AVERAGE)
    request = BookingRequest(client, average, INSTRUMENT, "Buy", Decimal(1), Decimal("10.00"))
    assert uniform_terms([request, request]) is not None
    other_price = request._replace(price=Decimal("10.0"))
    assert uniform_terms([request, other_price]) is None
    other_source = request._replace(counterparty=replace(average, id="AVG2"))
    assert uniform_terms([request, other_source]) is None
    fee = _account("FEE", AccountRole.FEE)
    pays_itself = request._replace(fee_account=fee, client=fee)
    assert uniform_terms([request._replace(fee_account=fee), pays_itself]) is None
    assert uniform_terms([BookingCode.INVALID_ACCOUNT]) is None
