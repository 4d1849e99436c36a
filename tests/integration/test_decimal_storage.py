"""Quantities and money keep every digit through the real tables and the native API, on SQLite
(exact text) and PostgreSQL (NUMERIC) alike: what comes back equals the Decimal written."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from fastapi.testclient import TestClient

from allotment.bootstrap import Container
from allotment.domain.accounts import AccountRole, AccountType
from allotment.domain.identity import ALL_SCOPES, Principal, PrincipalKind
from allotment.domain.ledger import AssetKind, Balance, BalanceKey, JournalEntry, Posting
from allotment.services import registry
from allotment.services.context import Context
from allotment.services.ports import EntryFilter

NOW = datetime(2024, 5, 6, 14, 30, tzinfo=UTC)
AWKWARD = [
    Decimal("0.1"),
    Decimal("0.2"),
    Decimal("0.3"),
    Decimal("123456789012.123456789"),
    Decimal("0.000000001"),
    Decimal("999999999999999.999999999"),
]


def _company_with_accounts(container: Container) -> Context:
    with container.uow() as uow:
        company = registry.create_company(uow, "Exact Co", Decimal("0.10"), "USD", NOW)
        ctx = Context(
            Principal(company.id, "tester", PrincipalKind.USER, ALL_SCOPES, None), "native", NOW
        )
        for account_id in ("EX-A", "EX-B"):
            registry.open_account(
                uow,
                ctx,
                account_id=account_id,
                client_id=None,
                account_type=AccountType.MARGIN,
                role=AccountRole.AVERAGE,
                currency="USD",
            )
        uow.commit()
    return ctx


def test_postings_and_balances_read_back_equal_to_the_decimal_written(
    container: Container,
) -> None:
    ctx = _company_with_accounts(container)
    for number, amount in enumerate(AWKWARD):
        asset, currency = str(number), f"US{number}"
        entry = JournalEntry(
            "deposit",
            (
                Posting("EX-A", AssetKind.SECURITY, asset, amount, amount),
                Posting("EX-B", AssetKind.SECURITY, asset, -amount, amount),
                Posting("EX-A", AssetKind.CASH, currency, -amount),
                Posting("EX-B", AssetKind.CASH, currency, amount),
            ),
        )
        security = BalanceKey("EX-A", AssetKind.SECURITY, asset)
        cash = BalanceKey("EX-B", AssetKind.CASH, currency)
        written = {
            security: Balance(amount, amount),
            BalanceKey("EX-B", AssetKind.SECURITY, asset): Balance(-amount, -amount),
            BalanceKey("EX-A", AssetKind.CASH, currency): Balance(-amount),
            cash: Balance(amount),
        }
        with container.uow() as uow:
            uow.ledger.lock_balances(sorted(written))
            [entry_id] = uow.ledger.add_entries(ctx.company_id, [entry], NOW.date(), NOW, "t", "n")
            uow.ledger.write_balances(written)
            uow.commit()

        with container.uow(write=False) as uow:
            stored = uow.ledger.entry(ctx.company_id, entry_id)
            found = uow.ledger.balances(["EX-A", "EX-B"])
            mismatches = uow.ledger.recompute()

        assert stored is not None
        assert [p.amount for p in stored.entry.postings] == [amount, -amount, -amount, amount]
        assert all(isinstance(p.amount, Decimal) for p in stored.entry.postings)
        assert stored.entry.postings[0].price == amount
        assert found[security].quantity == amount, amount
        assert found[security].cost_amount == amount, amount
        assert found[cash].quantity == amount, amount
        assert str(found[security].quantity.normalize()) == str(amount.normalize())
        assert mismatches == []


def test_sums_of_many_small_amounts_stay_exact_in_the_stored_balance(
    container: Container,
) -> None:
    """0.1 + 0.2 is 0.3 here; ten deposits of 0.000000001 are exactly 0.00000001."""
    ctx = _company_with_accounts(container)
    key = BalanceKey("EX-A", AssetKind.SECURITY, "9")
    with container.uow() as uow:
        entries = [
            JournalEntry(
                "deposit",
                (
                    Posting("EX-A", AssetKind.SECURITY, "9", amount),
                    Posting("EX-B", AssetKind.SECURITY, "9", -amount),
                ),
            )
            for amount in [Decimal("0.1"), Decimal("0.2")] + [Decimal("0.000000001")] * 10
        ]
        other = BalanceKey("EX-B", AssetKind.SECURITY, "9")
        uow.ledger.lock_balances([key, other])
        uow.ledger.add_entries(ctx.company_id, entries, NOW.date(), NOW, "t", "n")
        total = sum((p.amount for e in entries for p in e.postings if p.amount > 0), Decimal(0))
        uow.ledger.write_balances({key: Balance(total), other: Balance(-total)})
        uow.commit()
    assert total == Decimal("0.30000001")
    with container.uow(write=False) as uow:
        assert uow.ledger.balances(["EX-A"])[key].quantity == Decimal("0.30000001")
        assert uow.ledger.recompute() == []


def test_cash_deposited_through_the_native_api_reads_back_to_the_cent(
    client: TestClient, demo_headers: dict[str, str]
) -> None:
    deposits = ["0.10", "0.20", "123456789012.12"]
    for amount in deposits:
        response = client.post(
            "/api/v1/ledger/deposits",
            json={"account_id": "SX-2001", "amount": amount},
            headers=demo_headers,
        )
        assert response.status_code == 201, response.text
    response = client.get("/api/v1/accounts/SX-2001/balances", headers=demo_headers)
    assert response.status_code == 200, response.text
    [usd] = response.json()["cash"]
    expected = Decimal("1000000.00") + sum(Decimal(a) for a in deposits)
    assert usd["amount"] == format(expected, "f")
    assert Decimal(usd["amount"]) == Decimal("123457789012.42")

    journal = client.get(
        "/api/v1/ledger/journal",
        params={"account_id": "SX-2001", "entry_type": "deposit"},
        headers=demo_headers,
    ).json()["items"]
    amounts = [p["amount"] for e in journal for p in e["postings"] if p["account_id"] == "SX-2001"]
    assert amounts[-3:] == ["0.10", "0.20", "123456789012.12"]


def test_nine_decimal_quantities_go_in_and_out_of_the_native_api_unchanged(
    client: TestClient, demo_headers: dict[str, str]
) -> None:
    response = client.post(
        "/api/v1/instruments",
        json={
            "symbol": "NANO",
            "uic": 999001,
            "quantity_increment": "0.000000001",
            "price_increment": "0.000000001",
        },
        headers=demo_headers,
    )
    assert response.status_code == 201, response.text
    assert response.json()["quantity_increment"] == "0.000000001"
    positions = [
        ("SX-2001", "0.000000001", "0.1"),
        ("SX-2002", "123456789012.123456789", "0.2"),
    ]
    for account_id, quantity, price in positions:
        response = client.post(
            "/api/v1/ledger/opening-positions",
            json={"account_id": account_id, "symbol": "NANO", "quantity": quantity, "price": price},
            headers=demo_headers,
        )
        assert response.status_code == 201, response.text
    for account_id, quantity, price in positions:
        body = client.get(f"/api/v1/accounts/{account_id}/balances", headers=demo_headers).json()
        [nano] = [p for p in body["positions"] if p["symbol"] == "NANO"]
        assert nano["quantity"] == quantity
        assert Decimal(nano["quantity"]) == Decimal(quantity)
        assert Decimal(nano["average_cost"]) == Decimal(price)


def test_a_large_batch_reads_back_as_written_with_its_shared_values_bound_once(
    container: Container,
) -> None:
    """From 1,000 rows a column holding one value throughout is bound once (SQLite) or copied
    (PostgreSQL): the shared text (quotes included), the date, the time and the same Decimal
    object read back as written, next to the columns that vary, whose digits stay as given."""
    ctx = _company_with_accounts(container)
    shared = Decimal("2.50")
    amounts = [Decimal(f"{n}.{n % 7}0") if n % 3 else Decimal(f"1E-{n % 9}") for n in range(1200)]
    entries = [
        JournalEntry(
            "deposit",
            (
                Posting("EX-A", AssetKind.SECURITY, "5", amount, shared),
                Posting("EX-B", AssetKind.SECURITY, "5", -amount, shared),
            ),
            "O'Brien's \"batch\"; DROP TABLE postings; --",
        )
        for amount in amounts
    ]
    with container.uow() as uow:
        ids = uow.ledger.add_entries(ctx.company_id, entries, NOW.date(), NOW, "o'neil", "n")
        uow.commit()
    with container.uow(write=False) as uow:
        stored = [uow.ledger.entry(ctx.company_id, entry_id) for entry_id in (ids[0], ids[-1])]
        everything = uow.ledger.entries(EntryFilter(ctx.company_id, limit=2000))
    assert len(everything) == len(amounts)
    for found, amount in zip(stored, (amounts[0], amounts[-1]), strict=True):
        assert found is not None
        assert found.entry.description == entries[0].description
        assert [str(p.amount) for p in found.entry.postings] == [str(amount), str(-amount)]
        assert [str(p.price) for p in found.entry.postings] == ["2.50", "2.50"]
    assert {(s.trade_date, s.created_at, s.created_by) for s in everything} == {
        (NOW.date(), NOW, "o'neil")
    }
    assert [p.amount for s in everything for p in s.entry.postings][::2] == amounts
