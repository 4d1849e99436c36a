"""A client written for CAS's Allocations service works unchanged: the seed's example object is
accepted as written, PUT takes its id in the path or the body, SQL Server rowversions compare
as numbers, the token endpoint takes client_secret_basic, and errors name the field in plain
words."""

from __future__ import annotations

import base64
import json
import re
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from fastapi.testclient import TestClient

from allotment.bootstrap import Container
from allotment.domain.bookbuilding import Deal, Indication, InvestorAccount, Tranche, ValueType
from allotment.services.bookbuilding.ports import repository
from allotment.services.demo import COMPANY
from tests.e2e.test_bookbuilding_allocations import V4, cas_token, create

# The Allocation object of the seed's "Example JSON", exactly as the vendor documents it.
SEED_EXAMPLE = """\
{
  "createdBy": "string",
  "createdDateTime": "2020-04-09T04:36:37.423Z",
  "lastModifiedBy": "string",
  "lastModifiedDateTime": "2020-04-09T04:36:37.423Z",
  "dealId": "string",
  "trancheId": "string",
  "sourceId": "string",
  "investorAccountId": "string",
  "indicationId": "string",
  "companyId": 0,
  "sourceRowVersion": "string",
  "orderStatus": "pending",
  "indicationGroupId": "string",
  "statusMessages": [
        {
          "code": "string",
          "message": "string"
        }
  ],
  "allocationValue": {
        "type": "cash",
        "data": {
          "amount": 0
        },
        "overrideAllocation": {
          "type": "cash",
          "data": {
                "amount": 0
          }
        }
  },
  "distributionType": "manual",
  "comment": {
        "comments": [
          {
                "commentType": "public",
                "comment": "string",
                "lastModifiedBy": "string",
                "lastModifiedDateTime": "2020-04-09T04:36:37.423Z"
          }
        ]
  },
  "detail": {
        "order": {
          "affirmation": {
                "isAffirmed": true,
                "modifiedBy": "string",
                "modifiedDateTime": "2020-04-09T04:36:37.423Z"
          }
        }
  }
}
"""
JSON = {"Content-Type": "application/json"}


@pytest.fixture
def cas(client: TestClient) -> dict[str, str]:
    return cas_token(client)


@pytest.fixture
def seed_book(demo_container: Container) -> int:
    """A deal, tranche, investor account and indication whose ids are the example's "string"
    (CAS ids are strings; the native API makes UUIDs, so they are stored directly). Answers
    the demo company's id."""
    now = datetime(2020, 4, 9, tzinfo=UTC)
    with demo_container.uow() as uow:
        company = uow.identity.company_by_name(COMPANY)
        assert company is not None
        book = repository(uow)
        book.add_deal(Deal("string", company.id, "Example deal", "Example issuer", now, "test"))
        book.add_tranche(
            Tranche(
                "string", company.id, "string", "Example tranche", Decimal(1000),
                Decimal("10.00"), "USD", Decimal(0), now, "test",
            )
        )  # fmt: skip
        book.add_investor(InvestorAccount("string", company.id, "Example", False, False, now, "t"))
        book.add_indication(
            Indication(
                "string", company.id, "string", "string", "string", ValueType.CASH,
                Decimal(1000), None, 1, now, "test",
            )
        )  # fmt: skip
        uow.commit()
        return company.id


def post(client: TestClient, headers: dict[str, str], body: Any) -> Any:
    return client.post(V4, content=json.dumps(body), headers={**headers, **JSON})


def test_the_seeds_example_allocation_is_created_as_written(
    client: TestClient, cas: dict[str, str], seed_book: int
) -> None:
    response = client.post(V4, content=SEED_EXAMPLE, headers={**cas, **JSON})
    assert response.status_code == 201, response.text
    created = response.json()
    assert created["companyId"] == seed_book
    assert (created["createdBy"], created["lastModifiedBy"]) == ("demo-client", "demo-client")
    assert created["createdDateTime"] != "2020-04-09T04:36:37.423Z"
    assert created["sourceId"] == "string" and created["sourceRowVersion"] == "string"
    assert created["allocationValue"] == {
        "type": "cash",
        "data": {"amount": 0},
        "overrideAllocation": {"type": "cash", "data": {"amount": 0}},
    }
    assert created["comment"]["comments"][0]["lastModifiedBy"] == "demo-client"
    assert created["detail"]["order"]["affirmation"]["isAffirmed"] is True
    assert client.get(f"{V4}/{created['id']}", headers=cas).json() == created


def test_company_id_may_be_the_callers_own_but_not_another_companys(
    client: TestClient, cas: dict[str, str], seed_book: int
) -> None:
    example = json.loads(SEED_EXAMPLE)
    own = post(client, cas, {**example, "companyId": seed_book})
    assert own.status_code == 201, own.text
    other = post(client, cas, {**example, "sourceId": "other", "companyId": seed_book + 1})
    assert other.status_code == 400, other.text
    assert list(other.json()["errors"]) == ["companyId"]
    assert "companyId" in other.json()["detail"]
    assert post(client, cas, {**example, "sourceId": "t", "companyId": "x"}).status_code == 400


