"""Idempotency keys: a claim per (company, key) held by a lease, then the stored answer.

A claim carries a token. The request holding it renews `leased_until` while it runs; its
booking transaction marks the key "booked" only while the token is still the key's
(`claims.py`); once the lease has passed without an answer (the process died), a retry of the
same request takes the key over with a new token.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection, Row, delete, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from allotment.adapters.database import tables as t
from allotment.services.ports import IdempotencyRecord

IN_PROGRESS, BOOKED, DONE = "in_progress", "booked", "done"


def _record(row: Row[tuple[object, ...]]) -> IdempotencyRecord:
    return IdempotencyRecord(
        row.request_hash,
        row.state,
        row.status_code,
        row.content_type,
        row.body,
        company_id=row.company_id,
        key=row.key,
        created_at=row.created_at,
        leased_until=row.leased_until,
    )


class SqlIdempotencyRepository:
    def __init__(self, connection: Connection) -> None:
        self._db = connection

    def reserve(
        self,
        company_id: int,
        key: str,
        request_hash: str,
        now: datetime,
        leased_until: datetime | None = None,
        token: str | None = None,
    ) -> bool:
        """Claim the key, or take over the claim of the same request whose lease has passed
        without a booking; False when the key is taken (an answer, or a claim still held)."""
        k = t.idempotency_keys
        values = {
            "company_id": company_id,
            "key": key,
            "request_hash": request_hash,
            "state": IN_PROGRESS,
            "created_at": now,
            "leased_until": leased_until or now,
            "claim_token": token,
        }
        builder = pg_insert if self._db.dialect.name == "postgresql" else sqlite_insert
        # RETURNING, not rowcount: psycopg reports -1 rows for INSERT ... ON CONFLICT DO NOTHING.
        claimed = self._db.execute(
            builder(k).values(**values).on_conflict_do_nothing().returning(k.c.key)
        ).first()
        if claimed is not None:
            return True
        expired = (k.c.leased_until.is_(None)) | (k.c.leased_until < now)
        taken_over = self._db.execute(
            update(k)
            .where(
                k.c.company_id == company_id,
                k.c.key == key,
                k.c.state == IN_PROGRESS,
                k.c.request_hash == request_hash,
                expired,
            )
            .values(leased_until=values["leased_until"], claim_token=token)
            .returning(k.c.key)
        ).first()
        return taken_over is not None

    def renew(self, company_id: int, key: str, token: str, leased_until: datetime) -> None:
        k = t.idempotency_keys
        self._db.execute(
            update(k)
            .where(k.c.company_id == company_id, k.c.key == key, k.c.claim_token == token)
            .where(k.c.state != DONE)
            .values(leased_until=leased_until)
        )

    def mark_booked(self, company_id: int, key: str, token: str) -> bool:
        """In the booking transaction: the key's request has booked; False when the claim is
        no longer this token's (a retry took it over), and then nothing may be committed."""
        k = t.idempotency_keys
        marked = self._db.execute(
            update(k)
            .where(k.c.company_id == company_id, k.c.key == key, k.c.claim_token == token)
            .where(k.c.state != DONE)
            .values(state=BOOKED)
            .returning(k.c.key)
        ).first()
        return marked is not None

    def get(self, company_id: int, key: str) -> IdempotencyRecord | None:
        k = t.idempotency_keys
        row = self._db.execute(
            select(k).where(k.c.company_id == company_id, k.c.key == key)
        ).first()
        return None if row is None else _record(row)

    def find(self, key: str, company_id: int | None = None) -> list[IdempotencyRecord]:
        """The key as each company (or the one given) holds it."""
        k = t.idempotency_keys
        query = select(k).where(k.c.key == key)
        if company_id is not None:
            query = query.where(k.c.company_id == company_id)
        return [_record(row) for row in self._db.execute(query.order_by(k.c.company_id))]

    def complete(
        self,
        company_id: int,
        key: str,
        status_code: int,
        content_type: str,
        body: bytes,
        token: str | None = None,
    ) -> None:
        k = t.idempotency_keys
        query = update(k).where(k.c.company_id == company_id, k.c.key == key)
        if token is not None:
            query = query.where(k.c.claim_token == token)
        self._db.execute(
            query.values(state=DONE, status_code=status_code, content_type=content_type, body=body)
        )

    def release(self, company_id: int, key: str, token: str | None = None) -> None:
        """Give the key back after a failure: gone while nothing was booked; a booked key
        stays (its lease ends now), since running its request again would book twice."""
        k = t.idempotency_keys
        mine = [k.c.company_id == company_id, k.c.key == key]
        if token is not None:
            mine.append(k.c.claim_token == token)
        self._db.execute(delete(k).where(*mine, k.c.state == IN_PROGRESS))
        self._db.execute(update(k).where(*mine, k.c.state == BOOKED).values(leased_until=None))

    def forget(self, company_id: int, key: str) -> bool:
        k = t.idempotency_keys
        removed = self._db.execute(
            delete(k).where(k.c.company_id == company_id, k.c.key == key).returning(k.c.key)
        ).first()
        return removed is not None

    def purge(self, before: datetime) -> int:
        k = t.idempotency_keys
        return self._db.execute(delete(k).where(k.c.created_at < before)).rowcount
