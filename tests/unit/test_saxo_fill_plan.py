"""What each participant can take of a fill: Reduce, Reject, fees and the average price."""

from __future__ import annotations

from decimal import Decimal

import pytest

from allotment.domain.accounts import Account, AccountRole, AccountStatus, AccountType
from allotment.domain.allocation.fees import FeeSchedule
from allotment.domain.errors import RuleViolation
from allotment.services.saxo.fill_plan import Pricing, need, plan_parts
from allotment.services.saxo.records import Holder, MarginHandling

D = Decimal
BUY = Pricing("Buy", D("10.00"), D("10.00"), D(1), "USD")


def account(account_id: str, *, closed: bool = False, credit: str = "0") -> Account:
    margin = credit != "0"
    return Account(
        id=account_id,
        company_id=1,
        client_id=int(account_id[1:]),
        account_key=f"key-{account_id}",
        type=AccountType.MARGIN if margin else AccountType.CASH,
        role=AccountRole.CLIENT,
        status=AccountStatus.CLOSED if closed else AccountStatus.ACTIVE,
        currency="USD",
        credit_limit=D(credit),
    )


def holder(account_id: str, **figures: Decimal) -> Holder:
    return Holder(block_id=1, account_id=account_id, position=0, target_quantity=D(100), **figures)


def test_a_participant_with_enough_cash_takes_its_whole_part() -> None:
    [part] = plan_parts(
        BUY,
        [(holder("A1"), D(40))],
        {"A1": account("A1")},
        {"A1": D(400)},
        {},
        MarginHandling.REDUCE,
    )
    assert (part.quantity, part.diverted, part.reason) == (D(40), D(0), "")


def test_reduce_gives_the_largest_quantity_the_cash_pays_for_fees_included() -> None:
    schedule = FeeSchedule(commission_minimum=D("5.00"), tax_rate=D("0.10"))
    [part] = plan_parts(
        BUY,
        [(holder("A1"), D(40))],
        {"A1": account("A1")},
        {"A1": D("255.49")},
        {1: schedule},
        MarginHandling.REDUCE,
    )
    # 24 shares cost 240.00 + 5.00 commission + 0.50 tax = 245.50; 25 would cost 255.50.
    assert (part.quantity, part.diverted, part.reason) == (D(24), D(16), "Reduced")
    assert (part.commission, part.tax) == (D("5.00"), D("0.50"))


def test_a_margin_account_may_spend_down_to_its_credit_limit() -> None:
    [part] = plan_parts(
        BUY,
        [(holder("A1"), D(40))],
        {"A1": account("A1", credit="300")},
        {"A1": D(400)},  # 100.00 of cash plus 300.00 of credit, as the caller computes it
        {},
        MarginHandling.REDUCE,
    )
    assert part.quantity == 40


def test_reject_refuses_the_whole_fill_when_any_participant_cannot_pay() -> None:
    with pytest.raises(RuleViolation, match="account A2 cannot take its 60"):
        plan_parts(
            BUY,
            [(holder("A1"), D(40)), (holder("A2"), D(60))],
            {"A1": account("A1"), "A2": account("A2")},
            {"A1": D(400), "A2": D(599)},
            {},
            MarginHandling.REJECT,
        )


def test_a_closed_account_s_part_goes_to_the_error_account_even_under_reject() -> None:
    [part] = plan_parts(
        BUY,
        [(holder("A1"), D(40))],
        {"A1": account("A1", closed=True)},
        {"A1": D(10_000)},
        {},
        MarginHandling.REJECT,
    )
    assert (part.quantity, part.diverted, part.reason) == (D(0), D(40), "AccountClosed")


def test_a_seller_gives_no_more_than_it_holds() -> None:
    sell = Pricing("Sell", D("10.00"), D("10.00"), D(1), "USD")
    [part] = plan_parts(
        sell,
        [(holder("A1"), D(40))],
        {"A1": account("A1")},
        {"A1": D(25)},
        {},
        MarginHandling.REDUCE,
    )
    assert (part.quantity, part.diverted) == (D(25), D(15))


def test_what_a_buyer_owes_is_its_whole_holding_at_the_new_average_less_what_it_paid() -> None:
    # 30 shares bought at 10.00 (300.00); after a fill at 10.10 the average is 10.0625.
    pricing = Pricing("Buy", D("10.10"), D("10.0625"), D(1), "USD")
    earlier = holder("A1", held_quantity=D(30), paid_amount=D("300.00"))
    [part] = plan_parts(
        pricing,
        [(earlier, D(50))],
        {"A1": account("A1")},
        {"A1": D(1000)},
        {},
        MarginHandling.REDUCE,
    )
    assert need(pricing, earlier, part) == D("805.00") - D("300.00")


def test_fees_of_a_later_fill_are_what_the_whole_allocation_adds_never_a_refund() -> None:
    schedule = FeeSchedule(commission_per_share=D("0.01"), commission_minimum=D("5.00"))
    charged = holder("A1", held_quantity=D(300), paid_amount=D("3000.00"), commission=D("5.00"))
    [part] = plan_parts(
        BUY,
        [(charged, D(400))],
        {"A1": account("A1")},
        {"A1": D(10_000)},
        {1: schedule},
        MarginHandling.REDUCE,
    )
    assert part.commission == D("2.00")  # 700 shares: 7.00 in all, 5.00 charged before
