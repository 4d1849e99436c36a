"""The clearing report as a Rich table, for a terminal."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

from rich.table import Table

from allotment.domain.numbers import plain
from allotment.services.clearing_report import ClearingReport

COLUMNS = (
    ("#", "allocation_id"),
    ("Trade date", "trade_date"),
    ("Settles", "settlement_date"),
    ("Account", "account_id"),
    ("From", "source_account_id"),
    ("Symbol", "symbol"),
    ("ISIN", "isin"),
    ("Side", "side"),
    ("Quantity", "quantity"),
    ("Price", "price"),
    ("Commission", "commission"),
    ("Fees", "fees"),
    ("Net amount", "net_amount"),
    ("Reference", "reference"),
    ("Dialect", "dialect"),
)
NUMBERS = {"quantity", "price", "commission", "fees", "net_amount"}


def report_tables(report: ClearingReport) -> list[Table]:
    """The allocations, one row each (a late one marked so), then the totals per currency."""
    document = json.loads(report.json_text)
    title = (
        f"Clearing session {report.trade_date.isoformat()} ({report.status}): "
        f"{report.allocation_count} allocations"
    )
    rows = Table(title=title)
    for heading, key in COLUMNS:
        rows.add_column(heading, justify="right" if key in NUMBERS else "left")
    for row in document["allocations"]:
        rows.add_row(*(_cell(row, key) for _heading, key in COLUMNS))
    totals = Table(title="Totals")
    for heading in ("Currency", "Buys", "Sells", "Bought", "Sold", "Commission", "Tax", "Other"):
        totals.add_column(heading, justify="left" if heading == "Currency" else "right")
    for line in report.totals["by_currency"]:
        totals.add_row(
            line["currency"],
            str(line["buy_count"]),
            str(line["sell_count"]),
            line["bought_value"],
            line["sold_value"],
            line["commission"],
            line["tax"],
            line["other_fees"],
        )
    return [rows, totals]


def _cell(row: dict[str, Any], key: str) -> str:
    if key == "fees":
        return plain(Decimal(row["tax"]) + Decimal(row["other_fees"]))
    if key == "trade_date" and row.get("late"):
        return f"{row['trade_date']} (late)"
    value = row.get(key)
    return "" if value is None else str(value)
