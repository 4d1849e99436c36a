"""Client allocation files in (SPEC §11, decision 0033).

A file is read twice, a chunk of rows at a time, in ONE transaction:

1. Every row is read (`allocation_file_columns`) and checked (accounts, instrument, increments,
   trade date); its reference is claimed (`uow.extension("allocation_files")`): a reference
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
from datetime import date
from decimal import ROUND_DOWN, ROUND_UP, Decimal
from typing import BinaryIO

from allotment.domain.accounts import Account, AccountRole
from allotment.domain.identity import Scope
from allotment.domain.ledger import BookingCode
from allotment.services import blocks
from allotment.services.allocation_file_checks import Checked, RowChecker
from allotment.services.allocation_file_columns import (
    FileRow,
    RowReader,
    RowRefused,
    astuple,
    detect,
)
from allotment.services.allocation_file_parts import (
    EXTENSION,
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
from allotment.services.booking import book
from allotment.services.booking_requests import BookingRequest
from allotment.services.clearing import on_trade_date
from allotment.services.context import Context, record
from allotment.services.ports import UnitOfWork, UnitOfWorkFactory
from allotment.services.registry import house_account

__all__ = [
    "EXTENSION",
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
        claims: FileClaims = uow.extension(EXTENSION)
        for header, chunk in chunks(source, self.options.chunk_rows):
            self._read(header)
            self.summary.rows += len(chunk)
            checked = self._checked(checker, chunk)
            taken = claims.claimed(self.ctx.company_id, [c.row.reference or "" for c in checked])
            fresh: dict[str, int] = {}
            kept = [item for item in checked if self._claim(item, taken, fresh, checker)]
            claims.claim(self.ctx.company_id, self.run_id, list(fresh.items()))
            # The claimed rows wait on disk for the second pass: read, checked and claimed once.
            spilled = [(astuple(c.row), c.average.id, c.client.id, c.instrument.id) for c in kept]
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
        reference = row.reference or ""
        column = checker.column(self._known_reader(), "reference")
        before = taken.get(reference)
        if before is not None and before[0] != self.run_id:
            self.summary.already_imported += 1
            return False
        if before is not None or reference in fresh:
            line = before[1] if before is not None else fresh[reference]
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
        group.rows += 1
        group.quantity += row.quantity
        group.notional += row.quantity * row.price
        group.fills[row.price] = group.fills.get(row.price, Decimal(0)) + row.quantity
        return True

    def book(self, uow: UnitOfWork) -> None:
        checker = self.checker
        assert checker is not None
        self._open_blocks(uow, checker)
        claims: FileClaims = uow.extension(EXTENSION)
        fee_account = house_account(uow, self.ctx.company_id, AccountRole.FEE)
        self.spool.seek(0)
        for _ in range(self.spooled):
            size, spilled = pickle.load(self.spool)
            checked = [
                checker.again(FileRow(*row), average, client, instrument)
                for row, average, client, instrument in spilled
            ]
            # One booking call per block (and short rule): one counterparty, instrument, side
            # and price, which booking decides as a uniform batch.
            batches: dict[tuple[BlockKey, bool], list[tuple[Checked, BookingRequest]]] = {}
            for item in checked:
                group = self.groups[item.block_key]
                assert group.block_id is not None and group.average_price is not None
                batches.setdefault((item.block_key, item.row.short), []).append(
                    (item, _request(item, group.block_id, group.average_price, fee_account))
                )
            for (key, _), pairs in batches.items():
                self._book_day(uow, claims, key[3], pairs)
            self.flush()
            self.listener.progress("booking", size)
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

    def _book_day(
        self,
        uow: UnitOfWork,
        claims: FileClaims,
        trade_date: date | None,
        pairs: list[tuple[Checked, BookingRequest]],
    ) -> None:
        ctx = on_trade_date(self.ctx, trade_date)
        outcomes = book(uow, ctx, [request for _, request in pairs], atomic=self.options.atomic)
        released: list[str] = []
        for (item, request), outcome in zip(pairs, outcomes, strict=True):
            if outcome.code is BookingCode.OK:
                self.summary.booked += 1
                group = self.groups[item.block_key]
                group.booked_rows += 1
                group.booked_quantity += request.quantity
                continue
            released.append(item.row.reference or "")
            self.refuse(item.row.line, "quantity", _refusal(outcome.code), item.row.reference)
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


def _request(item: Checked, block_id: int, price: Decimal, fee_account: Account) -> BookingRequest:
    row = item.row
    return BookingRequest(
        client=item.client,
        counterparty=item.average,
        instrument=item.instrument,
        side=row.side,
        quantity=row.quantity,
        price=price,
        commission=row.commission,
        tax=row.tax,
        other_fees=row.other_fees,
        short_allowed=row.short,
        fee_account=fee_account,
        comment=row.comment,
        reference=row.reference,
        block_id=block_id,
    )


REFUSALS = {
    BookingCode.INSUFFICIENT_FUNDS: "insufficient funds",
    BookingCode.INSUFFICIENT_POSITION: "insufficient position",
    BookingCode.PREMIUM_NOT_ALLOWED: "the average price is above the average account's cost",
    BookingCode.ACCOUNT_CLOSED: "an account is closed",
}


def _refusal(code: BookingCode) -> str:
    return f"the ledger refused it: {REFUSALS.get(code, code.value)}"
