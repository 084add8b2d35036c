"""Rare resource: an app or path this user has not used and their peer group rarely does.

Elastic and Splunk UBA flag rare file/resource access per user and against a peer group
(Splunk builds peer-group baselines; here a peer group is the users sharing exactly the same
groups). A resource is ``app:/first/segments`` (``BaselineConfig.path_depth``), so ids in
deeper path segments do not make every URL new. It fires when the resource is new for the
user (mature profile) and its share in the peer group's decayed traffic is below
``peer_share`` (1%); a user without a peer group is judged on their own history with lower
confidence. Only the first use fires (then it is learnt).

False positives avoided: a colleague's routine resource (the peer group knows it); a new
user (learning); paths with ids (depth bound).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar

from menshen.monitor.baselines import BaselineView, EventContext, Feature
from menshen.monitor.detectors.base import NO_FINDINGS, Evidence, finding
from menshen.monitor.model import Category, EntityKind, EventOutcome, Finding, Severity

__all__ = ["RareResource"]


@dataclass(frozen=True, slots=True)
class RareResource:
    name: str = "rare_resource"
    needs: ClassVar[Feature] = Feature.PERSON | Feature.RESOURCE | Feature.NOT_FAILED
    categories: frozenset[Category] | None = None
    peer_share: float = 0.01

    def detect(self, ctx: EventContext, view: BaselineView) -> Sequence[Finding]:
        subject = ctx.subject
        resource = ctx.resource
        if subject is None or resource is None or subject.kind is EntityKind.DEVICE:
            return NO_FINDINGS
        if ctx.event.outcome is EventOutcome.FAILURE:
            return NO_FINDINGS
        profile = view.subject_profile(ctx)
        if profile is None or resource in profile.paths:
            return NO_FINDINGS
        if not view.subject_mature(ctx):
            return NO_FINDINGS
        share = None if ctx.peer_group is None else view.peer_share(ctx.peer_group, resource)
        if share is not None and share >= self.peer_share:
            return NO_FINDINGS
        new_app = ctx.event.app is not None and ctx.event.app not in profile.apps
        severity = Severity.MEDIUM if new_app else Severity.LOW
        confidence = 0.6 if share is not None else 0.35
        evidence: Evidence = {
            "resource": resource,
            "new_app": new_app,
            "peer_group": ctx.peer_group or "",
            "peer_share_percent": -1 if share is None else round(share * 100, 3),
        }
        summary = f"first access to {resource}, rare for this user's peers"
        return (finding(ctx, self.name, subject, severity, confidence, summary, evidence),)
