"""New device or browser: a device id or user-agent family this entity has not used.

Okta behaviour detection counts a sign-in from a device not among the user's last 20 as a
new device ("each new browser counts"); Entra's unfamiliar sign-in properties compare the
device and browser with the user's history. Quiet during the learning period (Entra: at
least 5 days). Only the first use fires: once learnt, the value is familiar. A value whose
decayed share fell out of the bounded top-K (``BaselineConfig.top_devices``/``top_agents``)
counts as new again — the 20-sign-in memory of Okta, in weighted form.

False positives avoided: browser upgrades (the family, e.g. ``Chrome/Windows``, not the
version, is compared); a brand-new user (learning).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar

from menshen.monitor.baselines import BaselineView, EventContext, Feature
from menshen.monitor.detectors.base import NO_FINDINGS, Evidence, finding
from menshen.monitor.model import Category, EntityKind, EventOutcome, Finding, Severity

__all__ = ["NewDevice"]


@dataclass(frozen=True, slots=True)
class NewDevice:
    name: str = "new_device"
    needs: ClassVar[Feature] = Feature.PERSON | Feature.NOT_FAILED | Feature.DEVICE_OR_AGENT
    categories: frozenset[Category] | None = None

    def detect(self, ctx: EventContext, view: BaselineView) -> Sequence[Finding]:
        subject = ctx.subject
        event = ctx.event
        if subject is None or subject.kind is EntityKind.DEVICE:
            return NO_FINDINGS
        if event.outcome is EventOutcome.FAILURE:
            return NO_FINDINGS
        profile = view.subject_profile(ctx)
        if profile is None or not view.subject_mature(ctx):
            return NO_FINDINGS
        new_device = event.device_id is not None and event.device_id not in profile.devices
        new_agent = ctx.agent is not None and ctx.agent not in profile.agents
        if not (new_device or new_agent):
            return NO_FINDINGS
        what = "device" if new_device else "browser"
        value = event.device_id if new_device else ctx.agent
        severity = Severity.MEDIUM if new_device and new_agent else Severity.LOW
        evidence: Evidence = {
            "new_device": new_device,
            "new_agent": new_agent,
            "device": event.device_id or "",
            "agent": ctx.agent or "",
            "known_agents": len(profile.agents.entries),
        }
        summary = f"first use of {what} {value}"
        return (finding(ctx, self.name, subject, severity, 0.5, summary, evidence),)
