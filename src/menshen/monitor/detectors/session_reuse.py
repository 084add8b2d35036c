"""Token or session reuse from two distant sources within minutes.

Entra ID Protection's "anomalous token" detection covers replay of a token from another
location; a stolen session cookie used by the thief while the owner still works shows up as
one session id from two places at once. It fires when a session seen from one source appears
within ``window_seconds`` (30 min) from another source that is in another country, or at
least ``min_km`` (500 km) away. The gateway binds sessions to a browser family too; this
catches the thief who copied the user agent.

False positives avoided: a laptop moving from office Wi-Fi to a phone hotspot (same place,
distance below ``min_km``); sources the firm shares (``exempt_sources``, e.g. its egress
proxies); addresses without geo-IP (no distance, no claim).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import ClassVar

from menshen.monitor.baselines import BaselineView, EventContext, Feature
from menshen.monitor.detectors.base import NO_FINDINGS, Evidence, finding, haversine_km
from menshen.monitor.model import Category, Finding, Severity

__all__ = ["SessionReuse"]

_SESSIONS = 100_000
_Seen = tuple[float, str, float, float, str | None]  # epoch, ip, lat, lon, country


@dataclass(slots=True)
class SessionReuse:
    name: str = "session_reuse"
    needs: ClassVar[Feature] = Feature.SESSION | Feature.LOCATED
    categories: frozenset[Category] | None = None
    window_seconds: float = 1800.0
    min_km: float = 500.0
    exempt_sources: frozenset[str] = frozenset()
    _seen: dict[str, _Seen] = field(default_factory=dict)
    _alerted: set[str] = field(default_factory=set)

    def detect(self, ctx: EventContext, view: BaselineView) -> Sequence[Finding]:
        event = ctx.event
        place = ctx.place
        session = event.session_id
        ip = event.src_ip
        if session is None or ip is None or place is None or place.latitude is None:
            return NO_FINDINGS
        assert place.longitude is not None
        if ip in self.exempt_sources:
            return NO_FINDINGS
        before = self._seen.get(session)
        if len(self._seen) >= _SESSIONS and before is None:
            del self._seen[next(iter(self._seen))]
        self._seen[session] = (ctx.epoch, ip, place.latitude, place.longitude, place.country)
        if before is None or before[1] == ip or session in self._alerted:
            return NO_FINDINGS
        gap = ctx.epoch - before[0]
        if gap > self.window_seconds:
            return NO_FINDINGS
        distance = haversine_km(before[2], before[3], place.latitude, place.longitude)
        other_country = (
            before[4] is not None and place.country is not None and before[4] != place.country
        )
        if distance < self.min_km and not other_country:
            return NO_FINDINGS
        if len(self._alerted) >= _SESSIONS:
            self._alerted.clear()
        self._alerted.add(session)
        subject = ctx.subject
        if subject is None:
            return NO_FINDINGS
        evidence: Evidence = {
            "previous_ip": before[1],
            "previous_country": before[4] or "",
            "country": place.country or "",
            "distance_km": round(distance, 1),
            "minutes": round(gap / 60, 1),
        }
        summary = (
            f"session used from {before[1]} and {ip}, {distance:,.0f} km apart, {gap / 60:.0f} min"
        )
        return (finding(ctx, self.name, subject, Severity.HIGH, 0.85, summary, evidence),)
