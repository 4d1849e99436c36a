"""Booking a block placed with an allocation key (a Saxo block order, or a native block given
a key): such a block is allocated fill by fill, so the desk previews a new fill split by the
key and books it through `blocks.report_fill`, the service of `POST /api/v1/blocks/{id}/fills`.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from starlette.datastructures import FormData

from allotment.domain.errors import AllotmentError
from allotment.entrypoints.http.errors import status_for
from allotment.entrypoints.web.blocks import block_values, decimal_field, echo, preview_values
from allotment.entrypoints.web.rendering import PREFIX, page
from allotment.entrypoints.web.session import Writer
from allotment.services import blocks
from allotment.services.desk import blocks as desk_blocks

router = APIRouter(prefix=PREFIX, include_in_schema=False)


def _fill(form: FormData) -> blocks.FillInput:
    quantity = decimal_field(str(form.get("fill_quantity", "") or ""), "the fill's quantity")
    price = decimal_field(str(form.get("fill_price", "") or ""), "the fill's price")
    return blocks.FillInput(quantity, price)


@router.post("/blocks/{block_id}/fill/preview")
async def preview_fill(request: Request, block_id: int, found: Writer) -> Response:
    """A new fill split by the block's allocation key, priced at the fill's price; nothing is
    stored."""
    form = await request.form()
    values = block_values(found, block_id)
    values["form"] = echo(form)
    try:
        fill = _fill(form)
        key = values["block"].allocation_key_id
        with found.box.uow(write=False) as uow:
            previewed = desk_blocks.preview_block(
                uow, found.ctx, block_id, method=None, participants=(),
                allocation_key_id=key, fill=fill,
            )  # fmt: skip
    except AllotmentError as refused:
        values["error"] = str(refused)
        return page(request, "block.html", values, status_for(refused))
    values.update(preview_values(previewed))
    values["fill_preview"] = True
    return page(request, "block.html", values)


@router.post("/blocks/{block_id}/fill")
async def book_fill(request: Request, block_id: int, found: Writer) -> Response:
    """Book the fill: it is allocated to the key's participants as the API's fills are."""
    form = await request.form()
    values = block_values(found, block_id)
    values["form"] = echo(form)
    try:
        fill = _fill(form)
        with found.box.uow() as uow:
            desk_blocks.book_fill(uow, found.ctx, block_id, fill, found.box.fill_listeners)
            uow.commit()
    except AllotmentError as refused:
        values["error"] = str(refused)
        return page(request, "block.html", values, status_for(refused))
    return RedirectResponse(f"{PREFIX}/blocks/{block_id}?filled={fill.quantity}", status_code=303)
