"""The Saxo dialect's repository (tables in `saxo/tables`): allocation keys, block orders with
each holder's running state, and fee schedules; reached as `uow.saxo`."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, fields, replace
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    Row,
    and_,
    exists,
    func,
    or_,
    select,
    text,
    update,
)

from allotment.adapters.database.bulk import insert_rows
from allotment.adapters.database.saxo.blocks import CHUNK, SqlSaxoBlockRepository
from allotment.adapters.database.saxo.tables import (
    fee_schedules,
    saxo_allocation_keys,
    saxo_key_participants,
)
from allotment.adapters.database.tables import accounts
from allotment.domain.allocation.fills import FillPolicy
from allotment.domain.allocation.model import RemainderPolicy
from allotment.services.saxo.records import (
    AllocationKey,
    FeeScheduleRecord,
    KeyParticipant,
    KeyQuery,
    KeyStatus,
    MarginHandling,
    UnitType,
)

_SCHEDULE_FIELDS = [f.name for f in fields(FeeScheduleRecord)]
_NOT_STORED = frozenset({"participants", "id"})
_KEY = saxo_allocation_keys.c
_PART = saxo_key_participants.c


def _key(row: Row[Any], participants: tuple[KeyParticipant, ...]) -> AllocationKey:
    return AllocationKey(
        id=row.id,
        company_id=row.company_id,
        name=row.name,
        unit_type=UnitType(row.unit_type),
        margin_handling=MarginHandling(row.margin_handling),
        status=KeyStatus(row.status),
        fill_policy=FillPolicy(row.fill_policy),
        owner_account_id=row.owner_account_id,
        error_account_id=row.error_account_id,
        participants=participants,
        created_at=row.created_at,
        created_by=row.created_by,
        uic=row.uic,
        asset_type=row.asset_type,
        buy_sell=row.buy_sell,
        external_reference=row.external_reference,
        participant_count=row.participant_count,
        total_unit_values=row.total_unit_values,
        remainder_policy=RemainderPolicy(row.remainder_policy),
    )


class SqlSaxoRepository(SqlSaxoBlockRepository):
    """Allocation keys and fee schedules here; block orders and holders in the base class."""

    # Allocation keys --------------------------------------------------------------------------
    def add_key(self, key: AllocationKey) -> AllocationKey:
        # Not asdict(): it would deep-copy every participant of a 100,000-participant key.
        values = {f.name: getattr(key, f.name) for f in fields(key) if f.name not in _NOT_STORED}
        if key.id is not None:
            values["id"] = key.id
        result = self._db.execute(saxo_allocation_keys.insert().values(**values))
        assert result.inserted_primary_key is not None
        key_id = int(result.inserted_primary_key[0])
        if self._postgres and key.id is not None:
            # An id chosen by the caller (the demo's 227) must not be handed out again later.
            self._db.execute(
                text(
                    "SELECT setval(pg_get_serial_sequence('saxo_allocation_keys', 'id'), "
                    "(SELECT MAX(id) FROM saxo_allocation_keys))"
                )
            )
        rows = [
            {
                "key_id": key_id,
                "position": position,
                "account_id": p.account_id,
                "unit_value": p.unit_value,
                "priority": p.priority,
                "accepts_remainder": p.accepts_remainder,
            }
            for position, p in enumerate(key.participants)
        ]
        insert_rows(self._db, saxo_key_participants, rows)
        return replace(key, id=key_id)

    def key(self, company_id: int, key_id: int, *, lock: bool = False) -> AllocationKey | None:
        query = select(saxo_allocation_keys).where(_KEY.id == key_id, _KEY.company_id == company_id)
        if lock and self._postgres:
            query = query.with_for_update()
        row = self._db.execute(query).first()
        if row is None:
            return None
        parts = self._db.execute(
            text(
                "SELECT account_id, unit_value, priority, accepts_remainder "
                "FROM saxo_key_participants WHERE key_id = :key_id ORDER BY position"
            ),
            {"key_id": key_id},
        )
        return _key(row, tuple(KeyParticipant(a, Decimal(u), p, bool(r)) for a, u, p, r in parts))

    def keys(self, query: KeyQuery) -> tuple[list[AllocationKey], int]:
        where = [
            _KEY.company_id == query.company_id,
            _KEY.status.in_(sorted(status.value for status in query.statuses)),
        ]
        joined = saxo_key_participants.join(accounts, accounts.c.id == _PART.account_id)
        if query.account_id is not None:
            takes_part = exists().where(
                _PART.key_id == _KEY.id, _PART.account_id == query.account_id
            )
            where.append(or_(_KEY.owner_account_id == query.account_id, takes_part))
        if query.participant_client_id is not None:
            where.append(
                exists(
                    select(_PART.key_id)
                    .select_from(joined)
                    .where(
                        _PART.key_id == _KEY.id, accounts.c.client_id == query.participant_client_id
                    )
                )
            )
        if query.only_clients is not None:
            foreign = or_(
                accounts.c.client_id.is_(None),
                accounts.c.client_id.not_in(sorted(query.only_clients)),
            )
            where.append(
                ~exists(
                    select(_PART.key_id).select_from(joined).where(_PART.key_id == _KEY.id, foreign)
                )
            )
        count = self._db.execute(
            select(func.count()).select_from(saxo_allocation_keys).where(*where)
        ).scalar_one()
        page = select(saxo_allocation_keys).where(*where).order_by(_KEY.id)
        rows = self._db.execute(page.offset(query.skip).limit(query.top))
        return [_key(row, ()) for row in rows], int(count)

    def set_key_status(self, key_id: int, status: KeyStatus) -> None:
        self._db.execute(
            update(saxo_allocation_keys).where(_KEY.id == key_id).values(status=status.value)
        )

    def set_key_policy(self, key_id: int, policy: RemainderPolicy) -> None:
        self._db.execute(
            update(saxo_allocation_keys)
            .where(_KEY.id == key_id)
            .values(remainder_policy=policy.value)
        )

    def account_ids_by_keys(self, account_keys: Sequence[str]) -> dict[str, str]:
        """Account ids by account key, in chunks (the foundation looks keys up one by one)."""
        wanted = sorted(set(account_keys))
        found: dict[str, str] = {}
        for start in range(0, len(wanted), CHUNK):
            query = select(accounts.c.account_key, accounts.c.id).where(
                accounts.c.account_key.in_(wanted[start : start + CHUNK])
            )
            found.update((row.account_key, row.id) for row in self._db.execute(query))
        return found

    def closed_participants(self, key_ids: Sequence[int]) -> set[int]:
        if not key_ids:
            return set()
        query = (
            select(_PART.key_id)
            .select_from(saxo_key_participants.join(accounts, accounts.c.id == _PART.account_id))
            .where(_PART.key_id.in_(sorted(set(key_ids))), accounts.c.status == "closed")
            .distinct()
        )
        return {int(row[0]) for row in self._db.execute(query)}

    # Fee schedules ----------------------------------------------------------------------------
    def put_schedule(self, schedule: FeeScheduleRecord) -> None:
        f = fee_schedules.c
        values = asdict(schedule)
        match = and_(f.company_id == schedule.company_id, _same_client(schedule.client_id))
        updated = self._db.execute(update(fee_schedules).where(match).values(**values))
        if not updated.rowcount:
            self._db.execute(fee_schedules.insert().values(**values))

    def schedule(self, company_id: int, client_id: int | None) -> FeeScheduleRecord | None:
        f = fee_schedules.c
        row = self._db.execute(
            select(fee_schedules).where(f.company_id == company_id, _same_client(client_id))
        ).first()
        return _schedule(row) if row else None

    def schedules(
        self, company_id: int, client_ids: Sequence[int] | None
    ) -> Mapping[int | None, FeeScheduleRecord]:
        f = fee_schedules.c
        query = select(fee_schedules).where(f.company_id == company_id)
        if client_ids is None:
            return {row.client_id: _schedule(row) for row in self._db.execute(query)}
        found: dict[int | None, FeeScheduleRecord] = {}
        default = self.schedule(company_id, None)
        if default is not None:
            found[None] = default
        wanted = sorted(set(client_ids))
        for start in range(0, len(wanted), CHUNK):
            chunk = query.where(f.client_id.in_(wanted[start : start + CHUNK]))
            found.update((row.client_id, _schedule(row)) for row in self._db.execute(chunk))
        return found


def _same_client(client_id: int | None) -> Any:
    column = fee_schedules.c.client_id
    return column.is_(None) if client_id is None else column == client_id


def _schedule(row: Row[Any]) -> FeeScheduleRecord:
    return FeeScheduleRecord(**{name: getattr(row, name) for name in _SCHEDULE_FIELDS})
