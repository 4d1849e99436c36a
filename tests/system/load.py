"""A bounded asyncio load generator for the system test: ETNA single items and batches racing
for the same shares and cash, and native reads; every write carries an Idempotency-Key and is
retried with it (same body) on a lost connection, a 502/503/504 or a 409 saying the key's first
request is still running."""

from __future__ import annotations

import asyncio
import json
import random
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import httpx

ETNA = "/v1.0/allocations/simple"
RETRIED = {502, 503, 504}


@dataclass
class Outcome:
    """What the load saw: statuses with the time they came, and per item comment its fate."""

    statuses: Counter[int] = field(default_factory=Counter)
    timeline: list[tuple[float, int]] = field(default_factory=list)
    retries: int = 0
    booked: set[str] = field(default_factory=set)
    refused: set[str] = field(default_factory=set)
    answer_lost: set[str] = field(default_factory=set)
    unfinished: set[str] = field(default_factory=set)
    quantities: dict[str, int] = field(default_factory=dict)
    reads: int = 0

    def saw(self, status: int, started: float) -> None:
        self.statuses[status] += 1
        self.timeline.append((time.monotonic() - started, status))


def item(comment: str, quantity: int) -> dict[str, Any]:
    return {
        "FromAccount": "6687",
        "ToAccount": "6688",
        "Symbol": "AAPL",
        "Quantity": quantity,
        "Price": 135.89,
        "Commission": 1.36,
        "Action": "Buy",
        "AccountType": "Cash",
        "Comment": comment,
    }


async def write(
    client: httpx.AsyncClient,
    headers: dict[str, str],
    items: list[dict[str, Any]],
    outcome: Outcome,
    started: float,
    give_up: float,
) -> None:
    key = uuid.uuid4().hex
    body = json.dumps(items)
    comments = [str(i["Comment"]) for i in items]
    outcome.quantities.update({str(i["Comment"]): int(i["Quantity"]) for i in items})
    while time.monotonic() < give_up:
        try:
            response = await client.post(
                ETNA, content=body, headers={**headers, "Idempotency-Key": key}
            )
        except httpx.HTTPError:
            outcome.retries += 1
            await asyncio.sleep(0.2)
            continue
        outcome.saw(response.status_code, started)
        answer = _json(response)
        if response.status_code in RETRIED or _still_running(response, answer):
            outcome.retries += 1
            await asyncio.sleep(0.2)
            continue
        if response.status_code == 409 and not isinstance(answer, list):
            # The key's first request booked, but its process died before answering.
            outcome.answer_lost.update(comments)
            return
        if response.status_code in (200, 409) and isinstance(answer, list):
            for comment, result in zip(comments, answer, strict=True):
                (outcome.booked if result["IsSucceed"] else outcome.refused).add(comment)
            return
        raise AssertionError(f"unexpected answer {response.status_code}: {response.text[:300]}")
    outcome.unfinished.update(comments)


def _json(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None


def _still_running(response: httpx.Response, answer: Any) -> bool:
    return (
        response.status_code == 409
        and isinstance(answer, dict)
        and "still being processed" in json.dumps(answer)
    )


async def read(
    client: httpx.AsyncClient, headers: dict[str, str], outcome: Outcome, started: float
) -> None:
    try:
        response = await client.get("/api/v1/accounts/6687/balances", headers=headers)
    except httpx.HTTPError:
        outcome.retries += 1
        return
    outcome.saw(response.status_code, started)
    if response.status_code == 200:
        outcome.reads += 1


async def worker(
    number: int,
    client: httpx.AsyncClient,
    etna: dict[str, str],
    native: dict[str, str],
    outcome: Outcome,
    started: float,
    until: float,
    give_up: float,
) -> None:
    rng = random.Random(number)
    sequence = 0
    while time.monotonic() < until:
        sequence += 1
        tag = f"sys-{number}-{sequence}"
        choice = rng.random()
        if choice < 0.45:
            await write(
                client, etna, [item(f"{tag}-0", rng.randint(1, 4))], outcome, started, give_up
            )
        elif choice < 0.8:
            batch = [item(f"{tag}-{i}", rng.randint(1, 4)) for i in range(rng.randint(2, 6))]
            await write(client, etna, batch, outcome, started, give_up)
        else:
            await read(client, native, outcome, started)


async def run(
    base: str,
    etna: dict[str, str],
    native: dict[str, str],
    seconds: float,
    workers: int,
    grace: float,
) -> Outcome:
    outcome = Outcome()
    started = time.monotonic()
    limits = httpx.Limits(max_connections=workers, max_keepalive_connections=workers)
    async with httpx.AsyncClient(base_url=base, timeout=30, limits=limits) as client:
        await asyncio.gather(
            *(
                worker(
                    n,
                    client,
                    etna,
                    native,
                    outcome,
                    started,
                    started + seconds,
                    started + seconds + grace,
                )
                for n in range(workers)
            )
        )
    return outcome
