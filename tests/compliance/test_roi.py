"""The ROI estimate: ranges from published figures, assumptions printed, no made-up numbers."""

from __future__ import annotations

from datetime import date

import pytest

from menshen.compliance.roi import PUBLISHED, Range, RoiInputs, estimate
from menshen.errors import InvalidInput


def test_zero_inputs_say_not_enough_inputs_instead_of_a_number() -> None:
    """No records and no staff: no amounts, and a bilingual reason first."""
    result = estimate(RoiInputs())
    assert not result.enough
    assert result.expected_without is None
    assert result.reduction is None
    assert "Not enough inputs" in result.assumptions[0].en
    assert "輸入不足" in result.assumptions[0].zh_tw


def test_small_firm_estimate_is_a_range_between_the_two_published_anchors() -> None:
    """10,000 records + 40 staff: per-record cost low, average breach high, times 0.1."""
    result = estimate(RoiInputs(records_held=10_000, staff=40))
    assert result.enough
    assert result.currency == "USD"
    assert result.likelihood == pytest.approx(0.1)
    assert result.breach_cost == Range(10_040 * 173.0, 4_880_000.0)
    without = result.expected_without
    assert without is not None
    assert without.low == pytest.approx(10_040 * 173.0 * 0.1)
    assert without.high == pytest.approx(488_000.0)
    with_zt = result.expected_with
    assert with_zt is not None
    assert with_zt.low == pytest.approx(without.low * 0.58)
    assert with_zt.high == pytest.approx(without.high * 0.65)
    reduction = result.reduction
    assert reduction is not None
    assert reduction.low == pytest.approx(without.low * 0.35)
    assert reduction.high == pytest.approx(without.high * 0.42)
    assert reduction.low < reduction.high


def test_assumptions_name_the_sources_and_say_correlation_not_promise() -> None:
    """The printed assumptions cite IBM/Ponemon 2024, the ZT figures and the likelihood."""
    result = estimate(RoiInputs(records_held=500))
    text = " ".join(a.en for a in result.assumptions)
    assert "IBM/Ponemon" in text
    assert "2024" in text
    assert "173" in text
    assert "4.88 million" in text
    assert "correlation" in text
    assert "not a promise" in text
    assert "assumption of menshen" in text
    zh = " ".join(a.zh_tw for a in result.assumptions)
    assert "並非保證" in zh


def test_firm_set_likelihood_replaces_the_default_and_is_printed() -> None:
    """A likelihood from the firm scales the expected cost and is labelled as the firm's."""
    base = estimate(RoiInputs(records_held=100_000))
    mine = estimate(RoiInputs(records_held=100_000, annual_likelihood=0.3))
    assert base.expected_without is not None
    assert mine.expected_without is not None
    assert mine.expected_without.high == pytest.approx(base.expected_without.high * 3)
    assert any("as set by the firm" in a.en for a in mine.assumptions)


def test_conversion_rate_with_its_date_converts_and_is_printed() -> None:
    """A TWD rate dated converts every amount and names the rate and date."""
    usd = estimate(RoiInputs(records_held=20_000))
    twd = estimate(
        RoiInputs(records_held=20_000, currency="TWD", rate=32.5, rate_date=date(2026, 5, 1))
    )
    assert twd.currency == "TWD"
    assert usd.breach_cost is not None
    assert twd.breach_cost is not None
    assert twd.breach_cost.high == pytest.approx(usd.breach_cost.high * 32.5)
    assert any("32.5 TWD per USD" in a.en and "2026-05-01" in a.en for a in twd.assumptions)


def test_foreign_currency_without_rate_stays_in_usd_and_says_so() -> None:
    """No rate: amounts stay in USD with a note, and no revenue comparison is made."""
    result = estimate(RoiInputs(records_held=20_000, currency="TWD", annual_revenue=1e9))
    assert result.currency == "USD"
    assert result.revenue_share_high is None
    assert any("amounts are in USD" in a.en for a in result.assumptions)


def test_revenue_share_compares_the_high_expected_cost_with_revenue() -> None:
    """With revenue in USD, the high expected cost is given as a fraction of it."""
    result = estimate(RoiInputs(records_held=100_000, annual_revenue=10_000_000))
    assert result.expected_without is not None
    assert result.revenue_share_high == pytest.approx(result.expected_without.high / 1e7)


def test_published_figures_are_the_ones_the_docs_cite() -> None:
    """The data: USD 173 per record, USD 4.88M per breach, 0.35..0.42 reduction."""
    assert PUBLISHED.cost_per_record_usd == 173.0
    assert PUBLISHED.average_breach_usd == 4_880_000.0
    assert (PUBLISHED.zero_trust_reduction_low, PUBLISHED.zero_trust_reduction_high) == (
        0.35,
        0.42,
    )


@pytest.mark.parametrize(
    ("inputs", "message"),
    [
        (RoiInputs(records_held=-1), "negative"),
        (RoiInputs(records_held=1, currency="twd"), "ISO 4217"),
        (RoiInputs(records_held=1, currency="TWD", rate=0.0, rate_date=date(2026, 1, 1)), "rate"),
        (RoiInputs(records_held=1, currency="TWD", rate=32.0), "date"),
        (RoiInputs(records_held=1, annual_likelihood=0.0), "likelihood"),
        (RoiInputs(records_held=1, annual_likelihood=1.5), "likelihood"),
    ],
)
def test_bad_inputs_are_rejected_clearly(inputs: RoiInputs, message: str) -> None:
    """Negative figures, a bad currency, an undated or zero rate, an impossible likelihood."""
    with pytest.raises(InvalidInput, match=message):
        estimate(inputs)
