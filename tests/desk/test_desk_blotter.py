"""The blotter and a block's allocation as the desk's services answer them: filters, keyset
paging, the caller's clients only, and a booked preview that is exactly what was previewed."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from allotment.bootstrap import Container
from allotment.domain.allocation.model import Method
from allotment.domain.errors import Forbidden, InvalidInstruction
from allotment.domain.identity import ALL_SCOPES, Principal, PrincipalKind, Scope
from allotment.services import blocks, calendar
from allotment.services.context import Context
from allotment.services.desk import blocks as desk_blocks
from allotment.services.desk.blocks import Participant


def ctx_of(box: Container, clients: frozenset[int] | None = None) -> Context:
    scopes = ALL_SCOPES if clients is None else frozenset({Scope.READ, Scope.WRITE})
    principal = Principal(
        1, "demo" if clients is None else "advisor", PrincipalKind.USER, scopes, clients
    )
    return Context(principal, "desk", box.clock.now())


def add_blocks(box: Container, count: int) -> None:
    ctx = ctx_of(box)
    with box.uow() as uow:
        aapl = uow.instruments.by_symbol("AAPL")
        assert aapl is not None
        for _ in range(count):
            blocks.create_block(
                uow,
                ctx,
                account_id="6687",
                instrument=aapl,
                side="Buy",
                quantity=Decimal(10),
                listeners=box.fill_listeners,
            )
        uow.commit()


def business_day(box: Container, ctx: Context) -> date:
    """The demo company's date in its time zone (New York): the day its blocks are of."""
    with box.uow(write=False) as uow:
        return calendar.company_business_date(uow, ctx)


def test_a_desk_day_is_the_companys_day_in_its_time_zone() -> None:
    """A block created at 01:00 UTC in New York's evening is on the New York day before; a
    day on which the clocks go forward is 23 hours long."""
    start, end = desk_blocks.day_bounds(date(2026, 12, 7), "America/New_York")
    assert (start, end) == (
        datetime(2026, 12, 7, 5, tzinfo=UTC),
        datetime(2026, 12, 8, 5, tzinfo=UTC),
    )
    start, end = desk_blocks.day_bounds(date(2026, 3, 8), "America/New_York")
    assert (end - start).total_seconds() == 23 * 3600


def test_the_blotter_pages_newest_first_without_gaps_or_repeats(demo_container: Container) -> None:
    add_blocks(demo_container, 5)
    ctx = ctx_of(demo_container)
    day = business_day(demo_container, ctx)
    seen: list[int] = []
    before = None
    with demo_container.uow(write=False) as uow:
        while True:
            page = desk_blocks.blotter(uow, ctx, day, before_id=before, limit=2)
            seen += [row.block.id or 0 for row in page.rows]
            if page.next_before_id is None:
                break
            before = page.next_before_id
        everything = desk_blocks.blotter(uow, ctx, day, limit=100)
    assert seen == sorted(seen, reverse=True)
    assert seen == [row.block.id for row in everything.rows]
    assert 195 in seen and len(seen) >= 6


def test_the_blotter_filters_by_instrument_status_account_and_date(
    demo_container: Container,
) -> None:
    add_blocks(demo_container, 2)
    ctx = ctx_of(demo_container)
    with demo_container.uow() as uow:
        previewed = desk_blocks.preview_block(
            uow, ctx, 195, method=Method.UNIT, participants=[Participant("1574444-01", Decimal(25))]
        )
        assert desk_blocks.book_preview(uow, ctx, previewed, "T1").accepted
        uow.commit()
    today = business_day(demo_container, ctx)
    with demo_container.uow(write=False) as uow:

        def ids(**filters: object) -> list[int]:
            day = filters.pop("day", today)
            page = desk_blocks.blotter(uow, ctx, day, **filters)  # type: ignore[arg-type]
            return [row.block.id or 0 for row in page.rows]

        bhp = ids(symbol="BHP")
        aapl_open = ids(symbol="AAPL", status="open")
        by_participant = ids(account_id="1574444-01")
        by_average = ids(account_id="6687")
        yesterday = ids(day=today.replace(year=today.year - 1))
        with pytest.raises(InvalidInstruction):
            ids(status="lost")
    assert 195 in bhp and all(i != 195 for i in aapl_open) and len(aapl_open) >= 2
    assert by_participant == [195]
    assert 195 not in by_average and len(by_average) >= 2
    assert yesterday == []


def test_an_advisor_cannot_filter_the_blotter_by_another_clients_account(
    demo_container: Container,
) -> None:
    advisor = ctx_of(demo_container, frozenset({1574444}))
    with demo_container.uow(write=False) as uow:
        with pytest.raises(Forbidden):
            desk_blocks.blotter(uow, advisor, advisor.today, account_id="987558-01")
        with pytest.raises(Forbidden):
            desk_blocks.preview_block(
                uow,
                advisor,
                195,
                method=Method.UNIT,
                participants=[Participant("987558-01", Decimal(75))],
            )
        choices = desk_blocks.participant_choices(uow, advisor, blocks.get_block(uow, advisor, 195))
        allocations = desk_blocks.block_allocations(uow, advisor, 195)
    assert choices == ["1574444-01"]
    assert allocations == []


def test_a_booked_preview_books_what_was_previewed_with_its_fees(
    demo_container: Container,
) -> None:
    ctx = ctx_of(demo_container)
    with demo_container.uow() as uow:
        previewed = desk_blocks.preview_block(
            uow,
            ctx,
            195,
            method=Method.RATIO,
            participants=[
                Participant("1574444-01", Decimal(1)),
                Participant("987558-01", Decimal(3)),
            ],
            commission_rate=Decimal("0.01"),
        )
        outcome = desk_blocks.book_preview(uow, ctx, previewed, "T2")
        assert outcome.accepted, outcome.errors
        uow.commit()
    with demo_container.uow(write=False) as uow:
        booked = desk_blocks.block_allocations(uow, ctx, 195)
    parts = {part.key: part for part in previewed.found.parts}
    assert {row.account_id: row.quantity for row in booked} == {
        key: part.quantity for key, part in parts.items()
    }
    for row in booked:
        amounts = parts[row.account_id].amounts
        assert amounts is not None
        assert (row.commission, row.tax, row.net_amount) == (
            amounts.commission,
            amounts.tax,
            amounts.net_amount,
        )


def test_a_preview_the_ledger_refuses_books_nothing_and_says_why(
    demo_container: Container,
) -> None:
    ctx = ctx_of(demo_container)
    with demo_container.uow() as uow:
        previewed = desk_blocks.preview_block(
            uow,
            ctx,
            195,
            method=Method.EQUAL,
            participants=[Participant("1574444-01", None), Participant("987558-01", None)],
        )
        outcome = desk_blocks.book_preview(uow, ctx, previewed, "T3")
    assert [error.errors for error in outcome.errors] == [
        ("Insufficient position: account 1574444-01 does not hold the 50 BHP it sells",)
    ]
    with demo_container.uow(write=False) as uow:
        assert blocks.get_block(uow, ctx, 195).allocated_quantity == 0
        assert desk_blocks.block_allocations(uow, ctx, 195) == []
