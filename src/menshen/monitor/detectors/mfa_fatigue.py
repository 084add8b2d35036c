"""MFA fatigue: a user pushed or failing second-factor challenges again and again.

The push-bombing pattern (Entra and Okta both document it as "MFA fatigue"): an attacker with
the password triggers prompts until the user accepts one. The reference gives no count, so
the default is our choice: ``challenges`` (5) MFA prompts or failures for one user within
``window_seconds`` (600) → MEDIUM; a success that follows such a burst → HIGH (the user may
have given in). One finding per user per window for the burst.

False positives avoided: a user fumbling a code once or twice (below 5); re-alerting on the
same burst.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import ClassVar

from menshen.monitor.baselines import BaselineView, EventContext, Feature
from menshen.monitor.detectors.base import NO_FINDINGS, Evidence, finding
from menshen.monitor.detectors.windows import Windows
from menshen.monitor.model import Category, Entity, EntityKind, EventOutcome, Finding, Severity

__all__ = ["MfaFatigue"]


@dataclass(slots=True)
class MfaFatigue:
    name: str = "mfa_fatigue"
    needs: ClassVar[Feature] = Feature.USER
    categories: frozenset[Category] | None = frozenset({Category.MFA})
    challenges: int = 5
    window_seconds: float = 600.0
    _windows: Windows | None = None
    _alerted: dict[str, float] = field(default_factory=dict)

    def detect(self, ctx: EventContext, view: BaselineView) -> Sequence[Finding]:
        event = ctx.event
        if event.category is not Category.MFA or not event.user:
            return NO_FINDINGS
        if self._windows is None:
            self._windows = Windows(self.window_seconds, self.challenges * 4, 100_000)
        user = event.user
        subject = Entity(EntityKind.USER, user)
        if event.outcome is EventOutcome.SUCCESS:
            alerted = self._alerted.pop(user, None)
            self._windows.clear(user)
            if alerted is None or ctx.epoch - alerted > self.window_seconds:
                return NO_FINDINGS
            summary = "second factor accepted after a burst of MFA prompts"
            evidence: Evidence = {"burst_alerted_epoch": round(alerted)}
            return (
                finding(
                    ctx, self.name + "_accepted", subject, Severity.HIGH, 0.85, summary, evidence
                ),
            )
        count = self._windows.add(user, ctx.epoch)
        if count < self.challenges:
            return NO_FINDINGS
        alerted = self._alerted.get(user)
        if alerted is not None and ctx.epoch - alerted < self.window_seconds:
            return NO_FINDINGS
        if len(self._alerted) >= 100_000:
            self._alerted.clear()
        self._alerted[user] = ctx.epoch
        evidence = {"prompts": count, "window_seconds": self.window_seconds}
        summary = f"{count} MFA prompts or failures within {self.window_seconds / 60:.0f} min"
        return (finding(ctx, self.name, subject, Severity.MEDIUM, 0.7, summary, evidence),)
