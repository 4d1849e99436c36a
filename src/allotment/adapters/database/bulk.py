"""Bulk writes without a round trip per row: ids reserved in one statement, rows written with
COPY on PostgreSQL and one raw executemany of multi-row statements on SQLite (PERFORMANCE.md).

The values go through each column type's bind processing once per column (and once per distinct
value where the values repeat, as dates, users and dialects do), not through SQLAlchemy's
per-row parameter machinery, which costs more than the database itself at 10,000+ rows.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import date, datetime
from decimal import Decimal
from itertools import chain
from operator import itemgetter
from typing import Any, cast

from sqlalchemy import Connection, Table, func, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.types import TypeDecorator, TypeEngine

from allotment.adapters.database import behind, pipelined
from allotment.adapters.database.types import ExactDecimal

COPY_THRESHOLD = 200
Processor = Callable[[Any], Any]


def reserve_ids(connection: Connection, table: Table, count: int) -> list[int]:
    """`count` fresh primary keys for `table`, in one round trip.

    On PostgreSQL they come from the table's sequence. On SQLite the caller holds the write lock
    (transactions begin IMMEDIATE), so the next ids after the current maximum are free.
    """
    if count == 0:
        return []
    if connection.dialect.name == "postgresql":
        # The sequence is looked up once (a scalar subquery), not once per id; the ids come
        # back as one range when no other transaction drew from the sequence meanwhile (one
        # row instead of `count`), else as one array.
        first, scattered = connection.execute(
            text(
                "WITH drawn AS (SELECT nextval((SELECT CAST(pg_get_serial_sequence(:table, 'id') "
                "AS regclass))) AS id FROM generate_series(1, :count)) "
                "SELECT min(id), CASE WHEN max(id) - min(id) + 1 = count(*) THEN NULL "
                "ELSE array_agg(id ORDER BY id) END FROM drawn"
            ),
            {"table": table.name, "count": count},
        ).one()
        return list(range(first, first + count)) if scattered is None else list(scattered)
    highest = connection.execute(select(func.max(table.c.id))).scalar_one() or 0
    return list(range(highest + 1, highest + 1 + count))


def insert_rows(connection: Connection, table: Table, rows: Sequence[Mapping[str, Any]]) -> None:
    """Insert many rows (mappings with the same keys): COPY on PostgreSQL for large batches,
    executemany otherwise."""
    if not rows:
        return
    columns = list(rows[0].keys())
    insert_values(
        connection, table, columns, [tuple(row[name] for name in columns) for row in rows]
    )


def insert_values(
    connection: Connection, table: Table, columns: Sequence[str], rows: Sequence[Sequence[Any]]
) -> None:
    """Insert many rows given as tuples in `columns` order (the cheapest form to build)."""
    if not rows:
        return
    postgres = connection.dialect.name == "postgresql"
    if _python_defaults_missing(table, columns) or (postgres and len(rows) < COPY_THRESHOLD):
        connection.execute(table.insert(), [dict(zip(columns, row, strict=True)) for row in rows])
        return
    if postgres:
        # The values are checked here (a float refused now); the COPY is written behind
        # (`behind`): the server takes the rows while the caller goes on.
        processed = _processed(connection, table, columns, rows)
        pipelined.leave(connection)
        behind.later(connection, lambda: copy_rows(connection, table.name, columns, processed))
        return
    _sqlite_insert(connection, table, columns, rows)


FOLD_THRESHOLD = 1_000
"""From this many rows, SQLite gets a column that holds one value in every row as a literal in
the statement rather than as a parameter of each row."""


def _sqlite_insert(
    connection: Connection, table: Table, columns: Sequence[str], rows: Sequence[Sequence[Any]]
) -> None:
    """One executemany (`sqlite_many`). Decimals go as their exact text
    (`sqlite_decimal_texts`); an exact column holding anything else goes through its type,
    which refuses floats. A large batch's columns that hold one value throughout (a company, a
    date, a user, a block: most of an allocation row) are bound once, quoted by SQLite itself,
    instead of once per row; only the other columns are passed per row, and dates and times are
    bound as their column types bind them."""
    dialect = connection.dialect
    data: list[Sequence[Any]] = list(zip(*rows, strict=True))
    decimals = [
        isinstance(table.c[name].type, ExactDecimal) and set(map(type, column)) <= _AS_THEY_ARE
        for name, column in zip(columns, data, strict=True)
    ]
    # The types as this dialect binds them: dates and times as the text a single-row insert
    # writes, not as the driver's default adapter would write the objects.
    binds = [
        None if decimal else table.c[name].type.dialect_impl(dialect).bind_processor(dialect)
        for name, decimal in zip(columns, decimals, strict=True)
    ]
    folded = len(rows) >= FOLD_THRESHOLD
    values: list[str] = []
    varying: list[int] = []
    for position, bind in enumerate(binds):
        if not (folded and holds_one_value(data[position])):
            values.append("?")
            varying.append(position)
            continue
        value = rows[0][position]
        values.append(sqlite_literal(connection, bind(value) if bind is not None else value))
    for position in varying:
        if decimals[position]:
            data[position] = sqlite_decimal_texts(data[position])
        elif (bind := binds[position]) is not None:
            data[position] = _bound_column(bind, data[position])
    rows = list(zip(*(data[position] for position in varying), strict=True))
    column_list = ", ".join(f'"{name}"' for name in columns)
    sqlite_many(
        connection, f'INSERT INTO "{table.name}" ({column_list})', f"({', '.join(values)})", rows
    )


def sqlite_literal(connection: Connection, value: Any) -> str:
    """SQLite: a value as a literal of a statement, quoted by SQLite itself (a Decimal as its
    exact text, as it is bound)."""
    if value.__class__ is Decimal:
        value = sqlite_decimal_text(value)
    return str(connection.exec_driver_sql("SELECT quote(?)", (value,)).scalar_one())


ROWS_PER_STATEMENT = 10
"""SQLite: rows written by each statement of a bulk write. Every statement executed costs a
reset, its parameters' binding and a run of its program; ten rows a statement is where the
gain stops (decision 0028)."""


def sqlite_many(
    connection: Connection,
    head: str,
    row: str,
    rows: Sequence[Sequence[Any]],
    tail: str = "",
) -> None:
    """SQLite: `{head} VALUES {row}, {row}, ... {tail}` for every row, `ROWS_PER_STATEMENT`
    rows to a statement (one executemany), the rest in one statement of their own. `row` is
    the parenthesised placeholders of one row."""
    per = ROWS_PER_STATEMENT
    whole = len(rows) - len(rows) % per
    if whole:
        connection.exec_driver_sql(
            f"{head} VALUES {', '.join([row] * per)} {tail}",
            [
                tuple(chain.from_iterable(rows[start : start + per]))
                for start in range(0, whole, per)
            ],
        )
    if whole < len(rows):
        connection.exec_driver_sql(
            f"{head} VALUES {', '.join([row] * (len(rows) - whole))} {tail}",
            tuple(chain.from_iterable(rows[whole:])),
        )


def holds_one_value(column: Sequence[Any]) -> bool:
    """Does the column hold one value in every row, of one type? A Decimal only when it is the
    same object (equal Decimals may be written with other digits: 1.0 and 1.00). Counted in C:
    a per-row Python test cost half a second for a 100,000-row allocation batch."""
    first = column[0]
    kind = first.__class__
    # Most columns vary: the last and the middle value tell at once, before a full count.
    if any(
        value is not first and (kind is Decimal or value.__class__ is not kind or value != first)
        for value in (column[-1], column[len(column) // 2])
    ):
        return False
    if kind is Decimal:
        return len(set(map(id, column))) == 1
    if kind not in _FOLDED:
        return False
    return column.count(first) == len(column) and set(map(type, column)) == {kind}


_FOLDED = (str, int, date, datetime, type(None))
"""What may be folded into a literal (SQLite quotes the bound value itself)."""


def sqlite_decimal_text(value: Decimal) -> str:
    """How the SQLite driver writes a Decimal: its exact decimal text, as `ExactDecimal`
    binds it (SQLite has no exact number type). `str` is the plain text unless the number
    needs an exponent (1E+3, 1E-9), and three times cheaper than formatting it."""
    text = str(value)
    return format(value, "f") if "E" in text else text


def sqlite_decimal_texts(column: Sequence[Decimal | None]) -> list[str | None]:
    """A column of Decimals (None for NULL) as `sqlite_decimal_text` writes each, converted
    in C: the driver's adapter is a Python call per value, which cost more than SQLite's own
    work on a row of amounts."""
    texts = list(map(str, column))
    if "E" in "".join(texts):  # rare: 1E+3, 0E-8
        texts = [
            format(value, "f") if "E" in text else text
            for value, text in zip(column, texts, strict=True)
        ]
    if "None" in texts:
        return list(map(_NULL.get, texts, texts))
    return cast("list[str | None]", texts)


_NULL: dict[str | None, str | None] = {"None": None}
"""`str(None)` back to None (a Decimal's text is never "None")."""


def _python_defaults_missing(table: Table, columns: Sequence[str]) -> bool:
    """Columns left out whose default Python computes need SQLAlchemy's own insert."""
    given = set(columns)
    return any(c.default is not None for c in table.columns if c.name not in given)


def _processed(
    connection: Connection, table: Table, columns: Sequence[str], rows: Sequence[Sequence[Any]]
) -> Iterable[Sequence[Any]]:
    """The rows as COPY takes them: Decimals as they are (anything else in an exact column
    goes through the type's own checks, which refuse floats), other bound columns as their type
    binds them. Columns are taken apart and put back only where a value changes: the rows of a
    large batch are mostly Decimals, strings and numbers as they are, and a pass over each
    value in Python cost as much as COPY itself."""
    replaced: dict[int, list[Any]] = {}
    for position, name in enumerate(columns):
        column_type = table.c[name].type
        bind = column_type.bind_processor(connection.dialect)
        temporal = _temporal(column_type)
        if bind is None and not temporal:
            continue
        column = list(map(itemgetter(position), rows))
        if isinstance(column_type, ExactDecimal):
            if set(map(type, column)) <= _AS_THEY_ARE:  # counted in C
                continue
            assert bind is not None
            replaced[position] = [
                value if value is None or value.__class__ is Decimal else bind(value)
                for value in column
            ]
        elif temporal:
            replaced[position] = _copy_texts(bind, column)
        else:
            assert bind is not None
            replaced[position] = _bound_column(bind, column)
    if not replaced:
        return rows
    return zip(
        *(
            replaced[position] if position in replaced else map(itemgetter(position), rows)
            for position in range(len(columns))
        ),
        strict=True,
    )


def _temporal(column_type: TypeEngine[Any]) -> bool:
    """Does the column hold dates or times (a decorated type by what it decorates)?"""
    if isinstance(column_type, TypeDecorator):
        column_type = column_type.impl_instance
    try:
        return issubclass(column_type.python_type, date)  # datetimes are dates too
    except NotImplementedError:
        return False


def _copy_texts(bind: Processor | None, column: Sequence[Any]) -> list[str | None]:
    """Dates and times as COPY's text takes them (`str`, as psycopg writes them), each
    distinct value once (`_bound_column`): psycopg formats a time zone aware datetime through
    `isoformat` for every row, a large share of a big batch's COPY (decision 0028)."""

    def text(value: Any) -> str | None:
        return None if value is None else str(value if bind is None else bind(value))

    return _bound_column(text, column)


_AS_THEY_ARE = {Decimal, type(None)}
"""What an exact column's values may be to go to COPY unprocessed."""


def _bound_column(bind: Processor, column: Sequence[Any]) -> list[Any]:
    """A column of values as its type's processor binds them; dates, users and dialects repeat
    across a batch, so each distinct value is bound once."""
    try:
        done = {value: bind(value) for value in set(column)}
    except TypeError:  # unhashable values (JSON documents): bind each one
        return [bind(value) for value in column]
    return [done[value] for value in column]


def copy_value(connection: Connection, table: Table, name: str, value: Any) -> Any:
    """One value of a column as COPY takes it (as `_processed` gives it)."""
    [row] = list(_processed(connection, table, [name], [(value,)]))
    return row[0]


def copy_rows(
    connection: Connection, table_name: str, columns: Sequence[str], rows: Iterable[Sequence[Any]]
) -> None:
    """COPY ... FROM STDIN in the text format: psycopg writes a row of Decimals, strings and
    dates as text about twice as fast as in the binary format (whose numeric encoding costs
    more than `str`), and the server reads either at about the same cost. A refusal of the
    rows (a key stored already) is SQLAlchemy's IntegrityError, as for any other statement."""
    pipelined.leave(connection)  # left already where the COPY was queued behind
    behind.settle(connection)
    raw = connection.connection.driver_connection
    assert raw is not None
    column_list = ", ".join(f'"{name}"' for name in columns)
    statement = f'COPY "{table_name}" ({column_list}) FROM STDIN'
    try:
        with raw.cursor() as cursor, cursor.copy(statement) as copy:
            for row in rows:
                copy.write_row(row)
    except connection.dialect.loaded_dbapi.IntegrityError as error:
        raise IntegrityError(statement, None, error) from error


def driver_rows(
    connection: Connection, statement: str, parameters: Sequence[Any] | Mapping[str, Any]
) -> list[tuple[Any, ...]]:
    """A large read's rows as the driver gives them, plain tuples, in the connection's
    transaction: SQLAlchemy's row objects cost a fifth of reading 100,000 rows. The statement
    is in the driver's own parameter style (`?` for SQLite, `%(name)s` for psycopg)."""
    behind.settle(connection)
    raw = connection.connection.driver_connection
    assert raw is not None
    cursor = raw.cursor()
    try:
        cursor.execute(statement, parameters)
        return list(cursor.fetchall())
    finally:
        cursor.close()


class DecimalCache(dict[Any, Decimal]):
    """Decimals by their stored form (text on SQLite), each converted once: a large read's
    figures repeat (zero costs, equal cash, the same quantities). Decimals are immutable, so
    one serves every row; a subscript stays in C for a form seen before."""

    def __missing__(self, value: Any) -> Decimal:
        number = self[value] = Decimal(value)
        return number


STAGE_THRESHOLD = 1_000
"""From this many rows, a set-based statement on PostgreSQL reads them from a staging table
filled by COPY rather than from array parameters: psycopg builds array parameters in
Python, value by value, where COPY formats them in C (decision 0011)."""


def stage(
    connection: Connection,
    name: str,
    columns: Sequence[tuple[str, str]],
    rows: Sequence[Sequence[Any]],
) -> str:
    """PostgreSQL: `rows` in a temporary table `name` (columns as (name, type) pairs), gone
    at the end of the transaction; a second staging of the same name in one transaction
    replaces the first. Returns the name to select from."""
    connection.exec_driver_sql(f'DROP TABLE IF EXISTS pg_temp."{name}"')
    definition = ", ".join(f'"{column}" {kind}' for column, kind in columns)
    connection.exec_driver_sql(f'CREATE TEMPORARY TABLE "{name}" ({definition}) ON COMMIT DROP')
    copy_rows(connection, name, [column for column, _ in columns], rows)
    return name
