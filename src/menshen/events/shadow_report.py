"""Summarise shadow-mode disagreements from the audit log: what would change, for whom.

Pure over ``AuditRecord`` values of kind ``policy.shadow_disagreement`` (NIST SP 800-92 §2:
the log says what, when, who, where, outcome); the command line prints the result.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime

from menshen.events.model import Kind
from menshen.store.records import AuditRecord


@dataclass(frozen=True, slots=True)
class Disagreement:
    """One request the active and candidate policies judged differently."""

    at: datetime
    user: str
    app: str
    method: str
    path: str
    active: str
    active_rule: str
    candidate: str
    candidate_rule: str

    @property
    def change(self) -> str:
        """``allow (p/r) -> deny (q/s)``: the decision that would change, with its rules."""
        return f"{_judged(self.active, self.active_rule)} -> " + _judged(
            self.candidate, self.candidate_rule
        )


@dataclass(frozen=True, slots=True)
class ShadowReport:
    """Disagreements counted by change of rule (per app) and by user, with recent examples."""

    total: int
    by_rule: tuple[tuple[str, str, int], ...]  # (app, change, count), most frequent first
    by_user: tuple[tuple[str, int], ...]
    examples: tuple[Disagreement, ...]  # newest first


def disagreement_of(record: AuditRecord, username: Callable[[str], str]) -> Disagreement:
    """Read one audit row; ``username`` maps the actor's user id to a name."""
    details = record.details
    return Disagreement(
        at=record.at,
        user=username(record.actor) if record.actor else "-",
        app=record.app or "-",
        method=str(details.get("method", "")),
        path=str(details.get("path", "")),
        active=record.outcome,
        active_rule=str(details.get("active_rule", "")),
        candidate=str(details.get("candidate_effect", "")),
        candidate_rule=str(details.get("candidate_rule", "")),
    )


def summarise(
    records: Iterable[AuditRecord],
    *,
    username: Callable[[str], str],
    since: datetime | None = None,
    examples: int = 10,
) -> ShadowReport:
    """The disagreements among ``records`` at or after ``since``, summarised."""
    found = [
        disagreement_of(record, username)
        for record in records
        if record.kind == Kind.POLICY_SHADOW_DISAGREEMENT and (since is None or record.at >= since)
    ]
    rules = Counter((item.app, item.change) for item in found)
    users = Counter(item.user for item in found)
    newest = sorted(found, key=lambda item: item.at, reverse=True)[: max(examples, 0)]
    return ShadowReport(
        total=len(found),
        by_rule=tuple(
            (app, change, count)
            for (app, change), count in sorted(rules.items(), key=lambda kv: (-kv[1], kv[0]))
        ),
        by_user=tuple(sorted(users.items(), key=lambda kv: (-kv[1], kv[0]))),
        examples=tuple(newest),
    )


def _judged(effect: str, rule: str) -> str:
    return f"{effect} ({rule})" if rule else f"{effect} (no rule)"
