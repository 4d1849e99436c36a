"""Saxo block orders allocated fill by fill, booked on the real ledger (both databases)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from typer.testing import CliRunner

from allotment.adapters.database.repositories import ledger as ledger_repository
from allotment.adapters.database.saxo import blocks as saxo_blocks
from allotment.bootstrap import Container
from allotment.domain.accounts import AccountRole
from allotment.domain.errors import RuleViolation
from allotment.domain.identity import ALL_SCOPES, Principal, PrincipalKind
from allotment.entrypoints.cli import app
from allotment.services import blocks, registry
from allotment.services.context import Context
from allotment.services.journal import ledger
from allotment.services.ports import UnitOfWork
from allotment.services.saxo import fees as saxo_fees
from allotment.services.saxo import keys as saxo
from allotment.services.saxo import orders as saxo_orders
from allotment.services.saxo.records import Holder, KeyStatus, MarginHandling, UnitType
from tests.conftest import SECRET

D = Decimal
OWNER = "LZTc7DdejXODf-WSl2aCyQ=="
SX_2001 = "Hk9Jw0lYxXO7qcBuZMR1bQ=="
SX_2002 = "W1Y2v3E4R5t6y7U8i9O0pA=="


@pytest.fixture
def box(demo_container: Container) -> Container:
    return demo_container


def context(uow: UnitOfWork) -> Context:
    company = uow.identity.company_by_name("Demo Broker")
    assert company is not None
    principal = Principal(company.id, "demo", PrincipalKind.USER, ALL_SCOPES, None)
    return Context(principal, "saxo", datetime.now(UTC))


def key(
    box: Container,
    participants: list[tuple[str, str, int, bool]],
    *,
    margin: MarginHandling = MarginHandling.REDUCE,
    one_time: bool = False,
    priority_policy: bool = False,
) -> str:
    """A Percentage key; participants as (account id, percent, priority, accepts remainder)."""
    from allotment.domain.allocation.fills import FillPolicy

    with box.uow() as uow:
        created = saxo.create_key(
            uow,
            context(uow),
            saxo.KeyDraft(
                name="test key",
                unit_type=UnitType.PERCENTAGE,
                margin_handling=margin,
                one_time=one_time,
                owner_account_key=OWNER,
                participants=[
                    saxo.ParticipantDraft(D(value), priority, accepts, account_id=account_id)
                    for account_id, value, priority, accepts in participants
                ],
                fill_policy=FillPolicy.PRIORITY if priority_policy else FillPolicy.PRO_RATA,
            ),
        )
        uow.commit()
    return str(created.id)


def order(box: Container, key_id: str, amount: int, side: str = "Buy") -> int:
    with box.uow() as uow:
        block = saxo_orders.place_block_order(
            uow,
            context(uow),
            saxo_orders.OrderDraft(OWNER, 4361, "CfdOnStock", side, D(amount), "Market", key_id),
        )
        uow.commit()
    assert block.id is not None
    return block.id


def fill(box: Container, block_id: int, quantity: int, price: str) -> None:
    with box.uow() as uow:
        blocks.report_fill(
            uow,
            context(uow),
            block_id,
            blocks.FillInput(D(quantity), D(price)),
            listeners=box.fill_listeners,
        )
        uow.commit()


def holders(box: Container, block_id: int) -> dict[str, Holder]:
    with box.uow(write=False) as uow:
        return {h.account_id: h for h in uow.saxo.holders(block_id)}


def balances(box: Container, account_id: str) -> tuple[Decimal, Decimal | None, Decimal]:
    """(position in CFD4361, its average cost, USD cash) of an account."""
    with box.uow(write=False) as uow:
        found = ledger.account_balances(uow, context(uow), account_id)
        instrument = uow.instruments.by_symbol("CFD4361")
    assert instrument is not None
    position = found.positions.get(str(instrument.id))
    cash = found.cash.get("USD")
    return (
        position.quantity if position else D(0),
        position.average_cost() if position else None,
        cash.quantity if cash else D(0),
    )


def ledger_agrees(box: Container) -> bool:
    with box.uow(write=False) as uow:
        return ledger.check_ledger(uow) == []


def error_account(box: Container) -> str:
    with box.uow(write=False) as uow:
        return registry.house_account(uow, context(uow).company_id, AccountRole.ERROR).id


@pytest.fixture
def cli(
    box: Container, database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[CliRunner]:
    monkeypatch.setenv("ALLOTMENT_DATABASE_URL", database_url)
    monkeypatch.setenv("ALLOTMENT_SECRET_KEY", SECRET)
    monkeypatch.setenv("ALLOTMENT_VAR_DIR", str(tmp_path / "cli-var"))
    monkeypatch.setenv("ALLOTMENT_LOG_LEVEL", "WARNING")
    yield CliRunner()


def test_a_block_of_1000_on_key_227_filled_three_times_ends_with_both_participants_at_10_06(
    box: Container, cli: CliRunner
) -> None:
    _assert_three_fills_of_1000_on_key_227_end_at_10_06(box, cli)


def _assert_three_fills_of_1000_on_key_227_end_at_10_06(box: Container, cli: CliRunner) -> None:
    block_id = order(box, "227", 1000)
    filled = 0
    for quantity, price in ((300, "10.00"), (500, "10.10"), (200, "10.05")):
        fill(box, block_id, quantity, price)
        filled += quantity
        now = holders(box, block_id)
        assert abs(now["SX-2001"].held_quantity - D(filled) / 10) <= 1
        assert abs(now["SX-2002"].held_quantity - D(filled) * 9 / 10) <= 1
        assert now["SX-2001"].held_quantity + now["SX-2002"].held_quantity == filled
    assert balances(box, "SX-2001") == (D(100), D("10.06"), D("1000000.00") - D("1006.00"))
    assert balances(box, "SX-2002") == (D(900), D("10.06"), D("1000000.00") - D("9054.00"))
    assert balances(box, "SAXO-AVG") == (D(0), None, D(0))
    with box.uow(write=False) as uow:
        block = uow.blocks.get(context(uow).company_id, block_id)
        assert block is not None and blocks.average_price(block) == D("10.06")
        assert block.allocated_quantity == 1000
        details = saxo_orders.block_details(uow, context(uow), block)["saxo"]
    assert [p["average_price"] for p in details["participants"]] == ["10.060000"] * 2
    assert [p["deviation"] for p in details["participants"]] == ["0.000000"] * 2
    assert ledger_agrees(box)
    result = cli.invoke(app, ["ledger", "check"])
    assert result.exit_code == 0, result.output


def test_the_three_fills_end_the_same_when_every_set_based_write_goes_through_a_staging_table(
    box: Container, cli: CliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Large fills write balances and holders from a COPY-filled staging table on PostgreSQL
    (STAGE_THRESHOLD rows and more); here every write does."""
    monkeypatch.setattr(ledger_repository, "STAGE_THRESHOLD", 1)
    monkeypatch.setattr(saxo_blocks, "STAGE_THRESHOLD", 1)

    _assert_three_fills_of_1000_on_key_227_end_at_10_06(box, cli)


