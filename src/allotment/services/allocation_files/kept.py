"""What the reading and checking of a file keep between rows: values that repeat (an
instrument, a side, a number, an account), each found once and kept, at most `limit` of them.
A full cache is emptied rather than pruned: rows repeat in runs, so the values of the rows in
hand come back at once, and memory stays bounded whatever the file's size."""

from __future__ import annotations

from typing import TypeVar

K = TypeVar("K")
V = TypeVar("V")


class Kept(dict[K, V]):
    def __init__(self, limit: int) -> None:
        super().__init__()
        self.limit = limit

    def keep(self, key: K, value: V) -> V:
        """`value` kept under `key` (the cache emptied first when full); answers `value`."""
        if len(self) >= self.limit:
            self.clear()
        self[key] = value
        return value
