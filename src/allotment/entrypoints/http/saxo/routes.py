"""The Saxo dialect (SPEC §4.2): allocation keys, their distribution preview, block orders and
the account list, in Saxo OpenAPI's paths, field names and error body; plus the native fee
schedule routes the block orders' fees come from."""

from __future__ import annotations

from decimal import Decimal
from enum import Enum
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request, status
from starlette.responses import Response

from allotment.domain.allocation.fills import FillPolicy
from allotment.domain.errors import InvalidInstruction
from allotment.domain.numbers import (
    MAX_SCALE,
    MAX_WHOLE_DIGITS,
    NotANumber,
    fits_storage,
    to_decimal,
)
from allotment.entrypoints.http import errors
from allotment.entrypoints.http.deps import ContainerDep, context_for
from allotment.entrypoints.http.native.schemas import MAX_ID
from allotment.entrypoints.http.saxo import batch as saxo_batch
from allotment.entrypoints.http.saxo import docs
from allotment.entrypoints.http.saxo import fee_routes as saxo_fee_routes
from allotment.entrypoints.http.saxo import port as saxo_port
from allotment.entrypoints.http.saxo import trade as saxo_trade
from allotment.entrypoints.http.saxo.views import account_row, key_details, key_summary
from allotment.entrypoints.http.saxo.wire import (
    GATEWAY_BASE,
    MAX_UIC,
    KeyIn,
    OrderIn,
    SaxoJSON,
    body_schema,
    next_link,
    read_model,
    render_error,
)
from allotment.services.context import Context
from allotment.services.saxo import accounts as saxo_accounts
from allotment.services.saxo import keys as saxo
from allotment.services.saxo import orders as saxo_orders
from allotment.services.saxo import queries as saxo_queries
from allotment.services.saxo.records import KeyStatus, MarginHandling, UnitType

SaxoContext = Annotated[Context, Depends(context_for("saxo"))]
SAXO: list[str | Enum] = ["Saxo"]
MAX_ROWS = 1000
KeyIdPath = Annotated[
    str,
    Path(description="The key's id: the text of a positive integer.", examples=["227"]),
]

dialect = APIRouter()
"""Saxo's own routes, served at the root and, as Saxo's gateway serves them, under /openapi."""
keys = APIRouter(prefix="/trade/v1/allocationkeys", tags=SAXO)


@keys.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_class=SaxoJSON,
    responses=docs.responses(201, docs.AllocationKeyCreated, "Created", 400, 401, 403, write=True),
    openapi_extra={**body_schema(KeyIn, docs.KEY_EXAMPLE), **docs.IDEMPOTENT},
)
async def create_key(request: Request, ctx: SaxoContext, box: ContainerDep) -> SaxoJSON:
    """Create an allocation key (Saxo's AllocationKeyCreateRequest; JSON floats are exact)."""
    body = await read_model(request, KeyIn)
    draft = saxo.KeyDraft(
        name=body.AllocationKeyName,
        unit_type=UnitType(body.AllocationUnitType),
        margin_handling=MarginHandling(body.MarginHandling),
        one_time=body.OneTime,
        owner_account_key=body.OwnerAccountKey,
        participants=[
            saxo.ParticipantDraft(
                p.UnitValue, p.Priority, p.AcceptRemainderAmount, p.AccountKey, p.AccountId
            )
            for p in body.ParticipatingAccountsInfo
        ],
        fill_policy=FillPolicy(body.PartialFillPolicy),
        uic=body.Uic,
        asset_type=body.AssetType,
        buy_sell=body.BuySell,
        external_reference=body.ExternalReference,
        error_account=body.ErrorAccount,
    )
    _require_account_named(body)
    with box.uow() as uow:
        key = saxo.create_key(uow, ctx, draft)
        uow.commit()
    return SaxoJSON({"AllocationKeyId": str(key.id)}, status_code=status.HTTP_201_CREATED)


def _require_account_named(body: KeyIn) -> None:
    for index, participant in enumerate(body.ParticipatingAccountsInfo):
        if participant.AccountKey is None and participant.AccountId is None:
            raise InvalidInstruction(
                "a participant needs an AccountKey or an AccountId",
                field=f"ParticipatingAccountsInfo[{index}].AccountKey",
            )