def test_reduce_gives_a_participant_short_of_cash_what_it_can_pay_and_the_rest_to_the_error_account(
    box: Container,
) -> None:
    with box.uow() as uow:
        ledger.move_cash(uow, context(uow), "SX-2001", D("999750.00"), deposit=False)
        uow.commit()
    block_id = order(box, "227", 1000)
    fill(box, block_id, 1000, "10.00")
    now = holders(box, block_id)
    error = error_account(box)
    assert now["SX-2001"].held_quantity == 25  # 250.00 of cash buys 25 shares at 10.00
    assert now["SX-2001"].allocated_quantity == 100  # its part, the rest on the error account
    assert now[error].held_quantity == 75
    assert balances(box, "SX-2001") == (D(25), D("10.00"), D(0))
    assert balances(box, "SX-2002")[0] == 900
    assert balances(box, error)[0] == 75
    assert balances(box, "SAXO-AVG") == (D(0), None, D(0))
    assert ledger_agrees(box)


def test_reject_refuses_the_whole_fill_and_books_nothing(box: Container) -> None:
    key_id = key(
        box, [("SX-2001", "10", 1, True), ("SX-2002", "90", 1, False)], margin=MarginHandling.REJECT
    )
    with box.uow() as uow:
        ledger.move_cash(uow, context(uow), "SX-2002", D("999000.00"), deposit=False)
        uow.commit()
    block_id = order(box, key_id, 1000)
    with pytest.raises(RuleViolation, match="MarginHandling Reject: account SX-2002"):
        fill(box, block_id, 1000, "10.00")
    with box.uow(write=False) as uow:
        block = uow.blocks.get(context(uow).company_id, block_id)
        assert block is not None and block.filled_quantity == 0
        assert uow.blocks.fills(block_id) == []
        assert uow.allocations.list(context(uow).company_id, None, block_id=block_id) == []
    assert balances(box, "SX-2001") == (D(0), None, D("1000000.00"))
    assert balances(box, "SAXO-AVG") == (D(0), None, D(0))
    assert ledger_agrees(box)


