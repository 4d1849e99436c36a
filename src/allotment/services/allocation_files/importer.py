"""Client allocation files in (SPEC §11, decision 0033).

A file is read twice, a chunk of rows at a time, in ONE transaction:

1. Every row is read (`allocation_files/columns`) and checked (accounts, instrument, increments,
   trade date); its reference is claimed (`uow.allocation_files`): a reference
   claimed by an earlier import is skipped (the same file again books nothing), one claimed
   earlier in this file is refused. The accepted rows are summed per block key (average
   account, instrument, side, trade date, executing broker): quantity and one fill per price.
2. Each key becomes a block on its average account with those fills (`blocks.create_block`),
   priced at its average (rounded to the instrument's increment in the client's favour), and
   every accepted row is booked from it through `booking.book`, as the API books.

Memory holds a chunk of rows and one sum per block key, never the file. With `atomic`, one
refused row books nothing; otherwise each row stands alone (a refused row's claim is
released). A dry run does everything and rolls back.
"""

from __future__ import annotations

import pickle
import tempfile
import uuid
from decimal import ROUND_DOWN, ROUND_UP, Decimal
from operator import itemgetter
from typing import BinaryIO

from allotment.domain.accounts import Account, AccountRole
from allotment.domain.identity import Scope
from allotment.domain.ledger import BookingCode
from allotment.domain.numbers import ZERO
from allotment.services import blocks
from allotment.services.allocation_files.checks import Checked, RowChecker
from allotment.services.allocation_files.columns import (
    FileRow,
    RowReader,
    RowRefused,
    detect,
)
from allotment.services.allocation_files.parts import (
    BOOK_ROWS,
    REJECTS_KEPT,
    BlockKey,
    BlockSummary,
    FileClaims,
    ImportOptions,
    ImportSummary,
    Listener,
    Reject,
    Source,
    chunks,
    digest_of,
)
from allotment.services.clearing import on_trade_date
from allotment.services.context import Context, record
from allotment.services.journal.book import book
from allotment.services.journal.requests import BookingRequest
from allotment.services.ports import UnitOfWork, UnitOfWorkFactory
from allotment.services.registry import house_account

__all__ = [
    "BlockSummary",
    "ImportOptions",
    "ImportSummary",
    "Listener",
    "Reject",
    "import_file",
]


def import_file(
    uows: UnitOfWorkFactory,
    ctx: Context,
    source: Source,
    options: ImportOptions = ImportOptions(),
    listener: Listener | None = None,
) -> ImportSummary:
    """Read, check, group and book one file; see the module's docstring."""
    ctx.require(Scope.WRITE)
    digest = digest_of(source)
    with tempfile.TemporaryFile() as spool, uows() as uow:
        run = _Run(ctx, options, listener or Listener(), digest, spool)
        run.check_and_claim(uow, source)
        if not (options.atomic and run.summary.rejected):
            run.book(uow)
        summary = run.summary
        summary.blocks = list(run.groups.values())
        if options.atomic and summary.rejected:
            summary.booked = 0
            return summary
        record(
            uow,
            ctx,
            "allocation_file.imported",
            "allocation_file",
            summary.digest,
            after={
                "layout": summary.layout,
                "rows": summary.rows,
                "booked": summary.booked,
                "already_imported": summary.already_imported,
                "rejected": summary.rejected,
                "blocks": [block.block_id for block in summary.blocks],
            },
        )
        if not options.dry_run:
            uow.commit()
            summary.committed = True
    return summary


