"""The book-building dialect: Ipreo/IHS Markit CAS Allocations service v4 under
`/book-building/allocations` (SPEC §4.4), with its health check, its own Swagger UI and
ASP.NET-style validation problem bodies for errors."""

from __future__ import annotations

import json
from collections.abc import Mapping
from decimal import Decimal
from typing import Annotated, Any
from urllib.parse import parse_qsl

from fastapi import APIRouter, Depends, Query, Request
from fastapi.openapi.utils import get_openapi
from sqlalchemy import text
from starlette.responses import HTMLResponse, JSONResponse, Response

from allotment.domain import errors as e
from allotment.entrypoints.http import openapi
from allotment.entrypoints.http.bodies import parse_json
from allotment.entrypoints.http.bookbuilding.schema import doc as _doc
from allotment.entrypoints.http.deps import ContainerDep, context_for
from allotment.entrypoints.http.errors import TITLES, Renderer
from allotment.services.bookbuilding import allocations as service
from allotment.services.bookbuilding.document import render
from allotment.services.context import Context

ROOT = "/book-building/allocations"
OPENAPI_URL = f"{ROOT}/docs/v4/openapi.json"
router = APIRouter(prefix=ROOT, tags=["Book-building dialect (CAS Allocations v4)"])
CasContext = Annotated[Context, Depends(context_for("bookbuilding"))]


