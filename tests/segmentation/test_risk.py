"""Risk prioritization: the documented formula, the reasons, and the next steps."""

from __future__ import annotations

from datetime import UTC, datetime

from hypothesis import given
from hypothesis import strategies as st

from menshen.inventory import Classification
from menshen.segmentation import Segmentation
from menshen.segmentation.files import load_example
from menshen.segmentation.mfa import AppMfa, MfaState
from menshen.segmentation.risk import RiskItem, assess, impact_of, top
from tests.segmentation.oracle import TIMES, models

SEG = load_example()
BEFORE_EXPIRY = datetime(2026, 1, 5, 1, tzinfo=UTC)
AFTER_EXPIRY = datetime(2026, 6, 1, tzinfo=UTC)


def item(items: tuple[RiskItem, ...], item_id: str) -> RiskItem:
    return next(found for found in items if found.id == item_id)


def test_impact_adds_the_highest_class_the_weighted_tags_and_the_volume() -> None:
    """restricted 8 + card-data 3 + pii 2 + 2.4M records 2; unknown tags weigh nothing."""
    parts = impact_of(
        [Classification.INTERNAL, Classification.RESTRICTED],
        ["pii", "card-data", "misc"],
        2_400_000,
    )
    assert parts == (("restricted", 8), ("card-data", 3), ("pii", 2), ("2,400,000 records", 2))
    assert impact_of([], ["pii"]) == ()


def test_the_settlement_db_leads_while_the_dba_exception_is_open() -> None:
    """Direct workstation access with no MFA in front; the step names exception EXC-001."""
    items = assess(SEG, BEFORE_EXPIRY)
    first = items[0]
    assert (first.kind, first.id) == ("asset", "settlement-db")
    assert first.impact_points == 17
    assert first.score == round(17 * first.likelihood, 1)
    assert "EXC-001" in first.next_step
    assert "gateway app that requires MFA" in first.next_step


def test_once_the_exception_expires_the_direct_path_is_gone() -> None:
    """After 31 March 2026 no workstation reaches the ledger directly."""
    ledger = item(assess(SEG, AFTER_EXPIRY), "settlement-db")
    assert {factor.name for factor in ledger.factors} == {"partner", "workstation"}
    assert all("EXC-001" not in factor.reason for factor in ledger.factors)
    assert ledger.score < item(assess(SEG, BEFORE_EXPIRY), "settlement-db").score


def test_monitor_mode_makes_the_merchant_db_broad_and_the_step_is_to_enforce() -> None:
    """Monitor mode lets anyone in: broad segment, contractor-reachable; enforce the set."""
    merchant = item(assess(SEG, BEFORE_EXPIRY), "merchant-db")
    names = {factor.name for factor in merchant.factors}
    assert {"broad", "contractor", "no-mfa"} <= names
    assert merchant.next_step.startswith("enforce rule set merchant")


def test_an_unencrypted_flow_is_told_to_encrypt() -> None:
    """bo-to-merchant-db carries PII in clear text."""
    flow = item(assess(SEG, BEFORE_EXPIRY), "bo-to-merchant-db")
    assert flow.kind == "flow"
    assert any(f.step == "encrypt flow bo-to-merchant-db (TLS on tcp/5432)" for f in flow.factors)


def test_mfa_read_from_the_policy_names_the_app_and_rule() -> None:
    """An app letting people in without MFA: the step is to require it on that app."""
    mfa = {
        "wiki": AppMfa("wiki", MfaState.NOT_REQUIRED, "wiki-access/everyone", "group contractors"),
        "settlement": AppMfa("settlement", MfaState.REQUIRED),
    }
    items = assess(SEG, AFTER_EXPIRY, mfa=mfa)
    wiki = item(items, "wiki")
    assert wiki.next_step == "require MFA on app wiki (allow rule 'wiki-access/everyone')"
    assert not any(f.name.startswith("mfa") or f.name == "no-mfa"
                   for f in item(items, "settlement-admin").factors)  # fmt: skip
    merchant_bo = item(items, "merchant-bo")
    assert any(f.name == "mfa-unknown" for f in merchant_bo.factors)  # app merchant-bo undefined


def test_without_a_policy_mfa_is_unknown_not_assumed() -> None:
    """No policy read: each gateway app counts as unknown (1 point), never as protected."""
    wiki = item(assess(SEG, AFTER_EXPIRY), "wiki")
    unknown = [f for f in wiki.factors if f.name == "mfa-unknown"]
    assert len(unknown) == 1
    assert unknown[0].points == 1.0


def test_assets_without_data_are_not_listed_and_top_skips_zero_scores() -> None:
    """A laptop that holds and carries nothing has no impact."""
    items = assess(SEG, BEFORE_EXPIRY)
    assert "laptop-18" not in {found.id for found in items}
    assert len(top(items, 3)) == 3


@given(models(), st.sampled_from(TIMES))
def test_every_score_is_impact_times_likelihood_and_sorted(
    seg: Segmentation, when: datetime
) -> None:
    """Property: on random models the formula holds, the order is by score, steps exist."""
    items = assess(seg, when)
    scores = [found.score for found in items]
    assert scores == sorted(scores, reverse=True)
    for found in items:
        assert found.impact_points > 0
        likelihood = 1 + sum(factor.points for factor in found.factors)
        assert abs(found.likelihood - likelihood) < 0.01
        assert found.score == round(found.impact_points * found.likelihood, 1)
        assert all(factor.step and factor.points > 0 for factor in found.factors)
