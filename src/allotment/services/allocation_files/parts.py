"""What a client allocation file import takes and answers (decision 0033): its options, the
refused rows, the blocks it forms, its summary, what it tells as it goes, the references it
claims, and the file read a chunk of rows at a time."""

from __future__ import annotations

import csv
import hashlib
import io
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import BinaryIO, Protocol

from allotment.domain.errors import InvalidInstruction

CHUNK_ROWS = 10_000
BOOK_ROWS = 50_000
"""Rows the second pass gathers before booking them, a batch per block: large enough that a
block's batch is decided as one uniform batch while the database writes the one before
(PostgreSQL writes batches of over 5,000 items behind), small enough to bound memory."""
REJECTS_KEPT = 1_000
"""An answer lists this many rejects (the CLI's rejects file lists them all)."""

Source = Callable[[], AbstractContextManager[BinaryIO]]
"""Opens the file from its start (it is read more than once)."""


class FileClaims(Protocol):
    """The references of imported rows (`uow.allocation_files`)."""

    def claimed(self, company_id: int, references: Sequence[str]) -> dict[str, tuple[str, int]]:
        """reference -> (the import that claimed it, its line)."""
        ...

    def claim(self, company_id: int, run: str, rows: Sequence[tuple[str, int]]) -> None: ...
    def release(self, company_id: int, references: Sequence[str]) -> None: ...


@dataclass(frozen=True, slots=True)
class Reject:
    line: int
    column: str
    reason: str
    reference: str | None = None


@dataclass(frozen=True, slots=True)
class ImportOptions:
    dry_run: bool = False
    atomic: bool = False
    chunk_rows: int = CHUNK_ROWS


BlockKey = tuple[str, int, str, date | None, str]
"""average account, instrument id, side, trade date, executing broker."""


@dataclass(slots=True)
class BlockSummary:
    average_account_id: str
    symbol: str
    side: str
    trade_date: date | None
    broker: str
    rows: int = 0
    quantity: Decimal = Decimal(0)
    notional: Decimal = Decimal(0)
    fills: dict[Decimal, Decimal] = field(default_factory=dict)
    average_price: Decimal | None = None
    block_id: int | None = None
    booked_rows: int = 0
    booked_quantity: Decimal = Decimal(0)


@dataclass(slots=True)
class ImportSummary:
    dry_run: bool
    atomic: bool
    layout: str = ""
    digest: str = ""
    rows: int = 0
    booked: int = 0
    already_imported: int = 0
    rejected: int = 0
    committed: bool = False
    blocks: list[BlockSummary] = field(default_factory=list)
    rejects: list[Reject] = field(default_factory=list)


class Listener:
    """What an import tells as it goes: refused rows, and rows done per pass."""

    def rejected(self, reject: Reject) -> None:
        """Called once per refused row."""

    def progress(self, phase: str, rows: int) -> None:
        """`rows` more rows done in `phase` (checking, then booking)."""


def digest_of(source: Source) -> str:
    sha = hashlib.sha256()
    with source() as file:
        for piece in iter(lambda: file.read(1 << 20), b""):
            sha.update(piece)
    return sha.hexdigest()


def chunks(
    source: Source, chunk_rows: int
) -> Iterator[tuple[list[str], list[tuple[int, list[str]]]]]:
    """The header, then the rows (with their line numbers) a chunk at a time."""
    with source() as raw:
        text = io.TextIOWrapper(raw, encoding="utf-8-sig", errors="strict", newline="")
        try:
            reader = csv.reader(text)
            header = next(reader, None)
            if header is None:
                raise InvalidInstruction("the file is empty: it needs a header row")
            chunk: list[tuple[int, list[str]]] = []
            for row in reader:
                if not "".join(row).strip():  # no cell holds anything but blanks
                    continue
                chunk.append((reader.line_num, row))
                if len(chunk) >= chunk_rows:
                    yield header, chunk
                    chunk = []
            yield header, chunk
        except UnicodeDecodeError as error:
            raise InvalidInstruction(f"the file is not UTF-8 text: {error.reason}") from None
        except csv.Error as error:
            raise InvalidInstruction(f"the file is not CSV: {error}") from None
        finally:
            text.detach()