def _dumps(value: Any) -> str:
    """JSON with Decimals written as numbers from their exact text (never through float)."""
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, Mapping):
        return "{" + ",".join(f"{json.dumps(str(k))}:{_dumps(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list | tuple):
        return "[" + ",".join(_dumps(item) for item in value) + "]"
    return json.dumps(value)


def cas_json(value: Any, status_code: int = 200) -> Response:
    return Response(_dumps(value), status_code=status_code, media_type="application/json")


async def _json_body(request: Request) -> Any:
    return parse_json(await request.body())


async def _patch_body(request: Request) -> Any:
    media = request.headers.get("content-type", "application/json").split(";")[0].strip()
    if media not in ("application/json-patch+json", "application/json", ""):
        raise _UnsupportedMedia(media)
    return parse_json(await request.body())


async def _search_body(request: Request) -> Any:
    """A JSON body, or form data (`criteria[0].field=…` / `criteria[0][field]=…`, or a
    `criteria` field holding JSON)."""
    media = request.headers.get("content-type", "").split(";")[0].strip()
    raw = await request.body()
    if media == "application/x-www-form-urlencoded":
        return _form_to_object(parse_qsl(raw.decode("utf-8"), keep_blank_values=True))
    if media == "multipart/form-data":
        form = await request.form()
        return _form_to_object([(k, v) for k, v in form.multi_items() if isinstance(v, str)])
    return parse_json(raw) if raw.strip() else {}


def _form_to_object(pairs: list[tuple[str, str]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    lists: dict[str, dict[int, dict[str, str]]] = {}
    for key, value in pairs:
        name, _, rest = key.partition("[")
        if rest and name in ("criteria", "sortFields"):
            index_text, _, member = rest.partition("]")
            member = member.strip(".[]")
            if not (index_text.isascii() and index_text.isdigit()) or not member:
                raise e.InvalidInstruction(f"{key}: not a form field of a search", field=key)
            lists.setdefault(name, {}).setdefault(int(index_text), {})[member] = value
        elif name in ("criteria", "sortFields"):
            out[name] = parse_json(value.encode("utf-8")) if value.strip() else None
        else:
            out[key] = value
    for name, items in lists.items():
        rows = [items[i] for i in sorted(items)]
        for row in rows:
            if "value" in row and row["value"].startswith("["):
                row["value"] = parse_json(row["value"].encode("utf-8"))
        out[name] = rows
    return out


class _UnsupportedMedia(e.InvalidInstruction):
    code = "UnsupportedMediaType"

    def __init__(self, media: str) -> None:
        super().__init__(
            f"Content-Type {media} is not a JSON Patch; send application/json-patch+json",
            field="Content-Type",
        )


DESCRIPTION = """\
The Allocations service of the book-building dialect: create, amend and view the syndicate
desk's allocations per indication. Tokens: `POST /connect/token` (client credentials); reads
need `allocations-read`, writes `allocations-write`. Errors are problem details with the
offending fields under `errors`. Search answers `{page, pageSize, totalCount, totalPages,
items}`. These are primary-market allocations: they are not booked on the ledger.
"""


@router.get("/hc/status", tags=["Health"])
def health_status(box: ContainerDep) -> JSONResponse:
    """200 when the database answers, 503 when it does not (no authentication)."""
    try:
        with box.engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except Exception:
        return JSONResponse({"status": "Unhealthy"}, status_code=503)
    return JSONResponse({"status": "Healthy"})


@router.post("/v4/allocations/search", **_doc("SearchRequest", "AllocationPage"))
def search_allocations(
    ctx: CasContext, box: ContainerDep, body: Annotated[Any, Depends(_search_body)]
) -> Response:
    """Search allocations: criteria, projection, sortFields, page and pageSize (≤ 1000)."""
    with box.uow(write=False) as uow:
        found = service.search_allocations(uow, ctx, body)
    return cas_json(
        {
            "page": found.page,
            "pageSize": found.page_size,
            "totalCount": found.total_count,
            "totalPages": found.total_pages,
            "items": found.items,
        }
    )


@router.get("/v4/allocations/{id}", **_doc(None, "Allocation"))
def get_allocation(id: str, ctx: CasContext, box: ContainerDep) -> Response:
    """The allocation with this CAS id."""
    with box.uow(write=False) as uow:
        return cas_json(render(service.get_allocation(uow, ctx, id)))


@router.post("/v4/allocations", status_code=201, **_doc("Allocation", "Allocation", 201))
def create_allocation(
    ctx: CasContext, box: ContainerDep, body: Annotated[Any, Depends(_json_body)]
) -> Response:
    """Create an allocation; companyId, createdBy and the times come from the token."""
    with box.uow() as uow:
        created = service.create_allocation(uow, ctx, body)
        uow.commit()
    return cas_json(render(created), status_code=201)


@router.put("/v4/allocations", **_doc("Allocation", "Allocation"))
def replace_allocation(
    ctx: CasContext, box: ContainerDep, body: Annotated[Any, Depends(_json_body)]
) -> Response:
    """Replace an allocation (its id in the body); a stale sourceRowVersion answers 409."""
    with box.uow() as uow:
        updated = service.replace_allocation(uow, ctx, body)
        uow.commit()
    return cas_json(render(updated))


@router.put("/v4/allocations/{id}", **_doc("Allocation", "Allocation"))
def replace_allocation_by_id(
    id: str, ctx: CasContext, box: ContainerDep, body: Annotated[Any, Depends(_json_body)]
) -> Response:
    """Replace the allocation with this CAS id; an id in the body, if any, must be the same.
    A stale sourceRowVersion answers 409."""
    with box.uow() as uow:
        updated = service.replace_allocation(uow, ctx, body, id)
        uow.commit()
    return cas_json(render(updated))


@router.patch(
    "/v4/allocations/{id}", **_doc("JsonPatch", "Allocation", media="application/json-patch+json")
)
def patch_allocation(
    id: str, ctx: CasContext, box: ContainerDep, body: Annotated[Any, Depends(_patch_body)]
) -> Response:
    """RFC 6902 JSON Patch (application/json-patch+json or application/json)."""
    with box.uow() as uow:
        updated = service.patch_allocation(uow, ctx, id, body)
        uow.commit()
    return cas_json(render(updated))


def _deleted(remaining: Any) -> Response:
    if remaining is None:
        return Response(status_code=200)
    return cas_json(render(remaining))


@router.delete("/v4/allocations/{id}", **_doc(None, None))
def delete_allocation(id: str, ctx: CasContext, box: ContainerDep) -> Response:
    """Delete by id; a delivered allocation becomes deletePending (and is returned)."""
    with box.uow() as uow:
        remaining = service.delete_allocation(uow, ctx, id)
        uow.commit()
    return _deleted(remaining)


@router.delete("/v4/allocations", **_doc(None, None))
def delete_by_source_id(
    ctx: CasContext,
    box: ContainerDep,
    source_id: Annotated[str | None, Query(alias="sourceId")] = None,
) -> Response:
    """Delete by the source application's id; as delete by id otherwise."""
    with box.uow() as uow:
        remaining = service.delete_by_source_id(uow, ctx, source_id)
        uow.commit()
    return _deleted(remaining)


_openapi_cache: dict[str, Any] = {}


@router.get("/docs/v4/openapi.json", include_in_schema=False)
def openapi_document() -> JSONResponse:
    """The OpenAPI document of this service alone."""
    if not _openapi_cache:
        _openapi_cache.update(
            openapi.finish(
                get_openapi(
                    title="Allocations (book-building)",
                    version="v4",
                    description=DESCRIPTION,
                    separate_input_output_schemas=False,
                    routes=router.routes,
                )
            )
        )
    return JSONResponse(_openapi_cache)


@router.get("/docs/index.html", include_in_schema=False)
def swagger_ui(request: Request) -> HTMLResponse:
    """Swagger UI for this service's document, from the assets allotment serves itself."""
    root = request.scope.get("root_path", "")
    return openapi.swagger_page(OPENAPI_URL, "Allocations v4 - Swagger UI", root)


def _errors(error: BaseException | None, detail: str, fields: list[dict[str, Any]]) -> Any:
    facts = error.facts if isinstance(error, e.AllotmentError) else {}
    if isinstance(facts.get("errors"), Mapping):
        return facts["errors"]
    if "field" in facts:
        return {facts["field"]: [detail.split(": ", 1)[-1]]}
    if fields:
        out: dict[str, list[str]] = {}
        for item in fields:
            out.setdefault(item["field"] or "body", []).append(item["message"])
        return out
    return None


def render_error(
    request: Request,
    status: int,
    error: BaseException | None,
    detail: str,
    fields: list[dict[str, Any]],
) -> Response:
    """ASP.NET Core's (validation) problem details, as CAS services answer: bad input is 400
    with the offending fields under `errors`; a reused Idempotency-Key stays 422."""
    if status == 422 and not isinstance(error, e.IdempotencyKeyReused):
        status = 400
    if isinstance(error, _UnsupportedMedia):
        status = 415
    body: dict[str, Any] = {
        "type": f"https://httpstatuses.io/{status}",
        "title": TITLES.get(status, "Error"),
        "status": status,
        "detail": detail,
    }
    found = _errors(error, detail, fields)
    if found:
        body["errors"] = found
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    return Response(
        _dumps(body),
        status_code=status,
        media_type="application/problem+json",
        headers=headers,
    )


RENDERERS: tuple[tuple[str, Renderer], ...] = (("/book-building/", render_error),)
