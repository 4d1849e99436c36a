"""The CAS Allocation document (the seed's camelCase schema): reading it with every error named
by its field, and rendering a stored allocation back into it."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from allotment.domain.bookbuilding import (
    AllocationValue,
    BookAllocation,
    CommentType,
    DistributionType,
    OrderStatus,
    ValueType,
)
from allotment.domain.errors import InvalidInstruction
from allotment.domain.numbers import NotANumber, fits_storage, to_decimal

MAX_AMOUNT = Decimal(10) ** 21  # exclusive; keeps the amount sort key at a fixed width
MAX_TEXT = 200

TOP_LEVEL_FIELDS = frozenset(
    {
        "id", "createdBy", "createdDateTime", "lastModifiedBy", "lastModifiedDateTime",
        "dealId", "trancheId", "sourceId", "investorAccountId", "indicationId", "companyId",
        "sourceRowVersion", "orderStatus", "indicationGroupId", "statusMessages",
        "allocationValue", "distributionType", "comment", "detail",
    }
)  # fmt: skip
_STAMPS = frozenset({"lastModifiedBy", "lastModifiedDateTime"})
_VALUE = frozenset({"type", "data"})
_NOT_REQUIRED = object()


@dataclass(frozen=True, slots=True)
class AllocationInput:
    """What a client may set on an allocation; the server sets ids, company and stamps."""

    id: str | None
    deal_id: str
    tranche_id: str
    investor_account_id: str
    indication_id: str | None
    indication_group_id: str | None
    source_id: str | None
    source_row_version: str | None
    order_status: OrderStatus | None
    distribution_type: DistributionType
    value: AllocationValue
    override: AllocationValue | None
    status_messages: tuple[Mapping[str, Any], ...]
    comments: tuple[tuple[CommentType, str], ...] | None
    is_affirmed: bool | None


class _Reader:
    """Collects every problem of a document, keyed by the field's path."""

    def __init__(self) -> None:
        self.errors: dict[str, list[str]] = {}

    def fail(self, path: str, message: str) -> None:
        self.errors.setdefault(path, []).append(message)

    def object(self, value: Any, path: str, allowed: frozenset[str]) -> Mapping[str, Any]:
        if not isinstance(value, Mapping):
            self.fail(path, "must be an object")
            return {}
        for name in sorted(set(value) - allowed):
            self.fail(f"{path}.{name}" if path else name, "is not a field of the Allocation")
        return value

    def text(self, value: Any, path: str, *, required: bool = False) -> str | None:
        if value is None:
            if required:
                self.fail(path, "is required")
            return None
        if isinstance(value, bool) or not isinstance(value, str | int):
            self.fail(path, "must be a string")
            return None
        text = str(value)
        if required and not text.strip():
            self.fail(path, "is required")
        if len(text) > MAX_TEXT:
            self.fail(path, f"must be at most {MAX_TEXT} characters")
        return text

    def choice(self, value: Any, path: str, enum: Any, default: Any = None) -> Any:
        """A member of `enum`; a missing value is the default, or an error without one."""
        if value is None:
            if default is None:
                self.fail(path, "is required")
            return default
        for member in enum:
            if value == member.value:
                return member
        self.fail(path, f"must be one of {', '.join(m.value for m in enum)}")
        return default

    def amount(self, value: Any, path: str) -> Decimal:
        try:
            number = to_decimal(value)
        except NotANumber:
            self.fail(path, "is required" if value is None else "must be a number")
            return Decimal(0)
        if number < 0:
            self.fail(path, "must not be negative")
        elif number >= MAX_AMOUNT or not fits_storage(number):
            self.fail(path, "must be below 1e21 with at most 9 decimals")
        return number

    def value(self, raw: Any, path: str, allowed: frozenset[str]) -> AllocationValue:
        node = self.object(raw, path, allowed)
        kind = self.choice(node.get("type"), f"{path}.type", ValueType, None)
        data = self.object(node.get("data"), f"{path}.data", frozenset({"amount"}))
        amount = self.amount(data.get("amount"), f"{path}.data.amount") if data else Decimal(0)
        return AllocationValue(kind or ValueType.QUANTITY, amount)


