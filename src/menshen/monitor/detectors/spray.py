"""Password spraying: one source failing sign-ins for many distinct users.

Sigma expresses it as a count correlation — distinct users per source IP over 10 minutes
above a threshold — and lists VPN gateways and federation servers as its false positives;
Entra ID Protection raises its severity when the spray "validated a password". Here: at
least ``distinct_users`` (10) users failing from one source within ``window_seconds`` (600)
raises a MEDIUM finding about the source network; a later success from that source within
the window raises a HIGH one about the user who got in. One finding per source per window.

False positives avoided: sources the firm lists as shared gateways (``exempt_sources``: its
VPN concentrator, its federation server); one user retrying (one distinct user).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import ClassVar

from menshen.monitor.baselines import BaselineView, EventContext, Feature
from menshen.monitor.detectors.base import NO_FINDINGS, Evidence, finding
from menshen.monitor.model import Category, Entity, EntityKind, EventOutcome, Finding, Severity

__all__ = ["PasswordSpray"]

_SOURCES = 50_000
_USERS_PER_SOURCE = 256


@dataclass(slots=True)
class PasswordSpray:
    name: str = "password_spray"
    needs: ClassVar[Feature] = Feature.SOURCE_IP | Feature.USER
    categories: frozenset[Category] | None = frozenset({Category.AUTHENTICATION})
    distinct_users: int = 10
    window_seconds: float = 600.0
    exempt_sources: frozenset[str] = frozenset()
    _failures: dict[str, dict[str, float]] = field(default_factory=dict)
    _sprayed: dict[str, float] = field(default_factory=dict)  # source -> alert time

    def detect(self, ctx: EventContext, view: BaselineView) -> Sequence[Finding]:
        event = ctx.event
        source = event.src_ip
        if event.category is not Category.AUTHENTICATION or not source or not event.user:
            return NO_FINDINGS
        if source in self.exempt_sources:
            return NO_FINDINGS
        if event.outcome is EventOutcome.SUCCESS:
            return self._validated(ctx, source, event.user)
        if event.outcome is not EventOutcome.FAILURE:
            return NO_FINDINGS
        users = self._failures.get(source)
        if users is None:
            if len(self._failures) >= _SOURCES:
                del self._failures[next(iter(self._failures))]
            users = self._failures[source] = {}
        if event.user not in users and len(users) >= _USERS_PER_SOURCE:
            del users[next(iter(users))]
        users.pop(event.user, None)
        users[event.user] = ctx.epoch  # re-inserted: the dict stays ordered by last failure
        if len(users) < self.distinct_users:
            return NO_FINDINGS
        cutoff = ctx.epoch - self.window_seconds
        while users and next(iter(users.values())) <= cutoff:
            del users[next(iter(users))]
        count = len(users)
        alerted = self._sprayed.get(source)
        if count < self.distinct_users or (
            alerted is not None and ctx.epoch - alerted < self.window_seconds
        ):
            return NO_FINDINGS
        if len(self._sprayed) >= _SOURCES:
            self._sprayed.clear()
        self._sprayed[source] = ctx.epoch
        subject = Entity(EntityKind.NETWORK, ctx.network or source)
        evidence: Evidence = {
            "distinct_users": count,
            "window_seconds": self.window_seconds,
            "source": source,
        }
        minutes = self.window_seconds / 60
        summary = f"{count} users failed to sign in from {source} within {minutes:.0f} min"
        return (finding(ctx, self.name, subject, Severity.MEDIUM, 0.8, summary, evidence),)

    def _validated(self, ctx: EventContext, source: str, user: str) -> Sequence[Finding]:
        alerted = self._sprayed.get(source)
        if alerted is None or ctx.epoch - alerted > self.window_seconds:
            return NO_FINDINGS
        users = self._failures.get(source, {})
        if user not in users:
            return NO_FINDINGS
        del users[user]  # one "validated" finding per sprayed user
        evidence: Evidence = {"source": source, "sprayed_at_epoch": round(alerted)}
        summary = f"sign-in succeeded from {source} during a password spray"
        subject = Entity(EntityKind.USER, user)
        return (
            finding(ctx, self.name + "_validated", subject, Severity.HIGH, 0.9, summary, evidence),
        )
