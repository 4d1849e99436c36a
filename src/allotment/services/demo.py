"""The demo data set (SPEC §8): a company "Demo Broker" whose data makes every request sample
in the vendors' documents work verbatim. Loading twice changes nothing."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from allotment.domain.accounts import AccountRole, AccountType, Client
from allotment.domain.identity import ALL_SCOPES, Principal, PrincipalKind, Scope
from allotment.domain.instruments import Instrument
from allotment.domain.numbers import ZERO
from allotment.services import blocks, calendar, registry
from allotment.services.bookbuilding import demo as demo_bookbuilding
from allotment.services.context import Context
from allotment.services.fix import sessions as fix_sessions
from allotment.services.journal import ledger
from allotment.services.ports import (
    ApiClientRecord,
    AppKeyRecord,
    PasswordHasher,
    UnitOfWork,
    UserRecord,
)
from allotment.services.saxo import demo as demo_saxo

COMPANY = "Demo Broker"
D = Decimal


@dataclass(frozen=True)
class DemoAccount:
    id: str
    client_id: int | None
    type: AccountType
    role: AccountRole
    currency: str
    cash: Decimal = ZERO
    credit_limit: Decimal = ZERO
    account_key: str | None = None


CLIENTS = [
    (1001, "Charlie Brown (ETNA demo client)"),
    (1574444, "Block-trade client 1574444"),
    (987558, "Block-trade client 987558"),
    (2001, "Saxo participant A"),
    (2002, "Saxo participant B"),
]

INSTRUMENTS = [
    Instrument(
        0, "AAPL", 211, "Stock", "USD", D(1), D("0.01"), "US0378331005", "037833100", "XNAS"
    ),
    # A contract for difference has no ISIN of its own; it is dealt on weekdays.
    Instrument(0, "CFD4361", 4361, "CfdOnStock", "USD", D(1), D("0.01")),
    Instrument(0, "BHP", 2522, "Stock", "AUD", D(1), D("0.01"), "AU000000BHP4", None, "XASX"),
    Instrument(
        0, "MSFT", 261, "Stock", "USD", D("0.0001"), D("0.01"), "US5949181045", "594918104", "XNAS"
    ),
]
TIME_ZONE = "America/New_York"
"""The demo broker's business date is New York's (the ETNA seed's desk)."""

ACCOUNTS = [
    DemoAccount(
        "6687",
        None,
        AccountType.MARGIN,
        AccountRole.AVERAGE,
        "USD",
        D("1000000.00"),
        D("1000000.00"),
    ),
    DemoAccount("6688", 1001, AccountType.CASH, AccountRole.CLIENT, "USD", D("100000.00")),
    DemoAccount(
        "AU-AVG", None, AccountType.MARGIN, AccountRole.AVERAGE, "AUD", D(0), D("10000000.00")
    ),
    DemoAccount("1574444-01", 1574444, AccountType.CASH, AccountRole.CLIENT, "AUD", D("10000.00")),
    DemoAccount("987558-01", 987558, AccountType.CASH, AccountRole.CLIENT, "AUD", D("10000.00")),
    DemoAccount(
        "SAXO-AVG",
        None,
        AccountType.MARGIN,
        AccountRole.AVERAGE,
        "USD",
        D("0"),
        D("100000000.00"),
        "LZTc7DdejXODf-WSl2aCyQ==",
    ),
    DemoAccount(
        "SX-2001",
        2001,
        AccountType.CASH,
        AccountRole.CLIENT,
        "USD",
        D("1000000.00"),
        account_key="Hk9Jw0lYxXO7qcBuZMR1bQ==",
    ),
    DemoAccount(
        "SX-2002",
        2002,
        AccountType.CASH,
        AccountRole.CLIENT,
        "USD",
        D("1000000.00"),
        account_key="W1Y2v3E4R5t6y7U8i9O0pA==",
    ),
]

POSITIONS = [
    ("6687", "AAPL", D(10000), D("135.89")),
    ("1574444-01", "BHP", D(25), D("6.10")),
    ("987558-01", "BHP", D(75), D("6.10")),
]


def load(uow: UnitOfWork, hasher: PasswordHasher, now: datetime) -> bool:
    """Load the demo set; False when it is there already."""
    if uow.identity.company_by_name(COMPANY) is not None:
        return False
    company = registry.create_company(uow, COMPANY, D("0.10"), "USD", now)
    ctx = Context(
        Principal(company.id, "demo-loader", PrincipalKind.USER, ALL_SCOPES, None), "demo", now
    )
    calendar.set_time_zone(uow, ctx, TIME_ZONE)
    _identity(uow, hasher, company.id, now)
    for client_id, name in CLIENTS:
        uow.accounts.add_client(Client(client_id, company.id, name, f"ck-{client_id}"), now)
    _users(uow, hasher, company.id, now)
    for instrument in INSTRUMENTS:
        if uow.instruments.by_symbol(instrument.symbol) is None:
            uow.instruments.add(instrument)
    _accounts(uow, ctx)
    _master_195(uow, ctx)
    demo_saxo.load(uow, ctx)
    demo_bookbuilding.load(uow, ctx)
    fix_sessions.add_session(uow, ctx, "DEMO-OMS", "ALLOTMENT", "demo")
    return True


def _identity(uow: UnitOfWork, hasher: PasswordHasher, company_id: int, now: datetime) -> None:
    uow.identity.add_app_key(AppKeyRecord(company_id, "demo-app-key", "Demo application"), now)
    uow.identity.add_api_client(
        ApiClientRecord(
            company_id,
            "demo-client",
            hasher.hash("demo-secret"),
            frozenset({Scope.READ.value, Scope.WRITE.value}),
            "Demo client",
        ),
        now,
    )


def _users(uow: UnitOfWork, hasher: PasswordHasher, company_id: int, now: datetime) -> None:
    everything = frozenset(scope.value for scope in ALL_SCOPES)
    read_write = frozenset({Scope.READ.value, Scope.WRITE.value})
    for username, password, scopes, clients in (
        ("demo", "demo", everything, None),
        ("advisor", "advisor", read_write, frozenset({1574444})),
        ("robert.z", "robert.z", read_write, None),
        ("charlie", "charlie", read_write, frozenset({1001})),
    ):
        uow.identity.add_user(
            UserRecord(company_id, username, hasher.hash(password), scopes, clients), now
        )


def _accounts(uow: UnitOfWork, ctx: Context) -> None:
    for spec in ACCOUNTS:
        registry.open_account(
            uow,
            ctx,
            account_id=spec.id,
            client_id=spec.client_id,
            account_type=spec.type,
            role=spec.role,
            currency=spec.currency,
            credit_limit=spec.credit_limit,
            account_key=spec.account_key,
        )
        if spec.cash:
            ledger.move_cash(uow, ctx, spec.id, spec.cash, deposit=True)
    for account_id, symbol, quantity, price in POSITIONS:
        instrument = uow.instruments.by_symbol(symbol)
        assert instrument is not None
        ledger.open_position(uow, ctx, account_id, instrument, quantity, price)


def _master_195(uow: UnitOfWork, ctx: Context) -> None:
    """The block-trade seed's master: a sale of 100 BHP at 6.75 on the AUD average account."""
    instrument = uow.instruments.by_symbol("BHP")
    assert instrument is not None
    blocks.create_block(
        uow,
        ctx,
        account_id="AU-AVG",
        instrument=instrument,
        side="Sell",
        quantity=D(100),
        fills=[blocks.FillInput(D(100), D("6.75"))],
        master_reference="XCCMa3aR573uzw",
        block_id=195,
        listeners=(),
    )
