"""Saxo's block order by FIX, end to end: an initiator on the engine itself sends a
NewOrderSingle (35=D) with an AllocID and 2,500 NoAllocs entries to allotment's acceptor; it is
acknowledged (35=P Received, then Accepted) and reported New (35=8); its fills, reported
through the native API by another client, reach the session as ExecutionReports (35=8) and an
AllocationReport (35=AS) per booked allocation, from the acceptor's own look at the database."""

from __future__ import annotations

import gc
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


def test_allocations_that_miss_the_order_quantity_are_a_block_level_reject_and_an_order_rejected(
    oms: Oms, demo_container: Container
) -> None:
    lines = [("SX-2001", Decimal(10)), ("SX-2002", Decimal(20))]
    oms.send(block_order("BO-BAD", _owner_id(demo_container), lines, quantity=Decimal(40)))
    answers = oms.receive(3, timeout=60)
    assert _statuses(answers) == [("P", "3"), ("P", "1"), ("8", "8")]
    assert answers[1].get(88) == "8" and "not the OrderQty 40" in (answers[1].get(58) or "")
    assert (answers[2].get(39), answers[2].get(37)) == ("8", "NONE")
    oms.send(block_order("BO-BAD", _owner_id(demo_container), lines, quantity=Decimal(30)))
    again = oms.receive(3, timeout=60)
    assert _statuses(again) == [("P", "3"), ("P", "1"), ("8", "8")]  # as the first time
    assert oms.nothing_more()


def test_cancellation_if_reduction_y_places_a_reject_key_and_a_resent_order_places_nothing(
    oms: Oms, demo_container: Container
) -> None:
    lines = [("SX-2001", Decimal(10)), ("SX-2002", Decimal(20))]
    order = block_order("BO-Y", _owner_id(demo_container), lines, cancellation_if_reduction="Y")
    oms.send(order)
    first = oms.receive(3, timeout=60)
    assert _statuses(first) == [("P", "3"), ("P", "0"), ("8", "0")]
    oms.send(block_order("BO-Y", _owner_id(demo_container), lines))
    second = oms.receive(3, timeout=60)
    assert second[2].get(37) == first[2].get(37)
    with demo_container.uow(write=False) as uow:
        block = uow.blocks.get(1, int(first[2].get(37) or 0))
        assert block is not None and block.allocation_key_id is not None
        key = uow.connection.execute(  # type: ignore[attr-defined]
            t.metadata.tables["saxo_allocation_keys"]
            .select()
            .where(t.metadata.tables["saxo_allocation_keys"].c.id == int(block.allocation_key_id))
        ).first()
        assert key is not None
        assert (key.margin_handling, key.status) == ("Reject", "Inactive")


def _fill(http: TestClient, order_id: str, quantity: str, price: str) -> None:
    response = http.post(
        f"/api/v1/blocks/{order_id}/fills",
        json={"quantity": quantity, "price": price},
        headers=bearer(http),
    )
    assert response.status_code == 201, response.text


def test_a_restarted_acceptor_sends_only_the_fills_and_allocations_it_had_not_sent(
    demo_container: Container, http: TestClient, tmp_path: Path
) -> None:
    port = free_port()
    first = acceptor(demo_container, host="127.0.0.1", port=port, directory=tmp_path / "fix")
    first.start()
    with Oms(port, tmp_path / "oms") as oms:
        oms.wait_logged_on(timeout=60)
        lines = [("SX-2001", Decimal(10)), ("SX-2002", Decimal(30))]
        oms.send(block_order("BO-R", _owner_id(demo_container), lines))
        order_id = oms.receive(3, timeout=60)[2].get(37) or ""
        _fill(http, order_id, "20", "10.00")
        trade, *reports = oms.receive(3, timeout=60)
        assert (trade.get(150), trade.get(39), len(reports)) == ("F", "1", 2)
        first.stop()
        # The engine keeps one registry of sessions per process: the stopped acceptor's
        # sessions leave it when the acceptor is destroyed, before the new one registers them.
        del first
        gc.collect()
        second = acceptor(demo_container, host="127.0.0.1", port=port, directory=tmp_path / "fix")
        second.start()
        try:
            oms.wait_logged_on(2, timeout=60)
            _fill(http, order_id, "20", "10.20")
            trade, *reports = oms.receive(3, timeout=60)
            assert (trade.get(150), trade.get(39), trade.get(14)) == ("F", "2", "40")
            assert Decimal(trade.get(6) or 0) == Decimal("10.1")
            assert {r.type for r in reports} == {"AS"} and oms.nothing_more(1.0)
        finally:
            second.stop()


