"""The FIX door end to end: an initiator on the engine itself (as an OMS) logs on to
allotment's acceptor and sends allocation instructions for the demo's block 195 (a sale of 100
BHP at 6.75 by ClOrdID XCCMa3aR573uzw, clients' accounts 1574444-01 holding 25 and 987558-01
holding 75); what it is answered is checked against the ledger."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest

from allotment.bootstrap import Container
from allotment.entrypoints.fix.door import acceptor
from allotment.services.ports import AllocationRow
from tests.e2e.fix_initiator import (
    Oms,
    Received,
    ack_groups,
    free_port,
    instruction,
    report_groups,
)

BLOCK = 195


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


def _allocations(box: Container) -> list[AllocationRow]:
    with box.uow(write=False) as uow:
        company = uow.identity.company_by_name("Demo Broker")
        assert company is not None
        return uow.allocations.list(company.id, None, block_id=BLOCK)


def _allocated(box: Container) -> Decimal:
    with box.uow(write=False) as uow:
        block = uow.blocks.get(1, BLOCK)
        assert block is not None
        return block.allocated_quantity


def _statuses(messages: list[Received]) -> list[tuple[str, str | None]]:
    return [(m.type, m.get(87)) for m in messages]


def test_a_session_logs_on_with_its_users_password_and_is_refused_with_another(
    port: int, tmp_path: Path
) -> None:
    with Oms(port, tmp_path / "wrong", password="not-demo") as refused:
        refused.until(lambda: bool(refused.app.logouts), 10, "the bad Logon was not answered")
        assert refused.app.logons == 0
        assert "invalid username or password" in refused.app.logouts[0]
    with Oms(port, tmp_path / "right") as accepted:
        accepted.wait_logged_on()


def test_an_instruction_is_received_accepted_and_reported_per_account_at_the_ledgers_net(
    oms: Oms, demo_container: Container
) -> None:
    oms.send(instruction("ALLOC-1", [("1574444-01", "25"), ("987558-01", "75")], commission="2.50"))
    received, accepted, *reports = oms.receive(4)
    assert _statuses([received, accepted]) == [("P", "3"), ("P", "0")]
    assert [r.type for r in reports] == ["AS", "AS"]
    booked = {row.account_id: row for row in _allocations(demo_container)}
    assert set(booked) == {"1574444-01", "987558-01"}
    for report in reports:
        (entry,) = report_groups(report)
        row = booked[entry[79]]
        assert Decimal(entry[154]) == row.net_amount
        assert Decimal(entry[80]) == row.quantity and Decimal(entry[366]) == Decimal("6.75")
        assert Decimal(entry[12]) == row.commission == Decimal("2.50")
        assert report.get(70) == "ALLOC-1" and int(entry[467]) == row.id
    assert booked["1574444-01"].net_amount == Decimal("25") * Decimal("6.75") - Decimal("2.50")
    assert _allocated(demo_container) == 100
    with demo_container.uow(write=False) as uow:
        events = [e for e in uow.audit.list(1, "block", 0, 1000) if e.action == "fix.allocated"]
    assert events and events[-1].after is not None
    assert events[-1].after["fix_session"] == "DEMO-OMS->ALLOTMENT"
    assert events[-1].after["msg_seq_num"] >= 2 and events[-1].dialect == "fix"


def test_a_replace_reverses_the_first_split_and_books_the_new_one(
    oms: Oms, demo_container: Container
) -> None:
    oms.send(instruction("A-1", [("1574444-01", "20"), ("987558-01", "20")]))
    assert _statuses(oms.receive(4)[:2]) == [("P", "3"), ("P", "0")]
    oms.send(
        instruction(
            "A-2", [("1574444-01", "25"), ("987558-01", "75")], trans_type="1", ref_alloc_id="A-1"
        )
    )
    received, accepted, *reports = oms.receive(4)
    assert _statuses([received, accepted]) == [("P", "3"), ("P", "0")]
    assert sorted(report_groups(r)[0][80] for r in reports) == ["25", "75"]
    rows = _allocations(demo_container)
    assert sorted((r.quantity, r.status) for r in rows) == [
        (Decimal(20), "reversed"),
        (Decimal(20), "reversed"),
        (Decimal(25), "booked"),
        (Decimal(75), "booked"),
    ]
    assert _allocated(demo_container) == 100


def test_a_cancel_reverses_every_allocation_and_frees_the_block(
    oms: Oms, demo_container: Container
) -> None:
    oms.send(instruction("C-1", [("1574444-01", "25"), ("987558-01", "75")]))
    oms.receive(4)
    oms.send(
        instruction(
            "C-2", [("1574444-01", "25"), ("987558-01", "75")], trans_type="2", ref_alloc_id="C-1"
        )
    )
    assert _statuses(oms.receive(2)) == [("P", "3"), ("P", "0")]
    assert oms.nothing_more()
    assert {row.status for row in _allocations(demo_container)} == {"reversed"}
    assert _allocated(demo_container) == 0
    oms.send(
        instruction(
            "C-3", [("1574444-01", "25"), ("987558-01", "75")], trans_type="2", ref_alloc_id="C-1"
        )
    )
    _, refused = oms.receive(2)
    assert (refused.get(87), refused.get(88)) == ("1", "7")


def test_an_unknown_account_refuses_the_whole_instruction_naming_that_account(
    oms: Oms, demo_container: Container
) -> None:
    oms.send(instruction("U-1", [("1574444-01", "25"), ("NO-SUCH-ACCOUNT", "75")]))
    received, refused = oms.receive(2)
    assert _statuses([received, refused]) == [("P", "3"), ("P", "2")]
    assert ack_groups(refused) == [
        {79: "NO-SUCH-ACCOUNT", 776: "0", 161: "unknown account NO-SUCH-ACCOUNT"}
    ]
    assert oms.nothing_more()
    assert _allocations(demo_container) == [] and _allocated(demo_container) == 0


def test_a_block_that_does_not_match_is_refused_at_block_level(oms: Oms) -> None:
    oms.send(instruction("B-1", [("1574444-01", "25")], average_price="6.80"))
    assert [(m.get(87), m.get(88)) for m in oms.receive(2)] == [("3", None), ("1", "2")]
    oms.send(instruction("B-2", [("1574444-01", "25")], cl_ord_id="NOPE"))
    assert [(m.get(87), m.get(88)) for m in oms.receive(2)] == [("3", None), ("1", "12")]


def test_a_repeated_alloc_id_is_answered_as_the_first_time_and_books_nothing_new(
    oms: Oms, demo_container: Container
) -> None:
    lines = [("1574444-01", "10"), ("987558-01", "30")]
    oms.send(instruction("D-1", lines))
    first = oms.receive(4)
    oms.send(instruction("D-1", lines))
    again = oms.receive(4)
    assert [(m.type, m.get(87)) for m in again] == [(m.type, m.get(87)) for m in first]
    assert [report_groups(m) for m in again[2:]] == [report_groups(m) for m in first[2:]]
    assert len(_allocations(demo_container)) == 2 and _allocated(demo_container) == 40


def test_a_preliminary_instruction_is_split_by_allotment_and_reported(
    oms: Oms, demo_container: Container
) -> None:
    message = instruction("P-1", [("1574444-01", "1"), ("987558-01", "3")], alloc_type=2)
    message.setField(53, "40")
    oms.send(message)
    received, accepted, *reports = oms.receive(4)
    assert (received.get(87), accepted.get(87)) == ("3", "0")
    assert sorted(report_groups(r)[0][80] for r in reports) == ["10", "30"]
    assert {r.get(794) for r in reports} == {"3"}
    assert _allocated(demo_container) == 40
    with demo_container.uow(write=False) as uow:  # the engine's exact targets, on the ledger
        found = uow.fairness.deviations(1, None, None, None, (None, None))
    assert sorted((row.account_id, row.target_quantity) for row in found) == [
        ("1574444-01", 10),
        ("987558-01", 30),
    ]
    assert {row.given_quantity for row in found} == {Decimal(10), Decimal(30)}


def test_the_block_is_named_by_our_order_id_or_by_one_of_its_executions(
    oms: Oms, demo_container: Container
) -> None:
    with demo_container.uow(write=False) as uow:
        (fill,) = uow.blocks.fills(BLOCK)
    by_order = instruction("N-1", [("1574444-01", "5")], cl_ord_id="OMS-7", order_id=str(BLOCK))
    oms.send(by_order)
    assert [m.get(87) for m in oms.receive(3)] == ["3", "0", "0"]
    oms.send(instruction("N-2", [("987558-01", "5")], cl_ord_id=None, exec_id=str(fill.id)))
    assert [m.get(87) for m in oms.receive(3)] == ["3", "0", "0"]
    oms.send(instruction("N-3", [("987558-01", "5")], cl_ord_id="OMS-7", order_id="999999"))
    assert [(m.get(87), m.get(88)) for m in oms.receive(2)] == [("3", None), ("1", "5")]
    oms.send(instruction("N-4", [("987558-01", "5")], side="1"))
    assert [(m.get(87), m.get(88)) for m in oms.receive(2)] == [("3", None), ("1", "11")]
    assert _allocated(demo_container) == 10


def test_the_instrument_may_be_named_by_its_isin(oms: Oms, demo_container: Container) -> None:
    by_isin = instruction("I-1", [("1574444-01", "5")], symbol="[N/A]")
    by_isin.setField(48, "AU000000BHP4")
    by_isin.setField(22, "4")
    oms.send(by_isin)
    assert [m.get(87) for m in oms.receive(3)] == ["3", "0", "0"]
    wrong = instruction("I-2", [("987558-01", "5")], symbol="[N/A]")
    wrong.setField(48, "US0378331005")
    wrong.setField(22, "4")
    oms.send(wrong)
    assert [(m.get(87), m.get(88)) for m in oms.receive(2)] == [("3", None), ("1", "11")]
    assert _allocated(demo_container) == 5


def test_instructions_sent_back_to_back_are_each_answered_as_when_alone(
    oms: Oms, demo_container: Container
) -> None:
    """Those the acceptor reads in one go are booked in one transaction (services/fix/batch):
    a refusal, a repeat and a ledger refusal among them are answered as when sent alone."""
    lines = [("1574444-01", "5"), ("987558-01", "5")]
    for message in (
        instruction("Q-1", lines),
        instruction("Q-2", [("NOPE-01", "5")]),
        instruction("Q-1", lines),
        instruction("Q-3", [("1574444-01", "30")]),  # it holds 20 once Q-1 is booked
        instruction("Q-4", [("987558-01", "10")]),
    ):
        oms.send(message)
    got = oms.receive(15)
    acks = {
        alloc_id: [m.get(87) for m in got if m.type == "P" and m.get(70) == alloc_id]
        for alloc_id in ("Q-1", "Q-2", "Q-3", "Q-4")
    }
    assert acks == {
        "Q-1": ["3", "0", "3", "0"],
        "Q-2": ["3", "2"],
        "Q-3": ["3", "2"],
        "Q-4": ["3", "0"],
    }
    reports = [m.get(70) for m in got if m.type == "AS"]
    assert sorted(reports) == ["Q-1"] * 4 + ["Q-4"]
    (refused,) = ack_groups(next(m for m in got if m.get(70) == "Q-3" and m.get(87) == "2"))
    assert refused[79] == "1574444-01" and "insufficient position" in refused[161]
    assert len(_allocations(demo_container)) == 3 and _allocated(demo_container) == 20
    assert oms.nothing_more()
