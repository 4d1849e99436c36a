"""Allocation instructions (35=J) queued together are handled in one transaction
(services/fix/batch): each is answered, booked, stored and audited exactly as when it is
handled alone, whatever else the batch holds — repeats, refusals by the checks and by the
ledger, replaces and cancels. The demo's block 195 is a sale of 100 BHP at 6.75 (ClOrdID
XCCMa3aR573uzw); account 1574444-01 holds 25, 987558-01 holds 75."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import select

from allotment.adapters.database import tables as t
from allotment.adapters.database.fix.repository import fix_instructions
from allotment.adapters.fix import codec
from allotment.bootstrap import Container, build
from allotment.domain.identity import Principal
from allotment.services.context import Context
from allotment.services.fix import allocations, batch, sessions
from allotment.services.fix.values import Answer, Instruction, Origin
from tests.e2e.fix_initiator import instruction

SESSION = "DEMO-OMS->ALLOTMENT"


def _scenario() -> list[Instruction]:
    messages = [
        instruction("A-1", [("1574444-01", "10"), ("987558-01", "20")]),
        instruction("A-1", [("1574444-01", "10"), ("987558-01", "20")]),  # a repeat
        instruction("A-2", [("NOPE-01", "5")]),  # an unknown account
        instruction("A-3", [("1574444-01", "20"), ("987558-01", "10")]),  # 15 left: refused
        instruction("A-4", [("987558-01", "5")]),
        instruction("A-3", [("1574444-01", "1")]),  # a repeat of a refusal
        instruction(
            "A-5", [("1574444-01", "5"), ("987558-01", "5")], trans_type="1", ref_alloc_id="A-1"
        ),
        instruction("A-6", [("987558-01", "60"), ("1574444-01", "20")]),
        instruction("A-7", [("987558-01", "10")]),  # 5 left on the block: refused
        instruction("A-8", [("987558-01", "5")], trans_type="2", ref_alloc_id="A-4"),
        instruction("A-9", [("987558-01", "5")], average_price="6.80"),  # not the block's price
        instruction("A-10", [("987558-01", "5")], trans_type="2", ref_alloc_id="A-2"),
    ]
    return [codec.read_instruction(message) for message in messages]


def _principal(box: Container) -> Principal:
    with box.uow(write=False) as uow:
        return sessions.logon(uow, box.hasher, "DEMO-OMS", "ALLOTMENT", "demo", "demo")


def _context(box: Container) -> Context:
    return Context(principal=_principal(box), dialect="fix", now=box.clock.now())


def _alone(box: Container, items: list[Instruction]) -> list[Answer]:
    ctx = _context(box)
    return [
        allocations.handle(box.uow, ctx, item, Origin(SESSION, number))[0]
        for number, item in enumerate(items, start=2)
    ]


def _together(box: Container, items: list[Instruction]) -> list[Answer]:
    pairs = [(item, Origin(SESSION, number)) for number, item in enumerate(items, start=2)]
    return batch.handle_many(box.uow, _context(box), pairs)


def _book(box: Container) -> dict[str, Any]:
    """What the database holds of the scenario: instructions, allocations, balances, audit."""
    with box.uow(write=False) as uow:
        db = uow.connection  # type: ignore[attr-defined]
        i, a, b = fix_instructions, t.allocations, t.balances
        return {
            "instructions": db.execute(
                select(i.c.alloc_id, i.c.state, i.c.msg_seq_num, i.c.answer).order_by(i.c.id)
            ).all(),
            "allocations": db.execute(
                select(a.c.id, a.c.account_id, a.c.quantity, a.c.status, a.c.net_amount)
                .where(a.c.block_id == 195)
                .order_by(a.c.id)
            ).all(),
            "balances": db.execute(
                select(b.c.account_id, b.c.kind, b.c.asset, b.c.quantity)
                .where(b.c.account_id.in_(["1574444-01", "987558-01"]))
                .order_by(b.c.account_id, b.c.kind, b.c.asset)
            ).all(),
            "audit": [(e.action, e.object_id, e.after) for e in uow.audit.list(1, None, 0, 10_000)],
            "block": uow.blocks.get(1, 195).allocated_quantity,  # type: ignore[union-attr]
        }


@pytest.fixture
def twin(demo_container: Container, tmp_path: Any) -> Iterator[Container]:
    """A second database holding what the first holds (SQLite: a copy of its file)."""
    url = demo_container.settings.database_url
    if not url.startswith("sqlite:///"):
        pytest.skip("the copy is of an SQLite file")
    copy = tmp_path / "twin.db"
    with sqlite3.connect(url.removeprefix("sqlite:///")) as source, sqlite3.connect(copy) as to:
        source.backup(to)
    other = build(replace_settings(demo_container, f"sqlite:///{copy}"))
    yield other
    other.engine.dispose()


def replace_settings(box: Container, url: str) -> Any:
    return box.settings.model_copy(update={"database_url": url})


def test_a_batch_answers_books_stores_and_audits_as_each_instruction_alone(
    demo_container: Container, twin: Container
) -> None:
    alone = _alone(demo_container, _scenario())
    together = _together(twin, _scenario())
    assert together == alone
    assert _book(twin) == _book(demo_container)
    statuses = [(a.alloc_id, int(a.status)) for a in together]
    assert statuses == [
        ("A-1", 0),
        ("A-1", 0),
        ("A-2", 2),
        ("A-3", 2),
        ("A-4", 0),
        ("A-3", 2),
        ("A-5", 0),
        ("A-6", 0),
        ("A-7", 1),
        ("A-8", 0),
        ("A-9", 1),
        ("A-10", 1),
    ]


def test_a_batch_refused_by_the_ledger_names_each_refused_account_with_its_own_code(
    demo_container: Container,
) -> None:
    items = _scenario()[:5]
    answers = _together(demo_container, items)
    refused = answers[3]
    assert [(r.account, int(r.code)) for r in refused.refusals] == [("1574444-01", 7)]
    assert "insufficient position" in refused.text
    assert answers[4].accepted and answers[0].accepted and answers[1] == answers[0]
    assert [int(r.code) for r in answers[2].refusals] == [0]
    state = _book(demo_container)
    assert state["block"] == Decimal(35)
    assert [row.alloc_id for row in state["instructions"]] == ["A-1", "A-2", "A-3", "A-4"]
    assert [row.state for row in state["instructions"]] == ["live", "refused", "refused", "live"]
    assert sorted(row.quantity for row in state["allocations"]) == [5, 10, 20]


def test_a_repeat_of_an_instruction_stored_before_the_batch_is_answered_as_then(
    demo_container: Container,
) -> None:
    first = _alone(demo_container, _scenario()[:1])[0]
    answers = _together(demo_container, [_scenario()[0], _scenario()[4]])
    assert answers[0] == first and answers[1].accepted
    assert _book(demo_container)["block"] == Decimal(35)
