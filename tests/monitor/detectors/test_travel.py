"""Impossible travel: distant sign-ins too close in time, and the traps it must not fall in."""

from __future__ import annotations

from datetime import timedelta

from menshen.monitor.detectors.travel import ImpossibleTravel
from menshen.monitor.model import Severity

from .helpers import VPN_AS, detector_set, ip, login, names, run, train


def test_taipei_then_frankfurt_twenty_minutes_later_is_impossible_travel() -> None:
    """A sign-in 9,000 km away 20 minutes after the last one is a HIGH finding."""
    detectors = detector_set(ImpossibleTravel())
    end = train(detectors)
    found = run(
        detectors,
        login(end),
        login(end + timedelta(minutes=20), src_ip=ip("frankfurt")),
    )
    assert names(found) == ["impossible_travel"]
    assert found[0].severity is Severity.HIGH
    assert found[0].evidence["country"] == "DE"
    assert float(found[0].evidence["speed_kmh"]) > 900


def test_the_same_trip_a_day_later_is_plausible() -> None:
    """Taipei to Frankfurt in 20 hours is a flight, not an attack."""
    detectors = detector_set(ImpossibleTravel())
    end = train(detectors)
    found = run(detectors, login(end), login(end + timedelta(hours=20), src_ip=ip("frankfurt")))
    assert found == []


def test_vpn_exit_in_the_same_country_is_exempt() -> None:
    """A VPN exit in Taichung minutes after a home sign-in is not travel (VPN ASN listed)."""
    detectors = detector_set(ImpossibleTravel(vpn_asns=frozenset({VPN_AS})))
    end = train(detectors)
    found = run(
        detectors,
        login(end),
        login(end + timedelta(minutes=3), src_ip=ip("vpn_taichung")),
        login(end + timedelta(minutes=6), src_ip=ip("vpn_tokyo")),
        login(end + timedelta(minutes=9)),
    )
    assert found == []


def test_short_domestic_hop_is_downgraded_to_low() -> None:
    """Taipei to Kaohsiung (300 km) in five minutes is geo-IP noise territory: LOW at most."""
    detectors = detector_set(ImpossibleTravel())
    end = train(detectors)
    found = run(detectors, login(end), login(end + timedelta(minutes=5), src_ip=ip("kaohsiung")))
    assert [f.severity for f in found] == [Severity.LOW]


def test_neighbouring_networks_in_one_city_are_noise() -> None:
    """Two Taipei networks a minute apart are within the geo-IP accuracy: nothing."""
    detectors = detector_set(ImpossibleTravel())
    end = train(detectors)
    found = run(
        detectors, login(end), login(end + timedelta(minutes=1), src_ip=ip("taipei_office"))
    )
    assert found == []


def test_a_location_other_users_of_the_firm_share_is_exempt() -> None:
    """Frankfurt is where three colleagues work from (the firm's data centre): no alert."""
    detectors = detector_set(ImpossibleTravel())
    end = train(detectors)
    for colleague in ("bob", "carol", "dave"):
        run(detectors, login(end - timedelta(days=1), user=colleague, src_ip=ip("frankfurt")))
    found = run(detectors, login(end), login(end + timedelta(minutes=20), src_ip=ip("frankfurt")))
    assert found == []


def test_during_learning_travel_still_fires_with_lower_confidence() -> None:
    """A new user's impossible trip is reported, less confidently than a mature user's."""
    detectors = detector_set(ImpossibleTravel())
    end = train(detectors)
    mature = run(detectors, login(end), login(end + timedelta(minutes=20), src_ip=ip("lagos")))
    fresh = run(
        detectors,
        login(end, user="newbie"),
        login(end + timedelta(minutes=20), user="newbie", src_ip=ip("lagos")),
    )
    assert len(mature) == len(fresh) == 1
    assert fresh[0].confidence < mature[0].confidence
    assert fresh[0].evidence["learning"] is True


def test_failed_sign_ins_do_not_move_the_last_location() -> None:
    """A failed attempt from abroad is not where the user is."""
    from menshen.monitor.model import EventOutcome

    detectors = detector_set(ImpossibleTravel())
    end = train(detectors)
    found = run(
        detectors,
        login(end, src_ip=ip("frankfurt"), outcome=EventOutcome.FAILURE),
        login(end + timedelta(minutes=5)),
    )
    assert found == []
