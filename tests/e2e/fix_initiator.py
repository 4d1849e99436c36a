"""A FIX 4.4 initiator built on the engine itself (QuickFIX's SocketInitiator), as an order
management system would connect to allotment's acceptor: our code plays no part in it."""

from __future__ import annotations

import os
import queue
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterable
from decimal import Decimal
from pathlib import Path
from typing import Any

import quickfix as fix
import quickfix44 as fix44

from allotment.adapters.fix.engine import dictionary_path

THEIRS, OURS = "DEMO-OMS", "ALLOTMENT"
SESSION = fix.SessionID("FIX.4.4", THEIRS, OURS)


def acceptor_env(database_url: str, var_dir: Path, secret: str) -> dict[str, str]:
    """The settings `allotment fix serve` runs with in these tests."""
    return {
        "ALLOTMENT_DATABASE_URL": database_url,
        "ALLOTMENT_SECRET_KEY": secret,
        "ALLOTMENT_VAR_DIR": str(var_dir),
        "ALLOTMENT_LOG_LEVEL": "WARNING",
    }


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_for_port(port: int, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise AssertionError(f"nothing listens on port {port}")


class AcceptorProcess:
    """`allotment fix serve` in a process of its own, as it is run; it may be killed."""

    def __init__(self, env: dict[str, str], port: int, log: Path) -> None:
        self.env, self.port, self.log = env, port, log
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> AcceptorProcess:
        command = Path(sys.executable).parent / "allotment"
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(
                [str(command), "fix", "serve", "--port", str(self.port)],
                env={**os.environ, **self.env},
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        wait_for_port(self.port)
        return self

    def kill(self) -> None:
        assert self.process is not None
        self.process.kill()
        self.process.wait(10)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.kill()


class Received:
    """One message the initiator received: its type and its fields as text."""

    def __init__(self, message: Any) -> None:
        self.raw = message.toString().replace("\x01", "|")
        self.type = message.getHeader().getField(35)
        self.seq = int(message.getHeader().getField(34))
        self.message = fix.Message(message)  # the engine reuses its own after the callback

    def get(self, tag: int) -> str | None:
        return self.message.getField(tag) if self.message.isSetField(tag) else None

    def groups(self, count_tag: int, group: Any, tags: Iterable[int]) -> list[dict[int, str]]:
        count = int(self.get(count_tag) or 0)
        found = []
        for index in range(1, count + 1):
            self.message.getGroup(index, group)
            found.append({tag: group.getField(tag) for tag in tags if group.isSetField(tag)})
        return found


class OmsApplication(fix.Application):  # type: ignore[misc]
    def __init__(self, username: str, password: str) -> None:
        super().__init__()
        self.username, self.password = username, password
        self.inbox: queue.Queue[Received] = queue.Queue()
        self.logons = 0
        self.logouts: list[str] = []

    def onCreate(self, session_id: Any) -> None:
        return None

    def onLogon(self, session_id: Any) -> None:
        self.logons += 1

    def onLogout(self, session_id: Any) -> None:
        return None

    def toAdmin(self, message: Any, session_id: Any) -> None:
        if message.getHeader().getField(35) == "A":
            message.setField(553, self.username)
            message.setField(554, self.password)

    def fromAdmin(self, message: Any, session_id: Any) -> None:
        if message.getHeader().getField(35) == "5":
            self.logouts.append(message.getField(58) if message.isSetField(58) else "")

    def toApp(self, message: Any, session_id: Any) -> None:
        return None

    def fromApp(self, message: Any, session_id: Any) -> None:
        self.inbox.put(Received(message))


class Oms:
    """A running initiator; its store and log under `directory` survive a restart."""

    def __init__(self, port: int, directory: Path, username: str = "demo", password: str = "demo"):
        self.app = OmsApplication(username, password)
        settings = fix.SessionSettings()
        defaults = fix.Dictionary()
        for key, value in (
            ("ConnectionType", "initiator"),
            ("SocketConnectHost", "127.0.0.1"),
            ("FileStorePath", str(directory / "store")),
            ("FileLogPath", str(directory / "log")),
            ("StartTime", "00:00:00"),
            ("EndTime", "00:00:00"),
            ("UseDataDictionary", "Y"),
            ("DataDictionary", str(dictionary_path())),
        ):
            defaults.setString(key, value)
        defaults.setInt("SocketConnectPort", port)
        defaults.setInt("HeartBtInt", 5)
        defaults.setInt("ReconnectInterval", 1)
        settings.set(defaults)
        settings.set(SESSION, fix.Dictionary())
        # The engine keeps C++ references to these: they must live as long as it.
        self.settings = settings
        self.store = fix.FileStoreFactory(settings)
        self.log = fix.FileLogFactory(settings)
        self.engine = fix.SocketInitiator(self.app, self.store, settings, self.log)

    def __enter__(self) -> Oms:
        self.engine.start()
        return self

    def __exit__(self, *args: object) -> None:
        session = self.engine.getSession(SESSION)
        if session is not None and session.isLoggedOn():
            session.logout()
            self.until(lambda: not self.engine.isLoggedOn(), 5, "the Logout was not answered")
        self.engine.stop(True)

    def wait_logged_on(self, logons: int = 1, timeout: float = 15.0) -> None:
        self.until(lambda: self.app.logons >= logons, timeout, "no logon")

    def until(self, condition: Callable[[], bool], timeout: float, what: str) -> None:
        deadline = time.monotonic() + timeout
        while not condition():
            if time.monotonic() > deadline:
                raise AssertionError(what)
            time.sleep(0.02)

    def send(self, message: Any) -> None:
        # This engine's own session: another initiator of the same session, stopped in this
        # process, may still be known to the engine's registry of sessions by that name.
        assert self.engine.getSession(SESSION).send(message)

    def queue(self, message: Any) -> None:
        """Send while possibly disconnected: the engine stores it and resends it on request."""
        self.engine.getSession(SESSION).send(message)

    def receive(self, count: int, timeout: float = 15.0) -> list[Received]:
        got = []
        for _ in range(count):
            got.append(self.app.inbox.get(timeout=timeout))
        return got

    def nothing_more(self, wait: float = 0.3) -> bool:
        time.sleep(wait)
        return self.app.inbox.empty()


def instruction(
    alloc_id: str,
    allocations: Iterable[tuple[str, str]],
    *,
    trans_type: str = "0",
    ref_alloc_id: str | None = None,
    side: str = "2",
    symbol: str = "BHP",
    average_price: str = "6.75",
    cl_ord_id: str | None = "XCCMa3aR573uzw",
    alloc_type: int = 1,
    commission: str | None = None,
    order_id: str | None = None,
    exec_id: str | None = None,
) -> Any:
    """A 35=J for a block named by its ClOrdID (the demo's master reference), or by the
    OrderID or ExecID given."""
    lines = list(allocations)
    message = fix44.AllocationInstruction()
    message.setField(fix.AllocID(alloc_id))
    message.setField(fix.AllocTransType(trans_type))
    message.setField(fix.AllocType(alloc_type))
    if ref_alloc_id is not None:
        message.setField(fix.RefAllocID(ref_alloc_id))
    message.setField(fix.AllocNoOrdersType(0 if cl_ord_id is None else 1))
    if cl_ord_id is not None:
        order = fix44.AllocationInstruction.NoOrders()
        order.setField(fix.ClOrdID(cl_ord_id))
        if order_id is not None:
            order.setField(fix.OrderID(order_id))
        message.addGroup(order)
    if exec_id is not None:
        execution = fix44.AllocationInstruction.NoExecs()
        execution.setField(32, "100")
        execution.setField(fix.ExecID(exec_id))
        message.addGroup(execution)
    message.setField(fix.Side(side))
    message.setField(fix.Symbol(symbol))
    message.setField(53, str(sum(Decimal(quantity) for _, quantity in lines)))
    message.setField(6, average_price)
    message.setField(fix.TradeDate(time.strftime("%Y%m%d")))
    for account, quantity in lines:
        line = fix44.AllocationInstruction.NoAllocs()
        line.setField(fix.AllocAccount(account))
        line.setField(80, quantity)
        if commission is not None:
            line.setField(12, commission)
            line.setField(13, "3")
        message.addGroup(line)
    return message


def ack_groups(received: Received) -> list[dict[int, str]]:
    return received.groups(78, fix44.AllocationInstructionAck.NoAllocs(), (79, 776, 161))


def report_groups(received: Received) -> list[dict[int, str]]:
    return received.groups(78, fix44.AllocationReport.NoAllocs(), (79, 80, 366, 12, 154, 467))
