"""The integer core on NumPy int64, for large splits.

Each function returns None when int64 could overflow; the caller then uses Python ints.
The guard is ``total × max(weight) < 2**63`` (after dividing out common factors) and
``Σ weights < 2**63``. Ties are resolved in Python with the caller's ``tie_key``, exactly
as the pure path does, so both paths give identical parts.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray

INT64_LIMIT = 2**63

Int64Array = NDArray[np.int64]


def may_have_duplicates(keys: Iterable[str], count: int) -> bool:
    """False when the keys are certainly distinct because their hashes are; True asks the
    caller for the exact check (different keys can share a hash).

    Cheaper than a set of a million strings: the hashes are counted into a table four times
    their number, and only those sharing a slot (about a fifth) are sorted and compared.
    """
    hashes = np.fromiter(map(hash, keys), dtype=np.int64, count=count)
    size = 1 << (4 * count).bit_length()
    slots = hashes & (size - 1)
    crowded = hashes[np.bincount(slots, minlength=size)[slots] > 1]
    crowded.sort()
    return bool((crowded[1:] == crowded[:-1]).any())


def proportional_floors(total: int, weights: Sequence[int]) -> list[int] | None:
    split = _floors_and_remainders(total, weights)
    if split is None:
        return None
    floors, _ = split
    result: list[int] = floors.tolist()
    return result


def largest_remainder(
    total: int, weights: Sequence[int], tie_key: Callable[[int], Any]
) -> list[int] | None:
    split = _floors_and_remainders(total, weights)
    if split is None:
        return None
    parts, remainders = split
    leftover = total - int(parts.sum())
    if leftover:
        _add_one_to_largest(parts, remainders, leftover, tie_key)
    result: list[int] = parts.tolist()
    return result


def _add_one_to_largest(
    parts: Int64Array, remainders: Int64Array, leftover: int, tie_key: Callable[[int], Any]
) -> None:
    # The leftover-th largest remainder: everything above it gets one more, and the rest of
    # the leftover goes to the participants tied at it, in tie_key order.
    cut = len(remainders) - leftover
    threshold = np.partition(remainders, cut)[cut]
    above = np.flatnonzero(remainders > threshold)
    tied: list[int] = np.flatnonzero(remainders == threshold).tolist()
    chosen = sorted(tied, key=tie_key)[: leftover - len(above)]
    parts[above] += 1
    parts[np.asarray(chosen, dtype=np.int64)] += 1


def _floors_and_remainders(
    total: int, weights: Sequence[int]
) -> tuple[Int64Array, Int64Array] | None:
    array = _as_int64(weights)
    if array is None or len(array) == 0:
        return None
    largest = int(array.max())
    if largest * len(array) >= INT64_LIMIT:
        return None
    # Common factors change neither the floors nor the order of the remainders, and
    # dividing them out keeps more splits within int64.
    if total * largest >= INT64_LIMIT:
        shared = int(np.gcd.reduce(array))
        if shared > 1:
            array, largest = array // shared, largest // shared
    weight_total = int(array.sum())
    common = math.gcd(total, weight_total)
    multiplier, divisor = total // common, weight_total // common
    if multiplier * largest >= INT64_LIMIT:
        return None
    products = array * multiplier
    floors = products // divisor
    return floors, products - floors * divisor


def _as_int64(weights: Sequence[int]) -> Int64Array | None:
    try:
        return np.asarray(weights, dtype=np.int64)
    except OverflowError:
        return None
