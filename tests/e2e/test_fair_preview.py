"""The Fair remainder policy through the native preview: chosen per request, carried deviations
in, each participant's new cumulative deviation out."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.conftest import bearer

PREVIEW = "/api/v1/allocations/preview"
THREE_EQUAL = [{"key": key, "weight": "1"} for key in ("a", "b", "c")]


def test_fair_gives_the_odd_share_to_the_participant_furthest_behind(client: TestClient) -> None:
    body = {
        "method": "Ratio",
        "total": "1",
        "participants": THREE_EQUAL,
        "remainder_policy": "Fair",
        "carried_deviations": {"a": "2/3", "b": "-1/3", "c": "-1/3"},
    }
    answer = client.post(PREVIEW, json=body, headers=bearer(client))
    assert answer.status_code == 200, answer.text
    found = answer.json()
    assert [part["quantity"] for part in found["parts"]] == ["0", "1", "0"]
    explanation = found["explanation"]
    assert explanation["remainder_policy"] == "Fair"
    cumulative = {
        row["key"]: row["cumulative_deviation_increments"] for row in explanation["participants"]
    }
    assert cumulative == {"a": "1/3", "b": "1/3", "c": "-2/3"}


def test_largest_remainder_stays_the_default_and_gives_the_first_key_the_odd_share(
    client: TestClient,
) -> None:
    body = {"method": "Ratio", "total": "1", "participants": THREE_EQUAL}
    answer = client.post(PREVIEW, json=body, headers=bearer(client))
    assert answer.status_code == 200, answer.text
    assert [part["quantity"] for part in answer.json()["parts"]] == ["1", "0", "0"]
    assert answer.json()["explanation"]["remainder_policy"] == "LargestRemainder"


def test_a_carried_deviation_that_is_not_an_exact_number_is_refused(client: TestClient) -> None:
    for bad in ("1/0", "one", "1e5", "0x10"):
        body = {
            "method": "Ratio",
            "total": "1",
            "participants": THREE_EQUAL,
            "remainder_policy": "Fair",
            "carried_deviations": {"a": bad},
        }
        answer = client.post(PREVIEW, json=body, headers=bearer(client))
        assert answer.status_code == 422, (bad, answer.text)
