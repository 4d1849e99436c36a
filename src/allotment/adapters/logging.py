"""Logs as one JSON object a line (structlog over the standard library's logging), so that a log
aggregator reads every field: timestamp, level, event, and whatever the request bound (its id,
company, caller, dialect, route, status, duration). Uvicorn's and SQLAlchemy's records go through
the same formatter. A field that could carry a secret is never written, whatever its value."""

from __future__ import annotations

import logging
import sys
from collections.abc import MutableMapping
from typing import Any, TextIO

import structlog

SECRET_FIELDS = frozenset(
    {
        "authorization",
        "password",
        "passwd",
        "secret",
        "client_secret",
        "token",
        "access_token",
        "refresh_token",
        "cookie",
        "set-cookie",
        "api_key",
        "app_key",
        "et-app-key",
    }
)
REDACTED = "[redacted]"


def drop_secrets(
    _logger: Any, _method: str, event: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    """Any field named like a credential is replaced, so that no code path can log one."""
    for name in list(event):
        if name.lower() in SECRET_FIELDS:
            event[name] = REDACTED
    return event


_SHARED: list[Any] = [
    structlog.contextvars.merge_contextvars,
    structlog.stdlib.add_log_level,
    structlog.stdlib.add_logger_name,
    structlog.processors.TimeStamper(fmt="iso", utc=True, key="timestamp"),
    drop_secrets,
]


def json_formatter() -> logging.Formatter:
    return structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=_SHARED,
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            structlog.processors.format_exc_info,
            structlog.processors.JSONRenderer(sort_keys=False, default=str),
        ],
    )


class _Stderr:
    """Whatever sys.stderr is when a line is written (a test runner swaps it per test)."""

    def write(self, text: str) -> int:
        return sys.stderr.write(text)

    def flush(self) -> None:
        sys.stderr.flush()


def configure(level: str, stream: TextIO | None = None) -> None:
    """One JSON handler on the root logger, at `level`; structlog's own loggers hand their events
    to it. Like `logging.basicConfig`, it leaves a root logger that something else (a test
    runner's capture) already handles alone, unless a stream is given."""
    structlog.configure(
        # A line below the level is dropped before anything is added to it (the standard
        # library would drop it only after every processor ran; decision 0052).
        processors=[
            structlog.stdlib.filter_by_level,
            *_SHARED,
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=False,
    )
    root = logging.getLogger()
    for existing in [h for h in root.handlers if getattr(h, "_allotment_json", False)]:
        root.removeHandler(existing)
    if stream is None and root.handlers:
        return
    handler: logging.StreamHandler[Any] = logging.StreamHandler(stream or _Stderr())
    handler.setFormatter(json_formatter())
    handler._allotment_json = True  # type: ignore[attr-defined]
    root.addHandler(handler)
    root.setLevel(level.upper())
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        # Uvicorn's records reach the root's JSON handler rather than its own plain-text ones.
        logging.getLogger(name).handlers.clear()
        logging.getLogger(name).propagate = True


def release() -> None:
    """Take the JSON handler off the root logger (a test that installed one on its stream)."""
    root = logging.getLogger()
    for existing in [h for h in root.handlers if getattr(h, "_allotment_json", False)]:
        root.removeHandler(existing)


def get_logger(name: str) -> Any:
    return structlog.stdlib.get_logger(name)
