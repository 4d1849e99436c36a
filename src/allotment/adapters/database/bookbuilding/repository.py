"""The repository of the book-building capability, reached as `uow.bookbuilding`; its tables
are in `bookbuilding_tables`.

Every searchable field of a CAS allocation is a column, so that a search is one query plus
one count. Amounts are exact (ExactDecimal); for filtering and sorting they also keep
`amount_key`, the amount in billionths as 30 zero-padded digits, which orders the same as the
number on both databases (amounts are never negative and below 1e21).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    Row,
    Table,
    and_,
    delete,
    func,
    or_,
    select,
    update,
)

from allotment.adapters.database.bookbuilding.tables import (
    allocations,
    deals,
    indications,
    investor_accounts,
    tranches,
)
from allotment.adapters.database.bulk import insert_rows
from allotment.domain.bookbuilding import (
    AllocationValue,
    BookAllocation,
    Deal,
    DistributionType,
    Indication,
    InvestorAccount,
    OrderStatus,
    Tranche,
    ValueType,
)
from allotment.services.bookbuilding.ports import Criterion, FieldKind, Operator, SearchQuery

AMOUNT_SCALE = 10**9


def amount_key(amount: Decimal) -> str:
    """The amount in billionths, 30 digits: text order equals number order."""
    return f"{int(amount * AMOUNT_SCALE):030d}"


def _dumps_extras(extras: dict[str, Any]) -> str:
    return json.dumps(extras, separators=(",", ":"))


_EMPTY_EXTRAS = _dumps_extras({"statusMessages": [], "comment": None, "detail": None})


def allocation_row(allocation: BookAllocation) -> dict[str, Any]:
    override = allocation.override
    detail = allocation.detail or {}
    affirmation = detail.get("order", {}).get("affirmation") or {}
    extras = {
        "statusMessages": list(allocation.status_messages),
        "comment": allocation.comment,
        "detail": allocation.detail,
    }
    return {
        "id": allocation.id,
        "company_id": allocation.company_id,
        "deal_id": allocation.deal_id,
        "tranche_id": allocation.tranche_id,
        "investor_account_id": allocation.investor_account_id,
        "indication_id": allocation.indication_id,
        "indication_group_id": allocation.indication_group_id,
        "source_id": allocation.source_id,
        "source_row_version": allocation.source_row_version,
        "order_status": allocation.order_status.value,
        "distribution_type": allocation.distribution_type.value,
        "value_type": allocation.value.type.value,
        "amount": allocation.value.amount,
        "amount_key": amount_key(allocation.value.amount),
        "override_type": override.type.value if override else None,
        "override_amount": override.amount if override else None,
        "is_affirmed": affirmation.get("isAffirmed"),
        "extras": _dumps_extras(extras),
        "created_by": allocation.created_by,
        "created_at": allocation.created_at,
        "last_modified_by": allocation.last_modified_by,
        "last_modified_at": allocation.last_modified_at,
    }


_NO_EXTRAS: dict[str, Any] = {}
_ORDER = [
    "id",
    "company_id",
    "deal_id",
    "tranche_id",
    "investor_account_id",
    "indication_id",
    "indication_group_id",
    "source_id",
    "source_row_version",
    "order_status",
    "distribution_type",
    "value_type",
    "amount",
    "amount_key",
    "override_type",
    "override_amount",
    "is_affirmed",
    "extras",
    "created_by",
    "created_at",
    "last_modified_by",
    "last_modified_at",
]
assert [column.name for column in allocations.columns] == _ORDER, "_allocation reads by position"


def _extras(text: str) -> dict[str, Any]:
    """Most allocations carry no messages, comments or detail: skip the JSON parser then."""
    if text == _EMPTY_EXTRAS:
        return _NO_EXTRAS
    found: dict[str, Any] = json.loads(text)
    return found


def _allocation(row: Row[Any]) -> BookAllocation:
    """A stored allocation; read by position (the table's column order), cheaper per row than
    by name on a page of hundreds."""
    (
        allocation_id, company_id, deal_id, tranche_id, investor_account_id, indication_id,
        indication_group_id, source_id, source_row_version, order_status, distribution_type,
        value_type, amount, _amount_key, override_type, override_amount, _is_affirmed, extras,
        created_by, created_at, last_modified_by, last_modified_at,
    ) = tuple(row)  # fmt: skip
    found = _extras(extras)
    override = None
    if override_type is not None:
        override = AllocationValue(ValueType(override_type), override_amount)
    return BookAllocation(
        id=allocation_id,
        company_id=company_id,
        deal_id=deal_id,
        tranche_id=tranche_id,
        investor_account_id=investor_account_id,
        indication_id=indication_id,
        indication_group_id=indication_group_id,
        source_id=source_id,
        source_row_version=source_row_version,
        order_status=OrderStatus(order_status),
        distribution_type=DistributionType(distribution_type),
        value=AllocationValue(ValueType(value_type), amount),
        override=override,
        status_messages=tuple(found.get("statusMessages") or ()),
        comment=found.get("comment"),
        detail=found.get("detail"),
        created_by=created_by,
        created_at=created_at,
        last_modified_by=last_modified_by,
        last_modified_at=last_modified_at,
    )


def _deal(row: Row[Any]) -> Deal:
    return Deal(**row._asdict())


def _tranche(row: Row[Any]) -> Tranche:
    return Tranche(**row._asdict())


def _investor(row: Row[Any]) -> InvestorAccount:
    return InvestorAccount(**row._asdict())


def _indication(row: Row[Any]) -> Indication:
    values = row._asdict()
    values["demand_type"] = ValueType(values["demand_type"])
    return Indication(**values)


def _record(obj: Any) -> dict[str, Any]:
    names = obj.__dataclass_fields__
    return {name: _plain(getattr(obj, name)) for name in names}


def _plain(value: Any) -> Any:
    return value.value if isinstance(value, ValueType) else value


_A = allocations.c


def _condition(criterion: Criterion) -> ColumnElement[bool]:
    column = _A[criterion.column]
    value = criterion.value
    if criterion.kind is FieldKind.DECIMAL:
        column = _A.amount_key
        value = tuple(map(amount_key, value)) if isinstance(value, tuple) else amount_key(value)
    op = criterion.operator
    if op is Operator.CONTAINS:
        return func.lower(column).contains(value.lower(), autoescape=True)
    if op is Operator.STARTS_WITH:
        return func.lower(column).startswith(value.lower(), autoescape=True)
    if op is Operator.IN:
        return column.in_(value)
    if op is Operator.NE:
        return or_(column != value, column.is_(None))  # SQL's != would also drop nulls
    comparisons = {
        Operator.EQ: column.__eq__,
        Operator.GT: column.__gt__,
        Operator.GE: column.__ge__,
        Operator.LT: column.__lt__,
        Operator.LE: column.__le__,
    }
    condition: ColumnElement[bool] = comparisons[op](value)
    return condition


class SqlBookbuildingRepository:
    def __init__(self, connection: Connection) -> None:
        self._db = connection

    def _one(self, table: Table, company_id: int, key: str, lock: bool = False) -> Any:
        query = select(table).where(table.c.id == key, table.c.company_id == company_id)
        return self._db.execute(query.with_for_update() if lock else query).first()

    def add_deal(self, deal: Deal) -> None:
        self._db.execute(deals.insert().values(**_record(deal)))

    def deal(self, company_id: int, deal_id: str) -> Deal | None:
        row = self._one(deals, company_id, deal_id)
        return _deal(row) if row else None

    def deals(self, company_id: int) -> list[Deal]:
        query = select(deals).where(deals.c.company_id == company_id)
        return [_deal(r) for r in self._db.execute(query.order_by(deals.c.created_at, deals.c.id))]

    def add_tranche(self, tranche: Tranche) -> None:
        self._db.execute(tranches.insert().values(**_record(tranche)))

    def tranche(self, company_id: int, tranche_id: str, lock: bool = False) -> Tranche | None:
        row = self._one(tranches, company_id, tranche_id, lock)
        return _tranche(row) if row else None

    def tranches(self, company_id: int, deal_id: str) -> list[Tranche]:
        t = tranches.c
        query = select(tranches).where(t.company_id == company_id, t.deal_id == deal_id)
        return [_tranche(r) for r in self._db.execute(query.order_by(t.created_at, t.id))]

    def tranche_company(self, tranche_id: str) -> int | None:
        query = select(tranches.c.company_id).where(tranches.c.id == tranche_id)
        found: int | None = self._db.execute(query).scalar_one_or_none()
        return found

    def add_investor(self, investor: InvestorAccount) -> None:
        self._db.execute(investor_accounts.insert().values(**_record(investor)))

    def investor(self, company_id: int, investor_id: str) -> InvestorAccount | None:
        row = self._one(investor_accounts, company_id, investor_id)
        return _investor(row) if row else None

    def investors(
        self, company_id: int, ids: Sequence[str] | None = None
    ) -> dict[str, InvestorAccount]:
        i = investor_accounts.c
        query = select(investor_accounts).where(i.company_id == company_id)
        if ids is not None:
            query = query.where(i.id.in_(sorted(set(ids))))
        found = [_investor(r) for r in self._db.execute(query.order_by(i.created_at, i.id))]
        return {investor.id: investor for investor in found}

    def add_indication(self, indication: Indication) -> None:
        self._db.execute(indications.insert().values(**_record(indication)))

    def indication(self, company_id: int, indication_id: str) -> Indication | None:
        row = self._one(indications, company_id, indication_id)
        return _indication(row) if row else None

    def indications(self, company_id: int, tranche_id: str) -> list[Indication]:
        i = indications.c
        query = select(indications).where(i.company_id == company_id, i.tranche_id == tranche_id)
        return [_indication(r) for r in self._db.execute(query.order_by(i.created_at, i.id))]

    def add_allocations(self, rows: Sequence[BookAllocation]) -> None:
        insert_rows(self._db, allocations, [allocation_row(row) for row in rows])

    def allocation(
        self, company_id: int, allocation_id: str, lock: bool = False
    ) -> BookAllocation | None:
        row = self._one(allocations, company_id, allocation_id, lock)
        return _allocation(row) if row else None

    def allocation_by_source(
        self, company_id: int, source_id: str, lock: bool = False
    ) -> BookAllocation | None:
        query = select(allocations).where(_A.company_id == company_id, _A.source_id == source_id)
        row = self._db.execute(query.with_for_update() if lock else query).first()
        return _allocation(row) if row else None

    def update_allocation(self, row: BookAllocation) -> None:
        values = allocation_row(row)
        del values["id"], values["company_id"]
        query = update(allocations).where(_A.id == row.id, _A.company_id == row.company_id)
        self._db.execute(query.values(**values))

    def delete_allocations(self, company_id: int, ids: Sequence[str]) -> None:
        if ids:
            # `company_id + 0`: found by id, the company checked on each row found. SQLite,
            # without statistics, planned `company_id = ?` through the company's index and
            # scanned the company's whole book for a handful of ids.
            query = delete(allocations).where(_A.id.in_(list(ids)), _A.company_id + 0 == company_id)
            self._db.execute(query)

    def tranche_allocations(self, company_id: int, tranche_id: str) -> list[BookAllocation]:
        query = select(allocations).where(_A.company_id == company_id, _A.tranche_id == tranche_id)
        return [_allocation(r) for r in self._db.execute(query.order_by(_A.id))]

    def search(self, query: SearchQuery) -> tuple[int, list[BookAllocation]]:
        """One count and one page query, both on the same conditions."""
        where = and_(_A.company_id == query.company_id, *map(_condition, query.criteria))
        total = self._db.execute(select(func.count()).select_from(allocations).where(where))
        count = int(total.scalar_one())
        if query.offset >= count:
            return count, []
        page = select(allocations).where(where).order_by(*self._order(query))
        rows = self._db.execute(page.offset(query.offset).limit(query.limit))
        return count, [_allocation(row) for row in rows]

    def _order(self, query: SearchQuery) -> list[Any]:
        """Nulls sort as the largest value on both databases (PostgreSQL's default)."""
        order: list[Any] = []
        sqlite = self._db.dialect.name == "sqlite"
        for key in query.sort:
            column = _A.amount_key if key.column == "amount" else _A[key.column]
            ordered = column.desc() if key.descending else column.asc()
            if key.nullable and sqlite:
                ordered = ordered.nulls_first() if key.descending else ordered.nulls_last()
            order.append(ordered)
        return order
