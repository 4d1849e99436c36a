"""The book-building dialect (CAS Allocations v4) end to end, with client-credentials tokens."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
from fastapi.testclient import TestClient

from allotment.services.bookbuilding.demo import DEAL_ID, TRANCHE_ID, demo_id

ROOT = "/book-building/allocations"
V4 = f"{ROOT}/v4/allocations"
BOTH = "allocations-read allocations-write"


def cas_token(client: TestClient, scope: str = BOTH) -> dict[str, str]:
    response = client.post(
        "/connect/token",
        data={
            "grant_type": "client_credentials",
            "client_id": "demo-client",
            "client_secret": "demo-secret",
            "scope": scope,
        },
    )
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


@pytest.fixture
def cas(client: TestClient) -> dict[str, str]:
    return cas_token(client)


def allocation(**changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "dealId": DEAL_ID,
        "trancheId": TRANCHE_ID,
        "investorAccountId": demo_id("investor-alpha"),
        "indicationId": demo_id("indication-alpha"),
        "sourceId": f"src-{uuid.uuid4()}",
        "sourceRowVersion": "1",
        "allocationValue": {"type": "quantity", "data": {"amount": 1000}},
        "distributionType": "manual",
    }
    body.update(changes)
    return body


def create(client: TestClient, headers: dict[str, str], **changes: Any) -> dict[str, Any]:
    response = client.post(V4, json=allocation(**changes), headers=headers)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


def test_a_create_get_patch_put_search_delete_round_trip_works_with_a_client_token(
    client: TestClient, cas: dict[str, str]
) -> None:
    created = create(client, cas, sourceId="round-trip-1")
    uuid.UUID(created["id"])
    assert created["companyId"] > 0
    assert created["createdBy"] == "demo-client"
    assert created["lastModifiedBy"] == "demo-client"
    assert created["createdDateTime"].endswith("Z")
    assert created["orderStatus"] == "pending"
    assert created["allocationValue"] == {"type": "quantity", "data": {"amount": 1000}}

    fetched = client.get(f"{V4}/{created['id']}", headers=cas)
    assert fetched.status_code == 200
    assert fetched.json() == created

    patch = [
        {"op": "replace", "path": "/allocationValue/data/amount", "value": 1500.5},
        {"op": "replace", "path": "/sourceRowVersion", "value": "2"},
        {"op": "add", "path": "/comment", "value": {"comments": [
            {"commentType": "public", "comment": "scaled up"}]}},
    ]  # fmt: skip
    patched = client.patch(
        f"{V4}/{created['id']}",
        content=json.dumps(patch),
        headers={**cas, "Content-Type": "application/json-patch+json"},
    )
    assert patched.status_code == 200, patched.text
    assert patched.json()["allocationValue"]["data"]["amount"] == 1500.5
    assert patched.json()["comment"]["comments"][0]["lastModifiedBy"] == "demo-client"

    replacement = {**patched.json(), "sourceRowVersion": "3", "orderStatus": "delivered"}
    put = client.put(V4, json=replacement, headers=cas)
    assert put.status_code == 200, put.text
    assert put.json()["orderStatus"] == "delivered"
    assert put.json()["createdDateTime"] == created["createdDateTime"]

    search = client.post(
        f"{V4}/search",
        json={"criteria": [{"field": "sourceId", "operator": "=", "value": "round-trip-1"}]},
        headers=cas,
    )
    assert search.status_code == 200, search.text
    assert search.json()["totalCount"] == 1
    assert search.json()["items"][0]["sourceRowVersion"] == "3"

    # A delivered allocation waits in deletePending; deleting it again removes nothing more.
    pending = client.delete(V4, params={"sourceId": "round-trip-1"}, headers=cas)
    assert pending.status_code == 200
    assert pending.json()["orderStatus"] == "deletePending"
    assert client.get(f"{V4}/{created['id']}", headers=cas).json()["orderStatus"] == (
        "deletePending"
    )


def test_deleting_a_pending_allocation_by_source_id_removes_it(
    client: TestClient, cas: dict[str, str]
) -> None:
    created = create(client, cas, sourceId="to-remove")
    response = client.delete(V4, params={"sourceId": "to-remove"}, headers=cas)
    assert response.status_code == 200
    assert response.content == b""
    assert client.get(f"{V4}/{created['id']}", headers=cas).status_code == 404
    assert client.delete(V4, params={"sourceId": "to-remove"}, headers=cas).status_code == 404


def test_deleting_by_id_removes_a_pending_allocation(
    client: TestClient, cas: dict[str, str]
) -> None:
    created = create(client, cas)
    assert client.delete(f"{V4}/{created['id']}", headers=cas).status_code == 200
    assert client.get(f"{V4}/{created['id']}", headers=cas).status_code == 404


SCOPE_CASES = [
    ("allocations-write", "POST", "/search"),
    ("allocations-write", "GET", f"/{uuid.uuid4()}"),
    ("allocations-read", "POST", ""),
    ("allocations-read", "PUT", ""),
    ("allocations-read", "PATCH", f"/{uuid.uuid4()}"),
    ("allocations-read", "DELETE", f"/{uuid.uuid4()}"),
    ("allocations-read", "DELETE", "?sourceId=x"),
]


def test_each_endpoint_answers_403_to_a_token_without_its_scope(client: TestClient) -> None:
    tokens = {
        scope: cas_token(client, scope) for scope in ("allocations-read", "allocations-write")
    }
    for scope, method, path in SCOPE_CASES:
        body: Any = allocation()
        if method == "PATCH":
            body = []
        elif path == "/search":
            body = {}
        response = client.request(method, V4 + path, json=body, headers=tokens[scope])
        assert response.status_code == 403, (method, path, response.text)
        assert response.headers["content-type"] == "application/problem+json"
        assert response.json()["status"] == 403


def test_a_request_without_a_valid_token_answers_401(client: TestClient) -> None:
    assert client.post(f"{V4}/search", json={}).status_code == 401
    bad = {"Authorization": "Bearer not-a-token"}
    response = client.get(f"{V4}/{uuid.uuid4()}", headers=bad)
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"


def test_a_stale_source_row_version_answers_409_and_changes_nothing(
    client: TestClient, cas: dict[str, str]
) -> None:
    created = create(client, cas, sourceRowVersion="10")
    stale_put = {**created, "sourceRowVersion": "9", "allocationValue": {
        "type": "quantity", "data": {"amount": 5}}}  # fmt: skip
    assert client.put(V4, json=stale_put, headers=cas).status_code == 409
    stale_patch = [
        {"op": "replace", "path": "/sourceRowVersion", "value": "2"},
        {"op": "replace", "path": "/allocationValue/data/amount", "value": 7},
    ]
    response = client.patch(f"{V4}/{created['id']}", json=stale_patch, headers=cas)
    assert response.status_code == 409, response.text
    assert "sourceRowVersion" in response.json()["errors"]
    assert client.get(f"{V4}/{created['id']}", headers=cas).json() == created
    # Integers compare as integers: 10 < 11 although "10" < "9" as text.
    newer = client.put(V4, json={**created, "sourceRowVersion": "11"}, headers=cas)
    assert newer.status_code == 200
    # Text versions compare as text.
    text_version = create(client, cas, sourceRowVersion="b")
    assert (
        client.put(V4, json={**text_version, "sourceRowVersion": "a"}, headers=cas).status_code
        == 409
    )


INVALID_PATCHES = [
        ([{"op": "replace", "path": "/allocationValue/data/amount", "value": -1}],
         "allocationValue.data.amount"),
        ([{"op": "replace", "path": "/orderStatus", "value": "shipped"}], "orderStatus"),
        ([{"op": "replace", "path": "/orderStatus", "value": "successful"}], "orderStatus"),
        ([{"op": "remove", "path": "/allocationValue"}], "allocationValue"),
        ([{"op": "add", "path": "/colour", "value": "red"}], "colour"),
        ([{"op": "replace", "path": "/dealId", "value": str(uuid.uuid4())}], "dealId"),
        ([{"op": "replace", "path": "/id", "value": str(uuid.uuid4())}], "id"),
        ([{"op": "remove", "path": "/nothing/here"}], "[0].path"),
        ([{"op": "replace", "path": "/allocationValue/type", "value": "shares"}],
         "allocationValue.type"),
]  # fmt: skip


def test_a_patch_that_would_make_the_allocation_invalid_answers_400_and_changes_nothing(
    client: TestClient, cas: dict[str, str]
) -> None:
    created = create(client, cas)
    for patch, field in INVALID_PATCHES:
        response = client.patch(f"{V4}/{created['id']}", json=patch, headers=cas)
        assert response.status_code == 400, (patch, response.text)
        assert field in response.json()["errors"], (patch, response.text)
    assert client.get(f"{V4}/{created['id']}", headers=cas).json() == created


BAD_INPUT = [
        ({"colour": "red"}, "colour"),
        ({"orderStatus": "done"}, "orderStatus"),
        ({"distributionType": "random"}, "distributionType"),
        ({"allocationValue": {"type": "cash", "data": {"amount": -5}}},
         "allocationValue.data.amount"),
        ({"allocationValue": {"type": "cash", "data": {"amount": "many"}}},
         "allocationValue.data.amount"),
        ({"allocationValue": {"type": "cash", "data": {"amount": 1}, "extra": 1}},
         "allocationValue.extra"),
        ({"comment": {"comments": [{"commentType": "secret", "comment": "x"}]}},
         "comment.comments[0].commentType"),
        ({"detail": {"order": {"affirmation": {"isAffirmed": "yes"}}}},
         "detail.order.affirmation.isAffirmed"),
        ({"trancheId": str(uuid.uuid4())}, "trancheId"),
        ({"investorAccountId": str(uuid.uuid4())}, "investorAccountId"),
        ({"indicationId": demo_id("indication-beta")}, "indicationId"),
        ({"companyId": 999999}, "companyId"),
        ({"dealId": None}, "dealId"),
]  # fmt: skip


def test_bad_input_answers_400_naming_the_field(client: TestClient, cas: dict[str, str]) -> None:
    for changes, field in BAD_INPUT:
        response = client.post(V4, json=allocation(**changes), headers=cas)
        assert response.status_code == 400, (changes, response.text)
        body = response.json()
        assert response.headers["content-type"] == "application/problem+json"
        assert body["status"] == 400
        assert field in body["errors"], (changes, body)
    search = client.post(f"{V4}/search", json={}, headers=cas)
    assert search.json()["totalCount"] == 0  # nothing was created


def test_a_source_id_is_unique_within_the_company(client: TestClient, cas: dict[str, str]) -> None:
    create(client, cas, sourceId="dup")
    response = client.post(V4, json=allocation(sourceId="dup"), headers=cas)
    assert response.status_code == 409
    assert "sourceId" in response.json()["errors"]


def test_the_order_status_follows_its_lifecycle(client: TestClient, cas: dict[str, str]) -> None:
    created = create(client, cas)
    path = f"{V4}/{created['id']}"

    def move(status: str) -> int:
        patch = [{"op": "replace", "path": "/orderStatus", "value": status}]
        return client.patch(path, json=patch, headers=cas).status_code

    assert move("failed") == 400  # pending cannot fail before it is delivered
    assert move("delivered") == 200
    assert move("pending") == 400
    assert move("successful") == 200
    assert move("failed") == 400
    assert client.get(path, headers=cas).json()["orderStatus"] == "successful"


def test_affirmation_is_stamped_with_the_callers_subject(
    client: TestClient, cas: dict[str, str]
) -> None:
    created = create(client, cas, detail={"order": {"affirmation": {"isAffirmed": True}}})
    affirmation = created["detail"]["order"]["affirmation"]
    assert affirmation["isAffirmed"] is True
    assert affirmation["modifiedBy"] == "demo-client"
    assert affirmation["modifiedDateTime"].endswith("Z")


def test_a_patch_accepts_plain_json_and_refuses_other_media_types(
    client: TestClient, cas: dict[str, str]
) -> None:
    created = create(client, cas)
    patch = json.dumps([{"op": "replace", "path": "/indicationGroupId", "value": "g-1"}])
    plain = client.patch(
        f"{V4}/{created['id']}", content=patch, headers={**cas, "Content-Type": "application/json"}
    )
    assert plain.status_code == 200
    assert plain.json()["indicationGroupId"] == "g-1"
    xml = client.patch(
        f"{V4}/{created['id']}", content=patch, headers={**cas, "Content-Type": "text/xml"}
    )
    assert xml.status_code == 415


def test_an_unknown_allocation_answers_404(client: TestClient, cas: dict[str, str]) -> None:
    assert client.get(f"{V4}/{uuid.uuid4()}", headers=cas).status_code == 404
    assert client.get(f"{V4}/not-a-uuid", headers=cas).status_code == 404
    put = client.put(V4, json=allocation(id=str(uuid.uuid4())), headers=cas)
    assert put.status_code == 404


def test_the_health_check_answers_without_a_token(client: TestClient) -> None:
    response = client.get(f"{ROOT}/hc/status")
    assert response.status_code == 200
    assert response.json() == {"status": "Healthy"}


def test_the_swagger_ui_shows_the_allocations_service_alone(client: TestClient) -> None:
    page = client.get(f"{ROOT}/docs/index.html")
    assert page.status_code == 200
    assert "/book-building/allocations/docs/v4/openapi.json" in page.text
    document = client.get(f"{ROOT}/docs/v4/openapi.json").json()
    assert set(document["paths"]) == {
        f"{ROOT}/hc/status",
        f"{V4}/search",
        f"{V4}/{{id}}",
        V4,
    }
    assert "Allocation" in document["components"]["schemas"]


def test_a_create_repeated_with_the_same_idempotency_key_creates_one_allocation(
    client: TestClient, cas: dict[str, str]
) -> None:
    body = allocation(sourceId="idem-1")
    headers = {**cas, "Idempotency-Key": "bb-create-1"}
    first = client.post(V4, json=body, headers=headers)
    again = client.post(V4, json=body, headers=headers)
    assert (first.status_code, again.status_code) == (201, 201)
    assert again.json() == first.json()
    other = client.post(V4, json=allocation(sourceId="idem-2"), headers=headers)
    assert other.status_code == 422
    search = {"criteria": [{"field": "sourceId", "operator": "startsWith", "value": "idem-"}]}
    assert client.post(f"{V4}/search", json=search, headers=cas).json()["totalCount"] == 1
