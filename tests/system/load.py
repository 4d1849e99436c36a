"""A bounded asyncio load generator for the system test. Each worker picks, at random, one of:
an ETNA single item or batch (of one of the companies, racing for the same shares and cash), a
Saxo fill on one of a few Saxo block orders (racing for their ordered quantity), block-trade
child allocations in JSON or XML on one of a few masters (racing for their quantity), a CAS
allocation written or searched, and native reads. Every write carries an Idempotency-Key and is
retried with it (same body) on a lost connection, a 502/503/504 or a 409 saying the key's first
request is still running. What each write became (booked, refused, booked with its answer lost,
never answered) is kept per kind, with what it would move, for the test to check against the
database."""

from __future__ import annotations

import asyncio
import json
import random
import time
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx

ETNA = "/v1.0/allocations/simple"
BLOCKTRADE = "/api/orders/blockTrade/block-allocations"
CAS = "/book-building/allocations/v4/allocations"
RETRIED = {502, 503, 504}
ETNA_PRICE = Decimal("135.89")
ETNA_COMMISSION = Decimal("1.36")
MASTER_PRICE = Decimal("6.50")
BROKERAGE = Decimal("1.00")
FILL_EPOCH = datetime(2026, 1, 5, 14, 30, tzinfo=UTC)
FILL_PRICE = Decimal("10.00")


@dataclass(frozen=True)
class Company:
    """One company's callers and the accounts its ETNA load moves AAPL and USD between."""

    tag: str
    etna: dict[str, str]
    native: dict[str, str]
    source: str
    target: str


@dataclass(frozen=True)
class Plan:
    """What the setup made for the load: companies, Saxo block orders, block-trade masters
    (id, master reference) of the first company, its Basic credentials and a CAS token."""

    companies: list[Company]
    saxo_orders: list[int]
    masters: list[tuple[int, str]]
    basic: dict[str, str]
    cas: dict[str, str]
    cas_body: dict[str, Any]


@dataclass
class Fates:
    """What became of the writes of one kind, by their own reference."""

    booked: set[str] = field(default_factory=set)
    refused: set[str] = field(default_factory=set)
    answer_lost: set[str] = field(default_factory=set)
    unfinished: set[str] = field(default_factory=set)
    size: dict[str, Decimal] = field(default_factory=dict)
    reasons: Counter[str] = field(default_factory=Counter)
    attempts: dict[str, list[str]] = field(default_factory=dict)
    """Each reference's request: the time and status of every attempt (0: no answer)."""


@dataclass
class Outcome:
    """What the load saw: statuses by dialect with the time they came, and each kind's fates."""

    statuses: Counter[tuple[str, int]] = field(default_factory=Counter)
    timeline: list[tuple[float, int]] = field(default_factory=list)
    retries: int = 0
    etna: Fates = field(default_factory=Fates)
    fills: Fates = field(default_factory=Fates)
    blocktrade: Fates = field(default_factory=Fates)
    cas: Fates = field(default_factory=Fates)
    reads: int = 0
    searches: int = 0
    started: float = field(default_factory=time.monotonic)

    def saw(self, dialect: str, status: int) -> None:
        self.statuses[(dialect, status)] += 1
        self.timeline.append((time.monotonic() - self.started, status))

    def unfinished(self) -> int:
        kinds = (self.etna, self.fills, self.blocktrade, self.cas)
        return sum(len(kind.unfinished) for kind in kinds)


@dataclass
class Worker:
    number: int
    client: httpx.AsyncClient
    plan: Plan
    outcome: Outcome
    give_up: float
    rng: random.Random = field(init=False)
    sequence: int = 0
    attempts: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.rng = random.Random(self.number)

    def tag(self, kind: str) -> str:
        self.sequence += 1
        return f"sys-{kind}-{self.number}-{self.sequence}"

    async def send(
        self, dialect: str, path: str, body: str, headers: dict[str, str]
    ) -> httpx.Response | None:
        """The write's final answer (None when it never came before the load gave up)."""
        key = {"Idempotency-Key": uuid.uuid4().hex}
        self.attempts = []
        while time.monotonic() < self.give_up:
            at = f"{time.monotonic() - self.outcome.started:.1f}s"
            try:
                response = await self.client.post(path, content=body, headers={**headers, **key})
            except httpx.HTTPError as error:
                self.attempts.append(f"{at} {type(error).__name__}")
                self.outcome.retries += 1
                await asyncio.sleep(0.2)
                continue
            self.attempts.append(f"{at} {response.status_code}")
            self.outcome.saw(dialect, response.status_code)
            if response.status_code in RETRIED or still_running(response):
                self.outcome.retries += 1
                await asyncio.sleep(0.2)
                continue
            return response
        return None


