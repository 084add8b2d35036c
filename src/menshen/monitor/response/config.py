"""A tenant's monitor settings (``tenants.<id>.monitor``) as the engine's values."""

from __future__ import annotations

from datetime import timedelta

from menshen.monitor.model import Severity
from menshen.monitor.response.model import ActionKind, Playbook
from menshen.monitor.risk import DEFAULT_SEVERITY_FACTORS, RiskRules
from menshen.settings import MonitorOptions

__all__ = ["playbooks_of", "risk_rules_of"]


def playbooks_of(options: MonitorOptions) -> tuple[Playbook, ...]:
    """A tenant's playbooks as configured in ``tenants.<id>.monitor.playbooks``."""
    return tuple(
        Playbook(
            name=item.name,
            detectors=frozenset(item.detectors),
            min_severity=Severity[item.min_severity.upper()],
            min_confidence=item.min_confidence,
            risk_at_least=item.risk_at_least,
            actions=tuple(ActionKind(action) for action in item.actions),
            block_for=timedelta(minutes=item.block_minutes),
            notify=item.notify,
        )
        for item in options.playbooks
    )


def risk_rules_of(options: MonitorOptions) -> RiskRules:
    """The tenant's risk weights and thresholds (``tenants.<id>.monitor.risk``)."""
    risk = options.risk
    factors = dict(DEFAULT_SEVERITY_FACTORS)
    factors.update({Severity[name.upper()]: value for name, value in risk.severity_factors.items()})
    return RiskRules(
        half_life=risk.half_life,
        low=risk.low,
        medium=risk.medium,
        high=risk.high,
        weights=dict(risk.weights),
        severity_factors=factors,
    )
