"""The book-building dialect's documents as the OpenAPI shows them: the seed's Allocation
(camelCase), the search request and page, JSON Patch; and the route keywords that declare a
hand-parsed body and its answer. The routes read bodies themselves (every error named by its
field, numbers exact); these models only describe them."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field, WithJsonSchema
from starlette.responses import Response


class _Amount(BaseModel):
    # A JSON number both ways, as the seed shows it (a numeric string is read too).
    amount: Annotated[Decimal, WithJsonSchema({"type": "number", "minimum": 0})] = Field(ge=0)


class _Value(BaseModel):
    type: Literal["cash", "quantity"]
    data: _Amount


class _AllocationValue(_Value):
    overrideAllocation: _Value | None = None


class _StatusMessage(BaseModel):
    code: str | None = None
    message: str | None = None


class _Comment(BaseModel):
    commentType: Literal["public", "private"]
    comment: str
    lastModifiedBy: str | None = Field(default=None, description="Set by the service.")
    lastModifiedDateTime: str | None = Field(default=None, description="Set by the service.")


class _Comments(BaseModel):
    comments: list[_Comment] = []


class _Affirmation(BaseModel):
    isAffirmed: bool
    modifiedBy: str | None = None
    modifiedDateTime: str | None = None


class _Order(BaseModel):
    affirmation: _Affirmation | None = None


class _Detail(BaseModel):
    order: _Order | None = None


class Allocation(BaseModel):
    id: str | None = Field(default=None, description="CAS id (UUID); required on PUT.")
    createdBy: str | None = None
    createdDateTime: str | None = None
    lastModifiedBy: str | None = None
    lastModifiedDateTime: str | None = None
    dealId: str
    trancheId: str
    sourceId: str | None = Field(default=None, description="Unique within the company.")
    investorAccountId: str
    indicationId: str | None = None
    companyId: int | None = Field(default=None, description="The token's company.")
    sourceRowVersion: str | None = None
    orderStatus: Literal["pending", "delivered", "successful", "failed", "deletePending"] = (
        "pending"
    )
    indicationGroupId: str | None = None
    statusMessages: list[_StatusMessage] = []
    allocationValue: _AllocationValue
    distributionType: Literal["manual", "auto", "none"] = "manual"
    comment: _Comments | None = None
    detail: _Detail | None = None


class _Criterion(BaseModel):
    field: str
    operator: Literal["=", "!=", ">", ">=", "<", "<=", "in", "contains", "startsWith"]
    value: Any


class _SortField(BaseModel):
    field: str
    direction: Literal["asc", "desc"] = "asc"


class SearchRequest(BaseModel):
    page: int = Field(default=1, ge=1)
    pageSize: int = Field(default=250, ge=1, le=1000)
    projection: str | None = Field(default=None, description="Field names, comma-separated.")
    criteria: list[_Criterion] | None = None
    sortFields: list[_SortField] | None = None


class AllocationPage(BaseModel):
    page: int
    pageSize: int
    totalCount: int
    totalPages: int
    items: list[Allocation]


class _PatchOperation(BaseModel):
    op: Literal["add", "remove", "replace", "move", "copy", "test"]
    path: str
    value: Any = None
    # "from" is a keyword in Python; documented through the alias.
    from_: str | None = Field(default=None, alias="from")


def _inline(node: Any, defs: dict[str, Any]) -> Any:
    """A schema with its `$defs` references replaced by the definitions themselves, so that
    it reads the same in this service's OpenAPI document and in the whole application's."""
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/$defs/"):
            return _inline(defs[ref.removeprefix("#/$defs/")], defs)
        return {key: _inline(value, defs) for key, value in node.items() if key != "$defs"}
    if isinstance(node, list):
        return [_inline(item, defs) for item in node]
    return node


def _schema(model: type[BaseModel]) -> dict[str, Any]:
    schema = model.model_json_schema(by_alias=True)
    inlined: dict[str, Any] = _inline(schema, schema.get("$defs", {}))
    return inlined


_BODIES: dict[str, dict[str, Any]] = {
    "Allocation": _schema(Allocation),
    "SearchRequest": _schema(SearchRequest),
    "JsonPatch": {"type": "array", "items": _schema(_PatchOperation)},
}
_ANSWERS: dict[str, type[BaseModel]] = {"Allocation": Allocation, "AllocationPage": AllocationPage}
_PROBLEM = {"description": "Problem details", "content": {"application/problem+json": {}}}


def doc(
    request: str | None, answer: str | None, status: int = 200, media: str = "application/json"
) -> dict[str, Any]:
    """Route keywords that document a hand-parsed body and its answer in the OpenAPI."""
    ok: dict[str, Any] = {"description": "OK"}
    if answer:
        ok["model"] = _ANSWERS[answer]
    responses: dict[int | str, Any] = {status: ok}
    responses.update({code: _PROBLEM for code in (400, 401, 403, 404, 409)})
    extra: dict[str, Any] = {}
    if request:
        schema = _BODIES[request]
        content = {media: {"schema": schema}}
        if media != "application/json":
            content["application/json"] = {"schema": schema}
        extra["requestBody"] = {"required": True, "content": content}
    return {"responses": responses, "openapi_extra": extra, "response_class": Response}
