"""Fee schedules (SPEC §2 Fees): a company default and, where set, a client's own.

Commission is per share, or a rate of the trade value, with a minimum; tax on the commission
is the company's tax rate (GST); other fees are a flat amount per allocation. The amounts of an
allocation are computed by the engine (`domain.allocation.fees.compute_fees`).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from decimal import Decimal

from allotment.domain.allocation.fees import FeeSchedule
from allotment.domain.errors import InvalidInstruction, NotFound
from allotment.domain.identity import Scope
from allotment.domain.numbers import ZERO, fits_storage
from allotment.services.context import Context, record
from allotment.services.ports import UnitOfWork
from allotment.services.registry import visible_client
from allotment.services.saxo.keys import repository
from allotment.services.saxo.records import FeeScheduleRecord

COMPANY = "company"
CLIENT = "client"
NONE = "none"
BULK = 1000


@dataclass(frozen=True, slots=True)
class FeeTerms:
    commission_per_share: Decimal = ZERO
    commission_rate: Decimal = ZERO
    """A fraction of the trade value: 0.001 is 0.1 %."""
    commission_minimum: Decimal = ZERO
    other_fees: Decimal = ZERO


@dataclass(frozen=True, slots=True)
class EffectiveSchedule:
    terms: FeeTerms
    tax_rate: Decimal
    source: str
    """Where the terms come from: the client's own schedule, the company's, or none (zero)."""
    record: FeeScheduleRecord | None = None


def put_schedule(
    uow: UnitOfWork, ctx: Context, client_id: int | None, terms: FeeTerms
) -> EffectiveSchedule:
    """Set the company's default schedule (client_id None) or a client's own."""
    ctx.require(Scope.ADMIN)
    _check(terms)
    if client_id is not None:
        visible_client(uow, ctx, client_id)
    before = repository(uow).schedule(ctx.company_id, client_id)
    stored = FeeScheduleRecord(
        company_id=ctx.company_id,
        client_id=client_id,
        commission_per_share=terms.commission_per_share,
        commission_rate=terms.commission_rate,
        commission_minimum=terms.commission_minimum,
        other_fees=terms.other_fees,
        updated_at=ctx.now,
        updated_by=ctx.principal.subject,
    )
    repository(uow).put_schedule(stored)
    record(
        uow,
        ctx,
        "fee_schedule.updated",
        "fee_schedule",
        client_id if client_id is not None else COMPANY,
        before=_terms_view(before) if before else None,
        after=_terms_view(stored),
    )
    return EffectiveSchedule(
        terms, _tax_rate(uow, ctx.company_id), CLIENT if client_id else COMPANY, stored
    )


def get_schedule(uow: UnitOfWork, ctx: Context, client_id: int | None) -> EffectiveSchedule:
    """The schedule that applies: the client's own, else the company's, else zero fees."""
    ctx.require(Scope.READ)
    if client_id is not None:
        visible_client(uow, ctx, client_id)
        own = repository(uow).schedule(ctx.company_id, client_id)
        if own is not None:
            return EffectiveSchedule(_terms(own), _tax_rate(uow, ctx.company_id), CLIENT, own)
    default = repository(uow).schedule(ctx.company_id, None)
    tax_rate = _tax_rate(uow, ctx.company_id)
    if default is None:
        return EffectiveSchedule(FeeTerms(), tax_rate, NONE)
    return EffectiveSchedule(_terms(default), tax_rate, COMPANY, default)


def schedules_for(
    uow: UnitOfWork, company_id: int, client_ids: Iterable[int]
) -> Mapping[int, FeeSchedule]:
    """The engine's fee schedule of each client, read in bulk (client's own, else the
    company's, else zero), with the company's tax rate."""
    wanted = sorted(set(client_ids))
    # Many clients: every schedule of the company in one read beats chunks of IN lists.
    found = repository(uow).schedules(company_id, wanted if len(wanted) <= BULK else None)
    tax_rate = _tax_rate(uow, company_id)
    default = found.get(None)
    own = {
        client_id: _engine_schedule(_terms(stored), tax_rate)
        for client_id, stored in found.items()
        if client_id is not None
    }
    fallback = _engine_schedule(_terms(default) if default else FeeTerms(), tax_rate)
    return ClientSchedules(own, fallback, frozenset(wanted))


class ClientSchedules(Mapping[int, FeeSchedule]):
    """Each client's schedule: its own where set, else the one the company gives everyone
    (a mapping over the clients asked for, without a record per client)."""

    def __init__(
        self, own: dict[int, FeeSchedule], fallback: FeeSchedule, clients: frozenset[int]
    ) -> None:
        self._own, self._fallback, self._clients = own, fallback, clients

    def __getitem__(self, client_id: int) -> FeeSchedule:
        if client_id not in self._clients:
            raise KeyError(client_id)
        return self._own.get(client_id, self._fallback)

    def __iter__(self) -> Iterator[int]:
        return iter(self._clients)

    def __len__(self) -> int:
        return len(self._clients)


def _engine_schedule(terms: FeeTerms, tax_rate: Decimal) -> FeeSchedule:
    return FeeSchedule(
        commission_per_share=terms.commission_per_share,
        commission_rate=terms.commission_rate,
        commission_minimum=terms.commission_minimum,
        tax_rate=tax_rate,
        other_fees=terms.other_fees,
    )


def charges_nothing(schedule: FeeSchedule) -> bool:
    return not (
        schedule.commission_per_share
        or schedule.commission_rate
        or schedule.commission_minimum
        or schedule.other_fees
    )


def _tax_rate(uow: UnitOfWork, company_id: int) -> Decimal:
    company = uow.identity.company(company_id)
    if company is None:
        raise NotFound(f"company {company_id} does not exist")
    return company.tax_rate


def _terms(stored: FeeScheduleRecord) -> FeeTerms:
    return FeeTerms(
        stored.commission_per_share,
        stored.commission_rate,
        stored.commission_minimum,
        stored.other_fees,
    )


def _check(terms: FeeTerms) -> None:
    for name in ("commission_per_share", "commission_rate", "commission_minimum", "other_fees"):
        value: Decimal = getattr(terms, name)
        if not value.is_finite() or value < 0 or not fits_storage(value):
            raise InvalidInstruction(
                f"{name} must be zero or positive, with at most 9 decimals", field=name
            )
    if terms.commission_rate > 1:
        raise InvalidInstruction(
            "commission_rate is a fraction of the trade value (0.001 is 0.1 %); it cannot exceed 1",
            field="commission_rate",
        )


def _terms_view(stored: FeeScheduleRecord) -> dict[str, object]:
    return {
        "commission_per_share": stored.commission_per_share,
        "commission_rate": stored.commission_rate,
        "commission_minimum": stored.commission_minimum,
        "other_fees": stored.other_fees,
    }
