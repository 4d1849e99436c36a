"""The block-trade dialect's wire formats: the vendor's samples read, and written back byte for
byte in the vendor's DataContract XML shape and JSON key order."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from allotment.domain.errors import LimitExceeded
from allotment.entrypoints.http.blocktrade import codec as blocktrade_xml
from allotment.entrypoints.http.blocktrade.routes import json_document
from allotment.services.blocktrade.children import ChildAllocation, LineError, Outcome
from allotment.services.blocktrade.reading import BlockAllocation, RequestInvalid, read_request

GOLDEN = Path(__file__).parent.parent / "e2e" / "golden"
D = Decimal


def golden(name: str) -> str:
    return (GOLDEN / name).read_text().rstrip("\n")


def seed_lines() -> tuple[BlockAllocation, BlockAllocation]:
    notes = "Block Allocation as per email and meeting"
    return (
        BlockAllocation(
            1574444,
            D(25),
            D("6.75"),
            D("168.75"),
            D("159.47"),
            D("8.44"),
            D("0.84"),
            "1358233558943267",
            notes,
            D(0),
        ),
        BlockAllocation(
            987558,
            D(75),
            D("6.75"),
            D("506.25"),
            D("478.41"),
            D("25.31"),
            D("2.53"),
            "316358044331848E",
            notes,
            D(0),
        ),
    )


def seed_results() -> tuple[ChildAllocation, ChildAllocation]:
    created = datetime(2022, 12, 15, tzinfo=UTC)
    return (
        ChildAllocation(
            "XCCMa3aR573uzw", "1358233558943267", 12587, 8766647, 9985887, 106666682, created
        ),
        ChildAllocation(
            "XCCMa3aR573uzw", "1358233558943234565", 12588, 8766647, 9925487, 106666683, created
        ),
    )


def seed_errors() -> tuple[LineError, LineError]:
    first, second = seed_lines()
    return (
        LineError(first, ("Invalid client:1574444",)),
        LineError(second, ("Not authorised to create order allocation for this client #987558",)),
    )


def test_the_seed_xml_request_is_read_with_its_prefixed_namespaces() -> None:
    request = blocktrade_xml.parse_request(golden("blocktrade_seed_request.xml").encode(), 100)
    assert request.block_trade_allocation_id == 195
    assert request.master_reference == "XCCMa3aR573uzw"
    assert request.allocation_details == seed_lines()


def test_the_seed_json_request_reads_to_the_same_request_as_the_xml_one() -> None:
    document = json.loads(golden("blocktrade_seed_request.json"), parse_float=Decimal)
    request = read_request(document, document["AllocationDetails"], 100)
    xml = blocktrade_xml.parse_request(golden("blocktrade_seed_request.xml").encode(), 100)
    assert request == xml
    assert str(request.allocation_details[0].other_fees) == "0.0"


def test_xml_without_prefixes_in_any_element_order_is_read_too() -> None:
    xml = b"""<?xml version="1.0" encoding="utf-8"?>
    <x:BlockTradeBlockAllocation xmlns:x="urn:anything">
      <x:MasterReference>XCCMa3aR573uzw</x:MasterReference>
      <x:BlockTradeAllocationID>195</x:BlockTradeAllocationID>
      <x:AllocationDetails>
        <BlockAllocation>
          <Quantity>25</Quantity><ClientID>1574444</ClientID><Price>6.75</Price>
          <NotesForClient xmlns:i="http://www.w3.org/2001/XMLSchema-instance" i:nil="true"/>
        </BlockAllocation>
      </x:AllocationDetails>
    </x:BlockTradeBlockAllocation>"""
    request = blocktrade_xml.parse_request(xml, 100)
    [line] = request.allocation_details
    assert (line.client_id, line.quantity, line.price) == (1574444, D(25), D("6.75"))
    assert line.notes_for_client is None and line.allocation_reference is None
    assert line.trade_value == 0 and line.other_fees == 0


def test_results_are_written_exactly_as_the_vendors_xml_sample() -> None:
    written = blocktrade_xml.results_document(seed_results()).decode()
    assert written == golden("blocktrade_seed_result.xml")


def test_error_results_are_written_exactly_as_the_vendors_xml_sample() -> None:
    written = blocktrade_xml.errors_document(seed_errors()).decode()
    assert written == golden("blocktrade_seed_error_result.xml")


def test_a_request_error_is_written_as_the_vendors_serialised_string() -> None:
    written = blocktrade_xml.message_document("sample string 1").decode()
    assert written == golden("blocktrade_seed_error_response.xml")


def test_results_are_written_as_the_vendors_json_sample_in_its_key_order() -> None:
    written = json.loads(json_document(Outcome(results=seed_results())), parse_float=Decimal)
    expected = json.loads(golden("blocktrade_seed_result.json"), parse_float=Decimal)
    assert written == expected
    assert [list(item) for item in written] == [list(item) for item in expected]


def test_error_results_echo_the_line_as_the_vendors_json_sample() -> None:
    raw = json_document(Outcome(errors=seed_errors()))
    written = json.loads(raw, parse_float=Decimal)
    expected = json.loads(golden("blocktrade_seed_error_result.json"), parse_float=Decimal)
    assert written == expected
    assert list(written[0]["BlockAllocation"]) == list(expected[0]["BlockAllocation"])
    assert b'"Price":6.75' in raw and b'"Quantity":25,' in raw


def test_a_null_note_is_written_as_xsi_nil_and_markup_in_texts_is_escaped() -> None:
    line = seed_lines()[0]
    odd = BlockAllocation(
        line.client_id,
        line.quantity,
        line.price,
        line.trade_value,
        line.net_amount,
        line.custom_brokerage_fee,
        line.gst_value,
        "a<b&c",
        None,
        line.other_fees,
    )
    written = blocktrade_xml.errors_document([LineError(odd, ("bad \x01 <text>",))]).decode()
    assert '<d3p1:NotesForClient i:nil="true" />' in written
    assert "<d3p1:AllocationReference>a&lt;b&amp;c</d3p1:AllocationReference>" in written
    assert "<d3p1:string>bad \ufffd &lt;text&gt;</d3p1:string>" in written


@pytest.mark.parametrize(
    ("xml", "message"),
    [
        (b"<BlockTradeBlockAllocation><Master", "not well-formed XML"),
        (b"<Other/>", "root element must be BlockTradeBlockAllocation"),
        (
            b"<BlockTradeBlockAllocation><MasterReference>X</MasterReference>"
            b"</BlockTradeBlockAllocation>",
            "BlockTradeAllocationID is required",
        ),
        (
            b"<BlockTradeBlockAllocation><BlockTradeAllocationID>abc</BlockTradeAllocationID>"
            b"<MasterReference>X</MasterReference><AllocationDetails><BlockAllocation/>"
            b"</AllocationDetails></BlockTradeBlockAllocation>",
            "BlockTradeAllocationID must be an integer",
        ),
        (
            b"<BlockTradeBlockAllocation><BlockTradeAllocationID>1</BlockTradeAllocationID>"
            b"<MasterReference>X</MasterReference><AllocationDetails><BlockAllocation>"
            b"<Price>six</Price></BlockAllocation></AllocationDetails></BlockTradeBlockAllocation>",
            "AllocationDetails[0].Price must be a number",
        ),
        (
            b"<BlockTradeBlockAllocation><BlockTradeAllocationID>1</BlockTradeAllocationID>"
            b"<MasterReference>X</MasterReference><AllocationDetails><Other/>"
            b"</AllocationDetails></BlockTradeBlockAllocation>",
            "may only hold BlockAllocation elements",
        ),
    ],
    ids=["truncated", "wrong-root", "no-id", "id-not-integer", "price-not-number", "stray"],
)
def test_unreadable_xml_is_a_request_error_naming_the_problem(xml: bytes, message: str) -> None:
    with pytest.raises(RequestInvalid, match=message.replace("[", r"\[").replace("]", r"\]")):
        blocktrade_xml.parse_request(xml, 100)


def test_an_external_entity_is_refused_before_it_is_resolved() -> None:
    xml = (
        b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
        b"<BlockTradeBlockAllocation><MasterReference>&x;</MasterReference>"
        b"</BlockTradeBlockAllocation>"
    )
    with pytest.raises(RequestInvalid, match="entities are not allowed"):
        blocktrade_xml.parse_request(xml, 100)


def test_a_billion_laughs_document_is_refused_without_expanding_it() -> None:
    entities = "".join(f'<!ENTITY l{n} "{("&l" + str(n - 1) + ";") * 10}">' for n in range(1, 10))
    xml = (
        f'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY l0 "ha">{entities}]>'
        "<BlockTradeBlockAllocation><MasterReference>&l9;</MasterReference>"
        "</BlockTradeBlockAllocation>"
    ).encode()
    with pytest.raises(RequestInvalid, match="entities are not allowed"):
        blocktrade_xml.parse_request(xml, 100)


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"MasterReference": "X"}, "BlockTradeAllocationID is required"),
        ({"BlockTradeAllocationID": 195}, "MasterReference is required"),
        ({"BlockTradeAllocationID": 195, "MasterReference": ""}, "MasterReference is required"),
        (
            {"BlockTradeAllocationID": 195, "MasterReference": "X" * 17},
            "MasterReference must be at most 16 characters long",
        ),
        ({"BlockTradeAllocationID": D("1.5"), "MasterReference": "X"}, "must be an integer"),
        ({"BlockTradeAllocationID": True, "MasterReference": "X"}, "must be an integer"),
        ({"BlockTradeAllocationID": 195, "MasterReference": 12.5}, "must be a string"),
    ],
    ids=["no-id", "no-reference", "empty-reference", "long-reference", "id-1.5", "id-bool", "ref"],
)
def test_the_request_fields_the_vendor_requires_are_checked_first(
    fields: dict[str, object], message: str
) -> None:
    with pytest.raises(RequestInvalid, match=message):
        read_request(fields, [{"ClientID": 1}], 100)


def test_a_request_without_lines_is_refused() -> None:
    with pytest.raises(RequestInvalid, match="at least one BlockAllocation"):
        read_request({"BlockTradeAllocationID": 195, "MasterReference": "X"}, [], 100)


def test_more_lines_than_the_batch_limit_is_refused_as_too_large() -> None:
    fields = {"BlockTradeAllocationID": 195, "MasterReference": "X"}
    with pytest.raises(LimitExceeded, match="at most 2"):
        read_request(fields, [{}, {}, {}], 2)


def test_numbers_sent_as_decimal_text_are_read_exactly_and_booleans_are_refused() -> None:
    fields = {"BlockTradeAllocationID": "195", "MasterReference": "X"}
    request = read_request(fields, [{"ClientID": "7", "Price": "6.750", "Quantity": 3}], 10)
    line = request.allocation_details[0]
    assert (line.client_id, str(line.price), line.quantity) == (7, "6.750", D(3))
    with pytest.raises(RequestInvalid, match=r"AllocationDetails\[0\].Quantity must be a number"):
        read_request(fields, [{"Quantity": True}], 10)
