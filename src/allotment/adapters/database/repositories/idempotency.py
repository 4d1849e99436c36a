"""Idempotency keys: a claim per (company, key) held by a lease, then the stored answer.

A claim carries a token. The request holding it renews `leased_until` while it runs; its
booking transaction marks the key "booked" only while the token is still the key's
(`claims.py`); once the lease has passed without an answer (the process died), a retry of the
same request takes the key over with a new token.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection, Row, bindparam, delete, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from allotment.adapters.database import tables as t
from allotment.services.ports import IdempotencyRecord

IN_PROGRESS, BOOKED, DONE = "in_progress", "booked", "done"

# Built once: a keyed write claims, marks and completes its key (decision 0052).
_K = t.idempotency_keys
# Bound under names of no column: an UPDATE would take a parameter named like one for its SET.
_MINE = (_K.c.company_id == bindparam("of_company"), _K.c.key == bindparam("of_key"))
_CLAIM = {
    "postgresql": pg_insert(_K).on_conflict_do_nothing().returning(_K.c.key),
    "sqlite": sqlite_insert(_K).on_conflict_do_nothing().returning(_K.c.key),
}
_TAKE_OVER = (
    update(_K)
    .where(
        *_MINE,
        _K.c.state == IN_PROGRESS,
        _K.c.request_hash == bindparam("of_hash"),
        (_K.c.leased_until.is_(None)) | (_K.c.leased_until < bindparam("now")),
    )
    .values(leased_until=bindparam("until"), claim_token=bindparam("token"))
    .returning(_K.c.key)
)
_MARK = (
    update(_K)
    .where(*_MINE, _K.c.claim_token == bindparam("token"))
    .where(_K.c.state != DONE)
    .values(state=BOOKED)
    .returning(_K.c.key)
)
_GET = select(_K).where(*_MINE)
_ANSWER = {
    "state": DONE,
    "status_code": bindparam("status"),
    "content_type": bindparam("type"),
    "body": bindparam("answer"),
}
_COMPLETE = update(_K).where(*_MINE).values(_ANSWER)
_COMPLETE_MINE = update(_K).where(*_MINE, _K.c.claim_token == bindparam("token")).values(_ANSWER)


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
        values = {
            "company_id": company_id,
            "key": key,
            "request_hash": request_hash,
            "state": IN_PROGRESS,
            "created_at": now,
            "leased_until": leased_until or now,
            "claim_token": token,
        }
        claim = _CLAIM["postgresql" if self._db.dialect.name == "postgresql" else "sqlite"]
        # RETURNING, not rowcount: psycopg reports -1 rows for INSERT ... ON CONFLICT DO NOTHING.
        claimed = self._db.execute(claim, values).first()
        if claimed is not None:
            return True
        taken_over = self._db.execute(
            _TAKE_OVER,
            {
                "of_company": company_id,
                "of_key": key,
                "of_hash": request_hash,
                "now": now,
                "until": values["leased_until"],
                "token": token,
            },
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
        marked = self._db.execute(
            _MARK, {"of_company": company_id, "of_key": key, "token": token}
        ).first()
        return marked is not None

    def get(self, company_id: int, key: str) -> IdempotencyRecord | None:
        row = self._db.execute(_GET, {"of_company": company_id, "of_key": key}).first()
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
        self._db.execute(
            _COMPLETE if token is None else _COMPLETE_MINE,
            {
                "of_company": company_id,
                "of_key": key,
                "token": token,
                "status": status_code,
                "type": content_type,
                "answer": body,
            },
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
