"""The ETNA dialect: ETNA Trader's allocation API (`/v{version}/allocations/...`).

Headers `Et-App-Key` (403 `{"error": ...}` when missing, unknown or another company's) and
`Authorization: Bearer` (401 when missing, invalid, expired or without allocations-write, in
ASP.NET Web API's words: `{"Message": "Authorization has been denied for this request."}`). The
body is parsed with JSON numbers as Decimals and read by `etna/wire` (422 in ETNA's `{"error":
...}` shape); the requests are booked by `services.etna.allocate`; each answer echoes its request
with its values as sent. Every 409 is the list of AllocationResultInfo, one per request, even
when the whole batch is refused at once (a closed clearing session, a concurrent change).
"""

from __future__ import annotations

import json
import re
import secrets
from collections.abc import Awaitable, Callable, Sequence
from decimal import Decimal
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Query, Request
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool
from starlette.responses import JSONResponse, Response

from allotment.adapters import metrics
from allotment.bootstrap import Container
from allotment.domain.errors import (
    Conflict,
    Forbidden,
    InvalidInstruction,
    LimitExceeded,
    RuleViolation,
    Unauthorized,
)
from allotment.domain.identity import Scope
from allotment.domain.ledger import BookingCode
from allotment.entrypoints.http.bodies import parse_json
from allotment.entrypoints.http.deps import ContainerDep, known_principal, resolve_principal
from allotment.entrypoints.http.etna.wire import (
    MultilegAllocationRequest,
    SimpleAllocationRequest,
    body_doc,
    echo,
    parse_multileg,
    parse_simple,
    refusal_code,
    responses,
)
from allotment.services import auth
from allotment.services.context import Context
from allotment.services.etna import batches as etna

DIALECT = "etna"
VERSIONS = ("1.0", "1")
"""`version` accepts 1 and 1.0 (SPEC §4.1); the seed's default is 1.0."""

router = APIRouter(tags=["ETNA dialect"])


def etna_error(
    request: Request,
    status: int,
    error: BaseException | None,
    detail: str,
    fields: list[dict[str, Any]],
) -> Response:
    """Errors under the ETNA paths have ETNA's shape, `{"error": "..."}`; a 401 is ASP.NET Web
    API's own answer to a request its authorization filter refuses (ETNA's gitbook shows it for
    a token without the needed access), whatever was wrong with the token."""
    if status == 401:
        return JSONResponse(
            {"Message": DENIED}, status_code=401, headers={"WWW-Authenticate": "Bearer"}
        )
    return JSONResponse({"error": detail}, status_code=status)


DENIED = "Authorization has been denied for this request."


async def raw_body(request: Request) -> bytes:
    return await request.body()


RawBody = Annotated[bytes, Depends(raw_body)]


def _caller(scope: Scope) -> Callable[..., Awaitable[Context]]:
    """Authenticate as ETNA does: the application key first (403), then the token (401)."""

    async def dependency(
        request: Request,
        box: ContainerDep,
        app_key: Annotated[
            str | None, Header(alias="Et-App-Key", description="The application's key")
        ] = None,
        authorization: Annotated[
            str | None, Header(description="Bearer token from POST /token")
        ] = None,
    ) -> Context:
        # A keyed write checked its app key and token already: no trip to the thread pool.
        company_id = auth.app_key_known(app_key)
        if company_id is None or authorization is None or known_principal(request) is None:
            return await run_in_threadpool(_checked, request, box, scope, app_key, authorization)
        return _context(request, box, scope, company_id, authorization)

    return dependency


def _checked(
    request: Request, box: Container, scope: Scope, app_key: str | None, authorization: str | None
) -> Context:
    with box.uow(write=False) as uow:
        app_company_id = auth.check_app_key(uow, app_key)
    return _context(request, box, scope, app_company_id, authorization)


def _context(
    request: Request,
    box: Container,
    scope: Scope,
    app_company_id: int,
    authorization: str | None,
) -> Context:
    if authorization is None:
        raise Unauthorized("Authorization has been denied for this request")
    principal = resolve_principal(request, box)
    if principal.company_id != app_company_id:
        raise Forbidden("Application key is not defined or does not exist")
    if not principal.has(scope):
        raise Unauthorized(
            f"the access level of the token is not sufficient: it needs {scope.value}"
        )
    return Context(principal=principal, dialect=DIALECT, now=box.clock.now())


Writer = Annotated[Context, Depends(_caller(Scope.WRITE))]
Admin = Annotated[Context, Depends(_caller(Scope.ADMIN))]
Atomic = Annotated[
    str | None,
    Query(description="true: book all requests or none (default: each on its own)"),
]


def _atomic(value: str | None) -> bool:
    if value is None or value.lower() in ("false", "0", ""):
        return False
    if value.lower() in ("true", "1"):
        return True
    raise InvalidInstruction(f"atomic must be true or false, not {value!r}")


