"""Gaps with their next step, ranked by risk and effort, and the projected score."""

from __future__ import annotations

import pytest

from menshen.compliance.assess import assess
from menshen.compliance.gaps import gaps_of, projected
from menshen.compliance.model import Outcome
from menshen.errors import InvalidInput
from tests.compliance.assessment_factories import (
    AT,
    PROFILE,
    checklist,
    ctl,
    declared,
    ev,
    evidence_of,
    staged,
)

MFA = "identity.mfa_enrolled"  # risk 5, effort 2
PASSKEY = "identity.phishing_resistant_mfa"  # risk 4, effort 3
RESTRICTED = "identity.mfa_required_restricted_apps"  # risk 5, effort 1
ADMIN = "identity.phishing_resistant_admin"  # risk 5, effort 2
STALE = "identity.stale_accounts"  # risk 3, effort 1
LOCKOUT = "identity.lockout_policy"  # risk 3, effort 1


def test_failing_control_gets_the_collectors_concrete_step_and_affected_count() -> None:
    """A failing check's remedy becomes the gap's step, with its affected count."""
    framework = checklist(ctl("c-admin", (ADMIN,)))
    remedy = "require WebAuthn on settlement-admin: 3 users affected"
    items = evidence_of(ev(ADMIN, Outcome.FAIL, 0.0, remedy=remedy, affected=3))
    (gap,) = gaps_of(assess(framework, items, {}, PROFILE, AT))
    assert gap.control_id == "c-admin"
    assert gap.step.en == remedy
    assert gap.step.zh_tw == f"{remedy}（中文）"
    assert gap.affected == 3
    assert (gap.risk, gap.effort, gap.rank) == (5, 2, 1)
    assert gap.checks == (ADMIN,)


def test_check_without_remedy_gets_a_generic_bilingual_step_naming_it() -> None:
    """No remedy from the collector: a generic step that names the check in both languages."""
    framework = checklist(ctl("c-lock", (LOCKOUT,)))
    items = evidence_of(ev(LOCKOUT, Outcome.FAIL, 0))
    (gap,) = gaps_of(assess(framework, items, {}, PROFILE, AT))
    assert LOCKOUT in gap.step.en
    assert LOCKOUT in gap.step.zh_tw
    assert "lock" in gap.step.en.lower()


def test_risk_and_effort_are_the_highest_of_the_failing_checks_only() -> None:
    """Only failing checks count: max risk and max effort among them; affected is the max."""
    framework = checklist(ctl("c", (PASSKEY, STALE, RESTRICTED)))
    items = evidence_of(
        ev(PASSKEY, Outcome.PARTIAL, 0.5, remedy="enrol passkeys", affected=7),
        ev(STALE, Outcome.FAIL, 4, remedy="disable stale accounts", affected=4),
        ev(RESTRICTED, Outcome.PASS, 1.0),
    )
    (gap,) = gaps_of(assess(framework, items, {}, PROFILE, AT))
    assert (gap.risk, gap.effort, gap.affected) == (4, 3, 7)
    assert gap.checks == (PASSKEY, STALE)
    assert "enrol passkeys" in gap.step.en
    assert "disable stale accounts" in gap.step.en


def test_passing_declared_not_assessed_and_not_applicable_controls_are_not_gaps() -> None:
    """Only measured fail/partial controls become gaps."""
    framework = checklist(
        ctl("ok", (MFA,)),
        ctl("decl", (PASSKEY,)),
        ctl("unknown", (STALE,)),
        ctl("na", (LOCKOUT,), applies_if="card_data"),
    )
    items = evidence_of(
        ev(MFA, Outcome.PASS, 1.0),
        ev(PASSKEY, Outcome.FAIL, 0.0),
        ev(STALE, Outcome.NOT_ASSESSED, error="boom"),
        ev(LOCKOUT, Outcome.FAIL, 0),
    )
    decls = {"decl": declared("decl", Outcome.FAIL)}
    assert gaps_of(assess(framework, items, decls, PROFILE, AT)) == ()


def test_gaps_rank_by_risk_then_effort_then_affected_then_id() -> None:
    """Higher risk first, then lower effort, then more affected, then control id."""
    framework = checklist(
        ctl("e-stale", (STALE,)),  # risk 3 effort 1
        ctl("d-passkey", (PASSKEY,)),  # risk 4 effort 3
        ctl("c-mfa", (MFA,)),  # risk 5 effort 2, 2 affected
        ctl("b-admin", (ADMIN,)),  # risk 5 effort 2, 9 affected
        ctl("a-restricted", (RESTRICTED,)),  # risk 5 effort 1
        ctl("a-admin-too", (ADMIN,)),  # ties b-admin on everything but the id
    )
    items = evidence_of(
        ev(STALE, Outcome.FAIL, 3, affected=3),
        ev(PASSKEY, Outcome.FAIL, 0.1, affected=30),
        ev(MFA, Outcome.FAIL, 0.9, affected=2),
        ev(ADMIN, Outcome.FAIL, 0.0, affected=9),
        ev(RESTRICTED, Outcome.PARTIAL, 0.5, affected=1),
    )
    gaps = gaps_of(assess(framework, items, {}, PROFILE, AT))
    assert [g.control_id for g in gaps] == [
        "a-restricted",
        "a-admin-too",
        "b-admin",
        "c-mfa",
        "d-passkey",
        "e-stale",
    ]
    assert [g.rank for g in gaps] == [1, 2, 3, 4, 5, 6]


def test_projected_score_passes_the_top_gaps_and_recomputes_standings() -> None:
    """Fixing the top two gaps moves identity from no stage to initial, nothing else."""
    framework = staged(
        ctl("id-t", (RESTRICTED,), stage="traditional"),
        ctl("id-i", (MFA,), stage="initial"),
        ctl("id-a", (STALE,), stage="advanced"),
    )
    items = evidence_of(
        ev(RESTRICTED, Outcome.FAIL, 0.2), ev(MFA, Outcome.FAIL, 0.5), ev(STALE, Outcome.FAIL, 6)
    )
    assessment = assess(framework, items, {}, PROFILE, AT)
    gaps = gaps_of(assessment)
    assert [g.control_id for g in gaps] == ["id-t", "id-i", "id-a"]
    now = assessment.score.groups[0]
    assert now.stage is None
    two = projected(assessment, gaps, top=2)
    assert two.groups[0].stage == "initial"
    assert two.groups[0].blocking == ("id-a",)
    assert two.passed == 2
    assert two.counts[Outcome.FAIL] == 1
    assert projected(assessment, gaps).groups[0].stage == "advanced"
    assert projected(assessment, gaps, top=0) == assessment.score


def test_projected_rejects_a_negative_top() -> None:
    """top below zero is bad input."""
    framework = checklist(ctl("c", (MFA,)))
    assessment = assess(framework, evidence_of(ev(MFA, Outcome.FAIL, 0.1)), {}, PROFILE, AT)
    with pytest.raises(InvalidInput, match="top"):
        projected(assessment, gaps_of(assessment), top=-1)