def test_put_takes_the_id_in_the_path_as_well_as_in_the_body(
    client: TestClient, cas: dict[str, str]
) -> None:
    created = create(client, cas, sourceRowVersion="1")
    by_path = {**created, "sourceRowVersion": "2", "orderStatus": "delivered"}
    del by_path["id"]
    response = client.put(f"{V4}/{created['id']}", json=by_path, headers=cas)
    assert response.status_code == 200, response.text
    assert (response.json()["id"], response.json()["orderStatus"]) == (created["id"], "delivered")
    both = {**response.json(), "sourceRowVersion": "3"}
    assert client.put(f"{V4}/{created['id']}", json=both, headers=cas).status_code == 200
    assert client.put(V4, json={**both, "sourceRowVersion": "4"}, headers=cas).status_code == 200


def test_put_refuses_an_id_in_the_body_that_is_not_the_one_in_the_path(
    client: TestClient, cas: dict[str, str]
) -> None:
    first, second = create(client, cas), create(client, cas)
    response = client.put(
        f"{V4}/{first['id']}", json={**second, "sourceRowVersion": "9"}, headers=cas
    )
    assert response.status_code == 400, response.text
    assert list(response.json()["errors"]) == ["id"]
    assert client.get(f"{V4}/{second['id']}", headers=cas).json() == second
    assert client.get(f"{V4}/{first['id']}", headers=cas).json() == first


