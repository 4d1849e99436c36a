"""Saxo's block order by FIX, end to end: an initiator on the engine itself sends a
NewOrderSingle (35=D) with an AllocID and 2,500 NoAllocs entries to allotment's acceptor; it is
acknowledged (35=P Received, then Accepted) and reported New (35=8); its fills, reported
through the native API by another client, reach the session as ExecutionReports (35=8) and an
AllocationReport (35=AS) per booked allocation, from the acceptor's own look at the database."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import quickfix as fix
import quickfix44 as fix44
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from allotment.adapters.database import tables as t
from allotment.adapters.database.bulk import insert_rows, reserve_ids
from allotment.bootstrap import Container
from allotment.domain.accounts import AccountRole, AccountType
from allotment.domain.ledger import AssetKind, JournalEntry, LedgerState, Posting, keys_of
from allotment.entrypoints.cli import app as cli
from allotment.entrypoints.fix.door import acceptor
from allotment.entrypoints.http.app import create_app
from allotment.services import registry
from tests.conftest import SECRET, bearer
from tests.e2e.fix_initiator import Oms, Received, free_port, report_groups

OWNER_KEY = "LZTc7DdejXODf-WSl2aCyQ=="
ACCOUNTS = 2500
EACH = Decimal(4)
CASH_EACH = Decimal(1000)


@pytest.fixture
def port(demo_container: Container, tmp_path: Path) -> Iterator[int]:
    chosen = free_port()
    engine = acceptor(demo_container, host="127.0.0.1", port=chosen, directory=tmp_path / "fix")
    engine.start()
    yield chosen
    engine.stop()


@pytest.fixture
def oms(port: int, tmp_path: Path) -> Iterator[Oms]:
    with Oms(port, tmp_path / "oms") as initiator:
        initiator.wait_logged_on()
        yield initiator


@pytest.fixture
def http(demo_container: Container) -> Iterator[TestClient]:
    with TestClient(create_app(container=demo_container)) as client:
        yield client


def _owner_id(box: Container) -> str:
    with box.uow(write=False) as uow:
        owner = uow.accounts.account_by_key(OWNER_KEY)
        assert owner is not None
        return owner.id


def _open_accounts(box: Container, count: int) -> list[str]:
    """`count` funded client accounts of the demo company, written in bulk."""
    now = box.clock.now()
    with box.uow() as uow:
        company = uow.identity.company_by_name("Demo Broker")
        assert company is not None
        connection = uow.connection  # type: ignore[attr-defined]
        client_ids = reserve_ids(connection, t.clients, count)
        insert_rows(
            connection,
            t.clients,
            [
                {"id": i, "company_id": company.id, "name": f"fix {i}", "client_key": f"fx-{i}"}
                | {"created_at": now}
                for i in client_ids
            ],
        )
        names = [f"FXB-{n:05d}" for n in range(count)]
        insert_rows(
            connection,
            t.accounts,
            [_account(company.id, name, i, now) for name, i in zip(names, client_ids, strict=True)],
        )
        external = registry.house_account_id(company.id, AccountRole.EXTERNAL)
        postings = [Posting(name, AssetKind.CASH, "USD", CASH_EACH) for name in names]
        postings.append(Posting(external, AssetKind.CASH, "USD", -CASH_EACH * count))
        entry = JournalEntry("deposit", tuple(postings), "funding")
        state = LedgerState({}, dict(uow.ledger.lock_balances(keys_of([entry]))))
        state.force(entry)
        uow.ledger.add_entries(company.id, [entry], now.date(), now, "test", "test")
        uow.ledger.write_balances({key: state.balances[key] for key in keys_of([entry])})
        uow.commit()
    return names


def _account(company_id: int, name: str, client_id: int, now: datetime) -> dict[str, object]:
    return {
        "id": name,
        "company_id": company_id,
        "client_id": client_id,
        "account_key": f"key-{name}",
        "type": AccountType.CASH.value,
        "role": AccountRole.CLIENT.value,
        "status": "active",
        "currency": "USD",
        "credit_limit": Decimal(0),
        "created_at": now,
    }


def block_order(
    cl_ord_id: str,
    owner: str,
    lines: list[tuple[str, Decimal]],
    *,
    quantity: Decimal | None = None,
    cancellation_if_reduction: str = "N",
) -> Any:
    """Saxo's 35=D: the block trading account in Parties (PartyRole 38), AllocID, NoAllocs."""
    message = fix44.NewOrderSingle()
    message.setField(fix.ClOrdID(cl_ord_id))
    party = fix44.NewOrderSingle.NoPartyIDs()
    for tag, value in ((448, owner), (447, "D"), (452, "38")):
        party.setField(tag, value)
    message.addGroup(party)
    message.setField(fix.AllocID(f"A-{cl_ord_id}"))
    for account, amount in lines:
        line = fix44.NewOrderSingle.NoAllocs()
        line.setField(fix.AllocAccount(account))
        line.setField(80, str(amount))
        message.addGroup(line)
    message.setField(fix.Symbol("CFD4361"))
    message.setField(fix.Side("1"))
    message.setField(60, "20260102-10:00:00")
    message.setField(38, str(quantity if quantity is not None else sum(a for _, a in lines)))
    message.setField(fix.OrdType("1"))
    message.setField(12108, cancellation_if_reduction)
    return message


def _statuses(messages: list[Received]) -> list[tuple[str, str | None]]:
    return [(m.type, m.get(87) if m.type == "P" else m.get(150)) for m in messages]


def test_a_block_order_of_2500_accounts_is_acknowledged_reported_new_then_filled_and_allocated(
    oms: Oms,
    http: TestClient,
    demo_container: Container,
    database_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    names = _open_accounts(demo_container, ACCOUNTS)
    oms.send(block_order("BO-1", _owner_id(demo_container), [(name, EACH) for name in names]))
    answers = oms.receive(3, timeout=60)
    assert _statuses(answers) == [("P", "3"), ("P", "0"), ("8", "0")], answers[1].raw
    order_id = answers[2].get(37)
    assert order_id is not None and answers[2].get(11) == "BO-1"
    assert answers[2].get(151) == str(EACH * ACCOUNTS)
    filled = http.post(
        f"/api/v1/blocks/{order_id}/fills",
        json={"quantity": str(EACH * ACCOUNTS), "price": "10.00"},
        headers=bearer(http),
    )
    assert filled.status_code == 201, filled.text
    trade, *reports = oms.receive(1 + ACCOUNTS, timeout=60)
    assert (trade.type, trade.get(150), trade.get(39)) == ("8", "F", "2")
    amounts = [Decimal(trade.get(tag) or "-1") for tag in (32, 31, 14, 151, 6)]
    assert amounts == [EACH * ACCOUNTS, 10, EACH * ACCOUNTS, 0, 10]
    assert {r.type for r in reports} == {"AS"}
    assert {r.get(70) for r in reports} == {"A-BO-1"}
    groups = [report_groups(r)[0] for r in reports]
    assert sorted(g[79] for g in groups) == names
    assert {(Decimal(g[80]), Decimal(g[366])) for g in groups} == {(EACH, Decimal(10))}
    assert all(r.get(64) for r in reports)  # the allocation's own settlement date
    assert oms.nothing_more()
    monkeypatch.setenv("ALLOTMENT_DATABASE_URL", database_url)
    monkeypatch.setenv("ALLOTMENT_SECRET_KEY", SECRET)
    monkeypatch.setenv("ALLOTMENT_VAR_DIR", str(tmp_path / "cli"))
    check = CliRunner().invoke(cli, ["ledger", "check"])
    assert check.exit_code == 0, check.output
