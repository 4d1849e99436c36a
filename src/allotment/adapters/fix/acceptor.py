"""The running acceptor: QuickFIX's SocketAcceptor over the application (adapters/fix/engine),
polled from a thread of ours; its settings (sessions, port, store and log directory, the
dictionary it validates with)."""

from __future__ import annotations

import logging
import threading
import time
import weakref
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import quickfix as fix

from allotment.adapters.fix.dictionary import with_saxo_tags
from allotment.adapters.fix.engine import (
    BEGIN_STRING,
    OUTBOX_PAUSE_SECONDS,
    POLL_PAUSE_SECONDS,
    AllocationApplication,
    Door,
    session_name,
)
from allotment.adapters.fix.recovery import recover

log = logging.getLogger("allotment.fix")


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
        self._log_directory = directory / "log"
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
        self._recover()
        self._thread = threading.Thread(target=self._serve, name="fix-acceptor", daemon=True)
        self._thread.start()

    def _recover(self) -> None:
        """The instructions taken before a restart and never answered (adapters/fix/recovery),
        by session, for the application to hand over again at the session's Logon."""
        dictionary = fix.DataDictionary(self._settings.get().getString("DataDictionary"))
        for session_id in self._engine.getSessions():
            messages = recover(self._log_directory, session_id, dictionary)
            if messages:
                log.warning(
                    "FIX session %s: %d instructions not answered before the restart",
                    session_name(session_id),
                    len(messages),
                )
                self.application.recovered[session_name(session_id)] = messages

    def _serve(self) -> None:
        next_look = time.monotonic()
        while not self._stopping.is_set():
            handled = self.application.handled
            polled = self._engine.poll()
            self.application.answer_queued()
            if not polled:
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
