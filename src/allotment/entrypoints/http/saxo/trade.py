"""Saxo's order routes around a block order: the precheck, the open order as the portfolio
service shows it, and cancelling orders (what Saxo's block-order sample calls after placing)."""

from __future__ import annotations

from enum import Enum
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request

from allotment.domain.errors import AllotmentError, InvalidInstruction
from allotment.entrypoints.http.deps import ContainerDep, context_for
from allotment.entrypoints.http.saxo import docs
from allotment.entrypoints.http.saxo.wire import (
    OrderIn,
    SaxoJSON,
    body_schema,
    read_model,
    utc_text,
)
from allotment.services.context import Context
from allotment.services.saxo import trading as saxo_trading
from allotment.services.saxo.orders import OrderDraft

SaxoContext = Annotated[Context, Depends(context_for("saxo"))]
SAXO: list[str | Enum] = ["Saxo"]

router = APIRouter(tags=SAXO)


def order_draft(body: OrderIn) -> OrderDraft:
    """The block order a Saxo order request asks for (AllocationKeyId required)."""
    if body.AllocationKeyId is None:
        raise InvalidInstruction(
            "this service places block orders only: AllocationKeyId is required",
            field="AllocationKeyId",
        )
    return OrderDraft(
        account_key=body.AccountKey,
        uic=body.Uic,
        asset_type=body.AssetType,
        buy_sell=body.BuySell,
        amount=body.Amount,
        order_type=body.OrderType,
        allocation_key_id=body.AllocationKeyId,
        external_reference=body.ExternalReference,
    )


@router.post(
    "/trade/v2/orders/precheck",
    response_class=SaxoJSON,
    response_model=docs.PrecheckResult,
    responses=docs.responses(200, docs.PrecheckResult, "The verdict", 400, 401, 403, write=False),
    openapi_extra=body_schema(OrderIn, docs.ORDER_EXAMPLE),
)
async def precheck_order(request: Request, ctx: SaxoContext, box: ContainerDep) -> SaxoJSON:
    """Check a block order as placing it would, without placing it: PreCheckResult Ok, or
    Error with Saxo's ErrorInfo (a malformed order is a 400 InvalidModelState, as in Saxo).
    With an OrderPrice the cash the order needs is estimated."""
    body = await read_model(request, OrderIn)
    draft = order_draft(body)
    with box.uow(write=False) as uow:
        verdict = saxo_trading.precheck(uow, ctx, draft, body.OrderPrice)
    if verdict.refusal is not None:
        return SaxoJSON({"PreCheckResult": "Error", "ErrorInfo": _info(verdict.refusal)})
    answer: dict[str, Any] = {"PreCheckResult": "Ok"}
    if verdict.estimated_cash is not None:
        answer["EstimatedCashRequired"] = verdict.estimated_cash
        answer["EstimatedCashRequiredCurrency"] = verdict.currency
    return SaxoJSON(answer)


def _info(refusal: AllotmentError) -> dict[str, str]:
    code = refusal.facts.get("trading_error") or refusal.facts.get("error_code") or refusal.code
    if code == "RuleViolation":
        code = "DomainValidationError"
    return {"ErrorCode": str(code), "Message": refusal.message}


@router.get(
    "/port/v1/orders/{ClientKey}/{OrderId}",
    response_class=SaxoJSON,
    response_model=docs.OpenOrderList,
    responses=docs.responses(200, docs.OpenOrderList, "The order", 401, 403, 404, write=False),
)
def get_open_order(
    ctx: SaxoContext,
    box: ContainerDep,
    ClientKey: Annotated[str, Path(description="The master client's ClientKey (token's cid).")],
    OrderId: Annotated[str, Path(description="The block order's OrderId.")],
) -> SaxoJSON:
    """The client's open order with this OrderId (`Data` empty once it is filled, cancelled or
    when no such order exists, as Saxo lists open orders only)."""
    with box.uow(write=False) as uow:
        rows = saxo_trading.open_order(uow, ctx, ClientKey, OrderId)
    return SaxoJSON({"__count": len(rows), "Data": [_order_row(row) for row in rows]})


def _order_row(row: saxo_trading.OpenOrder) -> dict[str, Any]:
    block, order = row.block, row.order
    view: dict[str, Any] = {
        "AccountId": row.account.id,
        "AccountKey": row.account.account_key,
        "AllocationKeyId": str(order.key_id),
        "Amount": block.ordered_quantity,
        "AssetType": row.instrument.asset_type,
        "BuySell": block.side,
        "ClientKey": row.client_key,
        "ExternalReference": order.external_reference,
        "FilledAmount": block.filled_quantity,
        "OpenOrderType": order.order_type,
        "OrderAmountType": "Quantity",
        "OrderId": str(block.id),
        "OrderTime": utc_text(block.created_at),
        "Status": "Working",
        "Uic": row.instrument.uic,
    }
    return {name: value for name, value in view.items() if value is not None}


@router.delete(
    "/trade/v2/orders/{OrderIds}",
    response_class=SaxoJSON,
    response_model=docs.CancelledOrders,
    responses=docs.responses(
        200, docs.CancelledOrders, "Cancelled", 400, 401, 403, 404, write=True
    ),
    openapi_extra=docs.IDEMPOTENT,
)
def cancel_orders(
    ctx: SaxoContext,
    box: ContainerDep,
    OrderIds: Annotated[str, Path(description="One OrderId, or several separated by commas.")],
    account_key: str = Query(alias="AccountKey", min_length=1, max_length=100),
) -> SaxoJSON:
    """Cancel open block orders of the account (all or none): what is not filled yet is
    cancelled, what was filled stays allocated. Answers `{"Orders": [{"OrderId"}]}`."""
    ids = [part.strip() for part in OrderIds.split(",") if part.strip()]
    if not ids or len(ids) > saxo_trading.MAX_CANCEL:
        raise InvalidInstruction(
            f"OrderIds names 1 to {saxo_trading.MAX_CANCEL} orders, separated by commas",
            field="OrderIds",
        )
    with box.uow() as uow:
        cancelled = saxo_trading.cancel_orders(uow, ctx, ids, account_key)
        uow.commit()
    return SaxoJSON({"Orders": [{"OrderId": order_id} for order_id in cancelled]})
