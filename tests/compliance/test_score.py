"""Each framework's own scale: counts per outcome, and stage standings per group and facet."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from menshen.compliance import score as score_module
from menshen.compliance.assess import RANK, assess
from menshen.compliance.model import Control, Evidence, Outcome, StageStanding
from menshen.compliance.score import score
from tests.compliance.assessment_factories import (
    AT,
    PROFILE,
    STAGES,
    checklist,
    ctl,
    declared,
    ev,
    evidence_of,
    staged,
)

MFA = "identity.mfa_enrolled"
PASSKEY = "identity.phishing_resistant_mfa"
DEVICE = "device.managed_required_restricted_apps"
LOG = "visibility.access_logged"


def _group(standings: tuple[StageStanding, ...], key: str) -> StageStanding:
    return next(s for s in standings if s.key == key)


def test_identity_reaches_initial_and_advanced_is_blocked_by_its_failing_control() -> None:
    """Traditional and initial pass, an advanced control fails: initial, blocked by it."""
    framework = staged(
        ctl("id-t", (MFA,), stage="traditional"),
        ctl("id-i", (LOG,), stage="initial"),
        ctl("id-a", (PASSKEY,), stage="advanced"),
    )
    items = evidence_of(
        ev(MFA, Outcome.PASS, 1.0), ev(LOG, Outcome.PASS, 1), ev(PASSKEY, Outcome.FAIL, 0.1)
    )
    identity = _group(assess(framework, items, {}, PROFILE, AT).score.groups, "identity")
    assert identity.stage == "initial"
    assert identity.next_stage == "advanced"
    assert identity.blocking == ("id-a",)


def test_a_partial_control_blocks_its_stage_and_leaves_the_group_below_the_first() -> None:
    """A partial traditional control leaves the group at no stage, blocking traditional."""
    framework = staged(ctl("id-t", (MFA,), stage="traditional"))
    items = evidence_of(ev(MFA, Outcome.PARTIAL, 0.6))
    identity = _group(assess(framework, items, {}, PROFILE, AT).score.groups, "identity")
    assert identity.stage is None
    assert identity.next_stage == "traditional"
    assert identity.blocking == ("id-t",)


def test_a_not_assessed_control_blocks_its_stage() -> None:
    """Unknown is not a pass: a control without evidence stops the walk at its stage."""
    framework = staged(
        ctl("id-t", (MFA,), stage="traditional"), ctl("id-i", (PASSKEY,), stage="initial")
    )
    items = evidence_of(ev(MFA, Outcome.PASS, 1.0))
    identity = _group(assess(framework, items, {}, PROFILE, AT).score.groups, "identity")
    assert identity.stage == "traditional"
    assert identity.blocking == ("id-i",)


def test_a_stage_without_controls_is_skipped_but_never_claimed() -> None:
    """No traditional control: initial is still reached; the top stage is not claimed."""
    framework = staged(ctl("dev-i", (DEVICE,), group="device", stage="initial"))
    items = evidence_of(ev(DEVICE, Outcome.PASS, 1.0))
    result = assess(framework, items, {}, PROFILE, AT).score
    device = _group(result.groups, "device")
    assert device.stage == "initial"
    assert device.next_stage is None
    assert device.blocking == ()
    identity = _group(result.groups, "identity")
    assert identity.stage is None
    assert identity.next_stage is None


def test_not_applicable_controls_do_not_block_a_stage() -> None:
    """A control not applicable to the firm is left out of its stage."""
    framework = staged(
        ctl("id-t", (MFA,), stage="traditional"),
        ctl("id-t-card", (PASSKEY,), stage="traditional", applies_if="card_data"),
    )
    items = evidence_of(ev(MFA, Outcome.PASS, 1.0), ev(PASSKEY, Outcome.FAIL, 0.0))
    identity = _group(assess(framework, items, {}, PROFILE, AT).score.groups, "identity")
    assert identity.stage == "traditional"


def test_declared_pass_counts_toward_a_stage_and_the_standing_notes_it() -> None:
    """A declared pass reaches its stage, listed under ``declared``."""
    framework = staged(ctl("id-t", stage="traditional"), ctl("id-i", (MFA,), stage="initial"))
    items = evidence_of(ev(MFA, Outcome.PASS, 1.0))
    result = assess(framework, items, {"id-t": declared("id-t")}, PROFILE, AT)
    identity = _group(result.score.groups, "identity")
    assert identity.stage == "initial"
    assert identity.declared == ("id-t",)


def test_facet_standing_uses_the_controls_tagged_with_it() -> None:
    """The remote_work facet stands on its own controls across groups."""
    framework = staged(
        ctl("id-t", (MFA,), stage="traditional", facets=("remote_work",)),
        ctl("dev-t", (DEVICE,), group="device", stage="traditional", facets=("remote_work",)),
        ctl("id-i", (PASSKEY,), stage="initial"),
    )
    items = evidence_of(
        ev(MFA, Outcome.PASS, 1.0), ev(DEVICE, Outcome.FAIL, 0.2), ev(PASSKEY, Outcome.PASS, 1)
    )
    facet = _group(assess(framework, items, {}, PROFILE, AT).score.facets, "remote_work")
    assert facet.stage is None
    assert facet.blocking == ("dev-t",)


def test_counts_list_every_outcome_and_checklists_have_no_standings() -> None:
    """A checklist's score is counts per outcome only, zeros included."""
    framework = checklist(ctl("a", (MFA,)), ctl("b", (PASSKEY,)), ctl("c"))
    items = evidence_of(ev(MFA, Outcome.PASS, 1.0), ev(PASSKEY, Outcome.FAIL, 0.0))
    result = assess(framework, items, {}, PROFILE, AT).score
    assert dict(result.counts) == {
        Outcome.PASS: 1,
        Outcome.PARTIAL: 0,
        Outcome.FAIL: 1,
        Outcome.NOT_APPLICABLE: 0,
        Outcome.NOT_ASSESSED: 1,
    }
    assert result.groups == ()
    assert result.facets == ()
    assert result.passed == 1
    assert result.assessed == 2


