"""The bulk booking core behind the ETNA dialect: deciding while writing (PostgreSQL) decides
exactly as deciding first; all-or-nothing groups leave no trace when refused."""

from __future__ import annotations

import random
from decimal import Decimal

import pytest

from allotment.bootstrap import Container
from allotment.domain.accounts import AccountType
from allotment.domain.ledger import BookingCode
from allotment.services.etna import batches as etna
from allotment.services.journal import book as booking
from allotment.services.journal import ledger
from tests.e2e.test_etna_seed import admin_context, demo_ids

D = Decimal


def requests(count: int, seed: int) -> list[etna.AllocationRequest]:
    """Buys and sales between 6687 and 6688, some too big, some multi-leg, some invalid."""
    rng = random.Random(seed)
    found = []
    for _ in range(count):
        legs = tuple(
            etna.Leg(
                rng.choice(["AAPL", "AAPL", "NOPE"]) if rng.random() < 0.1 else "AAPL",
                D(rng.choice([5, 10, 50, 400])) * (-1 if rng.random() < 0.2 else 1),
                D(rng.choice(["135.00", "135.89", "136.00"])),
                rng.choice([etna.Action.BUY, etna.Action.BUY, etna.Action.SELL]),
            )
            for _ in range(rng.choice([1, 1, 1, 2, 3]))
        )
        found.append(etna.AllocationRequest("6687", "6688", AccountType.CASH, legs, D("1.00"), "p"))
    return found


def test_a_pipelined_batch_decides_exactly_as_a_sequential_one(
    demo_container: Container, monkeypatch: pytest.MonkeyPatch
) -> None:
    company_id, _ = demo_ids(demo_container)
    ctx = admin_context(demo_container, company_id)
    batch = requests(60, seed=7)
    monkeypatch.setattr(booking, "_chunked", lambda count: False)
    with demo_container.uow() as uow:
        sequential = etna.allocate(uow, ctx, batch)  # rolled back: never committed
        before = uow.ledger.balances(["6687", "6688"])
        uow.rollback()
    monkeypatch.setattr(booking, "PIPELINE_CHUNK", 4)
    monkeypatch.setattr(booking, "_chunked", lambda count: True)
    with demo_container.uow() as uow:
        pipelined = etna.allocate(uow, ctx, batch)
        uow.commit()

    assert [r.code for r in pipelined] == [r.code for r in sequential]
    assert [r.booked for r in pipelined] == [r.booked for r in sequential]
    assert {r.code for r in pipelined} > {BookingCode.OK, BookingCode.INVALID_SYMBOL}
    with demo_container.uow(write=False) as uow:
        assert uow.ledger.balances(["6687", "6688"]) == before
        assert ledger.check_ledger(uow) == []
        booked = uow.allocations.list(company_id, None, limit=1000)
    assert len(booked) == sum(len(r.allocation_ids) for r in pipelined)
    # The ids drawn up front are taken in order by the accepted items, chunk after chunk.
    ids = [i for r in pipelined for i in r.allocation_ids]
    assert ids == list(range(ids[0], ids[0] + len(ids)))


def test_balances_missing_from_the_early_read_are_read_before_their_chunk_is_decided(
    demo_container: Container, monkeypatch: pytest.MonkeyPatch
) -> None:
    company_id, _ = demo_ids(demo_container)
    ctx = admin_context(demo_container, company_id)
    batch = requests(30, seed=11)
    monkeypatch.setattr(booking, "_chunked", lambda count: False)
    with demo_container.uow() as uow:
        sequential = [r.code for r in etna.allocate(uow, ctx, batch)]
        uow.rollback()
    monkeypatch.setattr(booking, "PIPELINE_CHUNK", 4)
    monkeypatch.setattr(booking, "_chunked", lambda count: True)
    monkeypatch.setattr(booking, "_trade_keys", lambda trade: [])  # nothing read up front

    with demo_container.uow() as uow:
        pipelined = [r.code for r in etna.allocate(uow, ctx, batch)]
        uow.commit()

    assert pipelined == sequential
    with demo_container.uow(write=False) as uow:
        assert ledger.check_ledger(uow) == []


def test_chunks_are_about_the_size_asked_and_never_cut_a_group() -> None:
    groups = [0, 1, 1, 1, 2, 3, 3, 4, 5, 5]

    chunks = booking._chunks(len(groups), groups, 2)

    assert [list(chunk) for chunk in chunks] == [[0, 1, 2, 3], [4, 5, 6], [7, 8, 9]]
    assert booking._chunks(5, None, 2) == [range(0, 2), range(2, 4), range(4, 5)]


def test_a_refused_group_leaves_the_balances_as_they_were(demo_container: Container) -> None:
    company_id, _ = demo_ids(demo_container)
    ctx = admin_context(demo_container, company_id)
    # 6688 can pay for 500 AAPL, not for 1,000: the second leg refuses the whole request,
    # and the next request still sees the cash the first leg would have spent.
    first = etna.AllocationRequest(
        "6687",
        "6688",
        AccountType.CASH,
        (
            etna.Leg("AAPL", D(500), D("135.89"), etna.Action.BUY),
            etna.Leg("AAPL", D(500), D("135.89"), etna.Action.BUY),
        ),
    )
    second = etna.AllocationRequest(
        "6687", "6688", AccountType.CASH, (etna.Leg("AAPL", D(700), D("135.89"), etna.Action.BUY),)
    )
    with demo_container.uow() as uow:
        results = etna.allocate(uow, ctx, [first, second])
        uow.commit()

    assert [(r.code, r.booked) for r in results] == [
        (BookingCode.INSUFFICIENT_FUNDS, False),
        (BookingCode.OK, True),
    ]
    with demo_container.uow(write=False) as uow:
        position = uow.ledger.balances(["6688"])
        assert ledger.check_ledger(uow) == []
    assert sorted(b.quantity for b in position.values()) == [D(700), D("4877.00")]
