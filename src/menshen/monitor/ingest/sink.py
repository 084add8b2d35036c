"""Where ingested events go: the detection engine implements ``EventSink``.

``accept`` is called from the pipeline's own task with batches in arrival order per source;
it should be quick (it holds the pipeline while it runs) and must not raise for a single bad
event. ``CollectingSink`` is the test double.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from menshen.monitor.model import ObservedEvent

__all__ = ["CollectingSink", "DiscardingSink", "EventSink"]


class EventSink(Protocol):
    def accept(self, events: Sequence[ObservedEvent]) -> None: ...


class CollectingSink:
    """Keeps every event it is given (tests, ``menshen monitor`` dry runs)."""

    def __init__(self) -> None:
        self.events: list[ObservedEvent] = []
        self.batches = 0

    def accept(self, events: Sequence[ObservedEvent]) -> None:
        self.events.extend(events)
        self.batches += 1


class DiscardingSink:
    """Takes events and keeps none (ingestion running with no engine configured)."""

    def accept(self, events: Sequence[ObservedEvent]) -> None:
        return None
