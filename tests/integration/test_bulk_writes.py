"""Bulk writes against the real tables: reserved ids are fresh and distinct however the sequence
hands them out, and a large batch of balances (new ones, existing ones and ones never read under
a lock) reads back as written."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from sqlalchemy import text

from allotment.adapters.database import tables as t
from allotment.adapters.database.bulk import reserve_ids
from allotment.bootstrap import Container
from allotment.domain.ledger import AssetKind, Balance, BalanceKey

NOW = datetime(2024, 5, 6, 14, 30, tzinfo=UTC)
MANY = 1_500
"""Above the size from which balances are written through COPY and staging tables."""


def _cash(number: int) -> BalanceKey:
    return BalanceKey(f"BW-{number:05d}", AssetKind.CASH, "USD")


def _postgres_only(container: Container) -> None:
    if container.engine.dialect.name != "postgresql":
        pytest.skip("SQLite reserves the ids after the highest stored one, under its write lock")


def test_reserved_ids_are_fresh_consecutive_and_never_handed_out_twice(
    container: Container,
) -> None:
    _postgres_only(container)
    with container.uow() as uow:
        connection = uow.connection  # type: ignore[attr-defined]
        first = reserve_ids(connection, t.allocations, 5)
        second = reserve_ids(connection, t.allocations, 3)
    assert len(set(first + second)) == 8
    assert first == list(range(first[0], first[0] + 5))
    assert min(second) > max(first)


def test_ids_the_sequence_hands_out_with_gaps_come_back_as_they_were_drawn(
    container: Container,
) -> None:
    """Another transaction drawing from the sequence meanwhile leaves gaps; a sequence stepping
    by 3 leaves them every time."""
    _postgres_only(container)
    with container.uow() as uow:
        connection = uow.connection  # type: ignore[attr-defined]
        connection.exec_driver_sql("ALTER SEQUENCE allocations_id_seq INCREMENT BY 3")
        ids = reserve_ids(connection, t.allocations, 4)
        drawn_after = connection.exec_driver_sql("SELECT nextval('allocations_id_seq')").scalar()
        uow.rollback()
    assert ids == [ids[0] + 3 * n for n in range(4)]
    assert drawn_after == ids[-1] + 3
    with container.uow() as uow:  # the step went back with the rollback
        again = reserve_ids(uow.connection, t.allocations, 2)  # type: ignore[attr-defined]
    assert again == [again[0], again[0] + 1]


def test_a_large_batch_of_new_existing_and_unread_balances_reads_back_as_written(
    container: Container,
) -> None:
    existing = [_cash(n) for n in range(MANY)]
    with container.uow() as uow:
        uow.ledger.write_balances({key: Balance(Decimal("1.00")) for key in existing})
        uow.commit()

    new = [_cash(n) for n in range(MANY, 2 * MANY)]
    unread = [_cash(n) for n in range(2 * MANY, 2 * MANY + 10)] + existing[:10]
    written = {
        **{key: Balance(Decimal("2.50")) for key in existing},
        **{key: Balance(Decimal("0.000000001"), Decimal("7")) for key in new},
        **{key: Balance(Decimal("-3")) for key in unread},
    }
    with container.uow() as uow:
        locked = uow.ledger.lock_balances(existing[10:] + new)
        assert len(locked) == MANY - 10
        uow.ledger.write_balances(written)
        uow.commit()

    with container.uow(write=False) as uow:
        found = uow.ledger.balances([key.account_id for key in written])
    assert found == written


def test_a_balance_gone_from_under_its_lock_fails_the_batch_instead_of_vanishing(
    container: Container,
) -> None:
    keys = [_cash(n) for n in range(MANY)]
    with container.uow() as uow:
        uow.ledger.write_balances({key: Balance(Decimal(1)) for key in keys})
        uow.commit()
    with container.uow() as uow:
        uow.ledger.lock_balances(keys)
        connection = uow.connection  # type: ignore[attr-defined]
        connection.execute(text("DELETE FROM balances WHERE account_id = :id"), {"id": "BW-00007"})
        if connection.dialect.name == "postgresql":
            with pytest.raises(RuntimeError, match="balances to update"):
                uow.ledger.write_balances({key: Balance(Decimal(2)) for key in keys})
        else:  # SQLite upserts every balance: the row comes back
            uow.ledger.write_balances({key: Balance(Decimal(2)) for key in keys})
            assert uow.ledger.balances(["BW-00007"])[keys[7]] == Balance(Decimal(2))
