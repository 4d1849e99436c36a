"""The FIX engine glue: a QuickFIX acceptor (sessions, sequence numbers, resend, FileStore and
FileLog) whose application hands Logons and allocation instructions to a `Door`.

The engine checks every inbound message against the FIX 4.4 data dictionary before the
application sees it, keeps every message in and out in its store and log under one directory,
and answers resend requests from its store. The application answers a 35=J with a 35=P
`Received` at once, then, once the engine has handed over every message it read in that poll,
the door's answer: a 35=P Accepted or rejected, and a 35=AS per booked allocation. The
instructions of one session read in one poll are answered by one batch (one transaction).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

import quickfix as fix

from allotment.adapters.fix import codec, order_codec
from allotment.adapters.fix.dictionary import engine_dictionary
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
FAILED = "not processed (a failure of ours): send it again"
"""The Text of a block level reject when handling an instruction failed on our side."""


def dictionary_path() -> Path:
    """FIX 4.4's data dictionary, as the engine's package installs it."""
    return engine_dictionary()


class Door(Protocol):
    """What the acceptor needs from allotment (implemented over the services)."""

    def logon(self, theirs: str, ours: str, username: str | None, password: str | None) -> None:
        """Accept the Logon of the session (their SenderCompID, ours) or raise Unauthorized."""

    def instruct(self, instruction: Instruction, origin: Origin) -> Answer:
        """The answer to an instruction of the session `origin` names."""

    def instruct_many(self, items: Sequence[tuple[Instruction, Origin]]) -> list[Answer]:
        """The answers to several instructions of one session, in one transaction; raises
        when it fails (nothing is booked then)."""

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
        self._queued: list[_Queued] = []
        """Instructions received and not answered yet (`answer_queued`)."""
        self.recovered: dict[str, list[Any]] = {}
        """By session: instructions taken before a restart and never answered finally
        (adapters/fix/recovery), handed over again once the session logs on."""
        self.engine: Callable[[], Any] = lambda: None
        """The acceptor whose sessions answer (set once it is built), held weakly: the engine
        holds the application, and a cycle would let the collector destroy the engine's parts
        in any order."""

    def onCreate(self, session_id: Any) -> None:
        log.info("FIX session %s ready", session_name(session_id))

    def onLogon(self, session_id: Any) -> None:
        log.info("FIX session %s logged on", session_name(session_id))
        for message in self.recovered.pop(session_name(session_id), ()):
            log.warning("FIX instruction %s handed over again", codec.text(message, 70))
            self._instruction(message, session_id)

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
        if kind != "J":  # what came before it is answered first
            self.answer_queued()
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
        """Received (87=3) at once; the answer once the engine has handed over every message
        it has read (`answer_queued`), so that instructions queued together are booked
        together."""
        name = session_name(session_id)
        origin = Origin(name, int(codec.header(message, 34)))
        alloc_id, trans_type, ref_alloc_id = codec.identity(message)
        received = Answer(alloc_id, trans_type, AllocStatus.RECEIVED, ref_alloc_id=ref_alloc_id)
        self._send(codec.ack(received, AllocStatus.RECEIVED, _now()), session_id)
        try:
            queued = _Queued(session_id, origin, received, codec.read_instruction(message))
        except Refused as refused:
            queued = _Queued(session_id, origin, _refusal(received, refused.code, refused.text))
        except Exception:  # never let the engine's thread die; the buy side may send again
            log.exception("FIX instruction %s of %s failed", alloc_id, name)
            queued = _Queued(session_id, origin, _refusal(received, RejectCode.OTHER, FAILED))
        self._queued.append(queued)

    def answer_queued(self) -> None:
        """Answer the instructions queued, each session's in one batch."""
        queued, self._queued = self._queued, []
        start = 0
        while start < len(queued):
            end = start + 1
            while end < len(queued) and queued[end].origin.session == queued[start].origin.session:
                end += 1
            group = queued[start:end]
            for item, answer in zip(group, self._answers(group), strict=True):
                self._answer(answer, item.session_id)
            start = end

    def _answers(self, group: list[_Queued]) -> list[Answer]:
        """Several instructions are booked in one batch; when it fails, or for one, each is
        handled on its own."""
        items = [(q.instruction, q.origin) for q in group if q.instruction is not None]
        batch: list[Answer] | None = None
        if len(items) > 1:
            log.debug("FIX batch of %d instructions of %s", len(items), group[0].origin.session)
            try:
                batch = self.door.instruct_many(items)
            except Exception:  # nothing of it was booked: one by one, as alone
                log.warning("FIX batch of %d instructions failed", len(items), exc_info=True)
        booked = iter(batch or ())
        answers = []
        for q in group:
            if q.instruction is None:
                answers.append(q.answer)
            elif batch is not None:
                answers.append(next(booked))
            else:
                answers.append(self._one(q.instruction, q.origin, q.answer))
        return answers

    def _one(self, instruction: Instruction, origin: Origin, received: Answer) -> Answer:
        try:
            return self.door.instruct(instruction, origin)
        except Refused as refused:
            return _refusal(received, refused.code, refused.text)
        except Exception:  # never let the engine's thread die; the buy side may send again
            log.exception("FIX instruction %s of %s failed", received.alloc_id, origin.session)
            return _refusal(received, RejectCode.OTHER, FAILED)

    def _answer(self, answer: Answer, session_id: Any) -> None:
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


@dataclass(frozen=True, slots=True)
class _Queued:
    """An instruction received: its answer so far (Received, or its refusal when it could
    not be read) and, when it could be, the instruction."""

    session_id: Any
    origin: Origin
    answer: Answer
    instruction: Instruction | None = None


def _refusal(received: Answer, code: RejectCode, text: str) -> Answer:
    return Answer(
        received.alloc_id, received.trans_type, AllocStatus.BLOCK_LEVEL_REJECT, code, text
    )


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