@keys.get(
    "",
    response_class=SaxoJSON,
    responses=docs.responses(200, docs.AllocationKeyList, "Keys", 400, 401, 403, write=False),
)
def list_keys(
    request: Request,
    ctx: SaxoContext,
    box: ContainerDep,
    skip: int = Query(0, alias="$skip", ge=0, le=MAX_ID),
    top: int = Query(MAX_ROWS, alias="$top", ge=0, le=MAX_ID),
    account_key: str | None = Query(None, alias="AccountKey", min_length=1),
    client_key: str | None = Query(None, alias="ClientKey", min_length=1),
    include_sub_clients: bool = Query(True, alias="IncludeSubClients"),
    statuses: str = Query("Active", alias="Statuses"),
) -> SaxoJSON:
    """Allocation keys of the caller's company, Active ones unless `Statuses` says otherwise."""
    wanted = saxo_queries.KeyFilter(
        statuses=_statuses(statuses),
        account_key=account_key,
        client_key=client_key,
        include_sub_clients=include_sub_clients,
        skip=skip,
        top=min(top, MAX_ROWS),
    )
    with box.uow(write=False) as uow:
        page = saxo_queries.list_keys(uow, ctx, wanted)
    body: dict[str, Any] = {"__count": page.count}
    if skip + wanted.top < page.count and wanted.top:
        body["__next"] = next_link(request, skip + wanted.top, wanted.top)
    body["Data"] = [key_summary(key, page) for key in page.keys]
    body["MaxRows"] = MAX_ROWS
    return SaxoJSON(body)


def _statuses(text: str) -> frozenset[KeyStatus]:
    known = {status.value.lower(): status for status in KeyStatus}
    words = [word.strip() for word in text.split(",") if word.strip()]
    unknown = [word for word in words if word.lower() not in known]
    if unknown or not words:
        raise InvalidInstruction(
            f"Statuses takes {', '.join(known[k].value for k in known)}; not {text!r}",
            field="Statuses",
        )
    return frozenset(known[word.lower()] for word in words)


@keys.get(
    "/distributions/{AllocationKeyId}",
    response_class=SaxoJSON,
    responses=docs.responses(200, docs.Distribution, "The split", 400, 401, 403, 404, write=False),
)
def distributions(
    AllocationKeyId: KeyIdPath,
    ctx: SaxoContext,
    box: ContainerDep,
    total_amount: str | None = Query(None, alias="Totalamount", examples=["1000"]),
    total_amount_camel: str | None = Query(None, alias="TotalAmount", include_in_schema=False),
    uic: int | None = Query(None, alias="Uic", ge=1, le=MAX_UIC),
    asset_type: str | None = Query(None, alias="AssetType", min_length=1),
    amount_type: str | None = Query(None, alias="OrderAmountType"),
) -> SaxoJSON:
    """Preview how the key splits `Totalamount` (the allocation engine's answer; nothing is
    stored): one amount per participant and the remainder no one could take."""
    total = _decimal(total_amount if total_amount is not None else total_amount_camel)
    with box.uow(write=False) as uow:
        result = saxo_queries.preview(
            uow,
            ctx,
            AllocationKeyId,
            total,
            uic=uic,
            asset_type=asset_type,
            amount_type=amount_type,
        )
    return SaxoJSON(
        {
            "Remainder": result.remainder,
            "SubClientsInfo": [
                {"AccountId": account_id, "Amount": amount, "MultiLegAmount": Decimal(0)}
                for account_id, amount in result.amounts
            ],
        }
    )


def _decimal(text: str | None) -> Decimal:
    if text is None:
        raise InvalidInstruction("The Totalamount field is required.", field="Totalamount")
    try:
        value = to_decimal(text)
    except NotANumber as error:
        raise InvalidInstruction(
            f"Totalamount must be a number, not {text!r}", field="Totalamount"
        ) from error
    if not fits_storage(value):
        raise InvalidInstruction(
            f"Totalamount must have at most {MAX_WHOLE_DIGITS} digits before the decimal point "
            f"and {MAX_SCALE} after it",
            field="Totalamount",
        )
    return value


