"""Saxo allocation keys on the desk: created with Saxo's rules (errors beside the field),
listed, deactivated; the advisor sees no key with another client's participant."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient

from tests.desk.support import log_in

OWNER = "LZTc7DdejXODf-WSl2aCyQ=="
"""The demo's SAXO-AVG average account."""


def key_form(token: str, **rows: str) -> dict[str, str]:
    return {
        "csrf_token": token,
        "name": "desk key",
        "unit_type": "Percentage",
        "margin_handling": "Reduce",
        "owner": OWNER,
        **rows,
    }


def test_a_key_is_created_listed_and_deactivated(desk: TestClient) -> None:
    token = log_in(desk)
    created = desk.post(
        "/desk/keys",
        data=key_form(
            token,
            **{"account-0": "SX-2001", "value-0": "60", "remainder-0": "yes"},
            **{"account-1": "SX-2002", "value-1": "40"},
        ),
    )
    assert created.status_code == 303
    key_id = created.headers["location"].rsplit("=", 1)[1]
    listed = desk.get("/desk/keys").text
    assert re.search(rf"<td>{key_id}</td><td>desk key</td><td>Percentage</td>", listed)
    gone = desk.post(f"/desk/keys/{key_id}/deactivate", data={"csrf_token": token})
    assert gone.status_code == 303
    assert f"<td>{key_id}</td><td>desk key</td>" not in desk.get("/desk/keys").text


def test_a_key_breaking_saxos_rules_is_refused_beside_its_field(desk: TestClient) -> None:
    token = log_in(desk)
    refused = desk.post(
        "/desk/keys",
        data=key_form(token, **{"account-0": "SX-2001", "value-0": "60"}),
    )
    assert refused.status_code == 409  # a rule broken, as the API answers it
    assert 'id="participants-error" class="error" role="alert"' in refused.text
    assert 'value="60"' in refused.text  # what was typed stays


def test_the_advisor_cannot_create_a_key_for_another_client(desk: TestClient) -> None:
    token = log_in(desk, "advisor", "advisor")
    refused = desk.post(
        "/desk/keys",
        data=key_form(token, **{"account-0": "987558-01", "value-0": "100", "remainder-0": "yes"}),
    )
    assert refused.status_code == 403, re.findall(r'role="alert">([^<]*)', refused.text)
    assert "not authorised" in refused.text
