"""Timing of single decisions: one ``perf_counter_ns`` pair around each call, bounded runs.

Each call is timed on its own (not a loop divided by its length) so that the median and
the 99th percentile are of decisions, as a gateway experiences them. The requests are
cycled in a fixed order. The garbage collector is paused during a run (as ``timeit``
does), after a full collection, so that a collection triggered by one engine's garbage is
not charged to the next. The cost of the timer itself is measured and reported beside the
figures; it is included in every sample (about 0.05-0.1 µs), not subtracted.
"""

from __future__ import annotations

import gc
import math
import statistics
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

Clock = Callable[[], int]


@dataclass(frozen=True, slots=True)
class Run:
    """Per-decision durations (ns) and which request each one answered."""

    durations_ns: tuple[int, ...]
    request_indexes: tuple[int, ...]
    wall_ns: int

    def subset(self, indexes: Iterable[int]) -> tuple[int, ...]:
        wanted = set(indexes)
        return tuple(
            d for d, i in zip(self.durations_ns, self.request_indexes, strict=True) if i in wanted
        )


@dataclass(frozen=True, slots=True)
class Latency:
    """Median, 99th percentile and mean of a set of decisions, in µs."""

    decisions: int
    median_us: float
    p99_us: float
    mean_us: float

    def to_json(self) -> dict[str, Any]:
        return {
            "decisions": self.decisions,
            "median_us": round(self.median_us, 3),
            "p99_us": round(self.p99_us, 3),
            "mean_us": round(self.mean_us, 3),
        }


def time_each(
    decide: Callable[[Any], object],
    requests: Sequence[Any],
    max_decisions: int,
    max_seconds: float,
    clock: Clock = time.perf_counter_ns,
) -> Run:
    """Call ``decide`` on the requests in turn until either bound is reached (at least once)."""
    if not requests or max_decisions < 1:
        raise ValueError("a timed run needs requests and at least one decision")
    budget = int(max_seconds * 1e9)
    count = len(requests)
    durations: list[int] = []
    indexes: list[int] = []
    gc.collect()
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        started = clock()
        for step in range(max_decisions):
            index = step % count
            request = requests[index]
            before = clock()
            decide(request)
            after = clock()
            durations.append(after - before)
            indexes.append(index)
            if after - started > budget:
                break
        wall = clock() - started
    finally:
        if was_enabled:
            gc.enable()
    return Run(tuple(durations), tuple(indexes), wall)


def time_batches(
    decide_all: Callable[[Sequence[Any]], object],
    requests: Sequence[Any],
    max_batches: int,
    max_seconds: float,
    clock: Clock = time.perf_counter_ns,
) -> tuple[int, ...]:
    """Per-decision cost of whole batches: each batch's duration divided by its size (ns)."""
    budget = int(max_seconds * 1e9)
    found: list[int] = []
    gc.collect()
    started = clock()
    for _ in range(max_batches):
        before = clock()
        decide_all(requests)
        after = clock()
        found.append((after - before) // len(requests))
        if after - started > budget:
            break
    return tuple(found)


def latency(durations_ns: Sequence[int]) -> Latency | None:
    """Summary of durations; None for an empty set. p99 is the nearest-rank percentile."""
    if not durations_ns:
        return None
    ordered = sorted(durations_ns)
    rank = max(1, math.ceil(0.99 * len(ordered)))
    return Latency(
        decisions=len(ordered),
        median_us=statistics.median(ordered) / 1000,
        p99_us=ordered[rank - 1] / 1000,
        mean_us=statistics.fmean(ordered) / 1000,
    )


def timer_overhead_ns(clock: Clock = time.perf_counter_ns, samples: int = 20_000) -> float:
    """Median of back-to-back clock readings: what each sample carries besides the call."""
    readings = []
    for _ in range(samples):
        before = clock()
        readings.append(clock() - before)
    return float(statistics.median(readings))


def growth_exponent(small: tuple[int, float], large: tuple[int, float]) -> float:
    """Slope of latency against rules on log-log axes: 1 is linear, below 1 sub-linear.

    ``small`` and ``large`` are (rules, latency) pairs.
    """
    (n1, t1), (n2, t2) = small, large
    if n1 <= 0 or n2 <= n1 or t1 <= 0 or t2 <= 0:
        raise ValueError("growth needs two sizes in increasing order and positive latencies")
    return math.log(t2 / t1) / math.log(n2 / n1)
