"""Searching CAS allocations: every operator, projection, multi-field sort and pagination."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from allotment.services.bookbuilding.demo import demo_id
from tests.e2e.test_bookbuilding_allocations import V4, cas_token, create

# (sourceId, investor, amount, orderStatus after creation, distributionType)
BOOK = [
    ("S-01", "alpha", "100", "pending", "manual"),
    ("S-02", "alpha", "250.5", "delivered", "manual"),
    ("S-03", "beta", "99.99", "pending", "auto"),
    ("S-04", "beta", "1000", "delivered", "none"),
    ("S-05", "alpha", "9", "pending", "auto"),
    ("X-06", "beta", "250.5", "pending", "manual"),
    ("X-07", "alpha", "0", "pending", "manual"),
]


@pytest.fixture
def book(client: TestClient) -> dict[str, str]:
    headers = cas_token(client)
    for source, investor, amount, status, distribution in BOOK:
        create(
            client,
            headers,
            sourceId=source,
            investorAccountId=demo_id(f"investor-{investor}"),
            indicationId=demo_id(f"indication-{investor}"),
            allocationValue={"type": "quantity", "data": {"amount": amount}},
            orderStatus=status,
            distributionType=distribution,
        )
    return headers


def search(client: TestClient, headers: dict[str, str], **body: Any) -> dict[str, Any]:
    response = client.post(f"{V4}/search", json=body, headers=headers)
    assert response.status_code == 200, response.text
    found: dict[str, Any] = response.json()
    return found


def sources(
    client: TestClient, headers: dict[str, str], field: str, op: str, value: Any
) -> list[str]:
    criteria = [{"field": field, "operator": op, "value": value}]
    sort = [{"field": "sourceId", "direction": "asc"}]
    found = search(client, headers, criteria=criteria, sortFields=sort)
    return [item["sourceId"] for item in found["items"]]


def test_each_operator_filters_as_documented(client: TestClient, book: dict[str, str]) -> None:
    amount = "allocationValue.data.amount"
    assert sources(client, book, "sourceId", "=", "S-03") == ["S-03"]
    assert sources(client, book, "orderStatus", "!=", "pending") == ["S-02", "S-04"]
    assert sources(client, book, amount, ">", 250.5) == ["S-04"]
    assert sources(client, book, amount, ">=", "250.5") == ["S-02", "S-04", "X-06"]
    assert sources(client, book, amount, "<", 99.99) == ["S-05", "X-07"]
    assert sources(client, book, amount, "<=", "99.99") == ["S-03", "S-05", "X-07"]
    assert sources(client, book, "distributionType", "in", ["auto", "none"]) == [
        "S-03", "S-04", "S-05",
    ]  # fmt: skip
    assert sources(client, book, "sourceId", "in", "S-01, X-07") == ["S-01", "X-07"]
    assert sources(client, book, "sourceId", "contains", "-0") == [s[0] for s in BOOK]
    assert sources(client, book, "sourceId", "startsWith", "x-") == ["X-06", "X-07"]
    beta = demo_id("investor-beta")
    assert sources(client, book, "investorAccountId", "=", beta) == ["S-03", "S-04", "X-06"]
    assert sources(client, book, "indicationId", "!=", demo_id("indication-beta")) == [
        "S-01", "S-02", "S-05", "X-07",
    ]  # fmt: skip
    assert sources(client, book, "createdDateTime", "<", "2000-01-01T00:00:00Z") == []
    assert len(sources(client, book, "createdDateTime", ">=", "2000-01-01T00:00:00Z")) == 7
    assert sources(client, book, "detail.order.affirmation.isAffirmed", "=", True) == []


def test_criteria_combine_with_and(client: TestClient, book: dict[str, str]) -> None:
    found = search(
        client,
        book,
        criteria=[
            {"field": "investorAccountId", "operator": "=", "value": demo_id("investor-alpha")},
            {"field": "orderStatus", "operator": "=", "value": "pending"},
            {"field": "allocationValue.data.amount", "operator": ">", "value": 5},
        ],
        sortFields=[{"field": "sourceId", "direction": "asc"}],
    )
    assert [item["sourceId"] for item in found["items"]] == ["S-01", "S-05"]
    assert found["totalCount"] == 2


def test_projection_returns_only_the_named_fields(client: TestClient, book: dict[str, str]) -> None:
    found = search(
        client,
        book,
        projection="sourceId,allocationValue.data.amount",
        criteria=[{"field": "sourceId", "operator": "=", "value": "S-02"}],
    )
    assert found["items"] == [{"sourceId": "S-02", "allocationValue": {"data": {"amount": 250.5}}}]


def test_sorting_by_several_fields_orders_by_each_in_turn(
    client: TestClient, book: dict[str, str]
) -> None:
    found = search(
        client,
        book,
        projection=["sourceId"],
        sortFields=[
            {"field": "allocationValue.data.amount", "direction": "desc"},
            {"field": "sourceId", "direction": "desc"},
        ],
    )
    order = [item["sourceId"] for item in found["items"]]
    assert order == ["S-04", "X-06", "S-02", "S-01", "S-03", "S-05", "X-07"]
    by_status = search(
        client,
        book,
        projection="sourceId",
        sortFields=[{"field": "orderStatus", "direction": "asc"}, {"field": "sourceId"}],
    )
    assert [item["sourceId"] for item in by_status["items"]] == [
        "S-02", "S-04", "S-01", "S-03", "S-05", "X-06", "X-07",
    ]  # fmt: skip


def test_pages_cover_the_book_once_with_a_partial_last_page_and_empty_pages_beyond(
    client: TestClient, book: dict[str, str]
) -> None:
    sort = [{"field": "sourceId", "direction": "asc"}]
    pages = [search(client, book, page=n, pageSize=3, sortFields=sort) for n in (1, 2, 3, 4)]
    assert [len(p["items"]) for p in pages] == [3, 3, 1, 0]
    assert all((p["totalCount"], p["totalPages"], p["pageSize"]) == (7, 3, 3) for p in pages)
    assert [p["page"] for p in pages] == [1, 2, 3, 4]
    seen = [item["sourceId"] for p in pages for item in p["items"]]
    assert seen == sorted(s[0] for s in BOOK)
    default = search(client, book)
    assert (default["page"], default["pageSize"], default["totalPages"]) == (1, 250, 1)


def test_a_search_may_come_as_form_data(client: TestClient, book: dict[str, str]) -> None:
    form = {
        "page": "1",
        "pageSize": "2",
        "criteria[0].field": "sourceId",
        "criteria[0].operator": "startsWith",
        "criteria[0].value": "S-",
        "sortFields[0][field]": "sourceId",
        "sortFields[0][direction]": "desc",
        "projection": "sourceId",
    }
    response = client.post(f"{V4}/search", data=form, headers=book)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["totalCount"] == 5
    assert body["items"] == [{"sourceId": "S-05"}, {"sourceId": "S-04"}]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"criteria": [{"field": "colour", "operator": "=", "value": "x"}]}, "criteria[0].field"),
        ({"criteria": [{"field": "sourceId", "operator": "~", "value": "x"}]},
         "criteria[0].operator"),
        ({"criteria": [{"field": "orderStatus", "operator": ">", "value": "pending"}]},
         "criteria[0].operator"),
        ({"criteria": [{"field": "orderStatus", "operator": "=", "value": "lost"}]},
         "criteria[0].value"),
        ({"criteria": [{"field": "allocationValue.data.amount", "operator": ">",
                        "value": "lots"}]}, "criteria[0].value"),
        ({"sortFields": [{"field": "colour", "direction": "asc"}]}, "sortFields[0].field"),
        ({"sortFields": [{"field": "sourceId", "direction": "up"}]}, "sortFields[0].direction"),
        ({"projection": "sourceId,colour"}, "projection"),
        ({"pageSize": 1001}, "pageSize"),
        ({"page": 0}, "page"),
        ({"colour": "red"}, "colour"),
    ],
)  # fmt: skip
def test_an_unknown_field_or_operator_answers_400(
    client: TestClient, body: dict[str, Any], field: str
) -> None:
    response = client.post(f"{V4}/search", json=body, headers=cas_token(client))
    assert response.status_code == 400, response.text
    assert field in response.json()["errors"]
