from __future__ import annotations

from datetime import timedelta

import pytest

from menshen.errors import InvalidInput
from menshen.monitor.model import Entity, EntityKind, Severity
from menshen.monitor.risk import RiskLedger, RiskLevel, RiskRules, combine, contribution

from .findings import ALICE, T0, finding

HOUR = timedelta(hours=1)


def test_a_contribution_is_weight_times_severity_factor_times_confidence() -> None:
    """0.5 weight x 0.7 (high) x 0.8 confidence = 0.28."""
    rules = RiskRules(weights={"travel": 0.5})
    item = contribution(finding(detector="travel", severity=Severity.HIGH, confidence=0.8), rules)
    assert item.value == pytest.approx(0.28)


def test_one_low_finding_never_reaches_any_level() -> None:
    """A single low finding at full confidence scores 15, under the low threshold (30)."""
    ledger = RiskLedger(RiskRules())
    score = ledger.add(finding(severity=Severity.LOW))
    assert score == pytest.approx(15.0)
    assert ledger.rules.level(score) is RiskLevel.NONE


def test_several_medium_findings_add_up_to_high() -> None:
    """Three medium findings: 100 x (1 - 0.65^3) = 72.5375, high."""
    ledger = RiskLedger(RiskRules())
    scores = [ledger.add(finding(event=f"e{i}")) for i in range(3)]
    assert scores == pytest.approx([35.0, 57.75, 72.5375])
    assert [ledger.rules.level(s) for s in scores] == [
        RiskLevel.LOW,
        RiskLevel.MEDIUM,
        RiskLevel.HIGH,
    ]


def test_one_confident_high_finding_is_high_on_its_own() -> None:
    """A high finding at confidence 1 scores 70, the high threshold."""
    ledger = RiskLedger(RiskRules())
    assert ledger.rules.level(ledger.add(finding(severity=Severity.HIGH))) is RiskLevel.HIGH


def test_a_contribution_halves_every_half_life() -> None:
    """A 0.7 contribution is 0.35 one half-life later and 0.175 after two."""
    rules = RiskRules(half_life=timedelta(hours=24))
    item = contribution(finding(severity=Severity.HIGH), rules)
    assert combine([item], T0 + 24 * HOUR, rules.half_life) == pytest.approx(35.0)
    assert combine([item], T0 + 48 * HOUR, rules.half_life) == pytest.approx(17.5)


def test_a_finding_from_the_future_does_not_grow() -> None:
    """Scoring before a finding's time counts it at its full value, never more."""
    rules = RiskRules()
    item = contribution(finding(severity=Severity.HIGH), rules)
    assert combine([item], T0 - HOUR, rules.half_life) == pytest.approx(70.0)


def test_the_score_never_passes_one_hundred() -> None:
    """However many critical findings, the score stays at most 100."""
    ledger = RiskLedger(RiskRules())
    for i in range(50):
        score = ledger.add(finding(severity=Severity.CRITICAL, event=f"e{i}"))
    assert 99.9 < score <= 100.0


def test_subjects_are_scored_apart() -> None:
    """Bob's findings do not raise Alice's score."""
    ledger = RiskLedger(RiskRules())
    bob = Entity(EntityKind.USER, "u-bob")
    ledger.add(finding(subject=bob, severity=Severity.CRITICAL))
    assert ledger.score(ALICE, T0) == 0.0


def test_a_restored_score_is_the_same_then_and_decays_after() -> None:
    """A stored 80 read back after a restart is 80 at its time and 40 a half-life later."""
    ledger = RiskLedger(RiskRules(half_life=timedelta(hours=10)))
    ledger.restore(ALICE, 80.0, T0)
    assert ledger.score(ALICE, T0) == pytest.approx(80.0)
    assert ledger.score(ALICE, T0 + 10 * HOUR) == pytest.approx(40.0)


def test_prune_forgets_subjects_whose_findings_decayed_away() -> None:
    """After many half-lives nothing is left and the subject is reported gone."""
    ledger = RiskLedger(RiskRules(half_life=HOUR))
    ledger.add(finding())
    assert ledger.prune(T0 + HOUR) == []
    assert ledger.prune(T0 + 20 * HOUR) == [ALICE]
    assert ledger.subjects() == []


def test_tenant_weights_can_silence_a_detector() -> None:
    """A detector weighted 0 adds nothing."""
    ledger = RiskLedger(RiskRules(weights={"hours": 0.0}))
    assert ledger.add(finding(detector="hours", severity=Severity.CRITICAL)) == 0.0


@pytest.mark.parametrize(
    "kwargs",
    [
        {"half_life": timedelta(0)},
        {"low": 60.0, "medium": 50.0},
        {"high": 120.0},
        {"weights": {"x": 1.5}},
    ],
)
def test_bad_risk_rules_are_refused(kwargs: dict[str, object]) -> None:
    """Thresholds must rise within 0-100, weights lie in [0, 1], the half-life is positive."""
    with pytest.raises(InvalidInput):
        RiskRules(**kwargs)  # type: ignore[arg-type]
