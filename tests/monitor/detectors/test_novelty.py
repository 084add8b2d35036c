"""New device or browser, new network / ASN / country: quiet while learning, once per value."""

from __future__ import annotations

from datetime import timedelta

from menshen.monitor.detectors.new_device import NewDevice
from menshen.monitor.detectors.new_network import NewNetwork
from menshen.monitor.model import Severity

from .helpers import FIREFOX_LINUX, T0, VPN_AS, detector_set, event, ip, login, names, run, train


def test_a_new_browser_family_is_reported_once() -> None:
    """Firefox on Linux after weeks of Chrome on Windows: one LOW finding, then familiar."""
    detectors = detector_set(NewDevice())
    end = train(detectors)
    found = run(
        detectors,
        event(end, user_agent=FIREFOX_LINUX),
        event(end + timedelta(minutes=5), user_agent=FIREFOX_LINUX),
    )
    assert names(found) == ["new_device"]
    assert found[0].severity is Severity.LOW
    assert found[0].evidence["agent"] == "Firefox/Linux"


def test_a_browser_upgrade_is_not_a_new_browser() -> None:
    """Chrome 127 after Chrome 126 is the same family."""
    detectors = detector_set(NewDevice())
    end = train(detectors)
    upgraded = event(end).user_agent
    assert upgraded is not None
    assert run(detectors, event(end, user_agent=upgraded.replace("126.0", "127.0"))) == []


def test_new_device_and_browser_together_are_medium() -> None:
    """Another device with another browser is MEDIUM."""
    detectors = detector_set(NewDevice())
    end = train(detectors)
    found = run(detectors, event(end, device_id="unknown-pc", user_agent=FIREFOX_LINUX))
    assert [f.severity for f in found] == [Severity.MEDIUM]


def test_novelty_detectors_are_quiet_during_learning() -> None:
    """A user on day two has no history to be new against."""
    detectors = detector_set(NewDevice(), NewNetwork())
    run(detectors, login(T0), event(T0 + timedelta(minutes=1)))
    found = run(
        detectors,
        event(T0 + timedelta(days=1), user_agent=FIREFOX_LINUX, src_ip=ip("frankfurt")),
    )
    assert found == []


def test_a_new_country_is_medium_with_high_confidence() -> None:
    """First sign-in from Germany."""
    detectors = detector_set(NewNetwork())
    end = train(detectors)
    found = run(detectors, login(end + timedelta(days=2), src_ip=ip("frankfurt")))
    assert names(found) == ["new_network"]
    assert found[0].evidence["new_country"] is True
    assert found[0].confidence >= 0.8


def test_a_new_subnet_of_a_known_provider_is_low() -> None:
    """DHCP moved the user to another HiNet /24: LOW, low confidence."""
    detectors = detector_set(NewNetwork())
    end = train(detectors)
    found = run(detectors, event(end, src_ip=ip("taipei_other")))
    assert [(f.severity, f.evidence["new_asn"]) for f in found] == [(Severity.LOW, False)]
    assert run(detectors, event(end + timedelta(minutes=1), src_ip=ip("taipei_other", 99))) == []


def test_a_vpn_exit_abroad_is_not_a_new_country() -> None:
    """The firm's VPN provider exiting in Tokyo says nothing about where the user is."""
    detectors = detector_set(NewNetwork(vpn_asns=frozenset({VPN_AS})))
    end = train(detectors)
    found = run(detectors, event(end, src_ip=ip("vpn_tokyo")))
    assert [f.evidence["new_country"] for f in found] == [False]
    assert found[0].severity is Severity.LOW
