"""Bounded sliding windows of timestamps keyed by a string (working memory of detectors).

Each key keeps at most ``per_key`` recent times in a deque and the table at most ``keys``
keys (the oldest-inserted dropped first), so a flood of distinct sources cannot grow it.
"""

from __future__ import annotations

from collections import deque

__all__ = ["Windows"]


class Windows:
    __slots__ = ("_keys", "_per_key", "_table", "_width")

    def __init__(self, width_seconds: float, per_key: int, keys: int) -> None:
        self._width = width_seconds
        self._per_key = per_key
        self._keys = keys
        self._table: dict[str, deque[float]] = {}

    def add(self, key: str, epoch: float) -> int:
        """Record one occurrence at ``epoch``; how many fall inside the window now."""
        times = self._table.get(key)
        if times is None:
            if len(self._table) >= self._keys:
                del self._table[next(iter(self._table))]
            times = self._table[key] = deque(maxlen=self._per_key)
        times.append(epoch)
        cutoff = epoch - self._width
        while times and times[0] <= cutoff:
            times.popleft()
        return len(times)

    def clear(self, key: str) -> None:
        self._table.pop(key, None)
