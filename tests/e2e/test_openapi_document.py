"""The served OpenAPI documents (`/openapi.json` and the book-building service's own) are valid
and complete: openapi-spec-validator accepts them, no reference dangles, schema names carry no
module path and no two schemas share a name or a title, every operation and every tag has a
description, the security schemes say how callers really authenticate, and the request
examples are the seeds'. Every operation is walked, whichever router declared it.
"""

from __future__ import annotations

import base64
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from openapi_spec_validator import validate

from allotment.entrypoints.http.blocktrade.docs import EXAMPLE as BLOCKTRADE_SEED
from allotment.entrypoints.http.etna.wire import SEED_REQUEST as ETNA_SEED

DOCUMENTS = ["/openapi.json", "/book-building/allocations/docs/v4/openapi.json"]
METHODS = {"get", "put", "post", "delete", "patch", "head", "options", "trace"}


@pytest.fixture(params=DOCUMENTS)
def document(request: pytest.FixtureRequest, client: TestClient) -> dict[str, Any]:
    response = client.get(request.param)
    assert response.status_code == 200, response.text
    found: dict[str, Any] = response.json()
    return found


def operations(document: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    for path, item in document["paths"].items():
        for method, operation in item.items():
            if method in METHODS:
                yield f"{method.upper()} {path}", operation


def references(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str):
                yield value
            else:
                yield from references(value)
    elif isinstance(node, list):
        for item in node:
            yield from references(item)


def resolve(document: dict[str, Any], reference: str) -> Any:
    assert reference.startswith("#/"), f"{reference} points outside the document"
    node: Any = document
    for part in reference[2:].split("/"):
        part = part.replace("~1", "/").replace("~0", "~")
        assert isinstance(node, dict) and part in node, f"{reference} points nowhere"
        node = node[part]
    return node


def test_the_document_is_valid_openapi(document: dict[str, Any]) -> None:
    validate(document)  # raises on the first violation of the OpenAPI 3.1 schema
    assert document["openapi"].startswith("3.1")


def test_no_reference_dangles(document: dict[str, Any]) -> None:
    found = set(references(document))
    assert found, "the document refers to its schemas"
    for reference in sorted(found):
        resolve(document, reference)


def test_schema_names_have_no_module_path_and_no_two_schemas_share_a_name_or_title(
    document: dict[str, Any],
) -> None:
    schemas: dict[str, Any] = document["components"]["schemas"]
    with_paths = [name for name in schemas if "__" in name or name.startswith("allotment")]
    assert with_paths == []
    lowered = Counter(name.lower() for name in schemas)
    assert [name for name, count in lowered.items() if count > 1] == []
    titles = Counter(schema.get("title", name) for name, schema in schemas.items())
    assert [title for title, count in titles.items() if count > 1] == []


def test_every_operation_and_every_tag_has_a_description(document: dict[str, Any]) -> None:
    without = [label for label, op in operations(document) if not op.get("description", "").strip()]
    assert without == []
    described = {tag["name"] for tag in document.get("tags", []) if tag.get("description")}
    used = {tag for _, op in operations(document) for tag in op.get("tags", [])}
    assert sorted(used - described) == []
    operation_ids = Counter(op["operationId"] for _, op in operations(document))
    assert [name for name, count in operation_ids.items() if count > 1] == []


def test_the_security_schemes_are_the_ways_callers_authenticate(
    document: dict[str, Any],
) -> None:
    schemes = document["components"]["securitySchemes"]
    assert schemes["bearer"] == {**schemes["bearer"], "type": "http", "scheme": "bearer"}
    assert schemes["bearer"]["bearerFormat"] == "JWT"
    flow = schemes["oauth2"]["flows"]["clientCredentials"]
    assert flow["tokenUrl"] == "/connect/token"
    assert {"allocations-read", "allocations-write"} <= set(flow["scopes"])
    used = set()
    for label, operation in operations(document):
        for requirement in operation.get("security", []):
            assert set(requirement) <= set(schemes), label
            used |= set(requirement)
        headers = {
            p["name"].lower() for p in operation.get("parameters", []) if p["in"] == "header"
        }
        assert not headers & {"authorization", "et-app-key"}, f"{label} lists a scheme's header"
    assert used == set(schemes)


def test_each_dialect_declares_its_own_credentials(client: TestClient) -> None:
    document = client.get("/openapi.json").json()
    schemes = document["components"]["securitySchemes"]
    assert schemes["etnaAppKey"] == {**schemes["etnaAppKey"], "type": "apiKey", "in": "header"}
    assert schemes["etnaAppKey"]["name"] == "Et-App-Key"
    assert schemes["basic"] == {**schemes["basic"], "type": "http", "scheme": "basic"}
    paths = document["paths"]
    token_or_client = [{"bearer": []}, {"oauth2": []}]
    etna = [{"etnaAppKey": [], "bearer": []}, {"etnaAppKey": [], "oauth2": []}]
    assert paths["/v1.0/allocations/simple"]["post"]["security"] == etna
    assert paths["/token"]["post"]["security"] == [
        {"etnaAppKey": []},
        {"etnaAppKey": [], "bearer": []},
    ]
    assert paths["/trade/v1/allocationkeys/{AllocationKeyId}"]["get"]["security"] == (
        token_or_client
    )
    blocktrade = paths["/api/orders/blockTrade/block-allocations"]["post"]
    assert blocktrade["security"] == [*token_or_client, {"basic": []}]
    assert paths["/api/v1/accounts"]["get"]["security"] == token_or_client
    assert "security" not in paths["/connect/token"]["post"]
    assert "security" not in paths["/health"]["get"]


def test_the_request_examples_are_the_seeds(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    etna = paths["/v1.0/allocations/simple"]
    for kind in ("application/json", "text/json"):
        assert etna["post"]["requestBody"]["content"][kind]["example"] == [ETNA_SEED]
        assert etna["put"]["requestBody"]["content"][kind]["example"] == ETNA_SEED
    blocktrade = paths["/api/orders/blockTrade/block-allocations"]["post"]["requestBody"]
    assert blocktrade["content"]["application/json"]["example"] == BLOCKTRADE_SEED
    seed_numbers = etna["post"]["requestBody"]["content"]["application/json"]["schema"]["items"]
    assert seed_numbers["properties"]["Quantity"]["type"] == "number"
    assert seed_numbers["properties"]["Price"]["type"] == "number"


def test_the_seed_examples_are_accepted_as_they_stand(
    client: TestClient, demo_headers: dict[str, str]
) -> None:
    etna = client.post(
        "/v1.0/allocations/simple",
        json=[ETNA_SEED],
        headers={**demo_headers, "Et-App-Key": "demo-app-key"},
    )
    assert etna.status_code == 200, etna.text
    blocktrade = client.post(
        "/api/orders/blockTrade/block-allocations", json=BLOCKTRADE_SEED, headers=demo_headers
    )
    assert blocktrade.status_code == 200, blocktrade.text


def test_the_authorize_button_gets_a_token_as_swagger_ui_asks_for_it(client: TestClient) -> None:
    """Swagger UI's client-credentials flow sends the client by HTTP Basic and only
    `grant_type` and `scope` in the form."""
    credentials = base64.b64encode(b"demo-client:demo-secret").decode()
    response = client.post(
        "/connect/token",
        data={"grant_type": "client_credentials", "scope": "allocations-read"},
        headers={"Authorization": f"Basic {credentials}"},
    )
    assert response.status_code == 200, response.text
    token = response.json()["access_token"]
    accounts = client.get("/api/v1/accounts", headers={"Authorization": f"Bearer {token}"})
    assert accounts.status_code == 200
    wrong = base64.b64encode(b"demo-client:wrong").decode()
    refused = client.post(
        "/connect/token",
        data={"grant_type": "client_credentials"},
        headers={"Authorization": f"Basic {wrong}"},
    )
    assert refused.status_code == 401
    assert refused.json()["error"] == "invalid_client"
    both = client.post(
        "/connect/token",
        data={"grant_type": "client_credentials", "client_id": "another-client"},
        headers={"Authorization": f"Basic {credentials}"},
    )
    assert both.status_code == 400
    assert both.json()["error"] == "invalid_request"


def test_the_docs_pages_load_only_what_allotment_serves(client: TestClient) -> None:
    pages = ["/docs", "/redoc", "/book-building/allocations/docs/index.html"]
    for page in pages:
        html = client.get(page)
        assert html.status_code == 200, page
        assert "cdn." not in html.text and "fonts.googleapis" not in html.text, page
        assert "http://" not in html.text and "https://" not in html.text, page
    for asset in ("swagger-ui-bundle.js", "swagger-ui.css", "redoc.standalone.js", "favicon.png"):
        response = client.get(f"/docs/assets/{asset}")
        assert response.status_code == 200, asset
        assert len(response.content) > 1000, asset
    assert client.get("/docs/oauth2-redirect").status_code == 200
