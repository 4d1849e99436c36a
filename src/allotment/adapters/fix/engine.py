"""The FIX engine glue: a QuickFIX acceptor (sessions, sequence numbers, resend, FileStore and
FileLog) whose application hands Logons and allocation instructions to a `Door`.

The engine checks every inbound message against the FIX 4.4 data dictionary before the
application sees it, keeps every message in and out in its store and log under one directory,
and answers resend requests from its store. The application answers a 35=J with a 35=P
`Received` at once, then the door's answer: a 35=P Accepted or rejected, and a 35=AS per
booked allocation.
"""

from __future__ import annotations

import logging
import threading
import time
import weakref
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

import quickfix as fix

from allotment.adapters.fix import codec, order_codec
from allotment.adapters.fix.dictionary import engine_dictionary, with_saxo_tags
from allotment.domain.errors import Unauthorized
from allotment.domain.numbers import ZERO
from allotment.services.fix.checks import Refused
from allotment.services.fix.orders import NewOrder, OrderAnswer, OrderState
from allotment.services.fix.outbox import AllocationNews, Outbox
from allotment.services.fix.values import (
    AllocStatus,
    Answer,
    Instruction,
    Origin,
    RejectCode,
    TransType,
)

log = logging.getLogger("allotment.fix")
BEGIN_STRING = "FIX.4.4"
POLL_PAUSE_SECONDS = 0.001
"""Between two polls of the engine with nothing to do (a poll returns at once). A poll that
handed the application a message is followed by the next at once: on a busy machine a pause
asked for as a millisecond lasts several, one per instruction."""
OUTBOX_PAUSE_SECONDS = 0.2
"""Between two looks at what the logged-on sessions have not been told yet (fills reported
and allocations booked by other processes)."""


def dictionary_path() -> Path:
    """FIX 4.4's data dictionary, as the engine's package installs it."""
    return engine_dictionary()


class Door(Protocol):
    """What the acceptor needs from allotment (implemented over the services)."""

    def logon(self, theirs: str, ours: str, username: str | None, password: str | None) -> None:
        """Accept the Logon of the session (their SenderCompID, ours) or raise Unauthorized."""

    def instruct(self, instruction: Instruction, origin: Origin) -> Answer:
        """The answer to an instruction of the session `origin` names."""

    def order(self, order: NewOrder, origin: Origin) -> OrderAnswer:
        """The answer to a block order (35=D) of the session `origin` names."""

    def order_state(self, cl_ord_id: str, origin: Origin) -> OrderState | None:
        """The block order placed with this ClOrdID, as a cancel reject tells it."""

    def outbox(self, theirs: str, ours: str) -> Outbox | None:
        """What the session has not been told yet."""

    def delivered(self, box: Outbox) -> None:
        """The session was sent the outbox: its cursors move past it."""


def session_name(session_id: Any) -> str:
    """The counterparty's SenderCompID -> ours, as sessions are named in allotment."""
    return f"{session_id.getTargetCompID().getValue()}->{session_id.getSenderCompID().getValue()}"