def test_score_module_explains_why_there_is_no_percentage() -> None:
    """The docstring carries the reason menshen prints no single percentage."""
    doc = score_module.__doc__ or ""
    assert "Why no percentage" in doc
    assert "no regulator publishes" in doc


def test_score_recomputed_from_results_matches_the_assessment() -> None:
    """score() over an assessment's results gives the assessment's own score."""
    framework = staged(ctl("id-t", (MFA,), stage="traditional"), ctl("id-i", stage="initial"))
    result = assess(framework, evidence_of(ev(MFA, Outcome.PASS, 1.0)), {}, PROFILE, AT)
    assert score(framework, result.results) == result.score


# -- monotonicity --------------------------------------------------------------------------

CHECK_POOL = (MFA, PASSKEY, DEVICE, LOG)
MEASURED = (Outcome.FAIL, Outcome.PARTIAL, Outcome.PASS)
ANY_OUTCOME = (*MEASURED, Outcome.NOT_APPLICABLE, Outcome.NOT_ASSESSED)


@st.composite
def _controls(draw: st.DrawFn) -> tuple[Control, ...]:
    count = draw(st.integers(min_value=1, max_value=8))
    return tuple(
        ctl(
            f"c{index}",
            tuple(draw(st.lists(st.sampled_from(CHECK_POOL), min_size=1, max_size=3, unique=True))),
            group=draw(st.sampled_from(("identity", "device"))),
            combine=draw(st.sampled_from(("all", "any"))),
            stage=draw(st.sampled_from((*STAGES, None))),
            facets=draw(st.sampled_from(((), ("remote_work",)))),
        )
        for index in range(count)
    )


def _stage_level(stage: str | None) -> int:
    return -1 if stage is None else STAGES.index(stage)


@settings(max_examples=200, deadline=None)
@given(
    controls=_controls(),
    outcomes=st.fixed_dictionaries({c: st.sampled_from(ANY_OUTCOME) for c in CHECK_POOL}),
    target=st.sampled_from(CHECK_POOL),
    step=st.integers(min_value=1, max_value=2),
)
def test_improving_one_check_never_worsens_a_control_or_a_standing(
    controls: tuple[Control, ...], outcomes: dict[str, Outcome], target: str, step: int
) -> None:
    """Raising one check along fail < partial < pass never lowers any outcome or stage."""
    before_outcome = outcomes[target]
    if before_outcome not in RANK or RANK[before_outcome] == 2:
        return
    better = MEASURED[min(2, RANK[before_outcome] + step)]
    framework = staged(*controls)
    before_items: dict[str, Evidence] = {c: ev(c, o, 0.5) for c, o in outcomes.items()}
    after_items = {**before_items, target: ev(target, better, 0.9)}
    before = assess(framework, before_items, {}, PROFILE, AT)
    after = assess(framework, after_items, {}, PROFILE, AT)
    for old, new in zip(before.results, after.results, strict=True):
        if old.outcome is not new.outcome:
            assert old.outcome in RANK
            assert new.outcome in RANK
            assert RANK[new.outcome] > RANK[old.outcome]
    pairs = [
        *zip(before.score.groups, after.score.groups, strict=True),
        *zip(before.score.facets, after.score.facets, strict=True),
    ]
    for old_standing, new_standing in pairs:
        assert _stage_level(new_standing.stage) >= _stage_level(old_standing.stage)
