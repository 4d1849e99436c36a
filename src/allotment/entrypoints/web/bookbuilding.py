"""Book-building: deals, tranches and indications; a tranche's automatic distribution shown as
a preview with the FINRA 5130/5131 exclusions, then committed, through the API's service
(`distribute_tranche`) with the session's `Context`."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from allotment.domain.bookbuilding import Basis
from allotment.entrypoints.web.rendering import PREFIX, page
from allotment.entrypoints.web.session import Caller, Reader, Writer
from allotment.services.bookbuilding.distribution import DistributionOutcome, distribute_tranche
from allotment.services.desk import bookbuilding as desk_bookbuilding

router = APIRouter(prefix=PREFIX, include_in_schema=False)


@router.get("/bookbuilding")
def deals(request: Request, found: Reader) -> Response:
    """Every deal and its tranches."""
    with found.box.uow(write=False) as uow:
        books = desk_bookbuilding.deals(uow, found.ctx)
    return page(request, "bookbuilding.html", {"user": found, "books": books})


def _tranche_values(found: Caller, tranche_id: str) -> dict[str, Any]:
    with found.box.uow(write=False) as uow:
        book = desk_bookbuilding.tranche_book(uow, found.ctx, tranche_id)
    names = {row.indication.investor_account_id: row.investor for row in book.indications}
    return {"user": found, "book": book, "investors": names}


@router.get("/bookbuilding/tranches/{tranche_id}")
def tranche(request: Request, tranche_id: str, found: Reader) -> Response:
    values = _tranche_values(found, tranche_id)
    values["distributed"] = request.query_params.get("distributed")
    return page(request, "tranche.html", values)


def _distribution_values(outcome: DistributionOutcome) -> dict[str, Any]:
    found = outcome.distribution
    return {
        "distribution": found,
        "shares": [
            (share, outcome.investors.get(share.indication.investor_account_id))
            for share in found.shares
        ],
        "excluded": [
            (excluded, outcome.investors.get(excluded.indication.investor_account_id))
            for excluded in found.excluded
        ],
        "auto": Basis.AUTO,
    }


@router.post("/bookbuilding/tranches/{tranche_id}/preview")
def preview(request: Request, tranche_id: str, found: Writer) -> Response:
    """The automatic distribution as it would be stored, with every exclusion and its reason;
    nothing is stored."""
    values = _tranche_values(found, tranche_id)
    with found.box.uow(write=False) as uow:
        outcome = distribute_tranche(uow, found.ctx, tranche_id, preview=True)
    values.update(_distribution_values(outcome))
    return page(request, "tranche.html", values)


@router.post("/bookbuilding/tranches/{tranche_id}/distribute")
def distribute(request: Request, tranche_id: str, found: Writer) -> Response:
    """Commit the distribution: the tranche's earlier auto allocations are replaced, audited."""
    with found.box.uow() as uow:
        outcome = distribute_tranche(uow, found.ctx, tranche_id, preview=False)
        uow.commit()
    count = sum(1 for share in outcome.distribution.shares if share.basis is Basis.AUTO)
    return RedirectResponse(
        f"{PREFIX}/bookbuilding/tranches/{tranche_id}?distributed={count}", status_code=303
    )