@keys.get(
    "/{AllocationKeyId}",
    response_class=SaxoJSON,
    responses=docs.responses(200, docs.AllocationKeyDetails, "The key", 401, 403, 404, write=False),
)
def get_key(AllocationKeyId: KeyIdPath, ctx: SaxoContext, box: ContainerDep) -> SaxoJSON:
    """The key's details (Saxo's AllocationKeyDetails), Participants and TotalUnitValues
    computed."""
    with box.uow(write=False) as uow:
        view = saxo.key_view(uow, ctx, AllocationKeyId)
        return SaxoJSON(key_details(view, ctx.company_id))


@keys.delete(
    "/{AllocationKeyId}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=docs.responses(204, None, "Deactivated", 401, 403, 404, write=True),
    openapi_extra=docs.IDEMPOTENT,
)
def delete_key(AllocationKeyId: KeyIdPath, ctx: SaxoContext, box: ContainerDep) -> Response:
    """Deactivate the key: it becomes Inactive and can place no more orders."""
    with box.uow() as uow:
        saxo.delete_key(uow, ctx, AllocationKeyId)
        uow.commit()
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@dialect.post(
    "/trade/v2/orders",
    tags=SAXO,
    response_class=SaxoJSON,
    responses=docs.responses(200, docs.OrderPlaced, "Placed", 400, 401, 403, write=True),
    openapi_extra={**body_schema(OrderIn, docs.ORDER_EXAMPLE), **docs.IDEMPOTENT},
)
async def place_order(request: Request, ctx: SaxoContext, box: ContainerDep) -> SaxoJSON:
    """Place a block order on a block trading (average) account with an AllocationKeyId; its
    fills, reported with POST /api/v1/blocks/{OrderId}/fills, are allocated by the key."""
    draft = saxo_trade.order_draft(await read_model(request, OrderIn))
    with box.uow() as uow:
        block = saxo_orders.place_block_order(uow, ctx, draft)
        uow.commit()
    return SaxoJSON({"OrderId": str(block.id)})


@dialect.get(
    "/port/v1/accounts",
    tags=SAXO,
    response_class=SaxoJSON,
    responses=docs.responses(200, docs.AccountList, "Accounts", 400, 401, 403, 404, write=False),
)
def accounts(
    request: Request,
    ctx: SaxoContext,
    box: ContainerDep,
    client_key: str | None = Query(None, alias="ClientKey", min_length=1),
    include_sub_accounts: bool = Query(False, alias="IncludeSubAccounts"),
    skip: int = Query(0, alias="$skip", ge=0, le=MAX_ID),
    top: int = Query(MAX_ROWS, alias="$top", ge=0, le=MAX_ID),
) -> SaxoJSON:
    """Accounts of the master client (the company: its block trading accounts) and, with
    IncludeSubAccounts=true, of its clients; or of one client by its ClientKey."""
    top = min(top, MAX_ROWS)
    with box.uow(write=False) as uow:
        page = saxo_accounts.list_accounts(
            uow,
            ctx,
            client_key=client_key,
            include_sub_accounts=include_sub_accounts,
            skip=skip,
            top=top,
        )
    body: dict[str, Any] = {"__count": page.count}
    if skip + top < page.count and top:
        body["__next"] = next_link(request, skip + top, top)
    body["Data"] = [account_row(row, page.legal_asset_types) for row in page.rows]
    return SaxoJSON(body)


dialect.include_router(keys)
for part in (saxo_trade.router, saxo_port.router, saxo_batch.router):
    dialect.include_router(part)
router = APIRouter()
router.include_router(dialect)
router.include_router(saxo_fee_routes.router)
gateway = APIRouter(prefix=GATEWAY_BASE)
"""The same routes under Saxo's base path, left out of the OpenAPI document (one operation
each there)."""
gateway.include_router(dialect, include_in_schema=False)
RENDERERS: tuple[tuple[str, errors.Renderer], ...] = tuple(
    (prefix, render_error) for prefix in ("/trade/", "/port/", f"{GATEWAY_BASE}/")
)
"""Saxo's error renderer, under each of its path prefixes."""
BLOCK_DETAILS = (saxo_orders.block_details,)
"""What GET /api/v1/blocks/{id} shows of a block's Saxo orders."""
