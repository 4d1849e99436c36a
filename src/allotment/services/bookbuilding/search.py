"""The CAS allocation search: the searchable fields, reading a search request (JSON body or
form) into a storage-neutral query, and projecting the results.

Every searchable field is a column of its own, so a search is one SQL query plus one count.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from allotment.domain.bookbuilding import DistributionType, OrderStatus, ValueType
from allotment.domain.errors import InvalidInstruction
from allotment.domain.numbers import NotANumber, fits_storage, to_decimal
from allotment.services.bookbuilding.document import TOP_LEVEL_FIELDS
from allotment.services.bookbuilding.ports import (
    Criterion,
    FieldKind,
    Operator,
    SearchQuery,
    SortKey,
)

DEFAULT_PAGE_SIZE = 250
MAX_PAGE_SIZE = 1000
MAX_CRITERIA = 50
MAX_IN_VALUES = 1000
MAX_PAGE = 2**31 - 1
"""CAS's page is a .NET Int32; a larger page (or an offset past 2**63) is refused by name."""


@dataclass(frozen=True, slots=True)
class Searchable:
    column: str
    kind: FieldKind
    nullable: bool = False
    values: frozenset[str] = frozenset()


def _enum(column: str, values: type[OrderStatus | DistributionType | ValueType]) -> Searchable:
    return Searchable(column, FieldKind.ENUM, values=frozenset(v.value for v in values))


FIELDS: dict[str, Searchable] = {
    "id": Searchable("id", FieldKind.TEXT),
    "dealId": Searchable("deal_id", FieldKind.TEXT),
    "trancheId": Searchable("tranche_id", FieldKind.TEXT),
    "investorAccountId": Searchable("investor_account_id", FieldKind.TEXT),
    "indicationId": Searchable("indication_id", FieldKind.TEXT, nullable=True),
    "indicationGroupId": Searchable("indication_group_id", FieldKind.TEXT, nullable=True),
    "sourceId": Searchable("source_id", FieldKind.TEXT, nullable=True),
    "sourceRowVersion": Searchable("source_row_version", FieldKind.TEXT, nullable=True),
    "orderStatus": _enum("order_status", OrderStatus),
    "distributionType": _enum("distribution_type", DistributionType),
    "allocationValue.type": _enum("value_type", ValueType),
    "allocationValue.data.amount": Searchable("amount", FieldKind.DECIMAL),
    "createdBy": Searchable("created_by", FieldKind.TEXT),
    "createdDateTime": Searchable("created_at", FieldKind.DATETIME),
    "lastModifiedBy": Searchable("last_modified_by", FieldKind.TEXT),
    "lastModifiedDateTime": Searchable("last_modified_at", FieldKind.DATETIME),
    "detail.order.affirmation.isAffirmed": Searchable(
        "is_affirmed", FieldKind.BOOLEAN, nullable=True
    ),
}
# companyId is always the caller's company: searchable for clients that send it anyway.
COMPANY_FIELD = "companyId"

_OPERATORS: dict[FieldKind, frozenset[Operator]] = {
    FieldKind.TEXT: frozenset(Operator),
    FieldKind.ENUM: frozenset({Operator.EQ, Operator.NE, Operator.IN}),
    FieldKind.DECIMAL: frozenset(Operator) - {Operator.CONTAINS, Operator.STARTS_WITH},
    FieldKind.DATETIME: frozenset(Operator) - {Operator.CONTAINS, Operator.STARTS_WITH},
    FieldKind.BOOLEAN: frozenset({Operator.EQ, Operator.NE}),
}
_DIRECTIONS = {"asc": False, "ascending": False, "desc": True, "descending": True}
DEFAULT_SORT = (SortKey("created_at", False, False), SortKey("id", False, False))


@dataclass(frozen=True, slots=True)
class SearchRequest:
    query: SearchQuery
    page: int
    page_size: int
    projection: tuple[str, ...] | None

    def total_pages(self, total: int) -> int:
        return math.ceil(total / self.page_size)


