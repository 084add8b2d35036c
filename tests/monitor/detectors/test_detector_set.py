"""The detector set: detection before learning, options, the geo-IP database, throughput shape."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from menshen.errors import ConfigError
from menshen.monitor.baselines import BaselineBook, BaselineConfig
from menshen.monitor.detectors import DetectorOptions, DetectorSet, default_detectors
from menshen.monitor.detectors.geoip import MaxMindGeo
from menshen.monitor.model import Entity, EntityKind

from .helpers import (
    FIREFOX_LINUX,
    T0,
    TableGeo,
    event,
    ip,
    login,
    names,
    run,
    train,
    write_test_mmdb,
)

ALL = {
    "impossible_travel", "new_device", "new_network", "unusual_hours", "unusual_volume",
    "rare_resource", "password_spray", "brute_force", "mfa_fatigue", "session_reuse",
    "known_bad_ip", "sigma",
}  # fmt: skip


def test_every_built_in_detector_runs_unless_disabled() -> None:
    """The default set holds all detectors; disabled names are left out."""
    assert {d.name for d in default_detectors(DetectorOptions())} == ALL
    fewer = default_detectors(DetectorOptions(disabled=frozenset({"unusual_hours", "sigma"})))
    assert {d.name for d in fewer} == ALL - {"unusual_hours", "sigma"}


def test_detectors_see_the_baseline_before_the_event_is_learnt() -> None:
    """A new browser is new exactly once: the set learns it after detecting."""
    detectors = DetectorSet(
        default_detectors(DetectorOptions()), BaselineBook(BaselineConfig()), geo=TableGeo()
    )
    end = train(detectors)
    first = run(detectors, event(end, user_agent=FIREFOX_LINUX))
    again = run(detectors, event(end + timedelta(minutes=1), user_agent=FIREFOX_LINUX))
    assert "new_device" in names(first)
    assert "new_device" not in names(again)


def test_the_exfiltration_story_raises_several_findings() -> None:
    """3 AM, a new network abroad, a gigabyte: travel, network, hours and volume all speak."""
    detectors = DetectorSet(
        default_detectors(DetectorOptions()), BaselineBook(BaselineConfig()), geo=TableGeo()
    )
    end = train(detectors, bytes_out=1024 * 1024)
    night = end + timedelta(hours=18)
    found = run(
        detectors,
        login(night - timedelta(minutes=30)),
        login(night, src_ip=ip("frankfurt"), session_id="s-thief"),
        event(
            night + timedelta(minutes=1),
            src_ip=ip("frankfurt"),
            session_id="s-thief",
            bytes_out=2 << 30,
        ),
    )
    assert {"impossible_travel", "new_network", "unusual_hours", "unusual_volume"} <= set(
        names(found)
    )


def test_learning_updates_user_device_and_network_profiles() -> None:
    """One event teaches the user's, the device's and the /24's baselines."""
    book = BaselineBook(BaselineConfig())
    DetectorSet([], book, geo=TableGeo()).process(event(T0))
    assert {e.kind for e in book.entities()} == {
        EntityKind.USER,
        EntityKind.DEVICE,
        EntityKind.NETWORK,
    }
    assert book.profile(Entity(EntityKind.NETWORK, "1.160.10.0/24")) is not None


def test_maxmind_database_supplies_places(tmp_path: Path) -> None:
    """A City+ASN-shaped .mmdb built by the tests is read with maxminddb."""
    geo = MaxMindGeo(write_test_mmdb(tmp_path / "city.mmdb"))
    place = geo.locate(ip("frankfurt"))
    assert place is not None
    assert (place.country, place.asn, round(place.latitude or 0)) == ("DE", 3320, 50)
    assert geo.locate("9.9.9.9") is None
    assert geo.locate("2001:db8::1") is None  # an IPv4-only database
    assert geo.locate(ip("frankfurt")) is place  # cached
    geo.close()


def test_an_unreadable_geoip_database_is_a_config_error(tmp_path: Path) -> None:
    """A file that is not a MaxMind database stops start-up with its path."""
    bad = tmp_path / "nope.mmdb"
    bad.write_bytes(b"not a database")
    with pytest.raises(ConfigError, match=r"nope\.mmdb"):
        MaxMindGeo(bad)


def test_travel_works_end_to_end_with_the_mmdb(tmp_path: Path) -> None:
    """The impossible-travel case with places from the real reader."""
    geo = MaxMindGeo(write_test_mmdb(tmp_path / "city.mmdb"))
    detectors = DetectorSet(
        default_detectors(DetectorOptions()), BaselineBook(BaselineConfig()), geo=geo
    )
    end = train(detectors)
    found = run(detectors, login(end), login(end + timedelta(minutes=20), src_ip=ip("lagos")))
    assert "impossible_travel" in names(found)


def test_firm_rules_keep_their_count_windows_per_detector_set() -> None:
    """Two tenants sharing one rule text do not add up each other's counts."""
    from menshen.monitor.model import EventOutcome
    from menshen.monitor.sigma.load import rules_from_text

    rules = tuple(
        rules_from_text(
            "title: t\nid: r\nlogsource: {category: authentication}\n"
            "detection:\n  f: {outcome: failure}\n  condition: f | count() > 2\ntimeframe: 1h\n"
        )
    )
    options = DetectorOptions(rules=rules)
    one, two = (
        DetectorSet(default_detectors(options), BaselineBook(BaselineConfig())) for _ in range(2)
    )
    for n in range(2):
        run(one, login(T0 + timedelta(seconds=n), outcome=EventOutcome.FAILURE))
        run(two, login(T0 + timedelta(seconds=n), outcome=EventOutcome.FAILURE))
    third = run(one, login(T0 + timedelta(seconds=3), outcome=EventOutcome.FAILURE))
    assert names(third) == ["sigma:r"]
