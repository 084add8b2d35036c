"""New source network, ASN or country for this entity.

Entra's unfamiliar sign-in properties compare IP, ASN, location and subnet with the user's
history; Okta flags a country not among the last 10 sign-ins, an IP not seen before; Entra
lists "new country" as its own detection. Severity follows how much changed: a new /24 (or
/48) in a known ASN is LOW, a new ASN MEDIUM, a new country HIGH-ish (MEDIUM severity, high
confidence — the risk engine weighs it). Quiet during learning; only the first use fires.

False positives avoided: DHCP churn inside one provider (a new prefix in a known ASN stays
LOW with low confidence); learning; VPN exits listed in ``vpn_asns`` never count as a new
country (the exit's country says nothing about the user).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar

from menshen.monitor.baselines import BaselineView, EventContext, Feature
from menshen.monitor.detectors.base import NO_FINDINGS, Evidence, finding
from menshen.monitor.model import Category, EventOutcome, Finding, Severity

__all__ = ["NewNetwork"]


@dataclass(frozen=True, slots=True)
class NewNetwork:
    name: str = "new_network"
    needs: ClassVar[Feature] = Feature.SUBJECT | Feature.NETWORK | Feature.NOT_FAILED
    categories: frozenset[Category] | None = None
    vpn_asns: frozenset[int] = frozenset()

    def detect(self, ctx: EventContext, view: BaselineView) -> Sequence[Finding]:
        subject = ctx.subject
        network = ctx.network
        if subject is None or network is None or ctx.event.outcome is EventOutcome.FAILURE:
            return NO_FINDINGS
        profile = view.subject_profile(ctx)
        if profile is None or network in profile.networks:
            return NO_FINDINGS
        if not view.subject_mature(ctx):
            return NO_FINDINGS
        place = ctx.place
        asn = None if place is None else place.asn
        country = None if place is None else place.country
        vpn = asn is not None and asn in self.vpn_asns
        new_asn = asn is not None and str(asn) not in profile.asns
        new_country = not vpn and country is not None and country not in profile.countries
        if new_country:
            severity, confidence, what = Severity.MEDIUM, 0.8, f"country {country}"
        elif new_asn and not vpn:
            severity, confidence, what = Severity.MEDIUM, 0.5, f"network AS{asn}"
        else:
            severity, confidence, what = Severity.LOW, 0.3, f"network {network}"
        evidence: Evidence = {
            "network": network,
            "asn": asn if asn is not None else 0,
            "country": country or "",
            "new_asn": new_asn,
            "new_country": new_country,
            "vpn": vpn,
        }
        return (
            finding(
                ctx,
                self.name,
                subject,
                severity,
                confidence,
                f"first sign-in from {what}",
                evidence,
            ),
        )
