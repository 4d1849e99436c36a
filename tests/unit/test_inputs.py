"""The number bounds and text rules of decision 0023, on their own."""

from __future__ import annotations

from decimal import Decimal

import pytest

from allotment.domain.errors import InvalidInstruction
from allotment.domain.ledger import Balance
from allotment.domain.numbers import NotANumber, fits_storage, to_decimal, to_id, to_uuid
from allotment.entrypoints.http.bodies import parse_json
from allotment.entrypoints.http.inputs import body_problem, text_problem


@pytest.mark.parametrize(
    ("text", "fits"),
    [
        ("999999999999999.999999999", True),
        ("1000000000000000", False),
        ("1E+15", False),
        ("1E+30", False),
        ("0.000000001", True),
        ("1E-10", False),
        ("1E-400", False),
        ("0E+100", True),
        ("1.0000000000000", True),
    ],
)
def test_a_stored_amount_has_at_most_fifteen_digits_before_the_point_and_nine_after(
    text: str, fits: bool
) -> None:
    assert fits_storage(Decimal(text)) is fits


@pytest.mark.parametrize("text", ["１２３", "١٢٣", "12_3"])
def test_numbers_and_ids_are_read_from_ascii_digits_only(text: str) -> None:
    assert to_id(text) is None
    if not text.isascii():
        with pytest.raises(NotANumber):
            to_decimal(text)
    with pytest.raises(ValueError):
        to_uuid(text.translate({ord("1"): "a"}) + "cbb6b1b-f83a-573f-ab2a-03c8910b308c")


def test_an_average_cost_is_rounded_to_nine_decimals_half_to_even() -> None:
    assert Balance(Decimal(3), Decimal(10)).average_cost() == Decimal("3.333333333")
    assert Balance(Decimal(2), Decimal("0.000000001")).average_cost() == Decimal("0E-9")
    assert Balance(Decimal(2), Decimal("0.000000003")).average_cost() == Decimal("0.000000002")


@pytest.mark.parametrize("number", ["1e30", "1e400", "1e-400", "1e-10", "99999999999999999999"])
def test_a_json_number_no_field_accepts_is_refused_where_the_body_is_read(number: str) -> None:
    with pytest.raises(InvalidInstruction, match="out of range"):
        parse_json(f'{{"Amount": {number}}}'.encode())


def test_json_numbers_within_the_bounds_stay_exact() -> None:
    assert parse_json(b"[33.333333333333336, 0.1, 12, 999999999999999.999999999, 1e2]") == [
        Decimal("33.333333333333336"),
        Decimal("0.1"),
        12,
        Decimal("999999999999999.999999999"),
        Decimal(100),
    ]
    assert parse_json(b"9223372036854775807") == 2**63 - 1


@pytest.mark.parametrize(
    "body",
    [
        b'{"a": "x\\u0000"}',
        b'{"a": "\\ud800"}',
        b'{"a": "\\udc00x"}',
        b'{"a": "\\ud800\\u0041"}',
        b'{"a": "\\u001b"}',
        b'{"a": "\\u0085"}',
        b'{"a": "x\x00"}',
        b'{"a": "\xc2\x85"}',
    ],
)
def test_a_json_body_with_a_nul_a_control_character_or_a_lone_surrogate_is_refused(
    body: bytes,
) -> None:
    assert body_problem(body, "application/json") is not None


@pytest.mark.parametrize(
    "body",
    [
        b'{"a": "\\ud83d\\ude00"}',
        b'{"a": "\\\\u0000 is text"}',
        b'{"a": "line\\nnext\\ttab"}',
        b'{"a": "caf\xc3\xa9 \\u00e9"}',
    ],
)
def test_escaped_backslashes_pairs_of_surrogates_and_line_breaks_are_text(body: bytes) -> None:
    assert body_problem(body, "application/json") is None


def test_a_form_body_is_checked_once_percent_decoded() -> None:
    assert body_problem(b"a=x%00", "application/x-www-form-urlencoded") is not None
    assert body_problem(b"a=%ED%A0%80", "application/x-www-form-urlencoded") is not None
    assert body_problem(b"a=x+y%20z", "application/x-www-form-urlencoded") is None


def test_text_keeps_letters_of_every_script_and_refuses_controls() -> None:
    assert text_problem("Zürich ６６８７ 東京") is None
    assert text_problem("a\x7fb") is not None
