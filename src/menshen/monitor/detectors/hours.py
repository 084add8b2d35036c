"""Access outside the entity's usual hours, in the firm's time zone.

Elastic's "rare hour for a user" job models time of day per user (15-minute buckets); here
the baseline is a decayed histogram of the 168 local hours of the week. An event is unusual
when its hour, together with the hour on each side (people start a little early or late),
holds less than ``rare_share`` (1%) of the entity's decayed activity. One finding per entity
and local hour, however many requests that hour brings. Quiet during learning.

False positives avoided: shifting by an hour (neighbouring hours count); a new user
(learning); a 03:00 habit that is really a habit (it is in the histogram).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import ClassVar

from menshen.monitor.baselines import BaselineView, EventContext, Feature
from menshen.monitor.detectors.base import NO_FINDINGS, Evidence, finding
from menshen.monitor.model import Category, Entity, EntityKind, Finding, Severity

__all__ = ["UnusualHours"]

_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MEMORY = 50_000


@dataclass(slots=True)
class UnusualHours:
    name: str = "unusual_hours"
    needs: ClassVar[Feature] = Feature.PERSON
    categories: frozenset[Category] | None = None
    rare_share: float = 0.01
    _alerted: dict[Entity, int] = field(default_factory=dict)

    def detect(self, ctx: EventContext, view: BaselineView) -> Sequence[Finding]:
        subject = ctx.subject
        if subject is None or subject.kind is EntityKind.DEVICE:
            return NO_FINDINGS
        profile = view.mature_subject_profile(ctx)
        if profile is None:
            return NO_FINDINGS
        how = ctx.hour_of_week
        share = profile.hours.share_around(how)
        if share >= self.rare_share:
            return NO_FINDINGS
        hour_key = int(ctx.epoch // 3600)
        if self._alerted.get(subject) == hour_key:
            return NO_FINDINGS
        if len(self._alerted) >= _MEMORY:
            self._alerted.clear()
        self._alerted[subject] = hour_key
        local = f"{_DAYS[how // 24]} {how % 24:02d}:00"
        evidence: Evidence = {"local_hour": local, "share_percent": round(share * 100, 3)}
        summary = f"activity at {local} local time, an hour this entity is rarely active"
        return (finding(ctx, self.name, subject, Severity.LOW, 0.5, summary, evidence),)
