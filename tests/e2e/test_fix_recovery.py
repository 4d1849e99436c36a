"""The acceptor killed after the engine took an instruction (answered Received and counted its
sequence number, so the buy side will not send it again) and before its booking committed:
started again, it reads the instruction back from the engine's log and books it once."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from pathlib import Path

from sqlalchemy import text

from allotment.adapters.fix.recovery import unanswered
from allotment.bootstrap import Container
from tests.conftest import SECRET
from tests.e2e.fix_initiator import (
    SESSION,
    AcceptorProcess,
    Oms,
    acceptor_env,
    free_port,
    instruction,
    report_groups,
)

FIRST = [("1574444-01", "10"), ("987558-01", "30")]
SECOND = [("1574444-01", "15"), ("987558-01", "45")]
ANSWER = [("P", "3"), ("P", "0"), ("AS", "0"), ("AS", "0")]


@contextmanager
def _block_held(container: Container) -> Iterator[None]:
    """The block locked (PostgreSQL) or the database's write lock held (SQLite, whose
    transactions begin IMMEDIATE): the acceptor's booking waits and cannot commit."""
    with container.engine.connect() as connection, connection.begin():
        lock = " FOR UPDATE" if connection.dialect.name == "postgresql" else ""
        connection.execute(text(f"SELECT id FROM blocks WHERE id = 195{lock}"))
        yield


def _counted(store: Path, seq: int, timeout: float = 15.0) -> None:
    """Wait until the acceptor's store counts their message `seq` (next target after it)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for path in store.glob("*ALLOTMENT-DEMO-OMS.seqnums"):
            numbers = path.read_text().split(":")
            if len(numbers) == 2 and int(numbers[1]) > seq:
                return
        time.sleep(0.02)
    raise AssertionError(f"the acceptor did not count message {seq}")


def test_an_instruction_taken_and_not_booked_before_a_kill_is_booked_after_the_restart(
    demo_container: Container, database_url: str, tmp_path: Path
) -> None:
    var = tmp_path / "var"
    env = acceptor_env(database_url, var, SECRET)
    port = free_port()
    acceptor = AcceptorProcess(env, port, tmp_path / "acceptor.log").start()
    try:
        with Oms(port, tmp_path / "oms") as oms:
            oms.wait_logged_on()
            oms.send(instruction("K-1", FIRST))
            first = oms.receive(4)
            assert oms.nothing_more(1.0)
            with _block_held(demo_container):
                oms.send(instruction("K-2", SECOND))
                received = oms.receive(1)
                seq = oms.engine.getSession(SESSION).getExpectedSenderNum() - 1
                _counted(var / "fix" / "store", seq)
                acceptor.kill()
            oms.until(lambda: not oms.engine.isLoggedOn(), 15, "the acceptor's end went unseen")
            acceptor.start()
            oms.wait_logged_on(2, timeout=30)
            after = oms.receive(4, timeout=30)
            assert oms.nothing_more(1.5)
    finally:
        acceptor.stop()
    assert [(m.type, m.get(87)) for m in first] == ANSWER
    assert [(m.type, m.get(87), m.get(70)) for m in received] == [("P", "3", "K-2")]
    # answered as when it arrived: Received, then Accepted and a report per account
    assert [(m.type, m.get(87), m.get(70)) for m in after] == [(*a, "K-2") for a in ANSWER]
    accounts = [group[79] for m in after if m.type == "AS" for group in report_groups(m)]
    assert sorted(accounts) == ["1574444-01", "987558-01"]
    with demo_container.uow(write=False) as uow:
        rows = uow.allocations.list(1, None, block_id=195)
        block = uow.blocks.get(1, 195)
    assert sorted(row.quantity for row in rows) == [10, 15, 30, 45]
    assert block is not None and block.allocated_quantity == Decimal(100)
    assert "handed over again" in (tmp_path / "acceptor.log").read_text()
    # the engine's log now shows it answered: a later start hands nothing over
    engine_log = var / "fix" / "log" / "FIX.4.4-ALLOTMENT-DEMO-OMS.messages.current.log"
    with engine_log.open(encoding="utf-8", newline="\n") as lines:
        assert unanswered(lines, "DEMO-OMS") == []
