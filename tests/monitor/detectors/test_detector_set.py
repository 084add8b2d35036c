"""The detector set: detection before learning, options, the geo-IP database, throughput shape."""

from __future__ import annotations

import random
from collections.abc import Sequence
from datetime import timedelta
from pathlib import Path

import pytest

from menshen.errors import ConfigError
from menshen.monitor.baselines import BaselineBook, BaselineConfig, BaselineView, EventContext
from menshen.monitor.detectors import DetectorOptions, DetectorSet, default_detectors
from menshen.monitor.detectors.bad_ip import BadIpList
from menshen.monitor.detectors.base import Detector
from menshen.monitor.detectors.geoip import MaxMindGeo
from menshen.monitor.model import (
    Category,
    Entity,
    EntityKind,
    EventOutcome,
    Finding,
    ObservedEvent,
)

from .helpers import (
    CHROME,
    FIREFOX_LINUX,
    MIB,
    PLACES,
    T0,
    TENANT,
    VPN_AS,
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


class _Unskippable:
    """Another detector's behaviour with no declared ``needs``: the set calls it every time."""

    def __init__(self, inner: Detector) -> None:
        self._inner = inner
        self.name = inner.name
        self.categories = inner.categories

    def detect(self, ctx: EventContext, view: BaselineView) -> Sequence[Finding]:
        return self._inner.detect(ctx, view)


def _noisy_stream(seed: int, count: int) -> list[ObservedEvent]:
    """Seeded events of every category and outcome, with and without addresses (placed or
    not), sessions, devices, agents, paths and bytes; now and then a burst of failed
    sign-ins (one user, or many users from one address) or of MFA prompts."""
    rnd = random.Random(seed)
    users = ["alice", "bob", "carol", "dan", "erin", "", None]
    where = [*PLACES, None, None, "unplaced"]
    at = T0
    events: list[ObservedEvent] = []
    while len(events) < count:
        at += timedelta(seconds=rnd.choice([0, 1, 5, 30, 300, 3600, 5 * 3600]))
        place = rnd.choice(where)
        if place == "unplaced":  # a listed address, or one of 40 networks the database lacks
            address: str | None = rnd.choice(
                [f"203.0.113.{rnd.randint(1, 12)}", f"198.18.{rnd.randint(0, 39)}.7"]
            )
        elif place is not None:
            address = ip(place, rnd.randint(1, 12))
        else:
            address = rnd.choice([None, "", "bogus"])
        number = len(events)
        burst = rnd.random()
        if burst < 0.01:  # one user's failures, or many users' from one address
            many, user = rnd.random() < 0.5, rnd.choice(users[:5])
            for step in range(13):
                failed = step < 12 or rnd.random() < 0.3
                events.append(
                    login(
                        at + timedelta(seconds=step), user=f"sprayed{step % 12}" if many else user,
                        src_ip=address, event_id=f"b{number}-{step}",
                        outcome=EventOutcome.FAILURE if failed else EventOutcome.SUCCESS,
                    )
                )  # fmt: skip
            continue
        if burst < 0.015:  # MFA prompts, sometimes answered at the end
            user = rnd.choice(users[:5])
            for step in range(7):
                answered = step == 6 and rnd.random() < 0.5
                events.append(
                    event(
                        at + timedelta(seconds=10 * step), user=user, category=Category.MFA,
                        src_ip=address,
                        outcome=EventOutcome.SUCCESS if answered else EventOutcome.UNKNOWN,
                        event_id=f"m{number}-{step}",
                    )
                )  # fmt: skip
            continue
        events.append(
            ObservedEvent(
                TENANT, at, "gateway", f"n{number}",
                rnd.choice([*Category, Category.AUTHENTICATION, Category.ACCESS]), "act",
                rnd.choice([*EventOutcome, EventOutcome.FAILURE]),
                user=rnd.choice(users), client_id=rnd.choice([None, None, "svc-1"]),
                device_id=rnd.choice([None, "", "laptop-1", "phone-2"]),
                session_id=rnd.choice([None, "", "s1", "s2", f"s{number % 40}"]),
                src_ip=address, app=rnd.choice([None, "wiki", "crm"]),
                resource=rnd.choice([None, "/pages/a", f"/r/{number % 30}"]),
                user_agent=rnd.choice([None, CHROME, FIREFOX_LINUX]),
                bytes_out=rnd.choice([0, 0, 2048, 300 * MIB]),
            )
        )  # fmt: skip
    return events


def test_skipping_detectors_whose_inputs_are_absent_changes_no_finding() -> None:
    """Every built-in detector's ``needs`` are necessary: the set that skips on them finds
    exactly what the same detectors called on every event find, and learns the same."""
    options = DetectorOptions(
        vpn_asns=frozenset({VPN_AS}),
        bad_networks=BadIpList([(PLACES["lagos"][0], "bad"), ("203.0.113.0/28", "bad")]),
    )
    skipping = DetectorSet(
        default_detectors(options), BaselineBook(BaselineConfig()), geo=TableGeo()
    )
    calling = DetectorSet(
        [_Unskippable(d) for d in default_detectors(options)],
        BaselineBook(BaselineConfig()),
        geo=TableGeo(),
    )
    found: list[tuple[object, ...]] = []
    for item in _noisy_stream(5, 6000):
        fast, slow = skipping.process(item), calling.process(item)
        assert fast == slow
        found += [(f.detector, f.subject, f.summary) for f in fast]
    assert len({name for name, _, _ in found}) >= 10  # it exercises all but sigma
    assert sorted(skipping.book.entities()) == sorted(calling.book.entities())
