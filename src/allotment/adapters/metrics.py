"""Prometheus metrics (prometheus-client): requests and their latency, bookings and refusals,
batch sizes, the database pool and the Idempotency-Keys in flight.

With several server processes (`serve --workers N`) each process writes its values to files under
PROMETHEUS_MULTIPROC_DIR and a scrape adds them up (prometheus-client's multiprocess mode), so any
one process answers for all of them. Gauges then say how they add up (`livesum`: the sum over live
processes)."""

from __future__ import annotations

import os
import weakref
from collections.abc import Iterable

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)
from sqlalchemy import Connection, Engine, event

MULTIPROCESS_DIR = "PROMETHEUS_MULTIPROC_DIR"

REQUESTS = Counter(
    "allotment_http_requests_total",
    "HTTP requests answered, by dialect, route template, method and status.",
    ["dialect", "route", "method", "status"],
)
LATENCY = Histogram(
    "allotment_http_request_duration_seconds",
    "Time from a request's arrival to the end of its answer, by dialect and route template.",
    ["dialect", "route", "method"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)
BOOKINGS = Counter(
    "allotment_journal_entries_booked_total",
    "Journal entries committed to the ledger (a booking, a transfer, a reversal), by dialect.",
    ["dialect"],
)
REFUSALS = Counter(
    "allotment_refusals_total",
    "Requests refused with a domain error, by its code.",
    ["code"],
)
BATCH_ITEMS = Histogram(
    "allotment_batch_items",
    "Items in each batch request received.",
    buckets=(1, 10, 100, 1_000, 10_000, 100_000, 1_000_000),
)
IDEMPOTENCY_IN_FLIGHT = Gauge(
    "allotment_idempotency_keys_in_flight",
    "Writes carrying an Idempotency-Key that are being answered now.",
    multiprocess_mode="livesum",
)
POOL_CHECKED_OUT = Gauge(
    "allotment_db_pool_connections_in_use",
    "Database connections checked out of the pool now.",
    multiprocess_mode="livesum",
)
POOL_CONNECTIONS = Gauge(
    "allotment_db_pool_connections_open",
    "Database connections the pool holds open now (in use or idle).",
    multiprocess_mode="livesum",
)
POOL_INVALIDATED = Counter(
    "allotment_db_pool_connections_invalidated_total",
    "Connections dropped as broken (a database restart, a network cut).",
)


def instrument(engine: Engine) -> None:
    """Pool gauges from the pool's events; journal entries counted when their transaction
    commits (entries rolled back were never booked)."""
    event.listen(engine, "commit", _committed)
    event.listen(engine, "rollback", _rolled_back)
    event.listen(engine.pool, "connect", lambda *_: POOL_CONNECTIONS.inc())
    event.listen(engine.pool, "close", lambda *_: POOL_CONNECTIONS.dec())
    event.listen(engine.pool, "checkout", lambda *_: POOL_CHECKED_OUT.inc())
    event.listen(engine.pool, "checkin", lambda *_: POOL_CHECKED_OUT.dec())
    event.listen(engine.pool, "invalidate", lambda *_: POOL_INVALIDATED.inc())


_PENDING: weakref.WeakKeyDictionary[Connection, dict[str, int]] = weakref.WeakKeyDictionary()
"""Entries written on a connection and not yet committed, by dialect (kept off the connection:
a connection the database dropped must not be touched again to forget them)."""


def entries_written(connection: Connection, count: int, dialect: str) -> None:
    """The ledger wrote `count` entries on this connection; they count once it commits."""
    pending = _PENDING.setdefault(connection, {})
    pending[dialect] = pending.get(dialect, 0) + count


def _committed(connection: Connection) -> None:
    for dialect, count in _PENDING.pop(connection, {}).items():
        BOOKINGS.labels(dialect=dialect).inc(count)


def _rolled_back(connection: Connection) -> None:
    _PENDING.pop(connection, None)


def refused(codes: Iterable[str]) -> None:
    """Items of a batch refused, each with its code (a batch answers them in its body)."""
    for code in codes:
        REFUSALS.labels(code=code).inc()


def exposition() -> tuple[bytes, str]:
    """The text a scrape reads: this process's metrics, or every live process's in
    multiprocess mode."""
    if os.environ.get(MULTIPROCESS_DIR):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        return generate_latest(registry), CONTENT_TYPE_LATEST
    return generate_latest(REGISTRY), CONTENT_TYPE_LATEST


def process_exited(pid: int) -> None:
    """A worker's live gauges stop counting once it exits."""
    if os.environ.get(MULTIPROCESS_DIR):
        multiprocess.mark_process_dead(pid)  # type: ignore[no-untyped-call]
