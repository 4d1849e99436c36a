"""Native API: a block's pre-trade intent, its drift (intent against outcome), the drift of an
account over a period, and the explanation of one allocation (SPEC §12, decision 0041)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, status
from pydantic import BaseModel, Field, model_validator
from starlette.responses import Response

from allotment.entrypoints.http.deps import ContainerDep, NativeContext
from allotment.entrypoints.http.native.fairness import AccountQuery, FromQuery, ToQuery
from allotment.entrypoints.http.native.schemas import DecimalStr, IdPath, Model
from allotment.services.fairness import drift, explanation, intent

router = APIRouter(prefix="/api/v1", tags=["Fairness"])


class IntentLineIn(Model):
    account_id: str = Field(min_length=1, max_length=50)
    quantity: DecimalStr


class IntentIn(Model):
    """Either `allocation_key_id` (the key's split of the ordered quantity, as the key stands
    now) or `lines` (quantities summing to the ordered quantity); neither: the block's key."""

    allocation_key_id: str | None = Field(default=None, min_length=1, max_length=50)
    lines: list[IntentLineIn] | None = Field(default=None, max_length=100_000)

    @model_validator(mode="after")
    def _one_of(self) -> IntentIn:
        if self.allocation_key_id is not None and self.lines is not None:
            raise ValueError("give either allocation_key_id or lines, not both")
        return self


class IntentLineOut(BaseModel):
    account_id: str
    quantity: str
    """Exact, as a fraction where a key's split is not whole ("301/3")."""


class IntentOut(BaseModel):
    block_id: int
    source: str
    """"key" (a snapshot of the key's split) or "list"."""
    key_id: str | None
    lines: list[IntentLineOut]
    recorded_at: datetime
    recorded_by: str


class DriftLineOut(BaseModel):
    account_id: str
    blocks: int
    intended_quantity: str
    target_quantity: str
    booked_quantity: str
    drift: str
    """Booked minus intended, exact: unfilled + remainder - margin_reduced - refused +
    error_account."""
    drift_decimal: str
    unfilled: str
    remainder: str
    margin_reduced: str
    refused: str
    error_account: str
    requests_refused: str = "0"
    """What the requests refused as a whole asked for (an ETNA item, a block-trade child):
    nothing was booked, so it is outside the drift's identity; each is a RequestRefused
    event."""


class DriftEventOut(BaseModel):
    account_id: str
    kind: str
    """MarginReduction, Refused, ErrorAccount, OverFill, Remainder or RequestRefused."""
    quantity: str
    fill_sequence: int | None
    detail: str


class BlockDriftOut(BaseModel):
    intent: IntentOut
    lines: list[DriftLineOut]
    events: list[DriftEventOut]


class AllocationExplanationOut(BaseModel):
    allocation_id: int
    account_id: str
    symbol: str
    side: str
    quantity: str
    price: str
    block_id: int | None
    fill_sequence: int | None
    method: str
    allocation_key: str | None
    remainder_policy: str | None
    remainder_rule: str
    target_quantity: str | None
    deviation_increments: str | None
    increment: str
    adjustments: list[dict[str, Any]]
    fees: dict[str, str]
    words: list[str]


def _intent_out(found: intent.Intent) -> IntentOut:
    return IntentOut.model_validate(intent.intent_dict(found))


@router.put(
    "/blocks/{block_id}/intent", response_model=IntentOut, status_code=status.HTTP_201_CREATED
)
def put_intent(
    block_id: IdPath, body: IntentIn, ctx: NativeContext, box: ContainerDep
) -> IntentOut:
    """Record the block's intended allocation before its first fill. It is never edited: a
    second write, or a write after the first fill, is refused with 409."""
    lines = None if body.lines is None else tuple((x.account_id, x.quantity) for x in body.lines)
    draft = intent.IntentDraft(body.allocation_key_id, lines)
    with box.uow() as uow:
        found = intent.record_intent(uow, ctx, block_id, draft)
        uow.commit()
    return _intent_out(found)


@router.get("/blocks/{block_id}/intent", response_model=IntentOut)
def get_intent(block_id: IdPath, ctx: NativeContext, box: ContainerDep) -> IntentOut:
    """The block's intended allocation, as recorded before its first fill."""
    with box.uow(write=False) as uow:
        return _intent_out(intent.get_intent(uow, ctx, block_id))


def _block_drift(box: ContainerDep, ctx: NativeContext, block_id: int) -> drift.BlockDrift:
    with box.uow(write=False) as uow:
        return drift.block_drift(uow, ctx, block_id)


@router.get("/blocks/{block_id}/drift", response_model=BlockDriftOut)
def block_drift(block_id: IdPath, ctx: NativeContext, box: ContainerDep) -> BlockDriftOut:
    """Intent against outcome per account of the block, and every reason the outcome moved:
    margin reductions, refusals, error-account bookings, over-fills and remainders."""
    found = _block_drift(box, ctx, block_id)
    return BlockDriftOut(
        intent=_intent_out(found.intent),
        lines=[DriftLineOut.model_validate(line.as_dict()) for line in found.lines],
        events=[DriftEventOut.model_validate(event.as_dict()) for event in found.events],
    )


CSV: dict[int | str, dict[str, Any]] = {
    200: {"content": {"text/csv": {"schema": {"type": "string"}}}}
}


def _csv(text: str, name: str) -> Response:
    return Response(
        text,
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


@router.get("/blocks/{block_id}/drift.csv", responses=CSV, response_class=Response)
def block_drift_csv(block_id: IdPath, ctx: NativeContext, box: ContainerDep) -> Response:
    """The block's drift as CSV, one record per account."""
    found = _block_drift(box, ctx, block_id)
    return _csv(drift.as_csv((block_id, line) for line in found.lines), "drift.csv")


def _period(
    box: ContainerDep, ctx: NativeContext, account_id: str | None, period: tuple[Any, Any]
) -> list[drift.DriftLine]:
    with box.uow(write=False) as uow:
        return drift.period_drift(uow, ctx, account_id, period)


@router.get("/drift", response_model=list[DriftLineOut])
def period_drift(
    ctx: NativeContext,
    box: ContainerDep,
    account_id: AccountQuery = None,
    start: FromQuery = None,
    end: ToQuery = None,
) -> list[DriftLineOut]:
    """Per account, intent against outcome summed over the blocks whose intent was recorded
    from `from` to `to` (both included). Without `account_id` the caller needs every client."""
    lines = _period(box, ctx, account_id, (start, end))
    return [DriftLineOut.model_validate(line.as_dict()) for line in lines]


@router.get("/drift.csv", responses=CSV, response_class=Response)
def period_drift_csv(
    ctx: NativeContext,
    box: ContainerDep,
    account_id: AccountQuery = None,
    start: FromQuery = None,
    end: ToQuery = None,
) -> Response:
    """The drift over a period as CSV, one record per account."""
    lines = _period(box, ctx, account_id, (start, end))
    return _csv(drift.as_csv((None, line) for line in lines), "drift.csv")


@router.get("/allocations/{allocation_id}/explanation", response_model=AllocationExplanationOut)
def explain(
    allocation_id: IdPath, ctx: NativeContext, box: ContainerDep
) -> AllocationExplanationOut:
    """Why one allocation is what it is: the method, the exact target, the remainder rule
    applied, every adjustment (lot rule, margin reduction, refusal, error account) and the
    fees, in words (`words`) and as data."""
    with box.uow(write=False) as uow:
        found = explanation.explain_allocation(uow, ctx, allocation_id)
    return AllocationExplanationOut.model_validate(explanation.as_dict(found))
