"""The uniform booking paths decide exactly as the general path does.

`journal.uniform.decide_uniform` (item by item) and `journal.columnar.decide_columns` (column by
column, what `book` runs) are faster ways to decide a batch of trades sharing one
counterparty, instrument, side and price; the general path (`Trade.entry` applied by
`LedgerState.apply`, item by item) is their oracle: the same codes, the same entries (postings in
the same order, with the same digits), the same trade values, the same final balances and the
same set of touched balances, for any mix of open and closed accounts, cash and margin
accounts, short and long positions, fees (zero, positive, negative), repeated or distinct
clients, the counterparty among the clients, and prices or quantities off their increments.
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
from allotment.services.journal import columnar
from allotment.services.journal.columnar import decide_columns
from allotment.services.journal.requests import BookingRequest, accounts_of
from allotment.services.journal.uniform import (
    decide_uniform,
    trade_values,
    uniform_keys,
    uniform_terms,
)

INSTRUMENT = Instrument(7, "XYZ", 7, "Stock", "USD", Decimal(1), Decimal("0.01"))
QUANTITIES = st.sampled_from(["1", "3", "10", "2.5", "0", "-1", "25"]).map(Decimal)
VALID_QUANTITIES = st.sampled_from(["1", "3", "10", "25", "1.0"]).map(Decimal)
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


CLIENT_IDS = [f"C{n}" for n in range(1, 13)]
"""C1 may be the counterparty too."""
clients = st.builds(
    _account,
    st.sampled_from(CLIENT_IDS[:4]),
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
funded_positions = st.tuples(
    st.sampled_from(["1000", "60", "-3"]).map(Decimal),
    st.sampled_from(["12340", "10000.123", "600.000000001", "0"]).map(Decimal),
)
funded_cash = st.sampled_from(["100000", "100000.000", "250.00"]).map(Decimal)


@st.composite
def batches(draw: st.DrawFn) -> tuple[list[BookingRequest], dict[BalanceKey, Balance]]:
    counterparty = draw(counterparties)
    fee_account = draw(st.none() | st.just(_account("FEE", AccountRole.FEE)))
    side = draw(st.sampled_from(["Buy", "Sell"]))
    price = Decimal(draw(st.sampled_from(["10.00", "10", "9.995", "0", "12.34"])))
    by_client, short = draw(st.booleans()), draw(st.booleans())
    size = draw(st.integers(1, 12))
    distinct = draw(st.booleans())  # a block's allocation names each client once
    funded = draw(st.booleans())  # mostly valid and affordable: long runs decided by columns
    quantities = VALID_QUANTITIES if funded else QUANTITIES
    amounts = AMOUNTS.filter(lambda amount: amount >= 0) if funded else AMOUNTS
    names = draw(st.permutations(CLIENT_IDS)) if distinct else [None] * size
    requests = [
        BookingRequest(
            client=_named(draw(clients), name),
            counterparty=counterparty,
            instrument=INSTRUMENT,
            side=side,
            quantity=draw(quantities),
            price=price,
            commission=draw(amounts),
            tax=draw(amounts),
            other_fees=draw(amounts),
            fee_account=fee_account,
            fees_paid_by_client=by_client,
            short_allowed=short,
            comment="c",
        )
        for name in names[:size]
    ]
    balances: dict[BalanceKey, Balance] = {}
    for account_id in [*CLIENT_IDS, "AVG", "FEE"]:
        if funded or draw(st.booleans()):
            quantity, cost = draw(funded_positions if funded else positions)
            key = BalanceKey(account_id, AssetKind.SECURITY, str(INSTRUMENT.id))
            balances[key] = Balance(quantity, cost)
        if funded or draw(st.booleans()):
            amount = draw(funded_cash if funded else cash)
            balances[BalanceKey(account_id, AssetKind.CASH, "USD")] = Balance(amount)
    return requests, balances


def _named(account: Account, name: str | None) -> Account:
    return account if name is None else replace(account, id=name, account_key=f"key-{name}")


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


_COUNTERPARTY_BELOW_ITS_FLOOR_GROWING = (
    [
        BookingRequest(
            _account(f"C{n}"), _account("C1"), INSTRUMENT, "Buy", Decimal(1), Decimal(10)
        )
        for n in (2, 3)
    ],
    {
        BalanceKey("C1", AssetKind.CASH, "USD"): Balance(Decimal(-20)),
        BalanceKey("C1", AssetKind.SECURITY, "7"): Balance(Decimal(5), Decimal(50)),
        BalanceKey("C2", AssetKind.CASH, "USD"): Balance(Decimal(100)),
        BalanceKey("C3", AssetKind.CASH, "USD"): Balance(Decimal(100)),
    },
)
"""The counterparty's cash below its floor and growing: not checked either."""


