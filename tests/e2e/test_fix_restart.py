"""The acceptor (`allotment fix serve`, a process of its own) killed mid-session and started
again: the initiator reconnects, the sequence numbers carry on from the engine's stores, what
was sent meanwhile is resent on the acceptor's request, and nothing is booked twice."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from allotment.bootstrap import Container
from tests.conftest import SECRET
from tests.e2e.fix_initiator import (
    AcceptorProcess,
    Oms,
    Received,
    acceptor_env,
    free_port,
    instruction,
)

FIRST = [("1574444-01", "10"), ("987558-01", "30")]
SECOND = [("1574444-01", "15"), ("987558-01", "45")]


def _answers(oms: Oms) -> list[Received]:
    """Every answer after the restart: R-2's four and R-1's (four or eight)."""
    got: list[Received] = []
    while sum(m.get(70) == "R-2" for m in got) < 4 or sum(m.get(70) == "R-1" for m in got) < 4:
        got.extend(oms.receive(1, timeout=30))
    while not oms.nothing_more(1.0):
        got.extend(oms.receive(1))
    return got


def test_a_killed_acceptor_resumes_the_session_and_books_a_resent_instruction_once(
    demo_container: Container, database_url: str, tmp_path: Path
) -> None:
    env = acceptor_env(database_url, tmp_path / "var", SECRET)
    port = free_port()
    acceptor = AcceptorProcess(env, port, tmp_path / "acceptor.log").start()
    try:
        with Oms(port, tmp_path / "oms") as oms:
            oms.wait_logged_on()
            oms.send(instruction("R-1", FIRST))
            before = oms.receive(4)
            acceptor.kill()
            oms.until(lambda: not oms.engine.isLoggedOn(), 15, "the acceptor's end went unseen")
            oms.queue(instruction("R-2", SECOND))
            oms.queue(instruction("R-1", FIRST))
            acceptor.start()
            oms.wait_logged_on(2, timeout=30)
            after = _answers(oms)
    finally:
        acceptor.stop()
    by_id = {alloc_id: [m for m in after if m.get(70) == alloc_id] for alloc_id in ("R-1", "R-2")}
    answer = [("P", "3"), ("P", "0"), ("AS", "0"), ("AS", "0")]
    assert [(m.type, m.get(87)) for m in by_id["R-2"]] == answer
    # R-1 is answered again as the first time: once for the copy sent while the acceptor was
    # down, and once more when the kill came before the engine stored R-1's sequence number.
    assert len(by_id["R-1"]) in (4, 8)
    assert [(m.type, m.get(87)) for m in by_id["R-1"]] == answer * (len(by_id["R-1"]) // 4)
    assert [(m.type, m.get(87)) for m in before] == answer
    assert min(m.seq for m in after) > max(m.seq for m in before)
    with demo_container.uow(write=False) as uow:
        rows = uow.allocations.list(1, None, block_id=195)
        block = uow.blocks.get(1, 195)
    assert sorted(row.quantity for row in rows) == [10, 15, 30, 45]
    assert block is not None and block.allocated_quantity == Decimal(100)
    kept = (tmp_path / "var" / "fix" / "log").glob("*ALLOTMENT-DEMO-OMS.messages*")
    inbound = "".join(path.read_text() for path in kept)
    assert "\x0143=Y\x01" in inbound and "35=J" in inbound
