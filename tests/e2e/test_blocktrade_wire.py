"""The block-trade dialect's wire: content negotiation, authentication, and bodies that cannot
be read (malformed, hostile, of the wrong type or too large) get a clear 4xx in the vendor's
Error Response shape, and nothing is booked."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from allotment.bootstrap import Container
from tests.conftest import bearer
from tests.e2e.test_blocktrade_seed import (
    PATH,
    SEED_JSON,
    SEED_XML,
    as_json,
    as_xml,
    basic,
    children,
    refusing_demo,  # noqa: F401  (the module-wide demo these tests share)
)

SERIALISED = '<string xmlns="http://schemas.microsoft.com/2003/10/Serialization/">'


# The conftest's per-test demo, replaced for this module by one shared demo per backend.
@pytest.fixture
def client(refusing_demo: tuple[TestClient, Container]) -> TestClient:  # noqa: F811
    return refusing_demo[0]


@pytest.fixture
def demo_container(refusing_demo: tuple[TestClient, Container]) -> Container:  # noqa: F811
    return refusing_demo[1]


def xml_message(text: str) -> str:
    assert text.startswith(SERIALISED) and text.endswith("</string>"), text
    return text[len(SERIALISED) : -len("</string>")]


UNREADABLE_JSON = [
    ("{not json", "the body is not valid JSON"),
    ("[]", "the body must be a BlockTradeBlockAllocation object"),
    ('{"MasterReference": "XCCMa3aR573uzw"}', "BlockTradeAllocationID is required"),
    ('{"BlockTradeAllocationID": 195}', "MasterReference is required"),
    (
        '{"BlockTradeAllocationID": 195, "MasterReference": "XCCMa3aR573uzw-TOO-LONG"}',
        "MasterReference must be at most 16 characters long",
    ),
    (
        '{"BlockTradeAllocationID": 195, "MasterReference": "X", "AllocationDetails": {}}',
        "AllocationDetails must be a list of BlockAllocation",
    ),
    (
        '{"BlockTradeAllocationID": 195, "MasterReference": "X", "AllocationDetails": []}',
        "AllocationDetails must list at least one BlockAllocation",
    ),
    (
        '{"BlockTradeAllocationID": 195, "MasterReference": "X", "AllocationDetails": [7]}',
        "AllocationDetails[0] must be a BlockAllocation object",
    ),
    (
        SEED_JSON.replace('"Quantity": 25', '"Quantity": "many"'),
        "AllocationDetails[0].Quantity must be a number",
    ),
]


def test_an_unreadable_json_request_answers_400_with_one_error_string(
    client: TestClient, demo_container: Container
) -> None:
    for body, message in UNREADABLE_JSON:
        response = client.post(PATH, content=body, headers=as_json())
        assert response.status_code == 400, body
        assert response.headers["content-type"] == "application/json; charset=utf-8"
        assert response.json().startswith(message), (body, response.text)
    assert children(demo_container) == []


def test_malformed_xml_answers_400_with_the_serialised_error_string(
    client: TestClient, demo_container: Container
) -> None:
    response = client.post(PATH, content=SEED_XML[:-30], headers=as_xml())
    assert response.status_code == 400
    assert response.headers["content-type"] == "application/xml; charset=utf-8"
    assert xml_message(response.text).startswith("the body is not well-formed XML")
    assert children(demo_container) == []


def test_xml_with_an_external_entity_is_refused_and_nothing_is_read_or_booked(
    client: TestClient, demo_container: Container
) -> None:
    hostile = SEED_XML.replace(
        "<BlockTradeBlockAllocation ",
        '<!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]><BlockTradeBlockAllocation ',
    ).replace("Block Allocation as per email and meeting", "&x;")
    response = client.post(PATH, content=hostile, headers=as_xml())
    assert response.status_code == 400
    assert "entities are not allowed" in xml_message(response.text)
    assert "root:" not in response.text
    assert children(demo_container) == []


def test_a_billion_laughs_payload_is_refused_without_expanding_it(
    client: TestClient, demo_container: Container
) -> None:
    laughs = "".join(f'<!ENTITY l{n} "{f"&l{n - 1};" * 10}">' for n in range(1, 10))
    hostile = SEED_XML.replace(
        "<BlockTradeBlockAllocation ",
        f'<!DOCTYPE r [<!ENTITY l0 "ha">{laughs}]><BlockTradeBlockAllocation ',
    ).replace("XCCMa3aR573uzw", "&l9;")
    response = client.post(PATH, content=hostile, headers=as_xml())
    assert response.status_code == 400
    assert "entities are not allowed" in xml_message(response.text)
    assert children(demo_container) == []


def test_another_content_type_answers_415_and_books_nothing(
    client: TestClient, demo_container: Container
) -> None:
    for content_type in ("text/plain", "application/x-www-form-urlencoded", "application/soap+xml"):
        headers = {**basic(), "Content-Type": content_type}
        response = client.post(PATH, content=SEED_JSON, headers=headers)
        assert response.status_code == 415, content_type
        assert response.json().startswith("Content-Type must be one of application/json")
    assert children(demo_container) == []


def test_a_request_without_a_content_type_answers_415_in_the_accepted_format(
    client: TestClient, demo_container: Container
) -> None:
    response = client.post(PATH, content=SEED_XML, headers={**basic(), "Accept": "text/xml"})
    assert response.status_code == 415
    assert response.headers["content-type"] == "text/xml; charset=utf-8"
    assert xml_message(response.text).endswith("not none")
    assert children(demo_container) == []


def test_an_oversize_body_answers_413_and_books_nothing(
    client: TestClient, demo_container: Container
) -> None:
    padding = " " * (demo_container.settings.max_body_bytes + 1)
    response = client.post(PATH, content=SEED_JSON + padding, headers=as_json())
    assert response.status_code == 413
    assert "larger than" in response.json()
    assert children(demo_container) == []


def test_more_lines_than_the_batch_limit_answer_413(
    client: TestClient, demo_container: Container
) -> None:
    limit = demo_container.settings.max_batch_items
    demo_container.settings.max_batch_items = 1
    try:
        response = client.post(PATH, content=SEED_XML, headers=as_xml())
    finally:
        demo_container.settings.max_batch_items = limit
    assert response.status_code == 413
    assert xml_message(response.text) == (
        "AllocationDetails lists 2 allocations; at most 1 are accepted"
    )
    assert children(demo_container) == []


def test_a_caller_without_valid_credentials_answers_401(
    client: TestClient, demo_container: Container
) -> None:
    for headers in ({}, basic("demo", "wrong"), {"Authorization": "Bearer not-a-token"}):
        response = client.post(PATH, content=SEED_JSON, headers=as_json(headers or {"X": "y"}))
        assert response.status_code == 401, headers
        assert isinstance(response.json(), str)
        assert "Basic" in response.headers["www-authenticate"]
    assert children(demo_container) == []


def test_a_token_without_the_write_scope_answers_403(
    client: TestClient, demo_container: Container
) -> None:
    form = {
        "grant_type": "client_credentials",
        "client_id": "demo-client",
        "client_secret": "demo-secret",
        "scope": "allocations-read",
    }
    token = client.post("/connect/token", data=form).json()["access_token"]
    response = client.post(
        PATH, content=SEED_XML, headers=as_xml({"Authorization": f"Bearer {token}"})
    )
    assert response.status_code == 403
    assert xml_message(response.text) == "this needs the allocations-write scope"
    assert children(demo_container) == []


NEGOTIATION = [
    ("application/json", "application/xml", "application/xml"),
    ("application/json", "text/xml", "text/xml"),
    ("text/json", None, "text/json"),
    ("text/xml", "*/*", "text/xml"),
    ("application/xml; charset=utf-8", "text/html, text/json;q=0.5", "text/json"),
    ("application/xml", "application/xml;q=0.2, application/json", "application/json"),
]


def test_the_answer_format_follows_accept_then_the_request_format(
    client: TestClient, demo_container: Container
) -> None:
    advisor = bearer(client, "advisor", "advisor")  # refused: the answers book nothing
    for content_type, accept, answered in NEGOTIATION:
        body = SEED_JSON if "json" in content_type else SEED_XML
        headers = {
            **advisor,
            "Content-Type": content_type,
            **({"Accept": accept} if accept else {}),
        }
        response = client.post(PATH, content=body, headers=headers)
        assert response.status_code == 400, response.text
        assert response.headers["content-type"] == f"{answered}; charset=utf-8"
        if "xml" in answered:
            assert response.text.startswith("<ArrayOfBlockTradeBlockAllocationErrorResult ")
        else:
            assert response.json()[0]["BlockAllocation"]["ClientID"] == 987558
    assert children(demo_container) == []


def test_the_openapi_document_describes_both_formats_and_the_error_texts(
    client: TestClient,
) -> None:
    operation = client.get("/openapi.json").json()["paths"][PATH]["post"]
    assert set(operation["requestBody"]["content"]) == {
        "application/json",
        "text/json",
        "application/xml",
        "text/xml",
    }
    assert "Invalid block trade allocation:<id>" in operation["description"]
    assert (
        "Not authorised to create order allocation for this client #<id>"
        in (operation["description"])
    )
