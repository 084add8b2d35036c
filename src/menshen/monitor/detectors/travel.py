"""Impossible and atypical travel: two sign-ins farther apart than a traveller could go.

Rationale and thresholds (docs/reference monitoring.md): the common implementation keeps the
last sign-in per user and alerts above ~900 km/h (an airliner's cruising speed; Okta's
documented velocity example is 3,000 km/h), exempts VPN / privacy-relay / satellite ASNs,
and downgrades when the distance is small and the time short (geo-IP noise). Entra ID
Protection's atypical travel also ignores "locations other users of the firm use" and has a
learning period, during which this detector still fires (speed is physics, not habit) but
with lower confidence.

False positives avoided: a VPN exit (its ASN listed in ``vpn_asns``) anywhere, including in
the user's own country; an office or data-centre location that other users of the firm share;
city-level geo-IP error (distances inside both accuracy radii plus ``noise_km`` are ignored;
up to ``small_km`` they are LOW).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar

from menshen.monitor.baselines import BaselineView, EventContext, Feature
from menshen.monitor.detectors.base import NO_FINDINGS, Evidence, finding, haversine_km
from menshen.monitor.model import Category, EventOutcome, Finding, Severity

__all__ = ["ImpossibleTravel"]


@dataclass(frozen=True, slots=True)
class ImpossibleTravel:
    name: str = "impossible_travel"
    needs: ClassVar[Feature] = Feature.LOCATED | Feature.SUBJECT | Feature.NOT_FAILED
    categories: frozenset[Category] | None = None
    max_kmh: float = 900.0
    noise_km: float = 100.0
    small_km: float = 500.0
    vpn_asns: frozenset[int] = frozenset()
    shared_users: int = 3  # a place this many other users use is a firm location
    min_gap_seconds: float = 60.0  # below this, speed is computed over one minute

    def detect(self, ctx: EventContext, view: BaselineView) -> Sequence[Finding]:
        place = ctx.place
        subject = ctx.subject
        if (
            place is None
            or place.latitude is None
            or place.longitude is None
            or subject is None
            or ctx.event.outcome is EventOutcome.FAILURE
        ):
            return NO_FINDINGS
        profile = view.subject_profile(ctx)
        if profile is None or profile.last_place is None:
            return NO_FINDINGS
        last = profile.last_place
        if last.ip == ctx.event.src_ip:
            return NO_FINDINGS
        distance = haversine_km(last.latitude, last.longitude, place.latitude, place.longitude)
        if distance <= self.noise_km + last.accuracy_km + place.accuracy_km:
            return NO_FINDINGS
        hours = max(ctx.epoch - profile.last_place_epoch, self.min_gap_seconds) / 3600.0
        speed = distance / hours
        if speed <= self.max_kmh:
            return NO_FINDINGS
        if place.asn in self.vpn_asns or last.asn in self.vpn_asns:
            return NO_FINDINGS
        user = ctx.event.user or subject.id
        if view.firm_users_at(place.latitude, place.longitude, user) >= self.shared_users:
            return NO_FINDINGS
        mature = view.subject_mature(ctx)
        if distance <= self.small_km:
            severity, confidence = Severity.LOW, 0.3
        elif last.country is not None and last.country == place.country:
            severity, confidence = Severity.MEDIUM, 0.6
        else:
            severity, confidence = Severity.HIGH, 0.85
        if not mature:
            confidence *= 0.6
        summary = (
            f"sign-in {distance:,.0f} km from the previous one "
            f"{hours * 60:,.0f} min earlier ({speed:,.0f} km/h)"
        )
        evidence: Evidence = {
            "distance_km": round(distance, 1),
            "minutes": round(hours * 60, 1),
            "speed_kmh": round(speed),
            "previous_ip": last.ip,
            "previous_country": last.country or "",
            "country": place.country or "",
            "learning": not mature,
        }
        return (finding(ctx, self.name, subject, severity, confidence, summary, evidence),)