def read_document(raw: Any, company_id: int) -> AllocationInput:
    """Read a whole Allocation (create and PUT, and the result of a PATCH)."""
    reader = _Reader()
    if not isinstance(raw, Mapping):
        errors = {"body": ["must be an Allocation object"]}
        raise InvalidInstruction("the body must be an Allocation object", errors=errors)
    doc = reader.object(raw, "", TOP_LEVEL_FIELDS)
    allocation_id = reader.text(doc.get("id"), "id")
    _company(reader, doc.get("companyId"), company_id)
    raw_value = doc.get("allocationValue")
    value = reader.value(raw_value, "allocationValue", _VALUE | {"overrideAllocation"})
    raw_override = raw_value.get("overrideAllocation") if isinstance(raw_value, Mapping) else None
    override = None
    if raw_override is not None:
        override = reader.value(raw_override, "allocationValue.overrideAllocation", _VALUE)

    def text(name: str, required: bool = False) -> str | None:
        return reader.text(doc.get(name), name, required=required)

    status = reader.choice(doc.get("orderStatus"), "orderStatus", OrderStatus, _NOT_REQUIRED)
    distribution = reader.choice(
        doc.get("distributionType"), "distributionType", DistributionType, DistributionType.MANUAL
    )
    found = AllocationInput(
        id=allocation_id,
        deal_id=text("dealId", True) or "",
        tranche_id=text("trancheId", True) or "",
        investor_account_id=text("investorAccountId", True) or "",
        indication_id=text("indicationId"),
        indication_group_id=text("indicationGroupId"),
        source_id=text("sourceId"),
        source_row_version=text("sourceRowVersion"),
        order_status=None if status is _NOT_REQUIRED else status,
        distribution_type=distribution,
        value=value,
        override=override,
        status_messages=_status_messages(reader, doc.get("statusMessages")),
        comments=_comments(reader, doc.get("comment")),
        is_affirmed=_affirmation(reader, doc.get("detail")),
    )
    if reader.errors:
        first = next(iter(reader.errors))
        message = f"{first or 'body'}: {reader.errors[first][0]}"
        raise InvalidInstruction(message, errors=reader.errors)
    return found


def _company(reader: _Reader, raw: Any, company_id: int) -> None:
    """companyId is the caller's company (from the token). The seed's example sends the
    placeholder 0, which is read as "the caller's"; so is the caller's own id; another
    company's id is refused."""
    if raw is None:
        return
    try:
        number = None if isinstance(raw, bool) else to_decimal(raw)
    except NotANumber:
        number = None
    if number is None or number != number.to_integral_value():
        reader.fail("companyId", "must be an integer")
    elif number not in (0, company_id):
        reader.fail("companyId", f"must be the caller's company ({company_id}) or 0")


def _status_messages(reader: _Reader, raw: Any) -> tuple[Mapping[str, Any], ...]:
    if raw is None:
        return ()
    if not isinstance(raw, list):
        reader.fail("statusMessages", "must be an array")
        return ()
    out = []
    for index, item in enumerate(raw):
        path = f"statusMessages[{index}]"
        node = reader.object(item, path, frozenset({"code", "message"}))
        code = reader.text(node.get("code"), f"{path}.code")
        out.append({"code": code, "message": reader.text(node.get("message"), f"{path}.message")})
    return tuple(out)


def _comments(reader: _Reader, raw: Any) -> tuple[tuple[CommentType, str], ...] | None:
    if raw is None:
        return None
    node = reader.object(raw, "comment", frozenset({"comments"}))
    items = node.get("comments") or []
    if not isinstance(items, list):
        reader.fail("comment.comments", "must be an array")
        return ()
    out = []
    for index, item in enumerate(items):
        path = f"comment.comments[{index}]"
        entry = reader.object(item, path, frozenset({"commentType", "comment"}) | _STAMPS)
        kind = reader.choice(entry.get("commentType"), f"{path}.commentType", CommentType, None)
        text = reader.text(entry.get("comment"), f"{path}.comment") or ""
        out.append((kind or CommentType.PUBLIC, text))
    return tuple(out)


