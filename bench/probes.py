"""Probes inside the serving process: garbage-collector pauses and event-loop lag.

Both answer "why is p99 high?" without a profiler: a full collection, or a background
thread holding the GIL, shows up as a late timer.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import time
from typing import Any


class GcWatch:
    """Garbage-collector pauses, via ``gc.callbacks``: a full collection stops the event loop."""

    def __init__(self) -> None:
        self._started = 0.0
        self.collections = [0, 0, 0]
        self.total_seconds = 0.0
        self.window_max_seconds = 0.0
        self.window_max_generation = -1
        gc.callbacks.append(self._callback)

    def _callback(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self._started = time.perf_counter()
            return
        pause = time.perf_counter() - self._started
        generation = info["generation"]
        self.collections[generation] += 1
        self.total_seconds += pause
        if pause > self.window_max_seconds:
            self.window_max_seconds = pause
            self.window_max_generation = generation

    def report(self) -> dict[str, Any]:
        """Cumulative counts, and the longest pause since the previous report."""
        longest = {
            "gc_collections": list(self.collections),
            "gc_total_ms": round(self.total_seconds * 1000, 1),
            "gc_longest_pause_ms": round(self.window_max_seconds * 1000, 2),
            "gc_longest_pause_generation": self.window_max_generation,
        }
        self.window_max_seconds = 0.0
        self.window_max_generation = -1
        return longest


class LoopLag:
    """How late a 10 ms timer fires: the event loop's stalls, whatever their cause."""

    def __init__(self, period: float = 0.01) -> None:
        self._period = period
        self.window_max_seconds = 0.0
        self.window_stalls = 0  # wake-ups later than 5 ms
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._watch(), name="bench-lag")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _watch(self) -> None:
        while True:
            started = time.perf_counter()
            await asyncio.sleep(self._period)
            lag = time.perf_counter() - started - self._period
            if lag > 0.005:
                self.window_stalls += 1
            self.window_max_seconds = max(self.window_max_seconds, lag)

    def report(self) -> dict[str, Any]:
        """The longest lag and the number of stalls since the previous report."""
        window = {
            "loop_lag_max_ms": round(self.window_max_seconds * 1000, 2),
            "loop_stalls_over_5ms": self.window_stalls,
        }
        self.window_max_seconds = 0.0
        self.window_stalls = 0
        return window
