"""Reading allocation file rows (decision 0033, 0051): what a row reads as, or why it is
refused, does not depend on the rows read before it, though a row's repeated texts are read
once and kept."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from allotment.services.allocation_files.columns import RowReader, RowRefused, detect

HEADER = [
    "client_trade_id", "omni_account_id", "account_id", "date", "exec_mpid", "side.direction",
    "instrument.identifier", "instrument.identifier_type", "instrument.currency", "quantity",
    "price", "fees.commission", "capacity",
]  # fmt: skip
GOOD = ["r-1", "AVG", "C-1", "20240102", "CLST", "buy", "AAPL", "ticker", "usd", "10", "1.50",
        "0.10", "agency"]  # fmt: skip


def reader() -> RowReader:
    layout, positions = detect(HEADER)
    return RowReader(layout, positions, "d" * 64)


def cells(**changes: str) -> list[str]:
    row = list(GOOD)
    for name, text in changes.items():
        row[HEADER.index(name.replace("__", "."))] = text
    return row


def refusal(read: RowReader, line: int, row: list[str]) -> tuple[str, str]:
    with pytest.raises(RowRefused) as refused:
        read.read(line, row)
    return refused.value.column, refused.value.reason


def test_a_repeated_row_reads_as_the_first_with_its_own_reference_accounts_and_line() -> None:
    read = reader()
    first = read.read(2, cells())
    again = read.read(3, cells(client_trade_id="r-2", account_id="C-2"))
    assert first.reference == "r-1" and again.reference == "r-2"
    assert (first.line, again.line) == (2, 3)
    assert (first.account_id, again.account_id) == ("C-1", "C-2")
    assert first[4:16] == again[4:16]
    assert again.quantity == Decimal(10) and again.price == Decimal("1.50")
    assert again.trade_date == date(2024, 1, 2) and again.currency == "USD"
    assert again.tax == 0 and again.side == "Buy" and again.identifier_type == "symbol"


def test_a_row_whose_shared_texts_were_read_before_is_still_refused_for_its_own() -> None:
    read = reader()
    read.read(2, cells())
    assert refusal(read, 3, cells(account_id="")) == ("account_id", "is required")
    assert refusal(read, 4, cells(omni_account_id="")) == ("omni_account_id", "is required")
    too_long = refusal(read, 5, cells(client_trade_id="x" * 101))
    assert too_long == ("client_trade_id", "is over 100 characters")
    assert read.read(6, cells(client_trade_id="")).reference.endswith(":6")


def test_a_refusal_is_given_again_each_time_its_texts_come_back_and_in_column_order() -> None:
    read = reader()
    for line in (2, 3):
        assert refusal(read, line, cells(quantity="-5")) == ("quantity", "must be positive")
    # The instrument is judged before the accounts, the accounts before the numbers.
    assert refusal(read, 4, cells(instrument__identifier_type="sedol", account_id="")) == (
        "instrument.identifier_type",
        "'sedol' is not ticker, isin or cusip",
    )
    assert refusal(read, 5, cells(quantity="x", account_id="")) == ("account_id", "is required")
    assert read.read(6, cells()).quantity == Decimal(10)
