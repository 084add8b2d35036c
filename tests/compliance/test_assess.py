"""Per-control assessment: profile, declaration, missing and failed evidence, combining."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime

from menshen.compliance.assess import assess, combine
from menshen.compliance.model import (
    Control,
    ControlResult,
    Declaration,
    Evidence,
    FirmProfile,
    Outcome,
)
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

MFA = "identity.mfa_enrolled"
PASSKEY = "identity.phishing_resistant_mfa"
LOCKOUT = "identity.lockout_policy"


def _one(
    control: Control,
    evidence: Mapping[str, Evidence] | None = None,
    declarations: Mapping[str, Declaration] | None = None,
    profile: FirmProfile = PROFILE,
) -> ControlResult:
    result = assess(checklist(control), evidence or {}, declarations or {}, profile, AT)
    return result.results[0]


def test_control_whose_profile_flag_is_off_is_not_applicable() -> None:
    """applies_if with the flag off gives not applicable on the profile, naming the flag."""
    control = ctl("pci-8.4.1", (MFA,), applies_if="card_data")
    result = _one(control, evidence_of(ev(MFA, Outcome.FAIL, 0.2)))
    assert result.outcome is Outcome.NOT_APPLICABLE
    assert result.basis == "profile"
    assert "card_data" in result.reason.en
    assert "card_data" in result.reason.zh_tw


def test_control_whose_profile_flag_is_on_is_measured() -> None:
    """applies_if with the flag on assesses the control from its evidence."""
    control = ctl("pci-8.4.1", (MFA,), applies_if="card_data")
    profile = FirmProfile(tenant_id="acme", name="Acme", card_data=True)
    result = _one(control, evidence_of(ev(MFA, Outcome.FAIL, 0.2)), profile=profile)
    assert result.outcome is Outcome.FAIL
    assert result.basis == "measured"


def test_declared_control_is_shown_as_declared_never_measured() -> None:
    """A valid declaration gives its outcome on basis declared, quoting the justification."""
    control = ctl("c-physical")
    decl = declared("c-physical")
    result = _one(control, declarations={"c-physical": decl})
    assert result.outcome is Outcome.PASS
    assert result.basis == "declared"
    assert result.declaration == decl
    assert decl.justification in result.reason.en
    assert decl.justification in result.reason.zh_tw
    assert "not measured" in result.reason.en
    assert "非量測" in result.reason.zh_tw


def test_declaration_overrides_measurement_but_keeps_the_evidence() -> None:
    """A declared control keeps the measured evidence for the auditor to see."""
    control = ctl("c1", (MFA,))
    result = _one(control, evidence_of(ev(MFA, Outcome.FAIL, 0.1)), {"c1": declared("c1")})
    assert (result.outcome, result.basis) == (Outcome.PASS, "declared")
    assert [e.check_id for e in result.evidence] == [MFA]


def test_expired_declaration_no_longer_counts() -> None:
    """An expired declaration falls back to measurement and says it expired."""
    control = ctl("c-physical")
    decl = declared("c-physical", expires_at=datetime(2026, 4, 30, tzinfo=UTC))
    result = _one(control, declarations={"c-physical": decl})
    assert result.outcome is Outcome.NOT_ASSESSED
    assert "expired" in result.reason.en
    assert "2026-04-30" in result.reason.en
    assert "到期" in result.reason.zh_tw


def test_declaration_dated_after_the_assessment_does_not_count() -> None:
    """A declaration made after ``at`` is not used for an earlier assessment."""
    control = ctl("c1", (MFA,))
    decl = declared("c1", at=datetime(2026, 6, 1, tzinfo=UTC))
    result = _one(control, evidence_of(ev(MFA, Outcome.FAIL, 0.5)), {"c1": decl})
    assert (result.outcome, result.basis) == (Outcome.FAIL, "measured")


def test_control_with_no_checks_and_no_declaration_is_not_assessed() -> None:
    """A control menshen cannot measure stays not assessed and asks to be declared."""
    result = _one(ctl("c-physical"))
    assert result.outcome is Outcome.NOT_ASSESSED
    assert result.basis == "missing"
    assert "declare" in result.reason.en
    assert "聲明" in result.reason.zh_tw


def test_missing_evidence_marks_the_control_not_assessed_never_pass() -> None:
    """One needed check without evidence makes the control not assessed, naming it."""
    control = ctl("c1", (MFA, PASSKEY), combine="any")
    result = _one(control, evidence_of(ev(MFA, Outcome.PASS, 1.0)))
    assert result.outcome is Outcome.NOT_ASSESSED
    assert PASSKEY in result.reason.en
    assert "no evidence" in result.reason.en


def test_a_collector_that_fails_marks_its_control_not_assessed_never_pass() -> None:
    """Evidence not assessed with an error makes the control not assessed, with the error."""
    control = ctl("c1", (MFA, LOCKOUT))
    broken = ev(LOCKOUT, Outcome.NOT_ASSESSED, error="store unreachable")
    result = _one(control, evidence_of(ev(MFA, Outcome.PASS, 1.0), broken))
    assert result.outcome is Outcome.NOT_ASSESSED
    assert result.basis == "missing"
    assert "store unreachable" in result.reason.en
    assert "store unreachable" in result.reason.zh_tw


def test_evidence_carrying_an_error_is_never_a_pass() -> None:
    """Evidence that claims pass yet carries an error counts as not assessed (fail closed)."""
    control = ctl("c1", (MFA,))
    result = _one(control, evidence_of(ev(MFA, Outcome.PASS, 1.0, error="partial read")))
    assert result.outcome is Outcome.NOT_ASSESSED


def test_all_combine_takes_the_worst_outcome_with_figures_in_the_reason() -> None:
    """combine all: pass and partial give partial; the reason names checks and figures."""
    control = ctl("c1", (MFA, PASSKEY))
    items = evidence_of(ev(MFA, Outcome.PASS, 1.0), ev(PASSKEY, Outcome.PARTIAL, 0.4))
    result = _one(control, items)
    assert result.outcome is Outcome.PARTIAL
    assert result.basis == "measured"
    assert MFA in result.reason.en
    assert PASSKEY in result.reason.en
    assert "0.40" in result.reason.en
    assert "0.40" in result.reason.zh_tw
    assert "%" not in result.reason.en


def test_any_combine_takes_the_best_outcome() -> None:
    """combine any: a fail and a pass give pass."""
    control = ctl("c1", (MFA, PASSKEY), combine="any")
    items = evidence_of(ev(MFA, Outcome.FAIL, 0.1), ev(PASSKEY, Outcome.PASS, 1.0))
    assert _one(control, items).outcome is Outcome.PASS


def test_not_applicable_checks_are_ignored_when_combining() -> None:
    """A not-applicable check does not hide a fail, and all not applicable is N/A."""
    control = ctl("c1", (MFA, PASSKEY))
    items = evidence_of(ev(MFA, Outcome.NOT_APPLICABLE), ev(PASSKEY, Outcome.FAIL, 0.0))
    assert _one(control, items).outcome is Outcome.FAIL
    none = evidence_of(ev(MFA, Outcome.NOT_APPLICABLE), ev(PASSKEY, Outcome.NOT_APPLICABLE))
    result = _one(control, none)
    assert (result.outcome, result.basis) == (Outcome.NOT_APPLICABLE, "measured")


def test_combine_orders_fail_below_partial_below_pass() -> None:
    """The worst of fail/partial/pass is fail and the best is pass."""
    outcomes = [Outcome.PASS, Outcome.FAIL, Outcome.PARTIAL]
    assert combine("all", outcomes) is Outcome.FAIL
    assert combine("any", outcomes) is Outcome.PASS
    assert combine("all", [Outcome.PASS, Outcome.PARTIAL]) is Outcome.PARTIAL


def test_assessment_carries_tenant_time_and_score_counts() -> None:
    """assess returns one result per control in catalog order and counts them."""
    framework = staged(ctl("a", (MFA,), stage="traditional"), ctl("b", (PASSKEY,)))
    items = evidence_of(ev(MFA, Outcome.PASS, 1.0), ev(PASSKEY, Outcome.FAIL, 0.0))
    result = assess(framework, items, {}, PROFILE, AT)
    assert result.tenant_id == "acme"
    assert result.at == AT
    assert [r.control.id for r in result.results] == ["a", "b"]
    assert result.score.passed == 1
    assert result.score.assessed == 2
    assert result.score.counts[Outcome.NOT_ASSESSED] == 0


def test_assess_does_not_depend_on_evidence_for_other_controls() -> None:
    """Evidence for unrelated checks changes nothing."""
    control = ctl("c1", (MFA,))
    base = _one(control, evidence_of(ev(MFA, Outcome.PASS, 1.0)))
    more = _one(control, evidence_of(ev(MFA, Outcome.PASS, 1.0), ev(LOCKOUT, Outcome.FAIL)))
    assert base == more
