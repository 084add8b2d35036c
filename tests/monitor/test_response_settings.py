"""``tenants.<id>.monitor``: risk, playbooks and notifiers read from menshen.yaml."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from menshen.errors import ConfigError
from menshen.monitor.model import Severity
from menshen.monitor.response.config import playbooks_of, risk_rules_of
from menshen.monitor.response.model import ActionKind
from menshen.settings import MonitorOptions, load_settings

GOOD = """\
tenants:
  acme:
    monitor:
      observe_only: true
      risk: {half_life_hours: 12, low: 20, medium: 40, high: 60,
             weights: {hours: 0.3}, severity_factors: {medium: 0.4}}
      playbooks:
        - {name: exfil, detectors: [volume], min_severity: high, min_confidence: 0.8,
           actions: [revoke_sessions, block_ip], block_minutes: 15, notify: [soc]}
        - {name: risky, risk_at_least: 60, actions: [require_step_up]}
      notifiers:
        soc: {kind: webhook, url: "https://soc.example/hook", secret: "0123456789abcdef"}
"""


def _load(tmp_path: Path, text: str) -> MonitorOptions:
    path = tmp_path / "menshen.yaml"
    path.write_text(text)
    return load_settings(path, {}).options("acme").monitor


def test_a_tenant_monitor_block_becomes_rules_and_playbooks(tmp_path: Path) -> None:
    """Thresholds, weights, factors, playbooks and notifiers arrive as configured."""
    path = tmp_path / "menshen.yaml"
    path.write_text(GOOD)
    options = load_settings(path, {}).options("acme").monitor
    assert options.observe_only is True
    rules = risk_rules_of(options)
    assert rules.half_life == timedelta(hours=12)
    assert (rules.low, rules.medium, rules.high) == (20, 40, 60)
    assert rules.weights == {"hours": 0.3}
    assert rules.severity_factors[Severity.MEDIUM] == 0.4
    assert rules.severity_factors[Severity.HIGH] == 0.7
    exfil, risky = playbooks_of(options)
    assert exfil.actions == (ActionKind.REVOKE_SESSIONS, ActionKind.BLOCK_IP)
    assert exfil.min_severity is Severity.HIGH
    assert exfil.block_for == timedelta(minutes=15)
    assert risky.risk_at_least == 60
    assert options.notifiers["soc"].kind == "webhook"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ("notify: [soc]}", "no notifier named 'pager'"),
        ('secret: "0123456789abcdef"', "secret of at least 16"),
        ("low: 20, medium: 40", "thresholds must rise"),
        ("actions: [revoke_sessions, block_ip]", "actions"),
    ],
)
def test_bad_monitor_settings_abort_start_up(tmp_path: Path, change: str, message: str) -> None:
    """An unknown notifier, a short webhook secret, falling thresholds, an unknown action."""
    broken = {
        "notify: [soc]}": "notify: [pager]}",
        'secret: "0123456789abcdef"': 'secret: "short"',
        "low: 20, medium: 40": "low: 50, medium: 40",
        "actions: [revoke_sessions, block_ip]": "actions: [reboot]",
    }[change]
    with pytest.raises(ConfigError, match=message):
        _load(tmp_path, GOOD.replace(change, broken))
