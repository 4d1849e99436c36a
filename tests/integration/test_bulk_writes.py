"""Bulk writes against the real tables: reserved ids are fresh and distinct however the sequence
hands them out, and a large batch of balances (new ones, existing ones and ones never read under
a lock) reads back as written; exact columns stay exact and refuse floats in bulk too."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from sqlalchemy import event, text
from sqlalchemy.exc import StatementError

from allotment.adapters.database import tables as t
from allotment.adapters.database.bulk import insert_values, reserve_ids
from allotment.adapters.database.repositories.ledger import SqlLedgerRepository
from allotment.bootstrap import Container
from allotment.domain.ledger import AssetKind, Balance, BalanceKey, JournalEntry, Posting

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
            # Written behind: the failure stops the next statement, and the unit of work.
            uow.ledger.write_balances({key: Balance(Decimal(2)) for key in keys})
            with pytest.raises(RuntimeError, match="balances to update"):
                uow.ledger.balances(["BW-00008"])
        else:  # SQLite upserts every balance: the row comes back
            uow.ledger.write_balances({key: Balance(Decimal(2)) for key in keys})
            assert uow.ledger.balances(["BW-00007"])[keys[7]] == Balance(Decimal(2))


def test_balances_are_read_once_per_transaction_and_later_reads_see_what_was_written(
    container: Container,
) -> None:
    """A fill reads its participants' cash to plan it, then books on the same balances: the
    second read does not ask the database again, and after a write a read returns what was
    written (a balance of a read account that has no row reads as absent, not as unknown)."""
    keys = [_cash(n) for n in range(5)]
    position = BalanceKey("BW-00001", AssetKind.SECURITY, "42")
    with container.uow() as uow:
        uow.ledger.write_balances({key: Balance(Decimal("1.00")) for key in keys})
        uow.commit()
    statements: list[str] = []

    def seen(_conn: object, _cursor: object, statement: str, *_: object) -> None:
        statements.append(statement)

    with container.uow() as uow:
        connection = uow.connection  # type: ignore[attr-defined]
        event.listen(connection, "before_cursor_execute", seen)
        first = uow.ledger.lock_balances(keys[:3])
        reads = len(statements)
        assert uow.ledger.lock_balances([*keys[:3], position]) == first
        assert len(statements) == reads
        uow.ledger.write_balances(
            {keys[0]: Balance(Decimal("9.50")), position: Balance(Decimal(2), Decimal(20))}
        )
        after = uow.ledger.lock_balances([keys[0], position])
        assert after == {
            keys[0]: Balance(Decimal("9.50")),
            position: Balance(Decimal(2), Decimal(20)),
        }
        assert uow.ledger.lock_balances(keys[3:]) == {key: Balance(Decimal(1)) for key in keys[3:]}
        event.remove(connection, "before_cursor_execute", seen)
        uow.commit()
    with container.uow(write=False) as uow:
        assert uow.ledger.balances(["BW-00000", "BW-00001"]) == {
            keys[0]: Balance(Decimal("9.50")),
            keys[1]: Balance(Decimal(1)),
            position: Balance(Decimal(2), Decimal(20)),
        }


def test_balances_of_accounts_whose_ids_hold_any_character_are_read_under_lock(
    container: Container,
) -> None:
    """PostgreSQL reads a batch's accounts from one text of ids split by a separator (or an
    array when an id holds it): ids with the separator, commas, braces, quotes and backslashes
    read back as written, in both forms."""
    odd = ["A\x1fB", 'C,"D"', "{E}", "F\\G", "H I"]
    plain = [f"BW-{n:05d}" for n in range(3)]
    for ids in (odd, plain, odd[1:]):
        keys = [BalanceKey(account_id, AssetKind.CASH, "USD") for account_id in ids]
        written = {key: Balance(Decimal(n + 1)) for n, key in enumerate(keys)}
        with container.uow() as uow:
            uow.ledger.write_balances(written)
            uow.commit()
        with container.uow() as uow:
            assert uow.ledger.lock_balances(keys) == written
            uow.commit()


def _posting_rows(amounts: list[object]) -> list[tuple[object, ...]]:
    return [
        (900_000_000, line, f"BW-{line:05d}", "cash", "USD", amount, None)
        for line, amount in enumerate(amounts)
    ]


POSTING_COLUMNS = ["entry_id", "line", "account_id", "kind", "asset", "amount", "price"]


@pytest.mark.parametrize("size", [MANY, 10])
def test_a_bulk_insert_keeps_decimals_exact_and_refuses_a_float(
    container: Container, size: int
) -> None:
    """Large batches skip the exact type's per-value work when every value is a Decimal (or
    None); one float among them still meets the type's refusal, on either database."""
    amounts: list[object] = [Decimal("0.10")] * (size - 2) + [Decimal("1E+3"), 7]
    with container.uow() as uow:
        connection = uow.connection  # type: ignore[attr-defined]
        insert_values(connection, t.postings, POSTING_COLUMNS, _posting_rows(amounts))
        stored = connection.execute(
            text("SELECT amount FROM postings WHERE entry_id = 900000000 ORDER BY line")
        ).scalars()
        assert [Decimal(value) for value in stored] == [Decimal("0.10")] * (size - 2) + [
            Decimal(1000),
            Decimal(7),
        ]
        uow.rollback()
    with container.uow() as uow, pytest.raises((TypeError, StatementError)) as refused:
        insert_values(
            uow.connection,  # type: ignore[attr-defined]
            t.postings,
            POSTING_COLUMNS,
            _posting_rows([Decimal("0.10")] * (size - 1) + [0.1]),
        )
    assert "exact columns take Decimal or int, not float" in str(refused.value)


