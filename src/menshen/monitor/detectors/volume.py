"""Unusual volume: bytes sent to an entity far above its own baseline — the exfiltration case.

Splunk UBA's "excessive data transmission" fires when outbound bytes exceed a ratio of the
entity's mean AND an absolute floor; this detector asks the same of the bytes in the current
hour and in the current session: above ``ratio`` times the mean, above the mean plus
``sigmas`` standard deviations, and above ``floor_bytes`` (100 MiB by default — small files
never alert, whatever the ratio). One finding per entity per hour.

The month-end trap: the firm's last business day is its own day class. Hours on that day are
compared with earlier month-ends (``Profile.month_end_bytes``) once ``month_end_samples`` of
them are known, so a batch job that downloads a lot every month-end stays quiet while the
same download on the 14th alerts. Until enough hours are known (``min_hours``), it is quiet.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import ClassVar

from menshen.monitor.baselines import BaselineView, EventContext, Feature
from menshen.monitor.baselines.decay import Ewma
from menshen.monitor.detectors.base import NO_FINDINGS, Evidence, finding
from menshen.monitor.model import Category, Entity, Finding, Severity

__all__ = ["UnusualVolume"]

_MIB = 1024 * 1024
_MEMORY = 50_000


@dataclass(slots=True)
class UnusualVolume:
    name: str = "unusual_volume"
    needs: ClassVar[Feature] = Feature.BYTES | Feature.SUBJECT
    categories: frozenset[Category] | None = None
    ratio: float = 5.0
    sigmas: float = 3.0
    floor_bytes: int = 100 * _MIB
    min_hours: int = 24
    month_end_samples: int = 2
    min_sessions: int = 10
    _alerted: dict[Entity, int] = field(default_factory=dict)

    def detect(self, ctx: EventContext, view: BaselineView) -> Sequence[Finding]:
        sent = ctx.event.bytes_out
        subject = ctx.subject
        if sent == 0 or subject is None:
            return NO_FINDINGS
        profile = view.subject_profile(ctx)
        if profile is None:
            return NO_FINDINGS
        hour_total = profile.pending_hour_bytes(ctx.epoch) + sent
        session_total = profile.open_session_bytes(ctx.event.session_id, ctx.epoch) + sent
        if max(hour_total, session_total) < self.floor_bytes:
            return NO_FINDINGS
        baseline = profile.hourly_bytes
        day_class = "ordinary"
        if ctx.month_end and profile.month_end_bytes.count >= self.month_end_samples:
            baseline, day_class = profile.month_end_bytes, "month-end"
        over_hour = baseline.count >= self.min_hours or day_class == "month-end"
        over_hour = over_hour and self._excessive(hour_total, baseline)
        sessions = profile.session_bytes
        over_session = sessions.count >= self.min_sessions and self._excessive(
            session_total, sessions
        )
        if day_class == "month-end" and not over_hour:
            over_session = False  # month-end sessions are as big as month-end hours
        if not (over_hour or over_session):
            return NO_FINDINGS
        hour_key = int(ctx.epoch // 3600)
        if self._alerted.get(subject) == hour_key:
            return NO_FINDINGS
        if len(self._alerted) >= _MEMORY:
            self._alerted.clear()
        self._alerted[subject] = hour_key
        reference = baseline if over_hour else sessions
        observed = hour_total if over_hour else session_total
        times = observed / reference.mean if reference.mean > 0 else float("inf")
        severity = Severity.HIGH if times >= 4 * self.ratio else Severity.MEDIUM
        evidence: Evidence = {
            "window": "hour" if over_hour else "session",
            "bytes": observed,
            "baseline_mean_bytes": round(reference.mean),
            "baseline_std_bytes": round(reference.std),
            "times_mean": round(times, 1) if times != float("inf") else -1,
            "day_class": day_class,
        }
        summary = (
            f"{observed / _MIB:,.0f} MiB in one {evidence['window']}, "
            f"{reference.mean / _MIB:,.1f} MiB usual"
        )
        return (finding(ctx, self.name, subject, severity, 0.7, summary, evidence),)

    def _excessive(self, observed: float, baseline: Ewma) -> bool:
        if baseline.count == 0:
            return False
        return (
            observed > self.ratio * baseline.mean
            and observed > baseline.mean + self.sigmas * baseline.std
        )