def read_search(raw: Any, company_id: int) -> SearchRequest:
    """A search request from its JSON (or form-decoded) object; 400 names the field."""
    if raw is None:
        raw = {}
    if not isinstance(raw, Mapping):
        raise _bad("body", "the search body must be a JSON object")
    unknown = sorted(set(raw) - {"page", "pageSize", "projection", "criteria", "sortFields"})
    if unknown:
        raise _bad(unknown[0], "is not a search parameter")
    page = _integer(raw.get("page"), "page", 1, 1, MAX_PAGE)
    page_size = _integer(raw.get("pageSize"), "pageSize", DEFAULT_PAGE_SIZE, 1, MAX_PAGE_SIZE)
    criteria = _criteria(raw.get("criteria"), company_id)
    sort = _sort(raw.get("sortFields"))
    query = SearchQuery(company_id, criteria, sort, (page - 1) * page_size, page_size)
    return SearchRequest(query, page, page_size, _projection(raw.get("projection")))


def _bad(field: str, message: str) -> InvalidInstruction:
    return InvalidInstruction(f"{field}: {message}", field=field)


def _integer(value: Any, name: str, default: int, low: int, high: int) -> int:
    """A whole number within [low, high], compared before it is made an int (a JSON number
    such as 1e999999999 is never expanded)."""
    if value is None or value == "":
        return default
    if isinstance(value, str) and value.strip().lstrip("+").isdigit() and value.isascii():
        value = Decimal(value.strip())
    if isinstance(value, bool) or not isinstance(value, int | Decimal):
        raise _bad(name, "must be a whole number")
    if isinstance(value, Decimal) and value != value.to_integral_value():
        raise _bad(name, "must be a whole number")
    if value < low or value > high:
        raise _bad(name, f"must be between {low} and {high}")
    return int(value)


def _quoted(text: str) -> str:
    """A client's text inside a message, quoted as JSON writes it."""
    return json.dumps(text, ensure_ascii=False)


def _field_name(name: Any, where: str) -> str:
    if name is None:
        raise _bad(where, "is required")
    if not isinstance(name, str):
        raise _bad(where, "must be a field name (a string)")
    return name


def _criteria(raw: Any, company_id: int) -> tuple[Criterion, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, list):
        raise _bad("criteria", "must be an array of {field, operator, value}")
    if len(raw) > MAX_CRITERIA:
        raise _bad("criteria", f"at most {MAX_CRITERIA} criteria")
    found: list[Criterion] = []
    for index, item in enumerate(raw):
        where = f"criteria[{index}]"
        if not isinstance(item, Mapping) or set(item) - {"field", "operator", "value"}:
            raise _bad(where, "must be an object with field, operator and value")
        criterion = _criterion(item, where, company_id)
        if criterion is not None:
            found.append(criterion)
    return tuple(found)


def _criterion(item: Mapping[str, Any], where: str, company_id: int) -> Criterion | None:
    name = item.get("field")
    operator_text = item.get("operator")
    operator = next((op for op in Operator if op.value == operator_text), None)
    if operator is None:
        raise _bad(f"{where}.operator", f"must be one of {' '.join(op.value for op in Operator)}")
    name = _field_name(name, f"{where}.field")
    if name == COMPANY_FIELD:
        return _company_criterion(item.get("value"), operator, where, company_id)
    spec = FIELDS.get(name)
    if spec is None:
        raise _bad(f"{where}.field", f"unknown field {_quoted(name)}")
    if operator not in _OPERATORS[spec.kind]:
        raise _bad(f"{where}.operator", f"{operator.value} does not apply to {name}")
    value = item.get("value")
    if operator is Operator.IN:
        values = _in_values(value, f"{where}.value")
        typed: Any = tuple(_value(spec, v, f"{where}.value") for v in values)
    else:
        typed = _value(spec, value, f"{where}.value")
    return Criterion(spec.column, spec.kind, operator, typed)


def _company_criterion(
    value: Any, operator: Operator, where: str, company_id: int
) -> Criterion | None:
    if operator is not Operator.EQ:
        raise _bad(f"{where}.operator", "companyId takes only =")
    if str(value) != str(company_id):
        raise _bad(f"{where}.value", "companyId is always the caller's company")
    return None