class _Run:
    def __init__(
        self, ctx: Context, options: ImportOptions, listener: Listener, digest: str, spool: BinaryIO
    ):
        self.ctx = ctx
        self.options = options
        self.listener = listener
        self.run_id = uuid.uuid4().hex
        self.summary = ImportSummary(options.dry_run, options.atomic, digest=digest)
        self.groups: dict[BlockKey, BlockSummary] = {}
        self.keys: list[BlockKey] = []
        self.numbers: dict[BlockKey, int] = {}
        """Each block key's number, in the order the blocks were met (keys spill small)."""
        self.reader: RowReader | None = None
        self.checker: RowChecker | None = None
        self.spool = spool
        self.spooled = 0
        self.pending: list[Reject] = []

    def refuse(self, line: int, column: str, reason: str, reference: str | None = None) -> None:
        self.pending.append(Reject(line, column, reason, reference))

    def flush(self) -> None:
        """Tell a chunk's refused rows, in line order."""
        for reject in sorted(self.pending, key=lambda reject: reject.line):
            self.summary.rejected += 1
            if len(self.summary.rejects) < REJECTS_KEPT:
                self.summary.rejects.append(reject)
            self.listener.rejected(reject)
        self.pending.clear()

    def _read(self, header: list[str]) -> RowReader:
        if self.reader is None:
            layout, positions = detect(header)
            self.summary.layout = layout.name
            self.reader = RowReader(layout, positions, self.summary.digest)
        return self.reader

    def _checked(self, checker: RowChecker, chunk: list[tuple[int, list[str]]]) -> list[Checked]:
        reader = self._known_reader()
        rows: list[FileRow] = []
        for line, cells in chunk:
            try:
                rows.append(reader.read(line, cells))
            except RowRefused as refused:
                self.refuse(line, refused.column, refused.reason)
        checker.prefetch({row.average_account_id for row in rows} | {r.account_id for r in rows})
        found: list[Checked] = []
        for row in rows:
            try:
                found.append(checker.check(reader, row))
            except RowRefused as refused:
                self.refuse(row.line, refused.column, refused.reason)
        return found

    def _known_reader(self) -> RowReader:
        assert self.reader is not None
        return self.reader

    def check_and_claim(self, uow: UnitOfWork, source: Source) -> None:
        checker = self.checker = RowChecker(uow, self.ctx)
        claims = uow.allocation_files
        for header, chunk in chunks(source, self.options.chunk_rows):
            self._read(header)
            self.summary.rows += len(chunk)
            checked = self._checked(checker, chunk)
            taken = claims.claimed(self.ctx.company_id, [c.row.reference for c in checked])
            fresh: dict[str, int] = {}
            # The claimed rows wait on disk for the second pass, already sorted into their
            # blocks and cut down to what booking them needs: read, checked and claimed once.
            spilled: dict[tuple[int, bool], list[Spilled]] = {}
            numbers = self.numbers
            for item in checked:
                if self._claim(item, taken, fresh, checker):
                    row = item.row
                    spilled.setdefault((numbers[item.block_key], row.short), []).append(
                        (row.line, row.reference, item.client.id, row.quantity, row.commission,
                         row.tax, row.other_fees, row.comment)
                    )  # fmt: skip
            claims.claim(self.ctx.company_id, self.run_id, list(fresh.items()))
            pickle.dump((len(chunk), spilled), self.spool, protocol=pickle.HIGHEST_PROTOCOL)
            self.spooled += 1
            self.flush()
            self.listener.progress("checking", len(chunk))

    def _claim(
        self,
        item: Checked,
        taken: dict[str, tuple[str, int]],
        fresh: dict[str, int],
        checker: RowChecker,
    ) -> bool:
        row = item.row
        reference = row.reference
        before = taken.get(reference)
        if before is not None and before[0] != self.run_id:
            self.summary.already_imported += 1
            return False
        if before is not None or reference in fresh:
            line = before[1] if before is not None else fresh[reference]
            column = checker.column(self._known_reader(), "reference")
            self.refuse(row.line, column, f"{reference!r} repeats line {line}", reference)
            return False
        fresh[reference] = row.line
        key = item.block_key
        group = self.groups.get(key)
        if group is None:
            group = BlockSummary(
                key[0], item.instrument.symbol, row.side, row.trade_date, row.broker
            )
            self.groups[key] = group
            self.numbers[key] = len(self.keys)
            self.keys.append(key)
        group.rows += 1
        group.quantity += row.quantity
        group.notional += row.quantity * row.price
        group.fills[row.price] = group.fills.get(row.price, Decimal(0)) + row.quantity
        return True

    def book(self, uow: UnitOfWork) -> None:
        """Book the spilled rows block by block: the rows of one block (and short rule) in a
        window of about `BOOK_ROWS` rows go to the ledger as ONE batch, which `booking.book`
        decides as a uniform batch (one counterparty, instrument, side and price)."""
        checker = self.checker
        assert checker is not None
        self._open_blocks(uow, checker)
        claims = uow.allocation_files
        fee_account = house_account(uow, self.ctx.company_id, AccountRole.FEE)
        self.spool.seek(0)
        window: dict[tuple[int, bool], list[Spilled]] = {}
        waiting = read = 0
        for number in range(self.spooled):
            size, spilled = pickle.load(self.spool)
            for batch_key, rows in spilled.items():
                window.setdefault(batch_key, []).extend(rows)
                waiting += len(rows)
            read += size
            if waiting >= BOOK_ROWS or number == self.spooled - 1:
                for (index, short), rows in window.items():
                    self._book_batch(uow, claims, checker, fee_account, index, short, rows)
                window, waiting = {}, 0
                self.flush()
                self.listener.progress("booking", read)
                read = 0
        for group in self.groups.values():
            self._allocated(uow, group)

    def _open_blocks(self, uow: UnitOfWork, checker: RowChecker) -> None:
        for key, group in self.groups.items():
            instrument = checker.instrument_by_id(key[1])
            rounding = ROUND_DOWN if group.side == "Buy" else ROUND_UP
            increment = instrument.price_increment
            group.average_price = (group.notional / group.quantity / increment).quantize(
                Decimal(1), rounding=rounding
            ) * increment
            fills = [blocks.FillInput(qty, price) for price, qty in sorted(group.fills.items())]
            block = blocks.create_block(
                uow,
                on_trade_date(self.ctx, group.trade_date),
                account_id=group.average_account_id,
                instrument=instrument,
                side=group.side,
                quantity=group.quantity,
                fills=fills,
                listeners=(),
            )
            group.block_id = block.id
            group.fills = {}

    def _book_batch(
        self,
        uow: UnitOfWork,
        claims: FileClaims,
        checker: RowChecker,
        fee_account: Account,
        index: int,
        short: bool,
        rows: list[Spilled],
    ) -> None:
        key = self.keys[index]
        group = self.groups[key]
        block_id, price = group.block_id, group.average_price
        assert block_id is not None and price is not None
        clients = checker.accounts({row[2] for row in rows} | {key[0]})
        average, instrument, side = clients[key[0]], checker.instrument_by_id(key[1]), key[2]
        # Positional, in BookingRequest's order: a window builds tens of thousands of them.
        requests = [
            BookingRequest(
                clients[client_id], average, instrument, side, quantity, price, commission,
                tax, other_fees, "", short, fee_account, comment, reference, block_id,
            )
            for _, reference, client_id, quantity, commission, tax, other_fees, comment in rows
        ]  # fmt: skip
        ctx = on_trade_date(self.ctx, key[3])
        outcomes = book(uow, ctx, requests, atomic=self.options.atomic)
        released: list[str] = []
        quantity = sum(map(itemgetter(3), rows), ZERO)
        for row, outcome in zip(rows, outcomes, strict=True):
            if outcome.code is not BookingCode.OK:
                released.append(row[1])
                quantity -= row[3]
                self.refuse(row[0], "quantity", _refusal(outcome.code), row[1])
        self.summary.booked += len(rows) - len(released)
        group.booked_rows += len(rows) - len(released)
        group.booked_quantity += quantity
        if released and not self.options.atomic:
            claims.release(self.ctx.company_id, released)
        if self.options.atomic and released:
            self.summary.booked = 0

    def _allocated(self, uow: UnitOfWork, group: BlockSummary) -> None:
        if group.block_id is None or not group.booked_quantity:
            return
        block = blocks.get_block(uow, self.ctx, group.block_id, lock=True)
        block.allocated_quantity += group.booked_quantity
        uow.blocks.update(block)


Spilled = tuple[int, str, str, Decimal, Decimal, Decimal, Decimal, str]
"""A claimed row as the second pass books it: line, reference, client account, quantity,
commission, tax, other fees, comment (its block and short rule key the list it is in)."""


REFUSALS = {
    BookingCode.INSUFFICIENT_FUNDS: "insufficient funds",
    BookingCode.INSUFFICIENT_POSITION: "insufficient position",
    BookingCode.PREMIUM_NOT_ALLOWED: "the average price is above the average account's cost",
    BookingCode.ACCOUNT_CLOSED: "an account is closed",
}


def _refusal(code: BookingCode) -> str:
    return f"the ledger refused it: {REFUSALS.get(code, code.value)}"
