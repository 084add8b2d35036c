"""Password spraying, brute force, MFA fatigue and session reuse: windows, thresholds,
suppression."""

from __future__ import annotations

from datetime import timedelta

from menshen.monitor.detectors.brute_force import BruteForce
from menshen.monitor.detectors.mfa_fatigue import MfaFatigue
from menshen.monitor.detectors.session_reuse import SessionReuse
from menshen.monitor.detectors.spray import PasswordSpray
from menshen.monitor.model import Category, EntityKind, EventOutcome, ObservedEvent, Severity

from .helpers import T0, detector_set, event, ip, login, names, run

FAIL = EventOutcome.FAILURE
ATTACKER = ip("lagos", 66)


def _failed(user: str, seconds: float, source: str = ATTACKER) -> ObservedEvent:
    return login(T0 + timedelta(seconds=seconds), user=user, outcome=FAIL, src_ip=source)


def test_ten_users_failing_from_one_source_in_ten_minutes_is_a_spray() -> None:
    """Ten distinct users from one address within ten minutes: one finding on the network."""
    detectors = detector_set(PasswordSpray())
    found = run(detectors, *[_failed(f"user{n}", n * 50) for n in range(12)])
    assert names(found) == ["password_spray"]
    assert found[0].subject.kind is EntityKind.NETWORK
    assert found[0].evidence["distinct_users"] == 10


def test_nine_users_or_a_slow_spray_is_below_the_threshold() -> None:
    """Nine users, or ten spread over an hour, do not fire."""
    detectors = detector_set(PasswordSpray())
    assert run(detectors, *[_failed(f"u{n}", n * 10) for n in range(9)]) == []
    slow = detector_set(PasswordSpray())
    assert run(slow, *[_failed(f"u{n}", n * 400) for n in range(10)]) == []


def test_one_user_retrying_is_not_a_spray() -> None:
    """Twenty failures of one user are one distinct user."""
    detectors = detector_set(PasswordSpray())
    assert run(detectors, *[_failed("alice", n * 5) for n in range(20)]) == []


def test_a_success_during_a_spray_is_a_validated_password() -> None:
    """A sprayed user who then signs in from the spraying source: HIGH about that user."""
    detectors = detector_set(PasswordSpray())
    run(detectors, *[_failed(f"user{n}", n * 10) for n in range(10)])
    found = run(detectors, login(T0 + timedelta(seconds=200), user="user3", src_ip=ATTACKER))
    assert names(found) == ["password_spray_validated"]
    assert found[0].severity is Severity.HIGH
    assert found[0].subject.id == "user3"


def test_the_firms_own_gateway_is_exempt_from_spray() -> None:
    """Failures funnelled through the firm's VPN concentrator are not a spray."""
    gateway = ip("taipei_office", 1)
    detectors = detector_set(PasswordSpray(exempt_sources=frozenset({gateway})))
    assert run(detectors, *[_failed(f"u{n}", n, gateway) for n in range(15)]) == []


def test_eight_failures_in_two_minutes_is_brute_force_then_suppressed() -> None:
    """The 8th failure in 120 s fires; the 9th inside 60 s does not; a later burst does."""
    detectors = detector_set(BruteForce())
    burst = [_failed("alice", n * 10) for n in range(9)]  # 0..80 s
    found = run(detectors, *burst)
    assert names(found) == ["brute_force"]
    assert found[0].evidence["failures"] == 8
    later = run(detectors, *[_failed("alice", 150 + n) for n in range(3)])
    assert names(later) == ["brute_force"]


def test_seven_failures_or_eight_spread_out_are_not_brute_force() -> None:
    """Seven quick failures, or eight over ten minutes, stay quiet."""
    assert run(detector_set(BruteForce()), *[_failed("a", n) for n in range(7)]) == []
    assert run(detector_set(BruteForce()), *[_failed("a", n * 75) for n in range(8)]) == []


def _mfa(seconds: float, outcome: EventOutcome = FAIL) -> ObservedEvent:
    return event(
        T0 + timedelta(seconds=seconds), category=Category.MFA, action="push", outcome=outcome
    )


def test_repeated_mfa_prompts_then_acceptance_is_fatigue() -> None:
    """Five failed prompts in ten minutes (MEDIUM), then an accepted one (HIGH)."""
    detectors = detector_set(MfaFatigue())
    found = run(detectors, *[_mfa(n * 60) for n in range(6)], _mfa(400, EventOutcome.SUCCESS))
    assert names(found) == ["mfa_fatigue", "mfa_fatigue_accepted"]
    assert [f.severity for f in found] == [Severity.MEDIUM, Severity.HIGH]


def test_a_fumbled_code_then_success_is_not_fatigue() -> None:
    """Two wrong codes and a right one is a user typing."""
    detectors = detector_set(MfaFatigue())
    assert run(detectors, _mfa(0), _mfa(20), _mfa(40, EventOutcome.SUCCESS)) == []


def test_one_session_from_taipei_and_frankfurt_within_minutes_is_reuse() -> None:
    """The same session id from two countries ten minutes apart: HIGH."""
    detectors = detector_set(SessionReuse())
    found = run(
        detectors,
        event(T0),
        event(T0 + timedelta(minutes=10), src_ip=ip("frankfurt")),
        event(T0 + timedelta(minutes=11), src_ip=ip("frankfurt")),
    )
    assert names(found) == ["session_reuse"]
    assert found[0].evidence["previous_country"] == "TW"


def test_a_laptop_changing_networks_in_one_city_is_not_reuse() -> None:
    """Office Wi-Fi to a phone hotspot in Taipei: same place."""
    detectors = detector_set(SessionReuse())
    found = run(detectors, event(T0), event(T0 + timedelta(minutes=2), src_ip=ip("taipei_office")))
    assert found == []


def test_a_session_used_abroad_hours_later_is_not_reuse_within_minutes() -> None:
    """Two hours apart is outside the window (impossible travel covers that case)."""
    detectors = detector_set(SessionReuse())
    found = run(detectors, event(T0), event(T0 + timedelta(hours=2), src_ip=ip("frankfurt")))
    assert found == []