def _affirmation(reader: _Reader, raw: Any) -> bool | None:
    if raw is None:
        return None
    detail = reader.object(raw, "detail", frozenset({"order"}))
    order = reader.object(detail.get("order") or {}, "detail.order", frozenset({"affirmation"}))
    affirmation = order.get("affirmation")
    if affirmation is None:
        return None
    path = "detail.order.affirmation"
    allowed = frozenset({"isAffirmed", "modifiedBy", "modifiedDateTime"})
    node = reader.object(affirmation, path, allowed)
    flag = node.get("isAffirmed")
    if flag is not None and not isinstance(flag, bool):
        reader.fail(f"{path}.isAffirmed", "must be true or false")
        return None
    return flag


def stamp_comments(
    comments: tuple[tuple[CommentType, str], ...] | None,
    before: Mapping[str, Any] | None,
    who: str,
    now: datetime,
) -> Mapping[str, Any] | None:
    """Comments keep their stamps when unchanged; new or edited ones get the caller's."""
    if comments is None:
        return None
    previous = {(c["commentType"], c["comment"]): c for c in (before or {}).get("comments", [])}
    stamped = []
    for kind, text in comments:
        old = previous.get((kind.value, text))
        stamped.append(
            {
                "commentType": kind.value,
                "comment": text,
                "lastModifiedBy": old["lastModifiedBy"] if old else who,
                "lastModifiedDateTime": old["lastModifiedDateTime"] if old else render_time(now),
            }
        )
    return {"comments": stamped}


def stamp_detail(
    is_affirmed: bool | None, before: Mapping[str, Any] | None, who: str, now: datetime
) -> Mapping[str, Any] | None:
    """The affirmation keeps its stamps while isAffirmed stays the same."""
    if is_affirmed is None:
        return None
    old = (before or {}).get("order", {}).get("affirmation")
    if old is not None and old.get("isAffirmed") == is_affirmed:
        return before
    stamp = {"isAffirmed": is_affirmed, "modifiedBy": who, "modifiedDateTime": render_time(now)}
    return {"order": {"affirmation": stamp}}


def render_time(moment: datetime) -> str:
    """UTC with milliseconds and a Z, as the seed's examples."""
    text = moment.astimezone(UTC).isoformat(timespec="milliseconds")
    return text.removesuffix("+00:00") + "Z"


def _value_document(value: AllocationValue) -> dict[str, Any]:
    return {"type": value.type.value, "data": {"amount": value.amount}}


def render(allocation: BookAllocation) -> dict[str, Any]:
    """The Allocation in the seed's field order; amounts stay Decimal for the JSON writer."""
    value = _value_document(allocation.value)
    if allocation.override is not None:
        value["overrideAllocation"] = _value_document(allocation.override)
    return {
        "id": allocation.id,
        "createdBy": allocation.created_by,
        "createdDateTime": render_time(allocation.created_at),
        "lastModifiedBy": allocation.last_modified_by,
        "lastModifiedDateTime": render_time(allocation.last_modified_at),
        "dealId": allocation.deal_id,
        "trancheId": allocation.tranche_id,
        "sourceId": allocation.source_id,
        "investorAccountId": allocation.investor_account_id,
        "indicationId": allocation.indication_id,
        "companyId": allocation.company_id,
        "sourceRowVersion": allocation.source_row_version,
        "orderStatus": allocation.order_status.value,
        "indicationGroupId": allocation.indication_group_id,
        "statusMessages": [dict(m) for m in allocation.status_messages],
        "allocationValue": value,
        "distributionType": allocation.distribution_type.value,
        "comment": allocation.comment,
        "detail": allocation.detail,
    }
