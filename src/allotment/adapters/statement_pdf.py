"""A daily statement as a PDF (fpdf2, the standard Helvetica font: nothing to embed)."""

from __future__ import annotations

from decimal import Decimal

from fpdf import FPDF
from fpdf.enums import XPos, YPos

from allotment.domain.numbers import plain
from allotment.services.statements import Statement

ALLOCATION_COLUMNS = (
    ("Settles", "settlement_date", 22),
    ("Symbol", "symbol", 18),
    ("ISIN", "isin", 28),
    ("Side", "side", 12),
    ("Quantity", "quantity", 20),
    ("Price", "price", 20),
    ("Commission", "commission", 22),
    ("Fees", "fees", 18),
    ("Net amount", "net_amount", 28),
)


def _text(value: object) -> str:
    """Helvetica covers Latin-1 only: anything else prints as '?'."""
    return str(value).encode("latin-1", "replace").decode("latin-1")


def statement_pdf(statement: Statement) -> bytes:
    pdf = FPDF(orientation="portrait", unit="mm", format="A4")
    pdf.set_title(f"Statement {statement.account.id} {statement.trade_date.isoformat()}")
    pdf.add_page()
    pdf.set_font("Helvetica", "B", 14)
    _line(pdf, f"Daily statement: account {statement.account.id}", 8)
    pdf.set_font("Helvetica", size=10)
    _line(pdf, f"Trade date {statement.trade_date.isoformat()}")
    if statement.client_name:
        _line(pdf, f"Client: {statement.client_name}")
    _line(
        pdf, f"Account type {statement.account.type.value}, currency {statement.account.currency}"
    )
    _line(pdf, f"Made at {statement.made_at.isoformat(timespec='seconds')}")
    _section(pdf, "Positions at the end of the trade date")
    if not statement.positions:
        _line(pdf, "None")
    for position in statement.positions:
        isin = f" ({position.isin})" if position.isin else ""
        _line(pdf, f"{position.symbol}{isin}: {plain(position.quantity)}")
    _section(pdf, "Cash at the end of the trade date")
    if not statement.cash:
        _line(pdf, "None")
    for currency, amount in statement.cash.items():
        _line(pdf, f"{currency}: {plain(amount)}")
    _section(pdf, "Allocations of the day")
    _allocations(pdf, statement)
    return bytes(pdf.output())


def _line(pdf: FPDF, text: str, height: float = 6) -> None:
    pdf.cell(0, height, _text(text), new_x=XPos.LMARGIN, new_y=YPos.NEXT)


def _section(pdf: FPDF, title: str) -> None:
    pdf.ln(3)
    pdf.set_font("Helvetica", "B", 11)
    _line(pdf, title, 7)
    pdf.set_font("Helvetica", size=9)


def _allocations(pdf: FPDF, statement: Statement) -> None:
    if not statement.allocations:
        _line(pdf, "None")
        return
    pdf.set_font("Helvetica", "B", 8)
    for heading, _key, width in ALLOCATION_COLUMNS:
        pdf.cell(width, 6, heading, border=1)
    pdf.ln()
    pdf.set_font("Helvetica", size=8)
    for row in statement.allocations:
        fees = plain(Decimal(row["tax"]) + Decimal(row["other_fees"]))
        for _heading, key, width in ALLOCATION_COLUMNS:
            value = fees if key == "fees" else row.get(key)
            pdf.cell(width, 6, _text("" if value is None else value), border=1)
        pdf.ln()
