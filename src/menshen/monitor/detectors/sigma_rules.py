"""Firm rules (the Sigma subset of ``menshen.monitor.sigma``) as one detector.

Each compiled rule runs on every event of its log-source category; a match (or a count
aggregation passing its threshold) is a finding named ``sigma:<rule id>`` with the rule's
level as severity. Confidence is 0.9 — the firm wrote the rule for exactly this — and the
firm lists a rule's false positives in its ``falsepositives`` and its filters.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from menshen.monitor.baselines import BaselineView, EventContext
from menshen.monitor.detectors.base import NO_FINDINGS, Evidence, finding
from menshen.monitor.model import Category, Entity, EntityKind, Finding
from menshen.monitor.sigma import CompiledRule

__all__ = ["SigmaRules"]


@dataclass(frozen=True, slots=True)
class SigmaRules:
    rules: tuple[CompiledRule, ...] = ()
    name: str = "sigma"

    @property
    def categories(self) -> frozenset[Category] | None:
        wanted = {compiled.rule.category for compiled in self.rules}
        if None in wanted:
            return None
        return frozenset(c for c in wanted if c is not None)

    def detect(self, ctx: EventContext, view: BaselineView) -> Sequence[Finding]:
        found: list[Finding] | None = None
        for compiled in self.rules:
            count = compiled.check(ctx)
            if count is None:
                continue
            rule = compiled.rule
            group = compiled.group_of(ctx)
            subject = ctx.subject or Entity(
                EntityKind.NETWORK, ctx.network or ctx.event.src_ip or "unknown"
            )
            if rule.aggregation is not None and rule.aggregation.group == "src_ip" and group:
                subject = Entity(EntityKind.NETWORK, ctx.network or group)
            evidence: Evidence = {"rule": rule.rule_id, "count": count, "group": group or ""}
            if found is None:
                found = []
            found.append(
                finding(
                    ctx, f"sigma:{rule.rule_id}", subject, rule.severity, 0.9, rule.title, evidence
                )
            )
        return found or NO_FINDINGS