class AllocationApplication(fix.Application):  # type: ignore[misc]
    def __init__(self, door: Door) -> None:
        super().__init__()
        self.door = door
        self.handled = 0
        """Application messages handed to the door so far (the polling thread reads it)."""
        self.engine: Callable[[], Any] = lambda: None
        """The acceptor whose sessions answer (set once it is built), held weakly: the engine
        holds the application, and a cycle would let the collector destroy the engine's parts
        in any order."""

    def onCreate(self, session_id: Any) -> None:
        log.info("FIX session %s ready", session_name(session_id))

    def onLogon(self, session_id: Any) -> None:
        log.info("FIX session %s logged on", session_name(session_id))

    def onLogout(self, session_id: Any) -> None:
        log.info("FIX session %s logged out", session_name(session_id))

    def toAdmin(self, message: Any, session_id: Any) -> None:
        return None

    def toApp(self, message: Any, session_id: Any) -> None:
        return None

    def fromAdmin(self, message: Any, session_id: Any) -> None:
        if codec.header(message, 35) != "A":
            return
        username = str(message.getField(553)) if message.isSetField(553) else None
        password = str(message.getField(554)) if message.isSetField(554) else None
        try:
            theirs = session_id.getTargetCompID().getValue()
            ours = session_id.getSenderCompID().getValue()
            self.door.logon(theirs, ours, username, password)
        except Unauthorized as error:
            raise fix.RejectLogon(error.message) from error

    def fromApp(self, message: Any, session_id: Any) -> None:
        self.handled += 1
        kind = codec.header(message, 35)
        if kind == "AT":  # AllocationReportAck: the buy side affirms a report
            return
        if kind == "D":
            self._order(message, session_id)
            return
        if kind in ("F", "G"):
            self._cancel_reject(message, session_id, replace=kind == "G")
            return
        if kind != "J":
            raise fix.UnsupportedMessageType()
        self._instruction(message, session_id)

    def _order(self, message: Any, session_id: Any) -> None:
        """Saxo's flow: 35=P Received, then Accepted and an ExecutionReport New, or Block
        level reject and an ExecutionReport Rejected."""
        name = session_name(session_id)
        origin = Origin(name, int(codec.header(message, 34)))
        cl_ord_id, alloc_id = str(message.getField(11)), codec.text(message, 70)
        side = codec.SIDES.get(str(message.getField(54)), "Buy")
        received = OrderAnswer(cl_ord_id, alloc_id or "", AllocStatus.RECEIVED, side, ZERO)
        self._send(order_codec.order_ack(received, AllocStatus.RECEIVED, _now()), session_id)
        try:
            answer = self.door.order(order_codec.read_order(message), origin)
        except Refused as refused:
            answer = replace(
                received,
                status=AllocStatus.BLOCK_LEVEL_REJECT,
                reject_code=refused.code,
                text=refused.text,
            )
        except Exception:  # never let the engine's thread die; the buy side may send again
            log.exception("FIX order %s of %s failed", cl_ord_id, name)
            answer = replace(
                received,
                status=AllocStatus.BLOCK_LEVEL_REJECT,
                reject_code=RejectCode.OTHER,
                text="not processed (a failure of ours): send it again",
            )
        self._send(order_codec.order_ack(answer, answer.status, _now()), session_id)
        self._send(order_codec.order_report(answer, _now()), session_id)

    def _cancel_reject(self, message: Any, session_id: Any, *, replace: bool) -> None:
        """A block order is placed once and stands (decision 0034): an OrderCancelRequest
        (35=F) or OrderCancelReplaceRequest (35=G) is answered with an OrderCancelReject
        (35=9) naming the order as it is, or unknown."""
        origin = Origin(session_name(session_id), int(codec.header(message, 34)))
        cl_ord_id, original = str(message.getField(11)), str(message.getField(41))
        try:
            state = self.door.order_state(original, origin)
        except Exception:  # never let the engine's thread die; the buy side may send again
            log.exception("FIX cancel of %s by %s failed", original, origin.session)
            reject = order_codec.CancelReject(cl_ord_id, original, replace, None, failed=True)
        else:
            reject = order_codec.CancelReject(cl_ord_id, original, replace, state)
        self._send(order_codec.cancel_reject(reject), session_id)

    def deliver(self) -> None:
        """Tell every logged-on session what it has not been told yet: an ExecutionReport
        per fill, then an AllocationReport per allocation; the cursors move once all is sent
        (a message the engine accepted is in its store, and resent from there on request)."""
        engine = self.engine()
        if engine is None:
            return
        for session_id in engine.getSessions():
            session = engine.getSession(session_id)
            if session is None or not session.isLoggedOn():
                continue
            theirs = session_id.getTargetCompID().getValue()
            box = self.door.outbox(theirs, session_id.getSenderCompID().getValue())
            if box is None or box.empty:
                continue
            messages = [order_codec.fill_report(news) for news in box.fills]
            messages += [_allocation_report(news) for news in box.allocations]
            if all(session.send(message) for message in messages):
                self.door.delivered(box)
            else:
                log.warning("FIX session %s: reports queued, not sent", session_name(session_id))

    def _instruction(self, message: Any, session_id: Any) -> None:
        name = session_name(session_id)
        origin = Origin(name, int(codec.header(message, 34)))
        alloc_id, trans_type, ref_alloc_id = codec.identity(message)
        received = Answer(alloc_id, trans_type, AllocStatus.RECEIVED, ref_alloc_id=ref_alloc_id)
        self._send(codec.ack(received, AllocStatus.RECEIVED, _now()), session_id)
        try:
            instruction = codec.read_instruction(message)
            answer = self.door.instruct(instruction, origin)
        except Refused as refused:
            answer = Answer(
                alloc_id, trans_type, AllocStatus.BLOCK_LEVEL_REJECT, refused.code, refused.text
            )
        except Exception:  # never let the engine's thread die; the buy side may send again
            log.exception("FIX instruction %s of %s failed", alloc_id, name)
            answer = Answer(
                alloc_id,
                trans_type,
                AllocStatus.BLOCK_LEVEL_REJECT,
                RejectCode.OTHER,
                "not processed (a failure of ours): send it again",
            )
        self._send(codec.ack(answer, answer.status, _now()), session_id)
        if answer.accepted and answer.trans_type is not TransType.CANCEL:
            for item in answer.reports:
                self._send(codec.report(answer, item), session_id)

    def _send(self, message: Any, session_id: Any) -> None:
        """Through this acceptor's own session: the engine's registry of sessions by name is
        one per process, and may still name a stopped acceptor's session."""
        engine = self.engine()
        session = engine.getSession(session_id) if engine is not None else None
        if session is None or not session.send(message):
            log.warning("FIX session %s: an answer is queued, not sent", session_name(session_id))


