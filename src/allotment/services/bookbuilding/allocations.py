"""The CAS book-building Allocations service v4: create, get, replace, patch, delete and search
allocations of the caller's company (SPEC §4.4).

Book-building allocations are primary-market instructions (how many new shares an investor
is to receive); they are not booked on the ledger.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from allotment.domain.bookbuilding import (
    BookAllocation,
    OrderStatus,
    check_transition,
    is_stale,
    on_delete,
)
from allotment.domain.errors import Conflict, InvalidInstruction, NotFound, StaleVersion
from allotment.domain.identity import Scope
from allotment.domain.numbers import to_uuid
from allotment.services.bookbuilding.document import (
    AllocationInput,
    read_document,
    render,
    stamp_comments,
    stamp_detail,
)
from allotment.services.bookbuilding.patch import apply_patch
from allotment.services.bookbuilding.ports import BookbuildingRepository, repository
from allotment.services.bookbuilding.search import project, read_search
from allotment.services.context import Context, record
from allotment.services.ports import UnitOfWork

OBJECT_TYPE = "bookbuilding_allocation"


def stamp_time(ctx: Context) -> datetime:
    """Audit times in UTC at the millisecond the wire shows, so that what a client reads back
    compares equal to what is stored."""
    return ctx.now.replace(microsecond=ctx.now.microsecond // 1000 * 1000)


def _uuid(text: str, field: str) -> str:
    try:
        return to_uuid(text)
    except ValueError as error:
        raise InvalidInstruction(f"{field}: must be a UUID", field=field) from error


def _check_references(repo: BookbuildingRepository, ctx: Context, data: AllocationInput) -> None:
    """dealId, trancheId, investorAccountId and indicationId name objects of the caller's
    company, and fit together (the tranche is the deal's, the indication the investor's)."""
    company = ctx.company_id
    tranche = repo.tranche(company, data.tranche_id)
    if repo.deal(company, data.deal_id) is None:
        raise _missing("dealId", "deal", data.deal_id)
    if tranche is None:
        raise _missing("trancheId", "tranche", data.tranche_id)
    if tranche.deal_id != data.deal_id:
        raise InvalidInstruction("trancheId: the tranche is not of this deal", field="trancheId")
    if repo.investor(company, data.investor_account_id) is None:
        raise _missing("investorAccountId", "investor account", data.investor_account_id)
    if data.indication_id is None:
        return
    indication = repo.indication(company, data.indication_id)
    if indication is None:
        raise _missing("indicationId", "indication", data.indication_id)
    if (indication.tranche_id, indication.investor_account_id) != (
        data.tranche_id,
        data.investor_account_id,
    ):
        message = "indicationId: the indication is not this investor's in this tranche"
        raise InvalidInstruction(message, field="indicationId")


def _quoted(text: str) -> str:
    """A client's text inside a message, quoted as JSON writes it (not as Python's repr)."""
    return json.dumps(text, ensure_ascii=False)


def _missing(field: str, what: str, value: str) -> InvalidInstruction:
    return InvalidInstruction(f"{field}: no {what} {_quoted(value)} exists", field=field)


def _build(
    ctx: Context, data: AllocationInput, before: BookAllocation | None, allocation_id: str
) -> BookAllocation:
    now = stamp_time(ctx)
    who = ctx.principal.subject
    status = data.order_status or (before.order_status if before else OrderStatus.PENDING)
    return BookAllocation(
        id=allocation_id,
        company_id=ctx.company_id,
        deal_id=data.deal_id,
        tranche_id=data.tranche_id,
        investor_account_id=data.investor_account_id,
        indication_id=data.indication_id,
        indication_group_id=data.indication_group_id,
        source_id=data.source_id,
        source_row_version=data.source_row_version,
        order_status=status,
        distribution_type=data.distribution_type,
        value=data.value,
        override=data.override,
        status_messages=data.status_messages,
        comment=stamp_comments(data.comments, before.comment if before else None, who, now),
        detail=stamp_detail(data.is_affirmed, before.detail if before else None, who, now),
        created_by=before.created_by if before else who,
        created_at=before.created_at if before else now,
        last_modified_by=who,
        last_modified_at=now,
    )


def _check_source_id(repo: BookbuildingRepository, ctx: Context, row: BookAllocation) -> None:
    if row.source_id is None:
        return
    holder = repo.allocation_by_source(ctx.company_id, row.source_id)
    if holder is not None and holder.id != row.id:
        raise Conflict(
            f"sourceId {_quoted(row.source_id)} is already used by allocation {holder.id}",
            field="sourceId",
        )


def create_allocation(uow: UnitOfWork, ctx: Context, raw: Any) -> BookAllocation:
    ctx.require(Scope.WRITE)
    repo = repository(uow)
    data = read_document(raw, ctx.company_id)
    if data.order_status is OrderStatus.DELETE_PENDING:
        message = "orderStatus: a new allocation cannot be deletePending"
        raise InvalidInstruction(message, field="orderStatus")
    allocation_id = _uuid(data.id, "id") if data.id else str(uuid.uuid4())
    if repo.allocation(ctx.company_id, allocation_id) is not None:
        raise Conflict(f"allocation {allocation_id} exists already", field="id")
    _check_references(repo, ctx, data)
    row = _build(ctx, data, None, allocation_id)
    _check_source_id(repo, ctx, row)
    repo.add_allocations([row])
    record(uow, ctx, "create", OBJECT_TYPE, row.id, after=render(row))
    return row


def get_allocation(
    uow: UnitOfWork, ctx: Context, allocation_id: str, lock: bool = False
) -> BookAllocation:
    ctx.require(Scope.WRITE if lock else Scope.READ)
    found = repository(uow).allocation(ctx.company_id, _known_id(allocation_id), lock)
    if found is None:
        raise NotFound(f"allocation {allocation_id} does not exist", id=allocation_id)
    return found


def _known_id(text: str) -> str:
    try:
        return to_uuid(text)
    except ValueError:
        return text  # not a UUID: nothing has this id, the lookup answers 404


def _update(
    uow: UnitOfWork, ctx: Context, before: BookAllocation, data: AllocationInput
) -> BookAllocation:
    """The common end of PUT and PATCH: version, lifecycle, references, then write."""
    if is_stale(before.source_row_version, data.source_row_version):
        raise StaleVersion(
            f"sourceRowVersion {data.source_row_version} is older than the stored "
            f"{before.source_row_version}",
            field="sourceRowVersion",
        )
    if data.order_status is not None:
        check_transition(before.order_status, data.order_status)
    repo = repository(uow)
    _check_references(repo, ctx, data)
    row = _build(ctx, data, before, before.id)
    _check_source_id(repo, ctx, row)
    repo.update_allocation(row)
    record(uow, ctx, "update", OBJECT_TYPE, row.id, before=render(before), after=render(row))
    return row


def replace_allocation(
    uow: UnitOfWork, ctx: Context, raw: Any, allocation_id: str | None = None
) -> BookAllocation:
    """PUT: the whole allocation, its id in the body (`PUT /v4/allocations`, as the seed
    lists it) or in the path (`PUT /v4/allocations/{id}`, as the seed's parameter table
    describes it); when both are given they must name the same allocation."""
    ctx.require(Scope.WRITE)
    data = read_document(raw, ctx.company_id)
    if allocation_id is not None:
        if data.id and _known_id(data.id) != _known_id(allocation_id):
            message = f"id: the id in the body ({data.id}) is not the id in the path"
            raise InvalidInstruction(message, field="id")
        data = replace(data, id=allocation_id)
    if not data.id:
        raise InvalidInstruction("id: is required to update an allocation", field="id")
    before = get_allocation(uow, ctx, data.id, lock=True)
    return _update(uow, ctx, before, data)


def patch_allocation(
    uow: UnitOfWork, ctx: Context, allocation_id: str, operations: Any
) -> BookAllocation:
    """PATCH: RFC 6902 operations on the allocation's document; the result must be a valid
    allocation, else nothing changes."""
    ctx.require(Scope.WRITE)
    before = get_allocation(uow, ctx, allocation_id, lock=True)
    document = render(before)
    patched = apply_patch(document, operations)
    if not isinstance(patched, Mapping) or patched.get("id") != before.id:
        raise InvalidInstruction("id: the id of an allocation cannot change", field="id")
    return _update(uow, ctx, before, read_document(patched, ctx.company_id))


def delete_allocation(uow: UnitOfWork, ctx: Context, allocation_id: str) -> BookAllocation | None:
    """Removes the allocation (None), or marks a delivered one deletePending (returned)."""
    ctx.require(Scope.WRITE)
    return _delete(uow, ctx, get_allocation(uow, ctx, allocation_id, lock=True))


def delete_by_source_id(
    uow: UnitOfWork, ctx: Context, source_id: str | None
) -> BookAllocation | None:
    ctx.require(Scope.WRITE)
    if not source_id:
        raise InvalidInstruction("sourceId: is required", field="sourceId")
    found = repository(uow).allocation_by_source(ctx.company_id, source_id, lock=True)
    if found is None:
        raise NotFound(f"no allocation has sourceId {_quoted(source_id)}", sourceId=source_id)
    return _delete(uow, ctx, found)


def _delete(uow: UnitOfWork, ctx: Context, before: BookAllocation) -> BookAllocation | None:
    repo = repository(uow)
    status = on_delete(before.order_status)
    if status is None:
        repo.delete_allocations(ctx.company_id, [before.id])
        record(uow, ctx, "delete", OBJECT_TYPE, before.id, before=render(before))
        return None
    now = stamp_time(ctx)
    row = _replace_status(before, status, ctx.principal.subject, now)
    repo.update_allocation(row)
    record(uow, ctx, "delete_pending", OBJECT_TYPE, row.id, render(before), render(row))
    return row


def _replace_status(
    row: BookAllocation, status: OrderStatus, who: str, now: datetime
) -> BookAllocation:
    return replace(row, order_status=status, last_modified_by=who, last_modified_at=now)


@dataclass(frozen=True, slots=True)
class SearchPage:
    page: int
    page_size: int
    total_count: int
    total_pages: int
    items: list[dict[str, Any]]


def search_allocations(uow: UnitOfWork, ctx: Context, raw: Any) -> SearchPage:
    """One count and one page query; projection keeps only the named fields."""
    ctx.require(Scope.READ)
    request = read_search(raw, ctx.company_id)
    total, rows = repository(uow).search(request.query)
    items = [project(render(row), request.projection) for row in rows]
    return SearchPage(request.page, request.page_size, total, request.total_pages(total), items)
