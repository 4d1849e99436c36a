"""What the book-building services need from storage (`uow.bookbuilding`), and the
storage-neutral shape of an allocation search."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Protocol

from allotment.domain.bookbuilding import BookAllocation, Deal, Indication, InvestorAccount, Tranche
from allotment.services.ports import UnitOfWork


class FieldKind(StrEnum):
    TEXT = "text"
    ENUM = "enum"
    DECIMAL = "decimal"
    DATETIME = "datetime"
    BOOLEAN = "boolean"


class Operator(StrEnum):
    EQ = "="
    NE = "!="
    GT = ">"
    GE = ">="
    LT = "<"
    LE = "<="
    IN = "in"
    CONTAINS = "contains"
    STARTS_WITH = "startsWith"


@dataclass(frozen=True, slots=True)
class Criterion:
    """`column operator value`; for `in`, value is a tuple. Text matching by contains and
    startsWith ignores case."""

    column: str
    kind: FieldKind
    operator: Operator
    value: Any


@dataclass(frozen=True, slots=True)
class SortKey:
    column: str
    descending: bool
    nullable: bool


@dataclass(frozen=True, slots=True)
class SearchQuery:
    company_id: int
    criteria: tuple[Criterion, ...]
    sort: tuple[SortKey, ...]
    offset: int
    limit: int


class BookbuildingRepository(Protocol):
    def add_deal(self, deal: Deal) -> None: ...
    def deal(self, company_id: int, deal_id: str) -> Deal | None: ...
    def deals(self, company_id: int) -> list[Deal]: ...
    def add_tranche(self, tranche: Tranche) -> None: ...
    def tranche(self, company_id: int, tranche_id: str, lock: bool = False) -> Tranche | None: ...
    def tranches(self, company_id: int, deal_id: str) -> list[Tranche]: ...
    def tranche_company(self, tranche_id: str) -> int | None:
        """The company of a tranche, for operator tools that run outside any company."""

    def add_investor(self, investor: InvestorAccount) -> None: ...
    def investor(self, company_id: int, investor_id: str) -> InvestorAccount | None: ...
    def investors(
        self, company_id: int, ids: Sequence[str] | None = None
    ) -> dict[str, InvestorAccount]: ...
    def add_indication(self, indication: Indication) -> None: ...
    def indication(self, company_id: int, indication_id: str) -> Indication | None: ...
    def indications(self, company_id: int, tranche_id: str) -> list[Indication]: ...
    def add_allocations(self, rows: Sequence[BookAllocation]) -> None: ...
    def allocation(
        self, company_id: int, allocation_id: str, lock: bool = False
    ) -> BookAllocation | None: ...
    def allocation_by_source(
        self, company_id: int, source_id: str, lock: bool = False
    ) -> BookAllocation | None: ...
    def update_allocation(self, row: BookAllocation) -> None: ...
    def delete_allocations(self, company_id: int, ids: Sequence[str]) -> None: ...
    def tranche_allocations(self, company_id: int, tranche_id: str) -> list[BookAllocation]: ...
    def search(self, query: SearchQuery) -> tuple[int, list[BookAllocation]]: ...


def repository(uow: UnitOfWork) -> BookbuildingRepository:
    return uow.bookbuilding