_PAST_INT64 = (
    [
        BookingRequest(
            _account(f"C{n}"),
            _account("AVG", AccountRole.AVERAGE),
            INSTRUMENT,
            "Buy",
            Decimal(n),
            Decimal("10.00"),
            Decimal("0.125"),
            fee_account=_account("FEE", AccountRole.FEE),
        )
        for n in (2, 3, 4)
    ],
    {
        BalanceKey("AVG", AssetKind.SECURITY, "7"): Balance(Decimal(5), Decimal(50)),
        BalanceKey("C2", AssetKind.CASH, "USD"): Balance(Decimal("1E+19")),
        BalanceKey("C3", AssetKind.CASH, "USD"): Balance(Decimal("30.125")),
        BalanceKey("C4", AssetKind.CASH, "USD"): Balance(Decimal("40.12")),
    },
)
"""Cash past int64, and a fee finer than the cent."""

_FINER_THAN_INT64_HOLDS = (
    [_PAST_INT64[0][0]._replace(commission=Decimal("1E-19"))],
    {BalanceKey("AVG", AssetKind.SECURITY, "7"): Balance(Decimal(5), Decimal(50))},
)
"""A fee of 19 digits after the point."""

_A_FLOOR_FINER_THAN_THE_CASH = (
    [
        BookingRequest(
            _account("C2", kind=AccountType.MARGIN, credit="0.005"),
            _account("AVG", AccountRole.AVERAGE),
            INSTRUMENT,
            "Buy",
            Decimal(1),
            Decimal("10.00"),
        )
    ],
    {
        BalanceKey("AVG", AssetKind.SECURITY, "7"): Balance(Decimal(5), Decimal(50)),
        BalanceKey("C2", AssetKind.CASH, "USD"): Balance(Decimal("9.99")),
    },
)
"""A credit limit of half a cent: the cash may end at -0.01 only if the floor is below it."""

_THE_FEE_TIPS_IT = (
    [
        BookingRequest(
            _account(f"C{n}"),
            _account("AVG", AccountRole.AVERAGE),
            INSTRUMENT,
            "Buy",
            Decimal(1),
            Decimal("10.00"),
            Decimal("0.01"),
            fee_account=_account("FEE", AccountRole.FEE),
        )
        for n in (2, 3)
    ],
    {
        BalanceKey("AVG", AssetKind.SECURITY, "7"): Balance(Decimal(5), Decimal(50)),
        BalanceKey("C2", AssetKind.CASH, "USD"): Balance(Decimal("10.01")),
        BalanceKey("C3", AssetKind.CASH, "USD"): Balance(Decimal("10.00")),
    },
)
"""The second client has the trade's value, not its fee."""

_THE_SECOND_EMPTIES_THE_COUNTERPARTY = (
    [
        BookingRequest(
            _account(f"C{n}"), _account("C1"), INSTRUMENT, "Buy", Decimal(3), Decimal(10)
        )
        for n in (2, 3)
    ],
    {
        BalanceKey("C1", AssetKind.SECURITY, "7"): Balance(Decimal(5), Decimal(50)),
        BalanceKey("C2", AssetKind.CASH, "USD"): Balance(Decimal(100)),
        BalanceKey("C3", AssetKind.CASH, "USD"): Balance(Decimal(100)),
    },
)
"""The counterparty's position runs out at the second item."""


