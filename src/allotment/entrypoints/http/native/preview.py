"""Native API: `POST /api/v1/allocations/preview`, the allocation engine's answer for a total
and participants (or an allocation key), priced and explained; nothing is stored.

The request and answer models live in `entrypoints.preview_schemas`, shared with `allotment
allocate`, so that the command line prints exactly what the endpoint answers.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from allotment.entrypoints.http.deps import ContainerDep, NativeContext
from allotment.entrypoints.preview_schemas import PreviewIn, PreviewOut, render, to_request
from allotment.services import preview as previews

router = APIRouter(prefix="/api/v1/allocations", tags=["Allocations"])

PROBLEMS: dict[int | str, dict[str, Any]] = {
    401: {"description": "No valid token"},
    403: {"description": "The token lacks allocations-read, or a participant's client"},
    422: {
        "description": "Invalid input, named by `code`: a malformed field (ValidationError), "
        "or what the allocation engine refuses (PercentagesDoNotTotal100, NegativeWeight, "
        "NoParticipants, IncrementDoesNotDivide, InvalidRoundLot, InvalidQuantity, "
        "InvalidPrice, ZeroTotalWeight, DuplicateParticipant, ...), an unknown allocation "
        "key (UnknownAllocationKey) or account (UnknownAccount)"
    },
}


@router.post("/preview", response_model=PreviewOut, responses=PROBLEMS)
def preview(body: PreviewIn, ctx: NativeContext, box: ContainerDep) -> PreviewOut:
    """Split `total` across the participants (or an allocation key's) with the allocation
    engine, allocate the fills, price the parts at the block's average price with the fee
    schedule, and explain each participant's share. Nothing is stored (allocations-read)."""
    request = to_request(body)
    with box.uow(write=False) as uow:
        found = previews.preview(ctx, request, uow)
    return render(found)
