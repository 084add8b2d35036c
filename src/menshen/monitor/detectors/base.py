"""The detector contract: a small pure component from an event to findings.

A detector gets the ``EventContext`` (the event and what was derived from it once), a
read-only ``BaselineView`` of the tenant's baselines *before* this event was learnt, and
returns findings — an empty tuple almost always, so the hot path allocates nothing.
Time is the event's own (``ctx.epoch``), so a replay of the audit log detects what the live
run detected. Detectors that count over windows (spraying, brute force, MFA fatigue, session
reuse) keep their own bounded state; it is working memory, not baseline, and is not saved.
A detector may declare ``needs`` (``Feature`` bits: the inputs it cannot find anything
without); ``DetectorSet`` then skips it for events that lack one. Undeclared: always called.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Protocol

from menshen.monitor.baselines import BaselineView, EventContext
from menshen.monitor.model import Category, Entity, EvidenceValue, Finding, Severity

__all__ = ["ALL_CATEGORIES", "NO_FINDINGS", "Detector", "Evidence", "finding", "haversine_km"]

ALL_CATEGORIES: frozenset[Category] | None = None

Evidence = dict[str, EvidenceValue]

NO_FINDINGS: tuple[Finding, ...] = ()
_EARTH_RADIUS_KM = 6371.0088  # IUGG mean radius


class Detector(Protocol):
    """One registered detection (mitmproxy-style explicit component)."""

    @property
    def name(self) -> str: ...

    @property
    def categories(self) -> frozenset[Category] | None:
        """The event categories it looks at (None: all) — the set skips it for others."""
        ...

    def detect(self, ctx: EventContext, view: BaselineView) -> Sequence[Finding]: ...


def finding(
    ctx: EventContext,
    detector: str,
    subject: Entity,
    severity: Severity,
    confidence: float,
    summary: str,
    evidence: Mapping[str, EvidenceValue],
    event_ids: tuple[str, ...] | None = None,
) -> Finding:
    """A finding about ``subject`` at the event's time, naming the event and its source."""
    event = ctx.event
    return Finding(
        tenant_id=event.tenant_id,
        detector=detector,
        subject=subject,
        at=event.at.astimezone(UTC) if event.at.tzinfo is not UTC else event.at,
        severity=severity,
        confidence=max(0.0, min(1.0, confidence)),
        summary=summary,
        evidence=dict(evidence),
        event_ids=event_ids if event_ids is not None else (event.event_id,),
        source_ip=event.src_ip,
        session_id=event.session_id,
    )


def haversine_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance in kilometres."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * _EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(a)))


def iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, tz=UTC).isoformat(timespec="seconds")