def test_the_openapi_document_lists_put_on_both_paths(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    for path in ("/book-building/allocations/v4/allocations", f"{V4}/{{id}}"):
        operation = paths[path]["put"]
        assert operation["description"] and operation["tags"]


def rowversion(number: int) -> str:
    """A SQL Server rowversion as JSON serialisers send it: 8 bytes, base64."""
    return base64.b64encode(number.to_bytes(8, "big")).decode("ascii")


def test_sql_server_rowversions_compare_as_the_numbers_they_are(
    client: TestClient, cas: dict[str, str]
) -> None:
    older, newer = rowversion(2000), rowversion(2013)
    assert (older, newer) == ("AAAAAAAAB9A=", "AAAAAAAAB90=")
    assert newer < older  # as text the newer one sorts first
    created = create(client, cas, sourceRowVersion=older)
    updated = client.put(V4, json={**created, "sourceRowVersion": newer}, headers=cas)
    assert updated.status_code == 200, updated.text
    stale = client.put(V4, json={**updated.json(), "sourceRowVersion": older}, headers=cas)
    assert stale.status_code == 409, stale.text
    assert list(stale.json()["errors"]) == ["sourceRowVersion"]
    assert client.get(f"{V4}/{created['id']}", headers=cas).json() == updated.json()
    shown = {**updated.json(), "sourceRowVersion": "0x00000000000007D0"}  # 2000, as SQL shows it
    assert client.put(V4, json=shown, headers=cas).status_code == 409


def test_integer_versions_still_compare_as_integers_and_others_as_text(
    client: TestClient, cas: dict[str, str]
) -> None:
    created = create(client, cas, sourceRowVersion="9")
    assert client.put(V4, json={**created, "sourceRowVersion": "10"}, headers=cas).status_code == (
        200
    )
    assert client.put(V4, json={**created, "sourceRowVersion": "9"}, headers=cas).status_code == (
        409
    )
    texts = create(client, cas, sourceRowVersion="b")
    assert client.put(V4, json={**texts, "sourceRowVersion": "a"}, headers=cas).status_code == 409


# POST /connect/token: client_secret_basic -------------------------------------------------------
FORM = {"grant_type": "client_credentials", "scope": "allocations-read"}


def basic(client_id: str, secret: str) -> dict[str, str]:
    token = base64.b64encode(f"{client_id}:{secret}".encode()).decode()
    return {"Authorization": f"Basic {token}"}


def test_the_token_endpoint_accepts_client_secret_basic(client: TestClient) -> None:
    response = client.post("/connect/token", data=FORM, headers=basic("demo-client", "demo-secret"))
    assert response.status_code == 200, response.text
    assert response.json()["scope"] == "allocations-read"
    bearer = {"Authorization": f"Bearer {response.json()['access_token']}"}
    search = client.post(f"{V4}/search", json={}, headers=bearer)
    assert search.status_code == 200, search.text


def test_basic_credentials_are_form_urlencoded_before_base64(client: TestClient) -> None:
    encoded = basic("demo%2Dclient", "demo%2dsecret")  # RFC 6749 §2.3.1
    assert client.post("/connect/token", data=FORM, headers=encoded).status_code == 200
    with_id = {**FORM, "client_id": "demo-client"}  # the same client named again in the form
    assert client.post("/connect/token", data=with_id, headers=encoded).status_code == 200


def test_wrong_basic_credentials_answer_401_with_a_basic_challenge(client: TestClient) -> None:
    for header in (
        basic("demo-client", "wrong"),
        basic("nobody", "x"),
        {"Authorization": "Basic !"},
    ):
        response = client.post("/connect/token", data=FORM, headers=header)
        assert response.status_code == 401, response.text
        assert response.json()["error"] == "invalid_client"
        assert response.headers["www-authenticate"] == "Basic"
        assert response.headers["cache-control"] == "no-store"


def test_basic_and_form_credentials_of_different_clients_are_an_invalid_request(
    client: TestClient,
) -> None:
    form = {**FORM, "client_id": "someone-else", "client_secret": "demo-secret"}
    response = client.post("/connect/token", data=form, headers=basic("demo-client", "demo-secret"))
    assert response.status_code == 400, response.text
    assert response.json()["error"] == "invalid_request"
    assert "one method" in response.json()["error_description"]
    other_secret = {**FORM, "client_secret": "another"}
    response = client.post(
        "/connect/token", data=other_secret, headers=basic("demo-client", "demo-secret")
    )
    assert (response.status_code, response.json()["error"]) == (400, "invalid_request")


def test_form_credentials_still_work_and_need_both_members(client: TestClient) -> None:
    form = {**FORM, "client_id": "demo-client", "client_secret": "demo-secret"}
    assert client.post("/connect/token", data=form).status_code == 200
    response = client.post("/connect/token", data={**FORM, "client_id": "demo-client"})
    assert (response.status_code, response.json()["error"]) == (400, "invalid_request")
    assert "client_secret" in response.json()["error_description"]


# Error texts -------------------------------------------------------------------------------------
PYTHON = re.compile(
    r"Decimal\(|<class|NoneType|Input should|pydantic|Traceback|__\w+__|'[^']*' object|\bNone\b"
)
BAD_SEARCHES = [
    ({"criteria": [{"field": 1.5, "operator": "=", "value": 1}]}, "criteria[0].field"),
    ({"criteria": [{"field": None, "operator": "=", "value": 1}]}, "criteria[0].field"),
    ({"criteria": [{"field": ["a"], "operator": "=", "value": 1}]}, "criteria[0].field"),
    ({"criteria": [{"field": "dealId", "operator": 1.5, "value": 1}]}, "criteria[0].operator"),
    ({"criteria": [{"field": "dealId", "operator": None, "value": 1}]}, "criteria[0].operator"),
    ({"sortFields": [{"field": 1.5, "direction": "asc"}]}, "sortFields[0].field"),
    ({"projection": "nope"}, "projection"),
    ({"page": 1e999999999}, "page"),
]
BAD_PATCHES = [
    ([{"op": "replace", "path": "/nope/x", "value": 1}], "[0].path"),
    ([{"op": "replace", "path": "/allocationValue/data/amount/x", "value": 1}], "[0].path"),
    ([{"op": "add", "path": "/statusMessages/9", "value": {}}], "[0].path"),
    ([{"op": "test", "path": "/dealId", "value": "zzz"}], "[0].value"),
    ([{"op": "move", "from": "/nope", "path": "/comment"}], "[0].from"),
    ([{"op": "bogus", "path": "/dealId"}], "[0].op"),
    ([{"op": "replace", "path": "dealId", "value": "x"}], "[0].path"),
    ([{"op": "replace", "path": "/dealId"}], "[0].value"),
]


def readable(body: dict[str, Any], field: str) -> None:
    text = json.dumps(body)
    assert not PYTHON.search(text), text
    assert list(body["errors"]) == [field], text
    assert body["detail"].startswith(f"{field}: "), text


def test_search_errors_name_the_field_in_plain_words(
    client: TestClient, cas: dict[str, str]
) -> None:
    for search, field in BAD_SEARCHES:
        text = json.dumps(search).replace("Infinity", "1e999999999")
        response = client.post(f"{V4}/search", content=text, headers={**cas, **JSON})
        assert response.status_code == 400, (search, response.text)
        readable(response.json(), field)


def test_patch_errors_name_the_operation_and_member_in_plain_words(
    client: TestClient, cas: dict[str, str]
) -> None:
    created = create(client, cas)
    for patch, field in BAD_PATCHES:
        response = client.patch(f"{V4}/{created['id']}", json=patch, headers=cas)
        assert response.status_code == 400, (patch, response.text)
        readable(response.json(), field)
    assert client.get(f"{V4}/{created['id']}", headers=cas).json() == created


def test_a_missing_source_id_is_quoted_as_json_not_as_python(
    client: TestClient, cas: dict[str, str]
) -> None:
    response = client.delete(V4, params={"sourceId": 'it\'s "q"\t'}, headers=cas)
    assert response.status_code == 404
    assert response.json()["detail"] == 'no allocation has sourceId "it\'s \\"q\\"\\t"'
    refused = client.delete(V4, params={"sourceId": "it's\u0001"}, headers=cas)
    assert refused.status_code == 400
    assert "U+0001" in refused.json()["detail"], refused.text
