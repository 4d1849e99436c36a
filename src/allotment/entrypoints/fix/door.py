"""The door the FIX acceptor calls: Logons checked and instructions handled by the services,
each in its own unit of work, as the session's user."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from pathlib import Path

from allotment.adapters.fix.acceptor import Acceptor
from allotment.bootstrap import Container
from allotment.domain.errors import Unauthorized
from allotment.domain.identity import Principal
from allotment.services.context import Context
from allotment.services.fix import allocations as fix_allocations
from allotment.services.fix import batch as fix_batch
from allotment.services.fix import orders as fix_orders
from allotment.services.fix import outbox as fix_outbox
from allotment.services.fix import sessions as fix_sessions
from allotment.services.fix.orders import NewOrder, OrderAnswer, OrderState
from allotment.services.fix.outbox import Outbox
from allotment.services.fix.values import Answer, Instruction, Origin

DIALECT = "fix"


class ServicesDoor:
    def __init__(self, box: Container) -> None:
        self.box = box
        self._principals: dict[str, Principal] = {}
        self._lock = threading.Lock()

    def logon(self, theirs: str, ours: str, username: str | None, password: str | None) -> None:
        with self.box.uow(write=False) as uow:
            principal = fix_sessions.logon(uow, self.box.hasher, theirs, ours, username, password)
        with self._lock:
            self._principals[f"{theirs}->{ours}"] = principal

    def _context(self, origin: Origin) -> Context:
        with self._lock:
            principal = self._principals.get(origin.session)
        if principal is None:  # the engine lets no message in before the Logon
            raise Unauthorized("the session is not logged on")
        return Context(principal=principal, dialect=DIALECT, now=self.box.clock.now())

    def instruct(self, instruction: Instruction, origin: Origin) -> Answer:
        answer, _ = fix_allocations.handle(self.box.uow, self._context(origin), instruction, origin)
        return answer

    def instruct_many(self, items: Sequence[tuple[Instruction, Origin]]) -> list[Answer]:
        return fix_batch.handle_many(self.box.uow, self._context(items[0][1]), items)

    def order(self, order: NewOrder, origin: Origin) -> OrderAnswer:
        answer, _ = fix_orders.handle(self.box.uow, self._context(origin), order, origin)
        return answer

    def order_state(self, cl_ord_id: str, origin: Origin) -> OrderState | None:
        with self.box.uow(write=False) as uow:
            return fix_orders.order_state(uow, self._context(origin), cl_ord_id)

    def outbox(self, theirs: str, ours: str) -> Outbox | None:
        with self.box.uow(write=False) as uow:
            return fix_outbox.outbox(uow, theirs, ours)

    def delivered(self, box: Outbox) -> None:
        with self.box.uow() as uow:
            fix_outbox.sent(uow, box)
            uow.commit()


def sessions_of(box: Container) -> list[tuple[str, str]]:
    """Every active session: (their SenderCompID, ours)."""
    with box.uow(write=False) as uow:
        return [
            (session.sender_comp_id, session.target_comp_id)
            for session in fix_sessions.every_session(uow)
            if session.active
        ]


def acceptor(box: Container, *, host: str, port: int, directory: Path | None = None) -> Acceptor:
    """An acceptor of every configured session, its messages kept under the var dir."""
    return Acceptor(
        ServicesDoor(box),
        sessions_of(box),
        host=host,
        port=port,
        directory=directory or box.settings.var_dir / "fix",
    )