def _batch(raw: bytes, limit: int) -> list[Any]:
    body = parse_json(raw)
    if not isinstance(body, list):
        raise InvalidInstruction("the body must be a JSON array of allocation requests")
    if len(body) > limit:
        raise LimitExceeded(
            f"the batch has {len(body)} requests; at most {limit} are accepted",
            items=len(body),
            limit=limit,
        )
    return body


def _book(
    box: ContainerDep,
    ctx: Context,
    items: Sequence[Any],
    requests: Sequence[etna.AllocationRequest],
    atomic: bool,
    multileg: bool = False,
) -> tuple[int, list[dict[str, Any]]]:
    echoes = [echo(item, multileg) for item in items]
    try:
        with box.uow() as uow:
            results = etna.allocate(uow, ctx, requests, atomic=atomic)
            uow.commit()
    except (Conflict, RuleViolation) as error:
        # Refused as a whole (nothing was booked): ETNA's 409 is the list of results all the
        # same, each request with the refusal's code.
        code = refusal_code(error)
        metrics.refused([code] * len(echoes))
        return 409, [{"Request": item, "IsSucceed": False, "Description": code} for item in echoes]
    answers = [_answer(item, result) for item, result in zip(echoes, results, strict=True)]
    status = 200 if all(result.booked for result in results) else 409
    metrics.refused(a["Description"] for a in answers if "Description" in a)
    return status, answers


def _answer(item: Any, result: etna.AllocationResult) -> dict[str, Any]:
    """AllocationResultInfo: the request as echoed, IsSucceed and, on failure, a Description.

    In a refused atomic batch, requests that passed every check carry no Description.
    """
    answer: dict[str, Any] = {"Request": item, "IsSucceed": result.booked}
    if result.code is not BookingCode.OK:
        answer["Description"] = result.code.value
    return answer


def render(content: Any, status: int, request: Request) -> Response:
    """JSON with every Decimal written back as the number the client sent (135.89, not
    "135.89"): Decimals are encoded as marked strings, then unquoted."""
    marker = f"@{secrets.token_hex(8)}@"

    def number(value: object) -> str:
        if isinstance(value, Decimal):
            return marker + str(value)
        raise TypeError(f"{type(value).__name__} is not JSON serializable")

    text = json.dumps(content, default=number, separators=(",", ":"))
    text = re.sub(f'"{re.escape(marker)}([^"]*)"', r"\1", text)
    return Response(text.encode(), status_code=status, media_type=_media_type(request))


def _media_type(request: Request) -> str:
    accept = request.headers.get("accept", "")
    if "text/json" in accept and "application/json" not in accept:
        return "text/json"
    return "application/json"


def simple_batch(
    ctx: Writer, box: ContainerDep, body: RawBody, request: Request, atomic: Atomic = None
) -> Response:
    """Create batch allocation requests: each transfers securities between two trading
    accounts at the given price, the commission charged to ToAccount."""
    items = _batch(body, box.settings.max_batch_items)
    requests = [parse_simple(item, f"[{index}]") for index, item in enumerate(items)]
    status, answers = _book(box, ctx, items, requests, _atomic(atomic))
    return render(answers, status, request)


def simple_single(ctx: Writer, box: ContainerDep, body: RawBody, request: Request) -> Response:
    """Create one allocation request."""
    item = parse_json(body)
    status, answers = _book(box, ctx, [item], [parse_simple(item, "")], False)
    return render(answers[0], status, request)


def multileg_batch(
    ctx: Admin, box: ContainerDep, body: RawBody, request: Request, atomic: Atomic = None
) -> Response:
    """Create batch multi-leg allocation requests (needs an admin token): the legs of one
    request are booked all or none, its commission charged once."""
    items = _batch(body, box.settings.max_batch_items)
    requests = [parse_multileg(item, f"[{index}]") for index, item in enumerate(items)]
    status, answers = _book(box, ctx, items, requests, _atomic(atomic), multileg=True)
    return render(answers, status, request)


def multileg_single(ctx: Writer, box: ContainerDep, body: RawBody, request: Request) -> Response:
    """Create one multi-leg allocation request."""
    item = parse_json(body)
    status, answers = _book(box, ctx, [item], [parse_multileg(item, "")], False, multileg=True)
    return render(answers[0], status, request)


ROUTES: list[tuple[str, str, Callable[..., Response], type[BaseModel], bool]] = [
    ("simple", "POST", simple_batch, SimpleAllocationRequest, True),
    ("simple", "PUT", simple_single, SimpleAllocationRequest, False),
    ("multileg", "POST", multileg_batch, MultilegAllocationRequest, True),
    ("multileg", "PUT", multileg_single, MultilegAllocationRequest, False),
]

for _version in VERSIONS:
    for _kind, _method, _endpoint, _model, _array in ROUTES:
        router.add_api_route(
            f"/v{_version}/allocations/{_kind}",
            _endpoint,
            methods=[_method],
            include_in_schema=_version == "1.0",
            operation_id=f"etna_{_kind}_{'batch' if _array else 'single'}_v{_version}",
            responses=responses(_model, _array),
            openapi_extra=body_doc(_model, _array),
            response_class=Response,
        )
