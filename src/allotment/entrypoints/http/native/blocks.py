"""Native API: blocks (create with fills, add fills, read)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, status

from allotment.domain.errors import NotFound
from allotment.domain.identity import Scope
from allotment.entrypoints.http.deps import ContainerDep, NativeContext
from allotment.entrypoints.http.native.schemas import (
    AfterId,
    BlockIn,
    BlockOut,
    FillIn,
    FillOut,
    IdPath,
)
from allotment.services import blocks
from allotment.services.clearing import on_trade_date
from allotment.services.context import Context
from allotment.services.ports import BlockRecord, FillRecord, UnitOfWork

router = APIRouter(prefix="/api/v1", tags=["Blocks"])

BlockDetails = Callable[[UnitOfWork, Context, BlockRecord], dict[str, Any]]
"""A dialect's view of a block (e.g. per-participant targets), shown under `details`."""


def block_details(request: Request) -> tuple[BlockDetails, ...]:
    """The providers `create_app` was given (decision 0038)."""
    providers: tuple[BlockDetails, ...] = request.app.state.block_details
    return providers


DetailsDep = Annotated[tuple[BlockDetails, ...], Depends(block_details)]


def _fill(fill: FillRecord) -> FillOut:
    assert fill.id is not None
    return FillOut(
        id=fill.id,
        sequence=fill.sequence,
        quantity=fill.quantity,
        price=fill.price,
        executed_at=fill.executed_at,
        entry_id=fill.entry_id,
    )


def block_out(
    uow: UnitOfWork, ctx: Context, block: BlockRecord, providers: tuple[BlockDetails, ...]
) -> BlockOut:
    assert block.id is not None
    instrument = uow.instruments.get(block.instrument_id)
    assert instrument is not None
    details: dict[str, Any] = {}
    for provider in providers:
        details.update(provider(uow, ctx, block))
    return BlockOut(
        id=block.id,
        block_trade_allocation_id=block.id,
        master_reference=block.master_reference,
        account_id=block.account_id,
        symbol=instrument.symbol,
        side=block.side,
        ordered_quantity=block.ordered_quantity,
        filled_quantity=block.filled_quantity,
        allocated_quantity=block.allocated_quantity,
        unallocated_quantity=blocks.unallocated(block),
        average_price=blocks.average_price(block),
        allocation_key_id=block.allocation_key_id,
        remainder_policy=block.remainder_policy,
        status=block.status,
        created_at=block.created_at,
        fills=[_fill(fill) for fill in uow.blocks.fills(block.id)],
        details=details,
    )


@router.post("/blocks", response_model=BlockOut, status_code=status.HTTP_201_CREATED)
def create_block(
    body: BlockIn, ctx: NativeContext, box: ContainerDep, providers: DetailsDep
) -> BlockOut:
    """A block on an average account, with the fills executed so far. Its id is the
    block-trade dialect's integer BlockTradeAllocationID."""
    with box.uow() as uow:
        instrument = uow.instruments.by_symbol(body.symbol)
        if instrument is None:
            raise NotFound(f"instrument {body.symbol} does not exist", symbol=body.symbol)
        block = blocks.create_block(
            uow,
            ctx,
            account_id=body.account_id,
            instrument=instrument,
            side=body.side,
            quantity=body.quantity,
            fills=[
                blocks.FillInput(f.quantity, f.price, f.executed_at, f.remainder_policy)
                for f in body.fills
            ],
            master_reference=body.master_reference,
            allocation_key_id=body.allocation_key_id,
            block_id=body.id,
            listeners=box.fill_listeners,
            remainder_policy=body.remainder_policy,
        )
        out = block_out(uow, ctx, block, providers)
        uow.commit()
    return out


@router.get("/blocks", response_model=list[BlockOut])
def list_blocks(
    ctx: NativeContext,
    box: ContainerDep,
    providers: DetailsDep,
    after_id: AfterId = 0,
    limit: int = Query(default=100, ge=1, le=1000),
) -> list[BlockOut]:
    """The company's blocks, oldest first; page with `after_id` = the last id seen."""
    with box.uow(write=False) as uow:
        ctx.require(Scope.READ)
        return [
            block_out(uow, ctx, block, providers)
            for block in uow.blocks.list(ctx.company_id, after_id, limit)
        ]


@router.get("/blocks/{block_id}", response_model=BlockOut)
def get_block(
    block_id: IdPath, ctx: NativeContext, box: ContainerDep, providers: DetailsDep
) -> BlockOut:
    """One block: its fills, average price and allocated quantity."""
    with box.uow(write=False) as uow:
        return block_out(uow, ctx, blocks.get_block(uow, ctx, block_id), providers)


@router.post(
    "/blocks/{block_id}/fills", response_model=FillOut, status_code=status.HTTP_201_CREATED
)
def add_fill(block_id: IdPath, body: FillIn, ctx: NativeContext, box: ContainerDep) -> FillOut:
    """Report an execution; blocks placed with an allocation key are allocated fill by fill,
    under the request's `remainder_policy` if it names one, else the block's, else the
    key's."""
    with box.uow() as uow:
        fill = blocks.report_fill(
            uow,
            on_trade_date(ctx, body.trade_date),
            block_id,
            blocks.FillInput(body.quantity, body.price, body.executed_at, body.remainder_policy),
            listeners=box.fill_listeners,
        )
        uow.commit()
    return _fill(fill)


@router.get("/blocks/{block_id}/fills", response_model=list[FillOut])
def list_fills(block_id: IdPath, ctx: NativeContext, box: ContainerDep) -> list[FillOut]:
    """The block's fills, in the order they were reported."""
    with box.uow(write=False) as uow:
        block = blocks.get_block(uow, ctx, block_id)
        assert block.id is not None
        return [_fill(fill) for fill in uow.blocks.fills(block.id)]
