"""The risk engine: findings folded into one score per subject (NIST SP 800-207 §3.3.1).

A finding contributes ``c = weight(detector) × factor(severity) × confidence`` (each in
[0, 1]); the contribution halves every ``half_life`` since the finding (exponential decay,
``d = 2^(−age / half_life)``). A subject's score is the chance that at least one of its
findings is real, on the 0–100 scale the policy's ``risk`` condition compares against
(``menshen.policy.conditions.RiskAbove``)::

    score = 100 × (1 − Π (1 − c_i × d_i))

so findings add up without ever passing 100: with the default factors one low finding
(0.15) stays under every threshold, two medium ones (0.35 each) give 57.75 (medium), three
give 72.5 (high), and one high finding at full confidence (0.7) is high on its own. The
levels (low, medium, high) are per-tenant thresholds, as in Entra ID Protection's risk
levels. Pure: no I/O, time passed in.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum

from menshen.errors import InvalidInput
from menshen.monitor.model import Entity, Finding, Severity

__all__ = [
    "DEFAULT_SEVERITY_FACTORS",
    "Contribution",
    "RiskLedger",
    "RiskLevel",
    "RiskRules",
    "combine",
    "contribution",
]

DEFAULT_SEVERITY_FACTORS: Mapping[Severity, float] = {
    Severity.LOW: 0.15,
    Severity.MEDIUM: 0.35,
    Severity.HIGH: 0.7,
    Severity.CRITICAL: 0.95,
}
NEGLIGIBLE = 0.001  # a decayed contribution below this is dropped (bounded memory)


class RiskLevel(StrEnum):
    NONE = "none"
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"


@dataclass(frozen=True, slots=True)
class RiskRules:
    """A tenant's weights and thresholds (``tenants.<id>.monitor.risk`` in menshen.yaml)."""

    half_life: timedelta = timedelta(hours=24)
    low: float = 30.0
    medium: float = 50.0
    high: float = 70.0
    weights: Mapping[str, float] = field(default_factory=dict)  # detector -> [0, 1]
    default_weight: float = 1.0
    severity_factors: Mapping[Severity, float] = field(
        default_factory=lambda: dict(DEFAULT_SEVERITY_FACTORS)
    )

    def __post_init__(self) -> None:
        if self.half_life <= timedelta(0):
            raise InvalidInput("the risk half-life must be positive")
        if not 0 < self.low <= self.medium <= self.high <= 100:
            raise InvalidInput("risk thresholds must rise: 0 < low <= medium <= high <= 100")
        factors = [*self.weights.values(), self.default_weight, *self.severity_factors.values()]
        if any(not 0.0 <= value <= 1.0 for value in factors):
            raise InvalidInput("risk weights and severity factors lie in [0, 1]")

    def level(self, score: float) -> RiskLevel:
        if score >= self.high:
            return RiskLevel.HIGH
        if score >= self.medium:
            return RiskLevel.MEDIUM
        if score >= self.low:
            return RiskLevel.LOW
        return RiskLevel.NONE


@dataclass(frozen=True, slots=True)
class Contribution:
    """One finding's share of a score, before decay: ``value`` in [0, 1] as of ``at``."""

    value: float
    at: datetime
    detector: str


def contribution(finding: Finding, rules: RiskRules) -> Contribution:
    """``weight × severity factor × confidence`` of ``finding``."""
    weight = rules.weights.get(finding.detector, rules.default_weight)
    factor = rules.severity_factors.get(finding.severity, 0.0)
    return Contribution(weight * factor * finding.confidence, finding.at, finding.detector)


def decayed(item: Contribution, now: datetime, half_life: timedelta) -> float:
    """``item.value`` halved once per ``half_life`` since it was made (never grows)."""
    age = max((now - item.at).total_seconds(), 0.0)
    return item.value * math.pow(2.0, -age / half_life.total_seconds())


def combine(items: Iterable[Contribution], now: datetime, half_life: timedelta) -> float:
    """The score 0–100: ``100 × (1 − Π(1 − c_i × d_i))`` (``decayed``, inlined: the ledger
    rescores a subject over all its contributions on every finding)."""
    seconds = half_life.total_seconds()
    pow_ = math.pow
    remaining = 1.0
    for item in items:
        age = max((now - item.at).total_seconds(), 0.0)
        remaining *= 1.0 - min(item.value * pow_(2.0, -age / seconds), 1.0)
    return round(100.0 * (1.0 - remaining), 6)


class RiskLedger:
    """The contributions of every subject of one tenant, and their scores at a time."""

    def __init__(self, rules: RiskRules) -> None:
        self.rules = rules
        self._items: dict[Entity, list[Contribution]] = {}

    def add(self, finding: Finding) -> float:
        """Count ``finding`` towards its subject; the subject's score as of the finding."""
        items = self._items.setdefault(finding.subject, [])
        items.append(contribution(finding, self.rules))
        return self.score(finding.subject, finding.at)

    def restore(self, subject: Entity, score: float, at: datetime) -> None:
        """A score read back after a restart, kept as one contribution made at ``at``: the
        same score then, decaying at the same half-life afterwards."""
        if score > 0:
            value = min(max(score / 100.0, 0.0), 1.0)
            self._items.setdefault(subject, []).append(Contribution(value, at, "restored"))

    def score(self, subject: Entity, now: datetime) -> float:
        return combine(self._items.get(subject, ()), now, self.rules.half_life)

    def subjects(self) -> list[Entity]:
        return sorted(self._items)

    def prune(self, now: datetime) -> list[Entity]:
        """Drop contributions decayed below ``NEGLIGIBLE``; the subjects left with none."""
        gone: list[Entity] = []
        half_life = self.rules.half_life
        for subject, items in list(self._items.items()):
            kept = [item for item in items if decayed(item, now, half_life) >= NEGLIGIBLE]
            if kept:
                self._items[subject] = kept
            else:
                del self._items[subject]
                gone.append(subject)
        return gone
