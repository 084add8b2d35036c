"""Spread of one source computer: how many machines it reached *for the first time* in a day.

Lateral movement is a walk over the graph of who-logs-on-where: from a foothold the intruder
reaches machines the foothold never talked to, one after another (Kent 2015,
doi:10.17021/1179829: the LANL red team's busiest source reached dozens of new destinations
a day; MITRE ATT&CK TA0008). A single new computer→computer edge is weak evidence — machines
meet new peers every day — but a source that keeps making new edges is strong evidence, and
the strength grows with the count. This weights the source's novelty by the number of
distinct new destinations it reached in the current day: below ``floor`` nothing; from the
floor on, ``1 + log2(count / floor)`` bits, so doubling the sweep adds one bit.

It differs from ``fanout``: fan-out counts *every* destination in an hour against the source's
own peak, so a file server that always fans out is its own normal; spread counts only edges
the source never made before, over a day, against an absolute floor — habit cannot excuse a
new edge. Whether an edge is new is the caller's judgement (``NewPairDetector``), so both
signals agree on what "new" means.

Days are tumbling windows of ``window_seconds``. Memory: at most ``max_tracked`` destinations
per source and ``max_sources`` sources (the least recently seen eighth is dropped when
full). Pure: times are POSIX seconds passed in.
"""

from __future__ import annotations

from math import log2

from menshen.errors import InvalidInput
from menshen.monitor.model import EvidenceValue

__all__ = ["SourceSpread"]


class SpreadDay:
    __slots__ = ("last", "new_destinations", "window")

    def __init__(self, window: int, at: float) -> None:
        self.window = window
        self.new_destinations: set[str] = set()
        self.last = at


class SourceSpread:
    """Distinct new destinations per source computer per window, over an absolute floor."""

    __slots__ = ("_floor", "_max_sources", "_max_tracked", "_window", "name", "sources")

    def __init__(
        self,
        name: str,
        *,
        window_seconds: float,
        floor: int,
        max_tracked: int,
        max_sources: int,
    ) -> None:
        if window_seconds <= 0 or floor < 1 or max_tracked < floor or max_sources < 8:
            raise InvalidInput("spread window > 0, floor >= 1, max_tracked >= floor, sources >= 8")
        self.name = name
        self.sources: dict[str, SpreadDay] = {}
        self._window = window_seconds
        self._floor = floor
        self._max_tracked = max_tracked
        self._max_sources = max_sources

    def bits(self, source: str | None, destination: str | None, new_edge: bool, at: float) -> float:
        """Surprise of the source's new destinations in the window, this one included; 0 for
        a known edge or under the floor."""
        if not new_edge or source is None or destination is None or source == destination:
            return 0.0
        day = self._today(source, at)
        seen = day.new_destinations if day is not None else set()
        count = len(seen) + (destination not in seen)
        if count < self._floor:
            return 0.0
        return 1.0 + log2(count / self._floor)

    def count(self, source: str | None, destination: str | None, new_edge: bool, at: float) -> None:
        """Add a new edge to the source's window (the measurement, done whether or not the
        event is learnt, like fan-out's window)."""
        if not new_edge or source is None or destination is None or source == destination:
            return
        day = self._open(source, at)
        if len(day.new_destinations) < self._max_tracked:
            day.new_destinations.add(destination)
        if at > day.last:
            day.last = at

    def evidence(self, source: str, at: float) -> dict[str, EvidenceValue]:
        day = self._today(source, at)
        return {
            "new_destinations_in_window": 0 if day is None else len(day.new_destinations),
            "window_seconds": self._window,
            "floor": self._floor,
        }

    def _today(self, source: str, at: float) -> SpreadDay | None:
        """The source's window if it is the current one (an ended window counts nothing)."""
        day = self.sources.get(source)
        return day if day is not None and int(at // self._window) <= day.window else None

    def _open(self, source: str, at: float) -> SpreadDay:
        """The source's current window, started afresh when the last one has ended."""
        window = int(at // self._window)
        day = self.sources.get(source)
        if day is None:
            if len(self.sources) >= self._max_sources:
                self._evict_stale()
            day = self.sources[source] = SpreadDay(window, at)
        elif window > day.window:
            day.window, day.new_destinations, day.last = window, set(), at
        return day

    def _evict_stale(self) -> None:
        by_age = sorted(self.sources.items(), key=lambda item: item[1].last)
        for name, _ in by_age[: max(1, len(by_age) // 8)]:
            del self.sources[name]