def test_sqlite_keeps_its_statement_journals_in_memory(container: Container) -> None:
    """A multi-row statement keeps a statement journal; on disk it was a write system call per
    page changed, most of a large fill's system time."""
    if container.engine.dialect.name != "sqlite":
        pytest.skip("a SQLite setting")
    with container.uow(write=False) as uow:
        connection = uow.connection  # type: ignore[attr-defined]
        assert connection.exec_driver_sql("PRAGMA temp_store").scalar_one() == 2  # MEMORY


@pytest.mark.parametrize("size", [MANY, 5])
def test_bulk_writes_store_dates_and_times_as_single_row_inserts_do(
    container: Container, size: int
) -> None:
    """SQLite keeps dates and times as text, compared as text by range filters: a bulk write
    stores the text a single-row insert stores (not the driver's own format, which adds the
    offset and drops zero microseconds)."""
    moments = [NOW, NOW.replace(microsecond=0), NOW.replace(microsecond=7)]
    columns = ["id", "company_id", "entry_type", "description", "trade_date"]
    columns += ["created_at", "created_by", "dialect", "reverses_entry_id"]

    def row(entry_id: int, n: int) -> tuple[object, ...]:
        return (entry_id, 7, "trade", "d", moments[n % 3].date(), moments[n % 3], "u", "s", None)

    with container.uow() as uow:
        connection = uow.connection  # type: ignore[attr-defined]
        connection.execute(
            t.journal_entries.insert(),
            [dict(zip(columns, row(700_000_000 + n, n), strict=True)) for n in range(3)],
        )
        insert_values(
            connection, t.journal_entries, columns, [row(710_000_000 + n, n) for n in range(size)]
        )
        single, bulk = (
            list(
                connection.exec_driver_sql(
                    "SELECT CAST(trade_date AS TEXT), CAST(created_at AS TEXT) "
                    f"FROM journal_entries WHERE id >= {low} AND id < {low + 3} ORDER BY id"
                )
            )
            for low in (700_000_000, 710_000_000)
        )
        assert bulk == single
        uow.rollback()


@pytest.mark.parametrize("size", [MANY, 5])
def test_entries_of_one_shape_store_the_postings_the_general_write_stores(
    container: Container, monkeypatch: pytest.MonkeyPatch, size: int
) -> None:
    """A large batch of entries with as many lines each (a block's allocations) is written on
    SQLite with what every entry shares bound once: the stored postings, as text, are those
    the general write stores, line for line (a shared price, a shared NULL, the client on two
    lines, amounts that vary and one that does not, an amount needing no exponent)."""
    price, fee = Decimal("10.00"), Decimal("1E+1")

    def entry(n: int) -> JournalEntry:
        quantity, cash = Decimal(n + 1), Decimal(n + 1) * price
        client = f"BW-{n:05d}"
        return JournalEntry(
            "trade",
            (
                Posting("BW-AVG", AssetKind.SECURITY, "7", -quantity, price),
                Posting(client, AssetKind.SECURITY, "7", quantity, price),
                Posting(client, AssetKind.CASH, "USD", -cash - fee, None),
                Posting("BW-AVG", AssetKind.CASH, "USD", cash, None),
                Posting("BW-FEE", AssetKind.CASH, "USD", fee, None),
            ),
        )

    entries = [entry(n) for n in range(size)]

    def stored(first_id: int) -> list[tuple[object, ...]]:
        with container.uow() as uow:
            ids = list(range(first_id, first_id + size))
            uow.ledger.add_entries(1, entries, NOW.date(), NOW, "u", "saxo", ids)
            rows = uow.connection.exec_driver_sql(  # type: ignore[attr-defined]
                "SELECT entry_id - :first, line, account_id, kind, asset, "
                "CAST(amount AS TEXT), CAST(price AS TEXT) FROM postings "
                f"WHERE entry_id >= {first_id} AND entry_id < {first_id + size} "
                "ORDER BY entry_id, line".replace(":first", str(first_id))
            ).all()
            uow.rollback()
        return [tuple(row) for row in rows]

    shaped = stored(720_000_000)
    monkeypatch.setattr(SqlLedgerRepository, "_sqlite_postings", lambda *_: False)
    general = stored(730_000_000)
    assert shaped == general
    assert len(shaped) == 5 * size
    assert shaped[2] == (0, 2, "BW-00000", "cash", "USD", "-20.00", None)