def still_running(response: httpx.Response) -> bool:
    return response.status_code == 409 and "still being processed" in response.text


def answer_lost(response: httpx.Response) -> bool:
    """The key's first request booked, but its process died before the answer was kept."""
    return response.status_code == 409 and "server stopped before" in response.text


def settle(fates: Fates, refs: list[str], response: httpx.Response | None, ok: bool) -> bool:
    """Record a whole request's fate; True when it is to be read further (booked)."""
    if response is None:
        fates.unfinished.update(refs)
    elif answer_lost(response):
        fates.answer_lost.update(refs)
    elif ok:
        fates.booked.update(refs)
        return True
    elif 400 <= response.status_code < 500:
        fates.refused.update(refs)
        fates.reasons[f"{response.status_code} {_reason(response)}"] += 1
    else:
        raise AssertionError(f"unexpected answer {response.status_code}: {response.text[:300]}")
    return False


def _reason(response: httpx.Response) -> str:
    """A short name for why a request was refused, for the report."""
    text = response.text.lower()
    for marker in ("exceed", "insufficient", "credit", "cash", "position"):
        if marker in text:
            return marker
    return text[:200]


async def etna(worker: Worker) -> None:
    company = worker.rng.choice(worker.plan.companies)
    count = 1 if worker.rng.random() < 0.5 else worker.rng.randint(2, 6)
    base = worker.tag(f"etna-{company.tag}")
    items: list[dict[str, Any]] = [
        {
            "FromAccount": company.source,
            "ToAccount": company.target,
            "Symbol": "AAPL",
            "Quantity": worker.rng.randint(1, 4),
            "Price": float(ETNA_PRICE),
            "Commission": float(ETNA_COMMISSION),
            "Action": "Buy",
            "AccountType": "Cash",
            "Comment": f"{base}-{i}",
        }
        for i in range(count)
    ]
    comments = [str(item["Comment"]) for item in items]
    fates = worker.outcome.etna
    fates.size.update({str(i["Comment"]): Decimal(int(i["Quantity"])) for i in items})
    response = await worker.send("etna", ETNA, json.dumps(items), company.etna)
    fates.attempts.update({comment: worker.attempts for comment in comments})
    answer = _json(response)
    # ETNA answers a batch with a refused item 409, its body still the list of results.
    if response is not None and response.status_code in (200, 409) and isinstance(answer, list):
        for comment, result in zip(comments, answer, strict=True):
            (fates.booked if result["IsSucceed"] else fates.refused).add(comment)
        return
    settle(fates, comments, response, ok=False)


async def saxo_fill(worker: Worker) -> None:
    """A fill on a Saxo block order: its executed_at is unique, so that the test finds it."""
    order = worker.rng.choice(worker.plan.saxo_orders)
    quantity = Decimal(worker.rng.choice((10, 20, 30)))
    number = worker.number * 1_000_000 + worker.sequence
    worker.sequence += 1
    executed = FILL_EPOCH + timedelta(microseconds=number)
    ref = f"{order}@{executed.isoformat()}"
    body = {
        "quantity": str(quantity),
        "price": str(FILL_PRICE),
        "executed_at": executed.isoformat(),
    }
    headers = {**worker.plan.companies[0].native, "Content-Type": "application/json"}
    response = await worker.send(
        "native", f"/api/v1/blocks/{order}/fills", json.dumps(body), headers
    )
    worker.outcome.fills.size[ref] = quantity
    worker.outcome.fills.attempts[ref] = worker.attempts
    settle(
        worker.outcome.fills,
        [ref],
        response,
        ok=response is not None and response.status_code == 201,
    )


async def blocktrade(worker: Worker) -> None:
    """Child allocations of one master for one or both of its clients, in JSON or XML."""
    master, reference = worker.rng.choice(worker.plan.masters)
    worker.sequence += 1
    base = f"sb{worker.number}.{worker.sequence}"  # the vendor's references have 16 characters
    lines = [
        (f"{base}-{client}", client, Decimal(worker.rng.randint(5, 40)))
        for client in worker.rng.sample([1574444, 987558], worker.rng.randint(1, 2))
    ]
    as_xml = worker.rng.random() < 0.5
    body = (
        _blocktrade_xml(master, reference, lines)
        if as_xml
        else _blocktrade_json(master, reference, lines)
    )
    kind = "application/xml" if as_xml else "application/json"
    headers = {**worker.plan.basic, "Content-Type": kind, "Accept": kind}
    response = await worker.send("blocktrade", BLOCKTRADE, body, headers)
    refs = [ref for ref, _, _ in lines]
    worker.outcome.blocktrade.size.update({ref: quantity for ref, _, quantity in lines})
    worker.outcome.blocktrade.attempts.update({ref: worker.attempts for ref in refs})
    settle(
        worker.outcome.blocktrade,
        refs,
        response,
        ok=response is not None and response.status_code == 200,
    )


