"""Per-source admission limits: a token bucket (rate with a burst) and the queue bound.

A source that sends faster than its rate is refused with the time after which to retry (the
``Retry-After`` of an HTTP 429, RFC 6585 §4), so one noisy source cannot take the capacity of
the others. Time is the caller's monotonic clock reading (pure, exact in tests).
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["IngestLimits", "TokenBucket"]


@dataclass(frozen=True, slots=True)
class IngestLimits:
    """``queue`` events may wait per source; each source may add ``rate`` events a second
    with bursts of ``burst``; batches of up to ``batch`` go to the sink; records longer than
    ``max_line`` bytes are refused unread; ``max_skew`` seconds of clock skew are allowed
    into the future."""

    queue: int = 20_000
    rate: float = 5_000.0
    burst: int = 20_000
    batch: int = 1_000
    max_line: int = 64 * 1024
    max_skew: float = 300.0

    def __post_init__(self) -> None:
        if self.queue < 1 or self.batch < 1 or self.burst < 1 or self.max_line < 64:
            raise ValueError("queue, batch and burst must be positive, max_line at least 64")
        if not self.rate > 0 or not self.max_skew >= 0:
            raise ValueError("rate must be positive and max_skew not negative")


class TokenBucket:
    """``rate`` tokens a second up to ``capacity``; ``take(n, now)`` spends n or none."""

    __slots__ = ("_last", "_tokens", "capacity", "rate")

    def __init__(self, rate: float, capacity: int, now: float) -> None:
        self.rate = rate
        self.capacity = float(capacity)
        self._tokens = float(capacity)
        self._last = now

    def _refill(self, now: float) -> None:
        if now > self._last:
            self._tokens = min(self.capacity, self._tokens + (now - self._last) * self.rate)
            self._last = now

    def take(self, count: int, now: float) -> float:
        """0.0 if ``count`` tokens were taken, else the seconds until they would be there."""
        self._refill(now)
        # A batch larger than the burst goes when the bucket is full, leaving it in debt, so
        # the long-run rate holds and no batch size is refused for ever.
        if count <= self._tokens or self._tokens >= self.capacity:
            self._tokens -= count
            return 0.0
        needed = min(float(count), self.capacity) - self._tokens
        return max(needed / self.rate, 0.001)
