"""Brute force: many failed sign-ins for one user in a short time.

The common frequency rule (monitoring.md, "Brute force"): 8 failures in 120 s, then suppress
repeats for 60 s; Elastic's authentication jobs also flag a "high count of failures".
Counted per user (whatever the sources — a distributed guess is still a guess), with the
failing sources in the evidence. A success does not reset the count: a guessed password
right after a burst is exactly the case to see.

False positives avoided: a user who mistypes a few times (below 8 in 120 s); repeated alerts
for one burst (60 s suppression).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import ClassVar

from menshen.monitor.baselines import BaselineView, EventContext, Feature
from menshen.monitor.detectors.base import NO_FINDINGS, Evidence, finding
from menshen.monitor.detectors.windows import Windows
from menshen.monitor.model import Category, Entity, EntityKind, EventOutcome, Finding, Severity

__all__ = ["BruteForce"]


@dataclass(slots=True)
class BruteForce:
    name: str = "brute_force"
    needs: ClassVar[Feature] = Feature.FAILED
    categories: frozenset[Category] | None = frozenset({Category.AUTHENTICATION})
    failures: int = 8
    window_seconds: float = 120.0
    suppress_seconds: float = 60.0
    _windows: Windows | None = None
    _suppressed: dict[str, float] = field(default_factory=dict)

    def detect(self, ctx: EventContext, view: BaselineView) -> Sequence[Finding]:
        event = ctx.event
        if (
            event.category is not Category.AUTHENTICATION
            or event.outcome is not EventOutcome.FAILURE
        ):
            return NO_FINDINGS
        user = event.user or event.client_id
        if not user:
            return NO_FINDINGS
        if self._windows is None:
            self._windows = Windows(self.window_seconds, self.failures * 4, 100_000)
        count = self._windows.add(user, ctx.epoch)
        if count < self.failures:
            return NO_FINDINGS
        until = self._suppressed.get(user)
        if until is not None and ctx.epoch < until:
            return NO_FINDINGS
        if len(self._suppressed) >= 100_000:
            self._suppressed.clear()
        self._suppressed[user] = ctx.epoch + self.suppress_seconds
        kind = EntityKind.USER if event.user else EntityKind.CLIENT
        evidence: Evidence = {"failures": count, "window_seconds": self.window_seconds}
        summary = f"{count} failed sign-ins in {self.window_seconds:.0f} s"
        return (
            finding(ctx, self.name, Entity(kind, user), Severity.MEDIUM, 0.8, summary, evidence),
        )
