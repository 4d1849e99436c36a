"""Benchmark: the allocation engine against a straightforward Decimal largest remainder.

Splits a block across 1,000 to 1,000,000 participants weighted by net liquidation values
(Decimals with cents, priorities 1-3, random keys), once with ``split`` and once with the
textbook implementation below, checks that both give identical quantities, and prints the
times and their ratio. Target: a million participants in at most 0.5 s, at least ten times
faster than the straightforward version.

    python bench/engine.py [--sizes 1000,10000,100000,1000000] [--clock wall|cpu]

Timings are the best of a few runs with the garbage collector paused, as ``timeit`` does;
building the participants is not timed (a caller has them already). ``split`` returns
quantities as whole increments and makes Decimals on first use: the "+ Decimals" column is
the extra time a caller pays to read every quantity as a Decimal, and "ratio w/ Dec" the
speed-up with that time included (the straightforward version returns Decimals).
``--clock cpu`` times with this process's CPU time instead of the wall clock, for machines
busy with other work.
"""

from __future__ import annotations

import argparse
import gc
import random
import sys
import time
from collections.abc import Callable
from decimal import Decimal
from typing import TypeVar

from allotment.domain.allocation.engine import Method, Participant, SplitRequest, split

T = TypeVar("T")
SIZES = (1_000, 10_000, 100_000, 1_000_000)
TARGET_SECONDS = 0.5
TARGET_RATIO = 10


def straightforward_split(total: Decimal, participants: tuple[Participant, ...]) -> list[Decimal]:
    """Largest remainder as one would first write it: Decimal all the way, one sort."""
    weights = [participant.weight for participant in participants]
    weight_total = sum(weights)
    parts: list[Decimal] = []
    remainders: list[Decimal] = []
    for weight in weights:
        part, remainder = divmod(total * weight, weight_total)
        parts.append(part)
        remainders.append(remainder)
    leftover = int(total - sum(parts))
    order = sorted(
        range(len(participants)),
        key=lambda i: (-remainders[i], participants[i].priority, participants[i].key),
    )
    for index in order[:leftover]:
        parts[index] += 1
    return parts


def make_request(count: int, seed: int) -> SplitRequest:
    rng = random.Random(seed)
    keys = [f"ACC{number:08d}" for number in rng.sample(range(10**8), count)]
    participants = tuple(
        Participant(key, Decimal(rng.randrange(100, 10**9)).scaleb(-2), rng.randint(1, 3))
        for key in keys
    )
    return SplitRequest(Decimal(count * 37 + 12_345), participants, Method.NET_LIQUIDATION)


CLOCKS = {"wall": time.perf_counter, "cpu": time.process_time}
clock = time.perf_counter


def best_time(run: Callable[[], T], repeats: int) -> tuple[float, T]:
    best, result = float("inf"), None
    for _ in range(repeats):
        gc.collect()
        gc.disable()
        try:
            start = clock()
            result = run()
            best = min(best, clock() - start)
        finally:
            gc.enable()
    assert result is not None
    return best, result


def bench_size(count: int) -> tuple[float, float, float, bool]:
    request = make_request(count, seed=count)
    engine_seconds, result = best_time(lambda: split(request), repeats=5)
    fresh = [split(request) for _ in range(3)]  # quantities are cached: one result per run
    decimals_seconds, quantities = best_time(lambda: fresh.pop().quantities, repeats=3)
    slow_repeats = 2 if count >= 1_000_000 else 3
    slow_seconds, expected = best_time(
        lambda: straightforward_split(request.total, request.participants), slow_repeats
    )
    identical = list(quantities) == expected and result.remainder == 0
    return engine_seconds, decimals_seconds, slow_seconds, identical


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default=",".join(map(str, SIZES)))
    parser.add_argument("--clock", choices=sorted(CLOCKS), default="wall")
    arguments = parser.parse_args()
    sizes = [int(size) for size in arguments.sizes.split(",")]
    global clock
    clock = CLOCKS[arguments.clock]
    print(f"clock: {arguments.clock}")
    print(
        f"{'participants':>12} | {'engine s':>9} | {'+ Decimals s':>12} | "
        f"{'straightforward s':>17} | {'ratio':>6} | {'ratio w/ Dec':>12} | identical"
    )
    print("-" * 96)
    ok = True
    for count in sizes:
        engine, decimals, slow, identical = bench_size(count)
        ratio, ratio_with_decimals = slow / engine, slow / (engine + decimals)
        print(
            f"{count:>12,} | {engine:>9.3f} | {decimals:>12.3f} | {slow:>17.3f} | "
            f"{ratio:>5.1f}x | {ratio_with_decimals:>11.1f}x | {'yes' if identical else 'NO'}"
        )
        ok = ok and identical
        if count == 1_000_000:
            met = engine <= TARGET_SECONDS and ratio >= TARGET_RATIO
            print(
                f"{'':>12}   target (split) <= {TARGET_SECONDS} s and >= {TARGET_RATIO}x: "
                f"{'met' if met else 'NOT met'}"
            )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