@settings(max_examples=400, deadline=None)
@given(batches())
@example(_UNCHANGED_BUT_BELOW_ITS_FLOOR)
@example(_COUNTERPARTY_BELOW_ITS_FLOOR_GROWING)
@example(_PAST_INT64)
@example(_FINER_THAN_INT64_HOLDS)
@example(_A_FLOOR_FINER_THAN_THE_CASH)
@example(_THE_FEE_TIPS_IT)
@example(_THE_SECOND_EMPTIES_THE_COUNTERPARTY)
def test_the_uniform_path_decides_books_and_moves_balances_as_the_general_path(
    batch: tuple[list[BookingRequest], dict[BalanceKey, Balance]],
) -> None:
    """Both uniform deciders (item by item and column by column) against the general path."""
    requests, balances = batch
    terms = uniform_terms(requests)
    assert terms is not None
    accounts = accounts_of(requests)
    items = range(len(requests))
    general = _General(requests, balances)

    keys = uniform_keys(terms, requests)
    assert set(keys.every) == general.keys
    uniform_state = LedgerState(accounts, _copied(balances))
    entries: dict[int, JournalEntry] = {}
    values: dict[int, Decimal] = {}
    uniform_codes = decide_uniform(
        uniform_state, terms, keys, requests, items, trade_values(terms, requests), entries, values
    )
    general.same(uniform_codes, entries, values, uniform_state)

    columns_state = LedgerState(accounts, _copied(balances))
    decided = decide_columns(
        columns_state, terms, keys, requests, items, trade_values(terms, requests)
    )
    written = decided.columns().entries()
    assert decided.indexes == sorted(decided.indexes)
    by_index = dict(zip(decided.indexes, written, strict=True))
    trade_value = trade_values(terms, requests)
    general.same(
        decided.codes,
        by_index,
        {i: trade_value[requests[i].quantity] for i in decided.indexes},
        columns_state,
    )


class _General:
    """The general path's decisions on a batch: the oracle."""

    def __init__(self, requests: list[BookingRequest], balances: dict[BalanceKey, Balance]) -> None:
        items = range(len(requests))
        self.batch = booking._Batch(None, None, requests, None)  # type: ignore[arg-type]
        self.batch.trades.update({i: r.trade() for i, r in enumerate(requests)})
        self.keys = booking._posting_keys(self.batch, items)
        self.state = LedgerState(accounts_of(requests), _copied(balances))
        self.codes = booking._decide(self.state, self.batch, items)

    def same(
        self,
        codes: list[BookingCode],
        entries: dict[int, JournalEntry],
        values: dict[int, Decimal],
        state: LedgerState,
    ) -> None:
        """The same codes, entries (digit for digit), trade values, balances and touched set."""
        assert codes == self.codes
        accepted = [i for i, code in enumerate(self.codes) if code is BookingCode.OK]
        assert sorted(entries) == accepted
        for index in accepted:
            expected = self.batch.entries[index]
            assert entries[index] == expected
            assert [tuple(map(str, p)) for p in entries[index].postings] == [
                tuple(map(str, p)) for p in expected.postings
            ]
            assert str(values[index]) == str(self.batch.trades[index].trade_value)
        assert state.touched == self.state.touched
        assert {k: (str(b.quantity), str(b.cost_amount)) for k, b in state.balances.items()} == {
            k: (str(b.quantity), str(b.cost_amount)) for k, b in self.state.balances.items()
        }


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


def test_many_refusals_in_one_batch_are_placed_as_the_general_path_places_them() -> None:
    """More stops than a call allows (`columnar.MAX_STOPS`): the rest is decided item by item,
    with the same codes, entries and balances."""
    average, fee = _account("AVG", AccountRole.AVERAGE), _account("FEE", AccountRole.FEE)
    count = 3 * columnar.MAX_STOPS
    requests = [
        BookingRequest(
            _account(f"P{n}"),
            average,
            INSTRUMENT,
            "Buy",
            Decimal(3),
            Decimal("10.00"),
            Decimal("1.00"),
            fee_account=fee,
        )
        for n in range(count)
    ]
    balances = {BalanceKey("AVG", AssetKind.SECURITY, "7"): Balance(Decimal(1000), Decimal(10000))}
    for n in range(count):  # every third participant cannot pay
        funds = Decimal("10.00") if n % 3 == 1 else Decimal("31.00")
        balances[BalanceKey(f"P{n}", AssetKind.CASH, "USD")] = Balance(funds)
    terms = uniform_terms(requests)
    assert terms is not None
    state = LedgerState(accounts_of(requests), _copied(balances))
    values = trade_values(terms, requests)
    decided = decide_columns(
        state, terms, uniform_keys(terms, requests), requests, range(count), values
    )
    general = _General(requests, balances)
    assert decided.codes.count(BookingCode.INSUFFICIENT_FUNDS) == count // 3
    entries = dict(zip(decided.indexes, decided.columns().entries(), strict=True))
    general.same(decided.codes, entries, {i: values[Decimal(3)] for i in entries}, state)
