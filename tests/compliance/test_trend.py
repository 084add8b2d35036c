"""Report summaries and the trend against the previous report."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from menshen.compliance.assess import assess
from menshen.compliance.model import Assessment, Evidence, Outcome
from menshen.compliance.trend import Change, StandingChange, summary_of, trend
from menshen.errors import InvalidInput
from tests.compliance.assessment_factories import (
    AT,
    PROFILE,
    ctl,
    declared,
    ev,
    evidence_of,
    staged,
)

MFA = "identity.mfa_enrolled"
PASSKEY = "identity.phishing_resistant_mfa"
STALE = "identity.stale_accounts"

FRAMEWORK = staged(
    ctl("id-t", (MFA,), stage="traditional", facets=("remote_work",)),
    ctl("id-i", (PASSKEY,), stage="initial"),
    ctl("id-x", (STALE,)),
    ctl("id-d"),
)


def _assessed(mfa: Outcome, passkey: Outcome, stale: Outcome, days: int = 0) -> Assessment:
    items: dict[str, Evidence] = dict(
        evidence_of(ev(MFA, mfa, 0.9), ev(PASSKEY, passkey, 0.5), ev(STALE, stale, 2))
    )
    return assess(FRAMEWORK, items, {"id-d": declared("id-d")}, PROFILE, AT + timedelta(days=days))


def test_summary_is_json_able_deterministic_and_complete() -> None:
    """summary_of gives sorted JSON data with each control's outcome and basis and standings."""
    assessment = _assessed(Outcome.PASS, Outcome.FAIL, Outcome.PASS)
    summary = summary_of(assessment)
    assert json.dumps(summary, sort_keys=True) == json.dumps(summary_of(assessment), sort_keys=True)
    assert json.loads(json.dumps(summary)) == summary
    assert summary["framework"] == "test-fw"
    assert summary["at"] == AT.isoformat()
    assert summary["controls"] == {
        "id-d": {"basis": "declared", "outcome": "pass"},
        "id-i": {"basis": "measured", "outcome": "fail"},
        "id-t": {"basis": "measured", "outcome": "pass"},
        "id-x": {"basis": "measured", "outcome": "pass"},
    }
    counts = summary["counts"]
    assert isinstance(counts, dict)
    assert counts["pass"] == 3
    assert counts["fail"] == 1
    groups = summary["groups"]
    assert isinstance(groups, dict)
    assert groups["identity"] == {
        "blocking": ["id-i"],
        "declared": [],
        "next_stage": "initial",
        "stage": "traditional",
    }


def test_first_report_has_nothing_to_compare() -> None:
    """No previous summary: the trend says first report and lists no changes."""
    result = trend(summary_of(_assessed(Outcome.PASS, Outcome.FAIL, Outcome.PASS)), None)
    assert result.first
    assert result.previous_at is None
    assert result.improved == ()
    assert result.regressed == ()
    assert result.counts_after is not None
    assert result.counts_after["pass"] == 3


def test_trend_lists_improved_regressed_and_unchanged_controls_with_stages() -> None:
    """Passkeys fixed and stale accounts broken: one improved, one regressed, stage up."""
    old = summary_of(_assessed(Outcome.PASS, Outcome.FAIL, Outcome.PASS))
    new = summary_of(_assessed(Outcome.PASS, Outcome.PASS, Outcome.PARTIAL, days=30))
    result = trend(new, old)
    assert not result.first
    assert result.previous_at == AT.isoformat()
    assert result.improved == (Change("id-i", Outcome.FAIL, Outcome.PASS),)
    assert result.regressed == (Change("id-x", Outcome.PASS, Outcome.PARTIAL),)
    assert result.unchanged == ("id-d", "id-t")
    assert result.counts_before is not None
    assert result.counts_after is not None
    assert result.counts_before["fail"] == 1
    assert result.counts_after["partial"] == 1
    assert result.standings == (
        StandingChange("group", "identity", "traditional", "initial", True),
    )


def test_stage_lost_is_a_standing_change_that_did_not_improve() -> None:
    """MFA breaking drops identity and remote_work below the first stage."""
    old = summary_of(_assessed(Outcome.PASS, Outcome.PASS, Outcome.PASS))
    new = summary_of(_assessed(Outcome.FAIL, Outcome.PASS, Outcome.PASS))
    result = trend(new, old)
    assert result.regressed == (Change("id-t", Outcome.PASS, Outcome.FAIL),)
    assert result.standings == (
        StandingChange("group", "identity", "initial", None, False),
        StandingChange("facet", "remote_work", "traditional", None, False),
    )


def test_moving_to_not_assessed_is_a_change_not_an_improvement() -> None:
    """fail → not assessed is listed as changed, neither improved nor regressed."""
    old = summary_of(_assessed(Outcome.PASS, Outcome.FAIL, Outcome.PASS))
    new = summary_of(_assessed(Outcome.PASS, Outcome.NOT_ASSESSED, Outcome.PASS))
    result = trend(new, old)
    assert result.changed == (Change("id-i", Outcome.FAIL, Outcome.NOT_ASSESSED),)
    assert result.improved == ()
    assert result.regressed == ()


def test_old_record_with_controls_the_catalog_dropped_lists_them_as_removed() -> None:
    """Controls only in the old summary are removed, new ones added; junk is skipped."""
    new = summary_of(_assessed(Outcome.PASS, Outcome.PASS, Outcome.PASS))
    old = {
        "framework": "test-fw",
        "at": "2025-11-01T00:00:00+00:00",
        "controls": {
            "id-t": {"outcome": "fail", "basis": "measured"},
            "id-retired": {"outcome": "pass", "basis": "measured"},
            "id-garbled": {"outcome": "excellent"},
            "id-d": "pass",
        },
        "counts": {"pass": 1, "fail": "many"},
        "groups": {"identity": {"stage": None}, "device": "odd"},
    }
    result = trend(new, old)
    assert result.removed == ("id-retired",)
    assert result.improved == (Change("id-t", Outcome.FAIL, Outcome.PASS),)
    assert set(result.added) == {"id-i", "id-x", "id-d"}
    assert result.counts_before == {"pass": 1}
    assert result.standings == (StandingChange("group", "identity", None, "initial", True),)


def test_previous_record_missing_everything_does_not_crash() -> None:
    """A bare old record of the same framework gives a trend with every control added."""
    new = summary_of(_assessed(Outcome.PASS, Outcome.PASS, Outcome.PASS))
    result = trend(new, {"framework": "test-fw"})
    assert result.added == ("id-d", "id-i", "id-t", "id-x")
    assert result.previous_at is None
    assert result.counts_before == {}


def test_summary_of_another_framework_is_rejected() -> None:
    """Comparing across frameworks is bad input naming both."""
    new = summary_of(_assessed(Outcome.PASS, Outcome.PASS, Outcome.PASS))
    with pytest.raises(InvalidInput, match="pci-dss-8"):
        trend(new, {"framework": "pci-dss-8", "controls": {}})


def test_trend_rejects_a_summary_without_framework() -> None:
    """A mapping that is not a summary is bad input."""
    with pytest.raises(InvalidInput, match="framework"):
        trend({"controls": {}}, None)
