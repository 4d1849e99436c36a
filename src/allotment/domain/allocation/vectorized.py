"""The integer core on NumPy int64, for large splits.

Each function returns None when int64 could overflow; the caller then uses Python ints.
The guard is ``total < 2**63``, ``total × max(weight) < 2**63`` (after dividing out common
factors) and ``Σ weights < 2**63``. Ties are resolved in Python with the caller's
``tie_key``, exactly as the pure path does, so both paths give identical parts.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Callable, Iterable, Sequence
from decimal import Decimal
from typing import Any

import numpy as np
from numpy.typing import NDArray

INT64_LIMIT = 2**63

Int64Array = NDArray[np.int64]
UInt64Array = NDArray[np.uint64]
IntVector = Sequence[int] | Int64Array
"""Integer weights: a list of Python ints, or (from ``scaled_integers``) an int64 array."""

# Python's numeric hash is arithmetic modulo this Mersenne prime on 64-bit builds.
HASH_PRIME = 2**61 - 1
_LOW_30 = np.uint64(2**30 - 1)
_LOW_31 = np.uint64(2**31 - 1)
_PRIME = np.uint64(HASH_PRIME)


def as_ints(weights: IntVector) -> list[int]:
    """Python ints, whichever form the weights came in (int64 scalars overflow silently)."""
    if isinstance(weights, np.ndarray):
        ints: list[int] = weights.tolist()
        return ints
    return weights if isinstance(weights, list) else list(weights)


def scaled_integers(values: Sequence[Decimal], places: int, total: int) -> Int64Array | None:
    """``value × 10**places`` for every value, as int64, without a Decimal operation each;
    None when this way cannot be sure (the caller then multiplies each Decimal).

    Python defines the hash of every rational number ``m / n`` as ``m × n⁻¹ mod P`` (P =
    ``sys.hash_info.modulus``, 2**61 - 1 on 64-bit builds; "Hashing of numeric types" in the
    language reference), so that equal numbers of any type hash alike. For a decimal ``w``
    with ``w × 10**places = k`` an integer, ``hash(w) × 10**places ≡ k (mod P)``. When no
    value is negative and their exact scaled sum ``total`` is below P, every ``k`` lies in
    [0, P) and is that residue exactly. Hashing a Decimal is a third of the cost of
    multiplying it and converting the product to an int; the residues are computed on the
    whole array at once. ``values`` must be finite and ``total`` their exact scaled sum.
    """
    if sys.hash_info.modulus != HASH_PRIME or not 0 <= total < HASH_PRIME:
        return None
    hashes = np.fromiter(map(hash, values), dtype=np.int64, count=len(values))
    if len(hashes) == 0 or int(hashes.min()) < 0:
        return None  # a negative value hashes below zero
    # A negative value hashes to zero when its scaled value is a multiple of P: look at those.
    zeros: list[int] = np.flatnonzero(hashes == 0).tolist()
    if any(values[index] < 0 for index in zeros):
        return None
    scaled = _times_mod_prime(hashes.astype(np.uint64), pow(10, places, HASH_PRIME))
    result = scaled.astype(np.int64)
    # Implied by the argument above; checked all the same, since the check is one sum.
    return result if int(result.sum(dtype=np.uint64)) == total else None


def _times_mod_prime(values: UInt64Array, factor: int) -> UInt64Array:
    """``values × factor mod P`` for values and factor below P = 2**61 - 1, in uint64.

    With 31-bit halves, ``v × f = vh·fh·2**62 + (vh·fl + vl·fh)·2**31 + vl·fl``; every
    partial product fits 64 bits, and ``2**61 ≡ 1 (mod P)`` folds the high parts back.
    """
    if factor == 1:
        return values
    factor_high, factor_low = np.uint64(factor >> 31), np.uint64(factor & (2**31 - 1))
    high, low = values >> np.uint64(31), values & _LOW_31
    top = (high * factor_high) << np.uint64(1)  # 2**62 ≡ 2; < 2**61
    middle = _fold(high * factor_low + low * factor_high)  # < 2**61 + 2
    # middle × 2**31 with middle = a·2**30 + b: a·2**61 + b·2**31 ≡ a + b·2**31.
    middle = (middle >> np.uint64(30)) + ((middle & _LOW_30) << np.uint64(31))
    result = _fold(top + middle + low * factor_low)  # the sum stays below 2**64
    result = np.where(result >= _PRIME, result - _PRIME, result)
    return result


def _fold(values: UInt64Array) -> UInt64Array:
    """A number congruent modulo P and below 2**61 + 8."""
    return (values & _PRIME) + (values >> np.uint64(61))


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


def proportional_floors(total: int, weights: IntVector) -> list[int] | None:
    split = _floors_and_remainders(total, weights)
    if split is None:
        return None
    floors, _ = split
    result: list[int] = floors.tolist()
    return result


def largest_remainder(
    total: int, weights: IntVector, tie_key: Callable[[int], Any]
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


def _floors_and_remainders(total: int, weights: IntVector) -> tuple[Int64Array, Int64Array] | None:
    # The floors sum to at most the total, in int64: a total from 2**63 up could wrap their
    # sum even when each product fits.
    array = _as_int64(weights) if 0 <= total < INT64_LIMIT else None
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


def _as_int64(weights: IntVector) -> Int64Array | None:
    try:
        return np.asarray(weights, dtype=np.int64)
    except OverflowError:
        return None
