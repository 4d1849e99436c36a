"""The SQL text the ledger repository's balance statements share (PostgreSQL)."""

from __future__ import annotations

from collections.abc import Sequence

from allotment.domain.ledger import AssetKind, BalanceKey

KIND_TEXT = {kind: kind.value for kind in AssetKind}
_ID_SEPARATOR = "\x1f"
"""ASCII's unit separator: what splits a list of ids sent as one text (`unnest_ids`)."""


def unnest_ids(ids: Sequence[str], placeholder: str) -> tuple[str, str | list[str]]:
    """PostgreSQL: the ids as rows `v(id)` to join (not `= ANY(array)`: a generic plan would
    compare each row with the whole array), and the one parameter they take. The ids go as
    one text the server splits: psycopg builds an array parameter in Python, id by id, which
    costs more than the statement itself (decision 0028). As an array when
    an id holds the separator."""
    joined = _ID_SEPARATOR.join(ids)
    if ids and joined.count(_ID_SEPARATOR) == len(ids) - 1:
        return f"unnest(string_to_array({placeholder}, E'\\x1f')) AS v(id)", joined
    return f"unnest(CAST({placeholder} AS text[])) AS v(id)", list(ids)


UNNEST_VALUES = (
    "unnest(CAST(:account_ids AS text[]), CAST(:kinds AS text[]), CAST(:assets AS text[]), "
    "CAST(:quantities AS numeric[]), CAST(:costs AS numeric[])) "
    "AS v(account_id, kind, asset, quantity, cost_amount)"
)


UPSERT = (
    "INSERT INTO balances (account_id, kind, asset, quantity, cost_amount) "
    "SELECT v.account_id, v.kind, v.asset, v.quantity, v.cost_amount"
)
ON_CONFLICT = (
    "ON CONFLICT (account_id, kind, asset) DO UPDATE "
    "SET quantity = EXCLUDED.quantity, cost_amount = EXCLUDED.cost_amount"
)

BALANCE_STAGE = (
    ("account_id", "text"),
    ("kind", "text"),
    ("asset", "text"),
    ("quantity", "numeric"),
    ("cost_amount", "numeric"),
)


def key_arrays(keys: Sequence[BalanceKey]) -> dict[str, list[str]]:
    return {
        "account_ids": [key.account_id for key in keys],
        "kinds": [KIND_TEXT[key.kind] for key in keys],
        "assets": [key.asset for key in keys],
    }
