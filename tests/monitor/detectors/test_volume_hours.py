"""Unusual volume (the exfiltration case and the month-end trap) and unusual hours."""

from __future__ import annotations

from datetime import datetime, timedelta

from menshen.monitor.baselines.calendar import is_last_business_day
from menshen.monitor.detectors import DetectorSet
from menshen.monitor.detectors.hours import UnusualHours
from menshen.monitor.detectors.volume import UnusualVolume
from menshen.monitor.model import Finding, Severity

from .helpers import MIB, T0, detector_set, event, ip, names, run, train


def _taipei_date(at: datetime) -> object:
    return (at + timedelta(hours=8)).date()


def _finance_quarter(detectors: DetectorSet, days: int) -> tuple[datetime, list[Finding]]:
    """A clerk's workdays: 2 MiB an hour, and 800 MiB an hour on each month's last workday."""
    found: list[Finding] = []
    for offset in range(days):
        day = T0 + timedelta(days=offset)
        if day.weekday() >= 5:
            continue
        month_end = is_last_business_day(_taipei_date(day))  # type: ignore[arg-type]
        for hour in range(9):
            sent = 800 * MIB if month_end and hour < 3 else 2 * MIB
            found += run(
                detectors,
                event(day + timedelta(hours=hour), bytes_out=sent, session_id=f"s{offset}"),
            )
    return T0 + timedelta(days=days), found


def test_a_large_download_at_three_in_the_morning_is_flagged() -> None:
    """1 GiB in an hour against a 2 MiB habit: HIGH, with the baseline in the evidence."""
    detectors = detector_set(UnusualVolume())
    end = train(detectors, bytes_out=2 * MIB)
    night = end + timedelta(hours=18)  # 03:00 Taipei
    found = run(detectors, event(night, bytes_out=1024 * MIB, src_ip=ip("lagos")))
    assert names(found) == ["unusual_volume"]
    assert found[0].severity is Severity.HIGH
    assert found[0].evidence["window"] == "hour"
    assert found[0].evidence["day_class"] == "ordinary"


def test_one_finding_per_hour_however_many_chunks() -> None:
    """An exfiltration in ten 200 MiB chunks is one finding for that hour."""
    detectors = detector_set(UnusualVolume())
    end = train(detectors, bytes_out=2 * MIB)
    chunks = [event(end + timedelta(minutes=m), bytes_out=200 * MIB) for m in range(10)]
    assert names(run(detectors, *chunks)) == ["unusual_volume"]


def test_large_ratio_but_below_the_absolute_floor_is_quiet() -> None:
    """50 MiB is 25 times a 2 MiB habit but under the 100 MiB floor (Splunk's AND rule)."""
    detectors = detector_set(UnusualVolume())
    end = train(detectors, bytes_out=2 * MIB)
    assert run(detectors, event(end, bytes_out=50 * MIB)) == []


def test_a_heavy_user_downloading_their_usual_amount_is_quiet() -> None:
    """300 MiB an hour is normal for someone who always moves 300 MiB an hour."""
    detectors = detector_set(UnusualVolume())
    end = train(detectors, bytes_out=300 * MIB)
    assert run(detectors, event(end, bytes_out=300 * MIB)) == []


def test_month_end_batch_downloads_do_not_alert_once_learnt() -> None:
    """The clerk's month-end 800 MiB hours stay quiet at the fourth month-end."""
    detectors = detector_set(UnusualVolume())
    end, _ = _finance_quarter(detectors, days=91)  # March to May: three month-ends
    june_30 = datetime(2026, 6, 30, 1, 0, tzinfo=T0.tzinfo)  # Tuesday 09:00 Taipei
    assert is_last_business_day(_taipei_date(june_30))  # type: ignore[arg-type]
    assert end < june_30
    quiet = [
        event(june_30 + timedelta(hours=h), bytes_out=800 * MIB, session_id="june")
        for h in range(3)
    ]
    assert run(detectors, *quiet) == []


def test_the_same_download_mid_month_alerts() -> None:
    """800 MiB on an ordinary Tuesday is compared with ordinary days, and flagged."""
    detectors = detector_set(UnusualVolume())
    _finance_quarter(detectors, days=91)
    june_16 = datetime(2026, 6, 16, 1, 0, tzinfo=T0.tzinfo)
    found = run(detectors, event(june_16, bytes_out=800 * MIB, session_id="mid"))
    assert names(found) == ["unusual_volume"]
    assert found[0].evidence["day_class"] == "ordinary"


def test_three_in_the_morning_is_outside_office_hours() -> None:
    """An office-hours user active at 03:00 Taipei: one LOW finding for that hour."""
    detectors = detector_set(UnusualHours())
    end = train(detectors)
    night = end + timedelta(hours=18)
    found = run(detectors, event(night), event(night + timedelta(minutes=10)))
    assert names(found) == ["unusual_hours"]
    assert found[0].evidence["local_hour"] == "Tue 03:00"


def test_an_hour_early_is_within_usual_hours() -> None:
    """08:00 next to a 09:00 habit is not unusual (neighbouring hours count)."""
    detectors = detector_set(UnusualHours())
    end = train(detectors)
    assert run(detectors, event(end - timedelta(hours=1))) == []


def test_a_night_shift_habit_is_usual() -> None:
    """Someone who always works at night is not flagged at night."""
    detectors = detector_set(UnusualHours())
    end = train(detectors, start=T0 + timedelta(hours=16))  # 01:00-09:00 Taipei
    assert run(detectors, event(end + timedelta(minutes=30))) == []  # Tue 01:30 Taipei


def test_hours_follow_the_firms_time_zone() -> None:
    """The same UTC instant is 03:00 in Taipei but 20:00 in London."""
    from zoneinfo import ZoneInfo

    from menshen.monitor.baselines import BaselineConfig

    london = detector_set(
        UnusualHours(), config=BaselineConfig(time_zone=ZoneInfo("Europe/London"))
    )
    end = train(london)  # 01:00-09:00 UTC: London mornings
    ctx = london.context(event(end + timedelta(hours=18)))
    assert ctx.hour_of_week % 24 == 19
