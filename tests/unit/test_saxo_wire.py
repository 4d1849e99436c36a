"""The Saxo wire format: exact JSON numbers and ModelState names."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from pydantic import ValidationError

from allotment.entrypoints.http.saxo.wire import KeyIn, encode, model_state


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (Decimal("10"), "10"),
        (Decimal("90.00"), "90"),
        (Decimal("33.333333333333336"), "33.333333333333336"),
        (Decimal("100.000000000000008"), "100.000000000000008"),
        (Decimal("1E+3"), "1000"),
        (Decimal("0.10"), "0.1"),
    ],
)
def test_decimals_are_written_as_json_numbers_with_their_own_digits(
    value: Decimal, text: str
) -> None:
    assert encode(value) == text


def test_answers_mix_numbers_text_booleans_and_utc_times() -> None:
    moment = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    assert encode({"A": [Decimal(2), True, None, "é"], "T": moment}) == (
        '{"A":[2,true,null,"é"],"T":"2026-01-02T03:04:05Z"}'
    )


def test_model_state_names_the_offending_field_the_way_saxo_does() -> None:
    with pytest.raises(ValidationError) as caught:
        KeyIn.model_validate(
            {
                "AllocationUnitType": "Percentage",
                "MarginHandling": "Reduce",
                "OneTime": False,
                "OwnerAccountKey": "k",
                "ParticipatingAccountsInfo": [
                    {
                        "AcceptRemainderAmount": True,
                        "AccountKey": "a",
                        "Priority": 1,
                        "UnitValue": -1,
                    }
                ],
            }
        )
    state = model_state(caught.value)
    assert state["AllocationKeyName"] == ["The AllocationKeyName field is required."]
    assert "UnitValue" in state["ParticipatingAccountsInfo[0].UnitValue"][0]
