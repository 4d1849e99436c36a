"""A client written for the block-trade vendor works unchanged: its routes match in any letter
case (ASP.NET routing), JSON members bind in any case (Json.NET), and a BlockAllocation member
the vendor marks Required is never taken as 0 when it is left out."""

from __future__ import annotations

import json
from typing import Any

from fastapi.testclient import TestClient

from allotment.bootstrap import Container
from tests.e2e.test_blocktrade_seed import (
    PATH,
    SEED_JSON,
    SEED_XML,
    as_json,
    as_xml,
    children,
    encode,
    holding,
    seed_request,
)

SHOUTED = "/API/Orders/BlockTrade/Block-Allocations"


def test_the_seed_json_request_books_on_the_path_written_in_another_letter_case(
    client: TestClient, demo_container: Container
) -> None:
    response = client.post(SHOUTED, content=SEED_JSON, headers=as_json())
    assert response.status_code == 200, response.text
    assert [r["ClientID"] for r in response.json()] == [1574444, 987558]
    assert len(children(demo_container)) == 2


def test_the_seed_xml_request_books_on_the_path_written_in_lower_case(
    client: TestClient, demo_container: Container
) -> None:
    response = client.post(PATH.lower(), content=SEED_XML, headers=as_xml())
    assert response.status_code == 200, response.text
    assert response.text.startswith("<ArrayOfBlockTradeBlockAllocationResult")
    assert len(children(demo_container)) == 2


def test_errors_on_a_path_in_another_case_answer_in_the_dialects_shape(
    client: TestClient, demo_container: Container
) -> None:
    anonymous = client.post(SHOUTED, content=SEED_JSON, headers={"Content-Type": "text/json"})
    assert anonymous.status_code == 401
    assert isinstance(anonymous.json(), str)
    assert "Basic" in anonymous.headers["www-authenticate"]
    broken = client.post(SHOUTED, content="{not json", headers=as_json())
    assert broken.status_code == 400
    assert broken.json().startswith("the body is not valid JSON")
    assert children(demo_container) == []


def test_the_openapi_document_lists_the_operation_once(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    spellings = [path for path in paths if path.lower() == PATH.lower()]
    assert spellings == [PATH]
    assert list(paths[PATH]) == ["post"]


def without(document: dict[str, Any], index: int, *names: str) -> dict[str, Any]:
    for name in names:
        del document["AllocationDetails"][index][name]
    return document


def test_a_line_without_its_custom_brokerage_fee_is_refused_and_the_fee_named_as_required(
    client: TestClient, demo_container: Container
) -> None:
    response = client.post(
        PATH, content=encode(without(seed_request(), 0, "CustomBrokerageFee")), headers=as_json()
    )
    assert response.status_code == 400, response.text
    [refused] = response.json()
    assert refused["Errors"] == ["CustomBrokerageFee is required"]
    assert refused["BlockAllocation"]["ClientID"] == 1574444
    assert refused["BlockAllocation"]["CustomBrokerageFee"] == 0  # as the vendor's binding echoes
    assert children(demo_container) == []
    assert holding(client, "1574444-01") == ("25", "10000.00")


def test_every_required_member_left_out_or_null_is_named_in_the_vendors_order(
    client: TestClient, demo_container: Container
) -> None:
    document = without(seed_request(), 1, "OtherFees", "GSTValue", "AllocationReference")
    document["AllocationDetails"][1]["ClientID"] = None
    document["AllocationDetails"][1]["Price"] = None
    response = client.post(PATH, content=encode(document), headers=as_json())
    assert response.status_code == 400, response.text
    assert [item["Errors"] for item in response.json()] == [
        [
            "ClientID is required",
            "Price is required",
            "GSTValue is required",
            "AllocationReference is required",
            "OtherFees is required",
        ]
    ]
    assert children(demo_container) == []


def test_notes_for_client_may_be_left_out(client: TestClient, demo_container: Container) -> None:
    document = without(seed_request(), 0, "NotesForClient")
    response = client.post(PATH, content=encode(document), headers=as_json())
    assert response.status_code == 200, response.text
    assert len(children(demo_container)) == 2


def test_an_xml_line_without_its_custom_brokerage_fee_is_refused_in_the_xml_error_shape(
    client: TestClient, demo_container: Container
) -> None:
    xml = SEED_XML.replace("<d2p1:CustomBrokerageFee>8.44</d2p1:CustomBrokerageFee>", "", 1)
    assert xml != SEED_XML
    response = client.post(PATH, content=xml, headers=as_xml())
    assert response.status_code == 400, response.text
    assert response.text.startswith("<ArrayOfBlockTradeBlockAllocationErrorResult")
    assert "<d3p1:string>CustomBrokerageFee is required</d3p1:string>" in response.text
    assert "<d3p1:CustomBrokerageFee>0</d3p1:CustomBrokerageFee>" in response.text
    assert children(demo_container) == []


def test_an_xml_member_marked_nil_is_missing_too(
    client: TestClient, demo_container: Container
) -> None:
    xml = SEED_XML.replace(
        "<d2p1:OtherFees>0</d2p1:OtherFees>", '<d2p1:OtherFees i:nil="true"/>', 1
    )
    response = client.post(PATH, content=xml, headers=as_xml())
    assert response.status_code == 400, response.text
    assert "<d3p1:string>OtherFees is required</d3p1:string>" in response.text
    assert children(demo_container) == []


def test_json_members_bind_whatever_their_letter_case(
    client: TestClient, demo_container: Container
) -> None:
    camel = json.loads(SEED_JSON)
    camel = {
        "blockTradeAllocationId": camel["BlockTradeAllocationID"],
        "masterReference": camel["MasterReference"],
        "allocationDetails": [
            {name[0].lower() + name[1:]: value for name, value in line.items()}
            for line in camel["AllocationDetails"]
        ],
    }
    assert "customBrokerageFee" in camel["allocationDetails"][0]
    response = client.post(PATH, content=json.dumps(camel), headers=as_json())
    assert response.status_code == 200, response.text
    assert [r["AllocationReference"] for r in response.json()] == [
        "1358233558943267",
        "316358044331848E",
    ]
    assert len(children(demo_container)) == 2