def test_a_participant_whose_account_closed_after_the_order_is_booked_to_the_error_account(
    box: Container,
) -> None:
    block_id = order(box, "227", 100)
    with box.uow() as uow:
        registry.close_account(uow, context(uow), "SX-2002")
        uow.commit()
    fill(box, block_id, 100, "10.00")
    now = holders(box, block_id)
    error = error_account(box)
    assert now["SX-2001"].held_quantity == 10
    assert now["SX-2002"].held_quantity == 0
    assert now[error].held_quantity == 90
    assert balances(box, error)[0] == 90
    with box.uow(write=False) as uow:
        assert saxo.key_view(uow, context(uow), "227").is_valid is False
    assert ledger_agrees(box)


def test_a_participant_whose_booking_the_ledger_refuses_is_booked_to_the_error_account(
    box: Container, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The affordability check reads balances without a lock; should the cash go meanwhile,
    # the booking itself refuses the part, and the error account takes it.
    from allotment.services.saxo import fills as saxo_fills

    block_id = order(box, "227", 100)
    with box.uow() as uow:
        ledger.move_cash(uow, context(uow), "SX-2002", D("1000000.00"), deposit=False)
        uow.commit()
    monkeypatch.setattr(
        saxo_fills,
        "_available",
        lambda buying, ids, accounts, balances: dict.fromkeys(ids, D(10**9)),
    )
    fill(box, block_id, 100, "10.00")
    now = holders(box, block_id)
    error = error_account(box)
    assert (now["SX-2002"].held_quantity, now["SX-2002"].allocated_quantity) == (0, 90)
    assert now[error].held_quantity == 90
    assert balances(box, "SX-2002") == (D(0), None, D(0))
    assert balances(box, error)[0] == 90
    assert ledger_agrees(box)


def test_a_one_time_key_becomes_inactive_once_its_order_is_placed(box: Container) -> None:
    key_id = key(box, [("SX-2001", "50", 1, True), ("SX-2002", "50", 1, False)], one_time=True)
    with box.uow(write=False) as uow:
        assert saxo.key_view(uow, context(uow), key_id).key.status is KeyStatus.ONE_TIME
    order(box, key_id, 10)
    with box.uow(write=False) as uow:
        assert saxo.key_view(uow, context(uow), key_id).key.status is KeyStatus.INACTIVE
    with pytest.raises(RuleViolation, match="is Inactive"):
        order(box, key_id, 10)


def test_fees_follow_each_client_s_schedule_and_land_on_the_fee_account(box: Container) -> None:
    with box.uow() as uow:
        ctx = context(uow)
        saxo_fees.put_schedule(
            uow,
            ctx,
            None,
            saxo_fees.FeeTerms(commission_per_share=D("0.01"), commission_minimum=D("5.00")),
        )
        saxo_fees.put_schedule(uow, ctx, 2002, saxo_fees.FeeTerms(commission_rate=D("0.001")))
        uow.commit()
    block_id = order(box, "227", 1000)
    fill(box, block_id, 1000, "10.00")
    now = holders(box, block_id)
    assert (now["SX-2001"].commission, now["SX-2001"].tax) == (D("5.00"), D("0.50"))  # minimum
    assert (now["SX-2002"].commission, now["SX-2002"].tax) == (D("9.00"), D("0.90"))  # 0.1 %
    assert balances(box, "SX-2001")[2] == D("1000000.00") - D("1000.00") - D("5.50")
    assert balances(box, "SX-2002")[2] == D("1000000.00") - D("9000.00") - D("9.90")
    with box.uow(write=False) as uow:
        fee = registry.house_account(uow, context(uow).company_id, AccountRole.FEE).id
    assert balances(box, fee)[2] == D("15.40")
    assert ledger_agrees(box)


def test_with_the_priority_policy_priority_one_fills_first_and_both_end_at_the_average(
    box: Container,
) -> None:
    key_id = key(
        box, [("SX-2001", "60", 1, True), ("SX-2002", "40", 2, False)], priority_policy=True
    )
    block_id = order(box, key_id, 1000)
    fill(box, block_id, 500, "10.00")
    assert holders(box, block_id)["SX-2002"].held_quantity == 0
    fill(box, block_id, 500, "11.00")
    assert balances(box, "SX-2001") == (D(600), D("10.50"), D("1000000.00") - D("6300.00"))
    assert balances(box, "SX-2002") == (D(400), D("10.50"), D("1000000.00") - D("4200.00"))
    assert balances(box, "SAXO-AVG") == (D(0), None, D(0))
    assert ledger_agrees(box)


def test_a_participant_holding_the_instrument_already_keeps_the_cost_of_its_other_shares(
    box: Container,
) -> None:
    with box.uow() as uow:
        instrument = uow.instruments.by_symbol("CFD4361")
        assert instrument is not None
        ledger.open_position(uow, context(uow), "SX-2001", instrument, D(50), D("9.00"))
        uow.commit()
    key_id = key(
        box, [("SX-2001", "60", 1, True), ("SX-2002", "40", 2, False)], priority_policy=True
    )
    block_id = order(box, key_id, 1000)
    fill(box, block_id, 500, "10.00")
    fill(box, block_id, 500, "11.00")
    quantity, average_cost, cash = balances(box, "SX-2001")
    # 50 shares at 9.00 plus 600 at the block's 10.50: 6,750.00 for 650 shares.
    assert quantity == 650
    assert average_cost is not None
    assert abs(average_cost * 650 - D("6750")) < D("0.000001")
    assert cash == D("1000000.00") - D("6300.00")
    assert ledger_agrees(box)


def test_the_cash_residue_of_average_pricing_goes_to_the_error_account(box: Container) -> None:
    key_id = key(
        box,
        [
            ("SX-2001", "33.333333333333336", 1, True),
            ("SX-2002", "33.333333333333336", 2, True),
            ("6688", "33.333333333333336", 3, True),
        ],
    )
    block_id = order(box, key_id, 3)
    fill(box, block_id, 1, "10.00")
    fill(box, block_id, 2, "10.01")
    # 30.02 over 3 shares is 10.006667 each: every participant pays 10.01, one cent more than
    # the block cost in all, and the error account keeps that cent.
    for account_id, cash in (
        ("SX-2001", "1000000.00"),
        ("SX-2002", "1000000.00"),
        ("6688", "100000.00"),
    ):
        assert balances(box, account_id) == (D(1), D("10.006667"), D(cash) - D("10.01"))
    assert balances(box, "SAXO-AVG") == (D(0), None, D(0))
    assert balances(box, error_account(box))[2] == D("0.01")
    assert ledger_agrees(box)


def test_a_sale_block_takes_each_participant_s_shares_at_the_average_price(box: Container) -> None:
    with box.uow() as uow:
        ctx = context(uow)
        instrument = uow.instruments.by_symbol("CFD4361")
        assert instrument is not None
        ledger.open_position(uow, ctx, "SX-2001", instrument, D(100), D("9.00"))
        ledger.open_position(uow, ctx, "SX-2002", instrument, D(900), D("9.00"))
        uow.commit()
    sell_key = key(box, [("SX-2001", "10", 1, True), ("SX-2002", "90", 1, False)])
    block_id = order(box, sell_key, 1000, side="Sell")
    fill(box, block_id, 400, "10.00")
    fill(box, block_id, 600, "10.05")
    assert balances(box, "SX-2001")[::2] == (D(0), D("1000000.00") + D("1003.00"))
    assert balances(box, "SX-2002")[::2] == (D(0), D("1000000.00") + D("9027.00"))
    assert balances(box, "SAXO-AVG")[::2] == (D(0), D(0))
    assert ledger_agrees(box)
