"""Decaying counters, bounded top-K, EWMA, and the firm-local calendar."""

from __future__ import annotations

import math
from datetime import UTC, date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from menshen.errors import ConfigError
from menshen.monitor.baselines import BaselineConfig, LocalClock
from menshen.monitor.baselines.calendar import is_last_business_day
from menshen.monitor.baselines.decay import Decay, Ewma, Histogram, TopK, alpha_for_half_life

DAY = 86400.0


def test_an_observation_one_half_life_old_weighs_half_as_much() -> None:
    """Forward decay: the share of an old key halves relative to a fresh one."""
    decay = Decay(14 * DAY, landmark=0.0)
    top = TopK(8)
    top.add("old", 0.0, decay.scale(0.0))
    top.add("new", 14 * DAY, decay.scale(14 * DAY))
    assert top.share("new") == pytest.approx(2 * top.share("old"))
    assert top.share("unknown") == 0.0


def test_top_k_never_holds_more_than_k_keys_and_drops_the_lightest() -> None:
    """A flood of distinct values keeps the bound; the heavy habitual key survives."""
    top = TopK(4)
    for _ in range(50):
        top.add("habit", 0.0, 1.0)
    for n in range(1000):
        top.add(f"noise{n}", 1.0, 1.0)
    assert len(top.entries) == 4
    assert "habit" in top
    assert top.first_seen("habit") == 0.0


def test_rescaling_keeps_shares() -> None:
    """Moving the landmark multiplies every weight alike."""
    top = TopK(4)
    top.add("a", 0.0, 3.0)
    top.add("b", 0.0, 1.0)
    before = top.share("a")
    top.rescale(1e-9)
    assert top.share("a") == pytest.approx(before)


@given(
    st.lists(st.floats(min_value=0.0, max_value=1e6), min_size=168, max_size=168),
    st.integers(min_value=0, max_value=167),
)
def test_share_around_an_hour_is_the_share_of_it_and_its_neighbours(
    weights: list[float], hour: int
) -> None:
    """``share_around`` equals ``share`` of the hour and the hour on each side, wrapping."""
    histogram = Histogram(168)
    for index, weight in enumerate(weights):
        histogram.add(index, weight)
    slots = ((hour - 1) % 168, hour, (hour + 1) % 168)
    assert histogram.share_around(hour) == histogram.share(slots)


def test_ewma_averages_plainly_at_first_then_forgets_with_its_half_life() -> None:
    """The first values average exactly; old values then fade."""
    ewma = Ewma(alpha_for_half_life(10))
    for value in (2.0, 4.0):
        ewma.add(value)
    assert ewma.mean == pytest.approx(3.0)
    for _ in range(200):
        ewma.add(100.0)
    assert ewma.mean == pytest.approx(100.0, rel=1e-3)
    assert ewma.std < 1.0
    assert alpha_for_half_life(1) == pytest.approx(0.5)


@given(st.lists(st.floats(min_value=0, max_value=1e12), min_size=2, max_size=60))
def test_ewma_variance_is_never_negative(values: list[float]) -> None:
    """Whatever the values, the variance stays a variance."""
    ewma = Ewma(alpha_for_half_life(5))
    for value in values:
        ewma.add(value)
        assert ewma.var >= 0.0
        assert not math.isnan(ewma.std)


@pytest.mark.parametrize(
    ("day", "expected"),
    [
        (date(2026, 1, 30), True),  # Friday, the 31st is a Saturday
        (date(2026, 1, 31), False),  # Saturday
        (date(2026, 3, 31), True),  # Tuesday
        (date(2026, 3, 30), False),
        (date(2026, 5, 29), True),  # Friday before a Sunday 31st
        (date(2026, 2, 27), True),
    ],
)
def test_last_business_day_of_the_month(day: date, expected: bool) -> None:
    """The last Monday-Friday of each month."""
    assert is_last_business_day(day) is expected


def test_local_hour_of_week_is_in_the_firms_zone() -> None:
    """Monday 01:00 UTC is Monday 09:00 in Taipei and Sunday 20:00 in New York."""
    epoch = datetime(2026, 3, 2, 1, 0, tzinfo=UTC).timestamp()
    assert LocalClock(ZoneInfo("Asia/Taipei")).hour(epoch)[0] == 9
    assert LocalClock(ZoneInfo("America/New_York")).hour(epoch)[0] == 6 * 24 + 20
    assert LocalClock(ZoneInfo("Asia/Kolkata")).hour(epoch + 1800)[0] == 7  # 07:00 IST


def test_month_end_flag_follows_the_local_date() -> None:
    """31 March 17:00 UTC is already 1 April in Taipei: not month-end there."""
    epoch = datetime(2026, 3, 31, 17, 0, tzinfo=UTC).timestamp()
    assert LocalClock(ZoneInfo("Asia/Taipei")).hour(epoch)[1] is False
    assert LocalClock(ZoneInfo("Europe/London")).hour(epoch)[1] is True


def test_baseline_config_refuses_nonsense() -> None:
    """An unknown zone or inverted learning bounds stop start-up."""
    with pytest.raises(ConfigError, match="time zone"):
        BaselineConfig.for_zone("Mars/Olympus")
    with pytest.raises(ConfigError):
        BaselineConfig(min_learning_days=20, learning_days=14)
    assert BaselineConfig.for_zone("Europe/Paris").time_zone.key == "Europe/Paris"


def test_the_firms_time_zone_is_a_tenant_setting(tmp_path: Path) -> None:
    """tenants.<id>.time_zone is read and checked; the default is Asia/Taipei."""
    from menshen.settings import load_settings

    config = tmp_path / "menshen.yaml"
    config.write_text("tenants:\n  acme:\n    time_zone: Europe/London\n", encoding="utf-8")
    settings = load_settings(config, data_dir=tmp_path)
    assert settings.options("acme").time_zone == "Europe/London"
    assert settings.options("other").time_zone == "Asia/Taipei"
    config.write_text("tenants:\n  acme:\n    time_zone: Mars/Olympus\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="time zone"):
        load_settings(config, data_dir=tmp_path)
