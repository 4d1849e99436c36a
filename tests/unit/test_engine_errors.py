"""Every refusal is a typed EngineError with a code, the facts, and a message a human can act on."""

from __future__ import annotations

from decimal import Decimal

import pytest

from allotment.domain.allocation import errors
from allotment.domain.allocation.engine import Method, Participant, SplitRequest, split
from allotment.domain.allocation.fills import FillTarget, allocate_fill
from allotment.domain.allocation.pricing import Fill, average_price
from allotment.domain.allocation.vectorized import may_have_duplicates
from allotment.domain.errors import InvalidInstruction


def request(total: str = "100", *participants: Participant, **options: object) -> SplitRequest:
    people = participants or (Participant("a", Decimal(50)), Participant("b", Decimal(50)))
    method = options.pop("method", Method.PERCENTAGE)
    return SplitRequest(Decimal(total), people, method, **options)  # type: ignore[arg-type]


def test_percentages_that_do_not_total_100_are_refused_with_their_total() -> None:
    people = (Participant("a", Decimal(60)), Participant("b", Decimal("39.5")))
    with pytest.raises(errors.PercentagesDoNotTotal100) as caught:
        split(request("100", *people))
    assert caught.value.total == Decimal("99.5")
    assert caught.value.code == "PercentagesDoNotTotal100"
    assert str(caught.value) == "percentages must total 100, they total 99.5"


def test_percentages_a_little_more_than_1e_minus_9_off_are_refused() -> None:
    people = (Participant("a", Decimal("50.000000002")), Participant("b", Decimal(50)))
    with pytest.raises(errors.PercentagesDoNotTotal100):
        split(request("100", *people))


def test_a_negative_weight_is_refused_naming_the_participant() -> None:
    people = (Participant("a", Decimal(3)), Participant("b", Decimal("-1")))
    with pytest.raises(errors.NegativeWeight) as caught:
        split(request("10", *people, method=Method.RATIO))
    assert (caught.value.key, caught.value.value) == ("b", Decimal(-1))
    assert "'b'" in str(caught.value)


def test_a_weight_that_is_not_a_number_is_refused() -> None:
    people = (Participant("a", Decimal(3)), Participant("b", Decimal("NaN")))
    with pytest.raises(errors.InvalidWeight) as caught:
        split(request("10", *people, method=Method.RATIO))
    assert caught.value.key == "b"


def test_zero_participants_are_refused() -> None:
    with pytest.raises(errors.NoParticipants) as caught:
        split(SplitRequest(Decimal(10), (), Method.EQUAL))
    assert caught.value.code == "NoParticipants"


def test_an_increment_that_does_not_divide_the_total_is_refused() -> None:
    with pytest.raises(errors.IncrementDoesNotDivide) as caught:
        split(request("100.5"))
    assert (caught.value.total, caught.value.increment) == (Decimal("100.5"), Decimal(1))
    assert str(caught.value) == "the quantity 100.5 is not a multiple of the increment 1"


def test_a_zero_or_negative_increment_is_refused() -> None:
    with pytest.raises(errors.InvalidIncrement):
        split(request("100", increment=Decimal(0)))


def test_a_round_lot_that_is_not_a_multiple_of_the_increment_is_refused() -> None:
    with pytest.raises(errors.InvalidRoundLot):
        split(request("100", round_lot=Decimal("2.5")))


def test_duplicate_keys_are_refused_naming_the_key() -> None:
    people = (Participant("a", Decimal(50)), Participant("a", Decimal(50)))
    with pytest.raises(errors.DuplicateParticipant) as caught:
        split(request("100", *people))
    assert caught.value.key == "a"
    assert str(caught.value) == "participant 'a' appears more than once"


def test_ratios_that_add_up_to_zero_are_refused() -> None:
    people = (Participant("a", Decimal(0)), Participant("b", Decimal(0)))
    with pytest.raises(errors.ZeroTotalWeight):
        split(request("10", *people, method=Method.RATIO))


def test_a_negative_total_is_refused() -> None:
    with pytest.raises(errors.InvalidQuantity):
        split(request("-1"))


def test_a_cash_split_without_a_price_is_refused() -> None:
    with pytest.raises(errors.InvalidPrice):
        split(request("10", method=Method.CASH))


def test_a_fill_for_an_unknown_participant_is_refused() -> None:
    targets = [FillTarget("a", Decimal(10))]
    with pytest.raises(errors.UnknownParticipant):
        allocate_fill(targets, {"zz": Decimal(1)}, Decimal(1))


def test_an_average_price_needs_fills() -> None:
    with pytest.raises(errors.NoFills):
        average_price([])
    with pytest.raises(errors.InvalidPrice):
        average_price([Fill(Decimal(1), Decimal(0))])


def test_every_engine_error_is_an_invalid_instruction_with_a_code_named_after_its_class() -> None:
    for name in dir(errors):
        kind = getattr(errors, name)
        if isinstance(kind, type) and issubclass(kind, errors.EngineError):
            assert issubclass(kind, InvalidInstruction)
            assert not issubclass(kind, ValueError)
            assert kind.code == kind.__name__


def test_a_duplicate_among_thousands_of_keys_is_found() -> None:
    people = [Participant(f"acc-{i}", Decimal(1)) for i in range(5_000)]
    people.append(Participant("acc-1234", Decimal(1)))
    with pytest.raises(errors.DuplicateParticipant) as caught:
        split(SplitRequest(Decimal(10), tuple(people), Method.EQUAL))
    assert caught.value.key == "acc-1234"


def test_the_hashed_duplicate_check_finds_a_duplicate_and_passes_distinct_keys() -> None:
    distinct = [f"acc-{i}" for i in range(5_000)]
    assert not may_have_duplicates(iter(distinct), len(distinct))
    with_duplicate = [*distinct, "acc-4321"]
    assert may_have_duplicates(iter(with_duplicate), len(with_duplicate))