def _line(ref: str, client: int, quantity: Decimal) -> dict[str, Any]:
    """A purchase from a Buy master at its price, with brokerage and GST (the demo's 10 %)."""
    value = quantity * MASTER_PRICE
    gst = BROKERAGE / 10
    return {
        "ClientID": client,
        "Quantity": int(quantity),
        "Price": MASTER_PRICE,
        "TradeValue": value,
        "NetAmount": value + BROKERAGE + gst,
        "CustomBrokerageFee": BROKERAGE,
        "GSTValue": gst,
        "AllocationReference": ref,
        "NotesForClient": "system test",
        "OtherFees": Decimal(0),
    }


def _blocktrade_json(master: int, reference: str, lines: list[tuple[str, int, Decimal]]) -> str:
    details = [_line(*line) for line in lines]
    document = {
        "BlockTradeAllocationID": master,
        "MasterReference": reference,
        "AllocationDetails": details,
    }
    return json.dumps(document, default=float)


def _blocktrade_xml(master: int, reference: str, lines: list[tuple[str, int, Decimal]]) -> str:
    order = "http://schemas.datacontract.org/2004/07/TPP.B2B.Webservices2.Contract.Order"
    contracts = "http://schemas.datacontract.org/2004/07/TPP.Contracts.Services.Order"
    allocations = "".join(
        "<d2p1:BlockAllocation>"
        + "".join(
            f"<d2p1:{name}>{value}</d2p1:{name}>" for name, value in sorted(_line(*line).items())
        )
        + "</d2p1:BlockAllocation>"
        for line in lines
    )
    return (
        f'<BlockTradeBlockAllocation xmlns="{order}">'
        f'<AllocationDetails xmlns:d2p1="{contracts}">{allocations}</AllocationDetails>'
        f"<BlockTradeAllocationID>{master}</BlockTradeAllocationID>"
        f"<MasterReference>{reference}</MasterReference></BlockTradeBlockAllocation>"
    )


async def cas(worker: Worker) -> None:
    """Half the time a new CAS allocation (its sourceId unique), else a search."""
    headers = {**worker.plan.cas, "Content-Type": "application/json"}
    if worker.rng.random() < 0.5:
        source = worker.tag("cas")
        body = {**worker.plan.cas_body, "sourceId": source}
        response = await worker.send("bookbuilding", CAS, json.dumps(body), headers)
        ok = response is not None and response.status_code == 201
        worker.outcome.cas.attempts[source] = worker.attempts
        settle(worker.outcome.cas, [source], response, ok=ok)
        return
    criteria = {"criteria": [{"field": "orderStatus", "operator": "=", "value": "pending"}]}
    await read(worker, "bookbuilding", "POST", f"{CAS}/search", headers, json.dumps(criteria))
    worker.outcome.searches += 1


async def native_read(worker: Worker) -> None:
    company = worker.rng.choice(worker.plan.companies)
    path = worker.rng.choice(
        (f"/api/v1/accounts/{company.target}/balances", "/api/v1/allocations?limit=50")
    )
    await read(worker, "native", "GET", path, company.native, None)


async def read(
    worker: Worker, dialect: str, method: str, path: str, headers: dict[str, str], body: str | None
) -> None:
    try:
        response = await worker.client.request(method, path, headers=headers, content=body)
    except httpx.HTTPError:
        worker.outcome.retries += 1
        return
    worker.outcome.saw(dialect, response.status_code)
    if response.status_code == 200:
        worker.outcome.reads += 1


def _json(response: httpx.Response | None) -> Any:
    if response is None:
        return None
    try:
        return response.json()
    except ValueError:
        return None


MIX: list[tuple[float, Callable[[Worker], Awaitable[None]]]] = [
    (0.35, etna),
    (0.55, saxo_fill),
    (0.72, blocktrade),
    (0.85, cas),
    (1.0, native_read),
]


async def work(worker: Worker, until: float) -> None:
    while time.monotonic() < until:
        choice = worker.rng.random()
        action = next(action for bound, action in MIX if choice < bound)
        await action(worker)


async def run(base: str, plan: Plan, seconds: float, workers: int, grace: float) -> Outcome:
    outcome = Outcome()
    until = outcome.started + seconds
    limits = httpx.Limits(max_connections=workers, max_keepalive_connections=workers)
    async with httpx.AsyncClient(base_url=base, timeout=30, limits=limits) as client:
        crew = [Worker(n, client, plan, outcome, until + grace) for n in range(workers)]
        await asyncio.gather(*(work(member, until) for member in crew))
    return outcome