def _now() -> datetime:
    return datetime.now(UTC)


def _allocation_report(news: AllocationNews) -> Any:
    answer = Answer(
        news.alloc_id,
        TransType.NEW,
        AllocStatus.ACCEPTED,
        side=news.side,
        symbol=news.symbol,
        average_price=news.report.price,
        trade_date=news.trade_date,
        settlement_date=news.settlement_date,
    )
    return codec.report(answer, news.report)


def acceptor_settings(
    sessions: Sequence[tuple[str, str]], *, host: str, port: int, directory: Path
) -> Any:
    """Engine settings for these (their SenderCompID, our CompID) sessions on one port; the
    store and log of every session under `directory`."""
    dictionary = with_saxo_tags(directory)
    settings = fix.SessionSettings()
    defaults = fix.Dictionary()
    for key, value in (
        ("ConnectionType", "acceptor"),
        ("SocketAcceptHost", host),
        ("FileStorePath", str(directory / "store")),
        ("FileLogPath", str(directory / "log")),
        ("StartTime", "00:00:00"),
        ("EndTime", "00:00:00"),
        ("UseDataDictionary", "Y"),
        ("DataDictionary", str(dictionary)),
        ("ValidateUserDefinedFields", "Y"),
        ("PersistMessages", "Y"),
    ):
        defaults.setString(key, value)
    defaults.setInt("SocketAcceptPort", port)
    settings.set(defaults)
    for theirs, ours in sessions:
        settings.set(fix.SessionID(BEGIN_STRING, ours, theirs), fix.Dictionary())
    return settings


class Acceptor:
    """A running acceptor; `stop()` logs every session out and closes the port."""

    def __init__(
        self,
        door: Door,
        sessions: Sequence[tuple[str, str]],
        *,
        host: str,
        port: int,
        directory: Path,
    ) -> None:
        if not sessions:
            raise ValueError("no FIX session is configured")
        # The engine keeps references to these (C++ references): they must live as long as it.
        self._settings = acceptor_settings(sessions, host=host, port=port, directory=directory)
        self._store = fix.FileStoreFactory(self._settings)
        self._log = fix.FileLogFactory(self._settings)
        self.application = AllocationApplication(door)
        self._engine = fix.SocketAcceptor(self.application, self._store, self._settings, self._log)
        self.application.engine = weakref.ref(self._engine)
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Serve on a thread of ours that polls the engine. QuickFIX's own thread races
        `stop()` while it closes the sockets (the server is closed by both); polling from one
        thread and stopping after it ends leaves no race."""
        self._stopping.clear()
        self._thread = threading.Thread(target=self._serve, name="fix-acceptor", daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        next_look = time.monotonic()
        while not self._stopping.is_set():
            handled = self.application.handled
            if not self._engine.poll():
                return
            if time.monotonic() >= next_look:
                try:
                    self.application.deliver()
                except Exception:  # the database may be away for a while: look again later
                    log.exception("FIX reports could not be read or sent")
                next_look = time.monotonic() + OUTBOX_PAUSE_SECONDS
            if self.application.handled == handled:
                time.sleep(POLL_PAUSE_SECONDS)

    def log_out(self, grace_seconds: float = 3.0) -> None:
        """Log every session out and wait for the Logouts (or the grace)."""
        for session_id in self._engine.getSessions():
            session = fix.Session.lookupSession(session_id)
            if session is not None and session.isLoggedOn():
                session.logout("the acceptor is stopping")
        deadline = time.monotonic() + grace_seconds
        while self._engine.isLoggedOn() and time.monotonic() < deadline:
            time.sleep(0.02)

    def stop(self) -> None:
        """Log the sessions out, end the polling thread, then close the port."""
        self.log_out()
        self._stopping.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None
        self._engine.stop(True)
