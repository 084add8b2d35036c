"""Rare resources (user and peer group) and known-bad address lists."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from menshen.errors import InvalidInput
from menshen.monitor.detectors import DetectorSet
from menshen.monitor.detectors.bad_ip import BadIpList, KnownBadIp, parse_cidrs
from menshen.monitor.detectors.rare_resource import RareResource
from menshen.monitor.model import EventOutcome, Severity

from .helpers import T0, detector_set, event, ip, names, run, train

GROUPS = {"alice": "finance", "bob": "finance", "erin": "engineering"}


def _peers() -> tuple[DetectorSet, datetime]:
    detectors = detector_set(RareResource(), peer_group=GROUPS.get)
    train(detectors, user="bob", app="settlement", resource="/admin/batches/2026-03")
    return detectors, train(detectors)


def test_a_resource_new_to_the_user_and_rare_for_peers_is_flagged() -> None:
    """Alice opens the HR salary pages nobody in finance uses: MEDIUM (a new app)."""
    detectors, end = _peers()
    found = run(detectors, event(end, app="hr", resource="/salaries/2026"))
    assert names(found) == ["rare_resource"]
    assert found[0].severity is Severity.MEDIUM
    assert found[0].evidence["resource"] == "hr:/salaries/2026"


def test_a_resource_the_peer_group_uses_is_not_rare() -> None:
    """Alice opening the settlement batches her finance colleague uses daily: quiet."""
    detectors, end = _peers()
    found = run(detectors, event(end, app="settlement", resource="/admin/batches/2026-04?x=1"))
    assert found == []


def test_ids_deep_in_the_path_do_not_make_every_url_new() -> None:
    """/pages/home/123 is the resource /pages/home the user knows."""
    detectors, end = _peers()
    assert (
        run(detectors, event(end, resource="/pages/home/123"), event(end, resource="/pages/home/9"))
        == []
    )


def test_without_a_peer_group_the_confidence_is_lower() -> None:
    """A user in no group is judged on their own history only."""
    detectors = detector_set(RareResource())
    end = train(detectors, user="zoe")
    found = run(detectors, event(end, user="zoe", app="hr", resource="/salaries"))
    assert [f.confidence < 0.5 for f in found] == [True]


def test_cidr_lines_parse_with_comments_and_refuse_garbage() -> None:
    """Blank and comment lines are skipped; a bad line names its number."""
    entries = parse_cidrs(
        ["# feed", "", "203.0.113.0/24  # scanner", "2001:db8::/32", "198.51.100.7"]
    )
    assert entries == [
        ("203.0.113.0/24", "scanner"),
        ("2001:db8::/32", ""),
        ("198.51.100.7/32", ""),
    ]
    with pytest.raises(InvalidInput, match=r"feed\.txt:2"):
        parse_cidrs(["10.0.0.0/8", "not-an-ip"], "feed.txt")


def test_bad_ip_list_matches_merged_ranges_of_both_families() -> None:
    """Overlapping prefixes merge; IPv4 and IPv6 are looked up separately."""
    networks = BadIpList(
        [("10.0.0.0/16", "intel"), ("10.0.1.0/24", "intel"), ("2001:db8::/32", "tor")]
    )
    assert networks.size == 2
    assert networks.match("10.0.200.1") == "intel"
    assert networks.match("10.1.0.1") is None
    assert networks.match("2001:db8::1") == "tor"
    assert networks.match("2001:db9::1") is None
    assert networks.match("not an address") is None


def test_activity_from_a_listed_address_is_high_and_attempts_low() -> None:
    """A success from a listed source is HIGH, a failure LOW; once per source per hour."""
    listed = ip("lagos", 66)
    detector = KnownBadIp(networks=BadIpList([("102.89.1.0/24", "botnet")]))
    detectors = detector_set(detector)
    found = run(
        detectors,
        event(T0, src_ip=listed, outcome=EventOutcome.FAILURE),
        event(T0 + timedelta(minutes=1), src_ip=listed),
        event(T0 + timedelta(hours=1), src_ip=ip("lagos", 67)),
        event(T0 + timedelta(hours=1, minutes=1), src_ip=ip("taipei_home")),
    )
    assert [f.severity for f in found] == [Severity.LOW, Severity.HIGH]
    assert found[1].evidence["list"] == "botnet"