def _in_values(value: Any, where: str) -> list[Any]:
    if isinstance(value, str):
        value = [part.strip() for part in value.split(",") if part.strip()]
    if not isinstance(value, list) or not value:
        raise _bad(where, "in takes a non-empty array (or a comma-separated list)")
    if len(value) > MAX_IN_VALUES:
        raise _bad(where, f"in takes at most {MAX_IN_VALUES} values")
    return value


def _value(spec: Searchable, value: Any, where: str) -> Any:
    if value is None:
        raise _bad(where, "a value is required")
    if spec.kind is FieldKind.TEXT:
        if isinstance(value, bool) or not isinstance(value, str | int | Decimal):
            raise _bad(where, "must be a string")
        return str(value)
    if spec.kind is FieldKind.ENUM:
        if value not in spec.values:
            raise _bad(where, f"must be one of {', '.join(sorted(spec.values))}")
        return str(value)
    if spec.kind is FieldKind.DECIMAL:
        return _decimal(value, where)
    if spec.kind is FieldKind.DATETIME:
        return parse_datetime(value, where)
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    if not isinstance(value, bool):
        raise _bad(where, "must be true or false")
    return value


def _decimal(value: Any, where: str) -> Decimal:
    try:
        number = to_decimal(value)
    except NotANumber as error:
        raise _bad(where, "must be a number") from error
    if not fits_storage(number):
        raise _bad(where, "at most 9 decimals and 30 digits")
    return number


def parse_datetime(value: Any, where: str) -> datetime:
    """An ISO 8601 time; one without a zone is taken as UTC."""
    if not isinstance(value, str):
        raise _bad(where, "must be an ISO 8601 date-time string")
    text = value.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError as error:
        raise _bad(where, "must be an ISO 8601 date-time string") from error
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def _sort(raw: Any) -> tuple[SortKey, ...]:
    if raw is None or raw == []:
        return DEFAULT_SORT
    if not isinstance(raw, list):
        raise _bad("sortFields", "must be an array of {field, direction}")
    keys: list[SortKey] = []
    for index, item in enumerate(raw):
        where = f"sortFields[{index}]"
        if not isinstance(item, Mapping) or set(item) - {"field", "direction"}:
            raise _bad(where, "must be an object with field and direction")
        name = _field_name(item.get("field"), f"{where}.field")
        spec = FIELDS.get(name)
        if spec is None:
            raise _bad(f"{where}.field", f"unknown field {_quoted(name)}")
        direction = str(item.get("direction") or "asc").lower()
        if direction not in _DIRECTIONS:
            raise _bad(f"{where}.direction", "must be asc or desc")
        keys.append(SortKey(spec.column, _DIRECTIONS[direction], spec.nullable))
    if all(key.column != "id" for key in keys):
        keys.append(SortKey("id", False, False))  # a stable order makes pages disjoint
    return tuple(keys)


def _projection(raw: Any) -> tuple[str, ...] | None:
    if raw is None or raw == "" or raw == []:
        return None
    names = raw.replace(",", " ").split() if isinstance(raw, str) else raw
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
        raise _bad("projection", "must be a list of field names")
    for name in names:
        if not _projectable(name):
            raise _bad("projection", f"unknown field {_quoted(name)}")
    return tuple(names)


def _projectable(name: str) -> bool:
    return name.split(".", 1)[0] in TOP_LEVEL_FIELDS


def project(document: Mapping[str, Any], fields: Sequence[str] | None) -> dict[str, Any]:
    """Only the named fields (dotted paths keep their nesting); all when None."""
    if fields is None:
        return dict(document)
    out: dict[str, Any] = {}
    for name in fields:
        parts = name.split(".")
        node: Any = document
        for part in parts:
            node = node.get(part) if isinstance(node, Mapping) else None
        target = out
        for part in parts[:-1]:
            target = target.setdefault(part, {})
        target[parts[-1]] = node
    return out
