"""Instructions the engine handed over and we never answered, read back from its own log.

The engine counts an incoming sequence number once the application has taken the message:
an instruction taken (answered 35=P Received at once) but not booked before the process
ended is not sent again by the buy side. The engine's FileLog keeps every message in and out
of a session, one a line after a timestamp (`<prefix>.messages.current.log`); an incoming
35=J answered Received and never finally (35=P with an AllocStatus other than 3) is handed
to the application again when the session logs on. An instruction booked whose final answer
was not sent is answered again as stored (the AllocID is booked once).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import quickfix as fix

log = logging.getLogger("allotment.fix")
SOH = "\x01"
_SEPARATOR = " : "
RECEIVED = "3"


@dataclass(slots=True)
class _Taken:
    alloc_id: str
    raw: str
    received: bool = False


def _fields(raw: str) -> dict[str, str]:
    """The message's fields by tag (the first of each: the header and body tags read here
    are not in groups)."""
    fields: dict[str, str] = {}
    for field in raw.split(SOH):
        tag, _, value = field.partition("=")
        fields.setdefault(tag, value)
    return fields


def unanswered(lines: Iterable[str], theirs: str) -> list[str]:
    """The raw incoming 35=J (their SenderCompID is `theirs`) answered Received and not
    finally, in the order they came. A final answer closes the first instruction of its
    AllocID still open, a Received marks the first not marked yet."""
    taken: list[_Taken] = []
    for line in lines:
        _, found, raw = line.rstrip("\r\n").partition(_SEPARATOR)
        if not found or not raw.startswith("8="):
            continue
        fields = _fields(raw)
        kind, alloc_id = fields.get("35"), fields.get("70")
        if alloc_id is None or kind not in ("J", "P"):
            continue
        incoming = fields.get("49") == theirs
        if not incoming and fields.get("43") == "Y":  # a copy resent on request
            continue
        if kind == "J" and incoming:
            taken.append(_Taken(alloc_id, raw))
        elif kind == "P" and not incoming:
            received = fields.get("87") == RECEIVED
            for item in taken:
                if item.alloc_id == alloc_id and item.received != received:
                    if received:
                        item.received = True
                    else:
                        taken.remove(item)
                    break
    return [item.raw for item in taken if item.received]


def log_path(directory: Path, session_id: Any) -> Path:
    """The engine's FileLog of the session: `<BeginString>-<ours>-<theirs>`."""
    prefix = "-".join(
        (
            session_id.getBeginString().getValue(),
            session_id.getSenderCompID().getValue(),
            session_id.getTargetCompID().getValue(),
        )
    )
    return directory / f"{prefix}.messages.current.log"


def recover(directory: Path, session_id: Any, dictionary: Any) -> list[Any]:
    """The session's instructions to hand over again, as messages (read with the
    dictionary the engine validates with, for the repeating groups)."""
    path = log_path(directory, session_id)
    if not path.exists():
        return []
    theirs = session_id.getTargetCompID().getValue()
    with path.open(encoding="utf-8", errors="replace", newline="\n") as lines:
        raws = unanswered(lines, theirs)
    messages = []
    for raw in raws:
        try:
            messages.append(fix.Message(raw, dictionary, False))
        except fix.InvalidMessage:  # a line damaged in the log: the buy side must send it again
            log.error("FIX log %s: an instruction cannot be read back: %r", path.name, raw)
    return messages
