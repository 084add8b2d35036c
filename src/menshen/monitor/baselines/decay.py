"""Decaying counters with bounded memory: the arithmetic under every baseline.

Old behaviour fades with a half-life (Splunk UBA keeps 30 days of history; Entra ID
Protection "restarts" after long inactivity): a weight seen ``h`` ago counts ``2**(-h/H)``.
Weights use *forward decay* (Cormode et al., ICDE 2009): each observation adds
``exp(λ·(t - L))`` against a landmark ``L``, so an update touches one entry and ratios
between entries need no decay at all; the landmark moves forward before the exponent grows
large. ``TopK`` keeps at most ``k`` keys, evicting the lightest (a SpaceSaving-style bound),
so a profile never grows with the number of distinct values it has seen.

``Ewma`` is a per-observation exponentially weighted mean and variance (West 1979 / Finch
2009 "Incremental calculation of weighted mean and variance"), with the first ``1/α``
observations averaged plainly so the early mean is not biased toward the first one.
"""

from __future__ import annotations

import math
from typing import Any

__all__ = ["Decay", "Ewma", "Histogram", "TopK", "alpha_for_half_life"]

_RENORMALISE = 40.0  # exponent past which the landmark moves (exp(40) ≈ 2e17, far from overflow)


def alpha_for_half_life(observations: float) -> float:
    """The EWMA weight whose influence halves after ``observations`` updates."""
    return 1.0 - float(0.5 ** (1.0 / observations))


class Decay:
    """A decay rate and a landmark time (epoch seconds) shared by the counters of a profile."""

    __slots__ = ("landmark", "rate")

    def __init__(self, half_life_seconds: float, landmark: float) -> None:
        self.rate = math.log(2.0) / half_life_seconds
        self.landmark = landmark

    def scale(self, t: float) -> float:
        """``exp(λ·(t - L))``: what one observation at ``t`` adds, in landmark units."""
        return float(math.exp(self.rate * (t - self.landmark)))

    def exponent(self, t: float) -> float:
        return float(self.rate * (t - self.landmark))


class TopK:
    """At most ``k`` keys with a forward-decayed weight and first/last-seen times."""

    __slots__ = ("entries", "k", "total")

    def __init__(self, k: int) -> None:
        self.k = k
        self.total = 0.0  # every observation's weight, evicted keys included
        self.entries: dict[str, list[float]] = {}  # key -> [weight, first_seen, last_seen]

    def add(self, key: str, t: float, weight: float) -> None:
        entry = self.entries.get(key)
        self.total += weight
        if entry is not None:
            entry[0] += weight
            entry[2] = t
            return
        if len(self.entries) >= self.k:
            lightest = min(self.entries, key=lambda name: self.entries[name][0])
            del self.entries[lightest]
        self.entries[key] = [weight, t, t]

    def __contains__(self, key: str) -> bool:
        return key in self.entries

    def share(self, key: str) -> float:
        """The decayed fraction of all observations that had ``key`` (0 when unknown)."""
        entry = self.entries.get(key)
        if entry is None or self.total <= 0.0:
            return 0.0
        return entry[0] / self.total

    def first_seen(self, key: str) -> float | None:
        entry = self.entries.get(key)
        return None if entry is None else entry[1]

    def rescale(self, factor: float) -> None:
        self.total *= factor
        for entry in self.entries.values():
            entry[0] *= factor

    def dump(self) -> dict[str, Any]:
        return {"total": self.total, "entries": {k: list(v) for k, v in self.entries.items()}}

    @classmethod
    def load(cls, k: int, data: dict[str, Any]) -> TopK:
        top = cls(k)
        top.total = float(data["total"])
        items = sorted(data["entries"].items(), key=lambda item: -float(item[1][0]))[:k]
        top.entries = {str(key): [float(v) for v in value] for key, value in items}
        return top


class Histogram:
    """A fixed number of forward-decayed bins (active hours by weekday: 7 x 24)."""

    __slots__ = ("bins", "total")

    def __init__(self, size: int) -> None:
        self.bins = [0.0] * size
        self.total = 0.0

    def add(self, index: int, weight: float) -> None:
        self.bins[index] += weight
        self.total += weight

    def share(self, indices: tuple[int, ...]) -> float:
        if self.total <= 0.0:
            return 0.0
        return sum(self.bins[i] for i in indices) / self.total

    def share_around(self, index: int) -> float:
        """``share`` of ``index`` and the bin on each side (wrapping), without the tuple."""
        total = self.total
        if total <= 0.0:
            return 0.0
        bins = self.bins
        size = len(bins)
        return (bins[(index - 1) % size] + bins[index] + bins[(index + 1) % size]) / total

    def rescale(self, factor: float) -> None:
        self.total *= factor
        self.bins = [value * factor for value in self.bins]


class Ewma:
    """Exponentially weighted mean and variance of a per-observation figure."""

    __slots__ = ("alpha", "count", "mean", "var")

    def __init__(self, alpha: float) -> None:
        self.alpha = alpha
        self.count = 0
        self.mean = 0.0
        self.var = 0.0

    def add(self, value: float) -> None:
        self.count += 1
        alpha = max(self.alpha, 1.0 / self.count)
        diff = value - self.mean
        increment = alpha * diff
        self.mean += increment
        self.var = (1.0 - alpha) * (self.var + diff * increment)

    @property
    def std(self) -> float:
        return math.sqrt(self.var) if self.var > 0.0 else 0.0

    def dump(self) -> list[float]:
        return [self.count, self.mean, self.var]

    @classmethod
    def load(cls, alpha: float, data: list[float]) -> Ewma:
        ewma = cls(alpha)
        ewma.count, ewma.mean, ewma.var = int(data[0]), float(data[1]), float(data[2])
        return ewma


def needs_renormalising(decay: Decay, t: float) -> bool:
    return decay.exponent(t) > _RENORMALISE