def test_a_subscribed_session_is_reported_the_allocations_of_other_doors(
    demo_container: Container, http: TestClient, tmp_path: Path
) -> None:
    with demo_container.uow() as uow:
        uow.connection.execute(  # type: ignore[attr-defined]
            t.metadata.tables["fix_sessions"].update().values(subscribe_allocations=True)
        )
        uow.commit()
    port = free_port()
    engine = acceptor(demo_container, host="127.0.0.1", port=port, directory=tmp_path / "fix")
    engine.start()
    try:
        with Oms(port, tmp_path / "oms") as oms:
            oms.wait_logged_on(timeout=60)
            body = {"AccountKey": OWNER_KEY, "Uic": 4361, "AssetType": "CfdOnStock"} | {
                "BuySell": "Buy",
                "Amount": 1000,
                "OrderType": "Market",
                "AllocationKeyId": "227",
                "OrderDuration": {"DurationType": "DayOrder"},
            }
            placed = http.post("/trade/v2/orders", json=body, headers=bearer(http))
            assert placed.status_code == 200, placed.text
            order_id = placed.json()["OrderId"]
            _fill(http, order_id, "1000", "10.00")
            reports = oms.receive(2, timeout=60)
            assert {r.type for r in reports} == {"AS"}
            assert {r.get(70) for r in reports} == {order_id}
            assert sorted(report_groups(r)[0][79] for r in reports) == ["SX-2001", "SX-2002"]
            assert oms.nothing_more(1.0)  # no 35=8: the order is not the session's
    finally:
        engine.stop()


def cancel_request(cl_ord_id: str, original: str, *, replace: bool = False) -> Any:
    """35=F, or 35=G with a new OrderQty and OrdType, for the order sent as `original`."""
    message = fix44.OrderCancelReplaceRequest() if replace else fix44.OrderCancelRequest()
    message.setField(fix.OrigClOrdID(original))
    message.setField(fix.ClOrdID(cl_ord_id))
    message.setField(fix.Symbol("CFD4361"))
    message.setField(fix.Side("1"))
    message.setField(60, "20260102-10:05:00")
    message.setField(38, "30")
    if replace:
        message.setField(fix.OrdType("1"))
    return message


def test_cancel_and_replace_of_a_block_order_are_answered_by_an_order_cancel_reject(
    oms: Oms, http: TestClient, demo_container: Container
) -> None:
    lines = [("SX-2001", Decimal(10)), ("SX-2002", Decimal(30))]
    oms.send(block_order("BO-C", _owner_id(demo_container), lines))
    order_id = oms.receive(3, timeout=60)[2].get(37)
    _fill(http, order_id or "", "20", "10.00")
    assert len(oms.receive(3, timeout=60)) == 3  # the fill's report and two allocations
    oms.send(cancel_request("BO-C-X", "BO-C"))
    oms.send(cancel_request("BO-C-R", "BO-C", replace=True))
    oms.send(cancel_request("BO-?-X", "BO-NEVER"))
    cancel, replace, unknown = oms.receive(3, timeout=60)
    assert {cancel.type, replace.type, unknown.type} == {"9"}
    tags = (37, 11, 41, 39, 434, 102)
    assert [cancel.get(tag) for tag in tags] == [order_id, "BO-C-X", "BO-C", "1", "1", "2"]
    assert [replace.get(tag) for tag in tags] == [order_id, "BO-C-R", "BO-C", "1", "2", "2"]
    assert [unknown.get(tag) for tag in tags] == ["NONE", "BO-?-X", "BO-NEVER", "8", "1", "1"]
    assert "not cancelled" in (cancel.get(58) or "") and "BO-NEVER" in (unknown.get(58) or "")
    _fill(http, order_id or "", "20", "10.00")  # the order stands, and fills to the end
    assert oms.receive(3, timeout=60)[0].get(39) == "2"


def test_a_cancel_of_a_refused_block_order_names_it_rejected(
    oms: Oms, demo_container: Container
) -> None:
    lines = [("SX-2001", Decimal(10))]
    oms.send(block_order("BO-NO", _owner_id(demo_container), lines, quantity=Decimal(40)))
    assert _statuses(oms.receive(3, timeout=60))[1] == ("P", "1")
    oms.send(cancel_request("BO-NO-X", "BO-NO"))
    (answer,) = oms.receive(1, timeout=60)
    assert (answer.type, answer.get(37), answer.get(39), answer.get(102)) == ("9", "NONE", "8", "2")
