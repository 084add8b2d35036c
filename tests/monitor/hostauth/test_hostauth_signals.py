"""The lateral-movement signals added for issue 6: first-seen source, NTLM rarity per source,
the user on a new source computer and the source's spread; each fires and stays quiet."""

from __future__ import annotations

import pytest

from menshen.errors import InvalidInput
from menshen.monitor.hostauth.detect import SIGNALS
from menshen.monitor.hostauth.firstseen import FirstSeenComputer
from menshen.monitor.hostauth.novelty import NewPairDetector
from menshen.monitor.hostauth.profiles import Population, ProfileLimits
from menshen.monitor.hostauth.rarity import RareValueDetector
from menshen.monitor.hostauth.settings import HostAuthSettings
from menshen.monitor.hostauth.spread import SourceSpread
from tests.monitor.hostauth.test_hostauth_detectors import logon, trained

LIMITS = ProfileLimits()


def spread(floor: int = 4) -> SourceSpread:
    return SourceSpread("s", window_seconds=86400.0, floor=floor, max_tracked=64, max_sources=1000)


def test_a_never_seen_computer_is_first_seen_with_the_domains_newcomer_surprise() -> None:
    """On a domain of few machines seen many times, a stranger costs several bits."""
    computers = FirstSeenComputer("f", LIMITS)
    for i in range(200):
        computers.learn(f"ws{i % 5}", f"srv{i % 2}", float(i))
    assert computers.first_seen("evil", 300.0)
    assert computers.bits("evil", 300.0) > 5.0
    assert computers.evidence()["computers_known"] == 7


def test_a_computer_seen_only_as_destination_is_not_first_seen() -> None:
    """A known server logging on out is judged by the new pair, not as a stranger."""
    computers = FirstSeenComputer("f", LIMITS)
    computers.learn("ws1", "srv1", 0.0)
    assert not computers.first_seen("srv1", 1.0)
    assert computers.bits("srv1", 1.0) == 0.0
    assert computers.bits(None, 1.0) == 0.0


def test_strangers_are_unsurprising_on_a_young_domain() -> None:
    """Where every sighting so far was a new machine, one more is under one bit."""
    computers = FirstSeenComputer("f", LIMITS)
    for i in range(50):
        computers.learn(f"ws{i}", f"srv{i}", float(i))
    assert computers.bits("another", 60.0) < 1.0


def test_ntlm_from_a_kerberos_source_is_rare_for_the_source() -> None:
    """A workstation that only ever spoke Kerberos sending NTLM scores its rarity."""
    population = Population()
    by_source = RareValueDetector("r", LIMITS, population, 0.1, 4.0)
    for i in range(100):
        population.observe("Kerberos/Network")
        by_source.learn("ws1", "Kerberos/Network", float(i))
    population.observe("NTLM/Network")
    assert by_source.bits("ws1", "NTLM/Network", 200.0) > 5.0
    assert by_source.bits("ws1", "Kerberos/Network", 200.0) == 0.0


def test_a_local_logon_does_not_feed_or_fire_the_source_rarity() -> None:
    """NTLM on the machine itself (source = destination) is no remote logon."""
    detectors = trained()
    local = logon(20_000, "u3", "ws3", "ws3", auth="NTLM")
    assert detectors.signals(local)[SIGNALS.index("rare_auth_type_for_source")] == 0.0
    table = detectors.rare_auth_source.table
    before = table.observed
    detectors.learn(local)
    assert table.observed == before
    detectors.learn(logon(20_001, "u3", "ws3", "files3", auth="NTLM"))
    assert table.observed == before + 1


def test_user_on_a_new_source_computer_is_surprising() -> None:
    """A creature of habit logging on from a machine it never used scores the novelty."""
    detectors = trained()
    moved = logon(20_000, "u3", "ws5", "files3")  # ws5 is known to the domain
    bits = detectors.signals(moved)[SIGNALS.index("new_user_source")]
    assert bits > 3.0
    assert detectors.signals(logon(20_000, "u3", "ws3", "files3"))[7:9] == (0.0, 0.0)


def test_unknown_user_or_first_seen_source_is_not_counted_twice() -> None:
    """An unknown account scores 0 on the source pair; a stranger machine scores only once."""
    pairs = NewPairDetector("p", LIMITS, newcomers=False)
    assert pairs.bits("nobody", "ws1", 0.0) == 0.0
    detectors = trained()
    bits = detectors.signals(logon(20_000, "u3", "ws-new", "files3"))
    assert bits[SIGNALS.index("first_seen_source")] > 0.0
    assert bits[SIGNALS.index("new_user_source")] == 0.0
    assert bits[SIGNALS.index("new_host_pair")] == 0.0


def test_spread_fires_from_the_floor_and_grows_a_bit_per_doubling() -> None:
    """Four new destinations reach the floor (1 bit); eight make 2 bits."""
    found = spread(floor=4)
    values = []
    for i in range(8):
        values.append(found.bits("ws1", f"h{i}", True, float(i)))
        found.count("ws1", f"h{i}", True, float(i))
    assert values[:3] == [0.0, 0.0, 0.0]
    assert values[3] == pytest.approx(1.0)
    assert values[7] == pytest.approx(2.0)
    assert found.evidence("ws1", 9.0)["new_destinations_in_window"] == 8


def test_spread_ignores_known_edges_repeats_and_old_days() -> None:
    """Known edges, the same destination again and yesterday's sweep count nothing."""
    found = spread(floor=2)
    for _ in range(5):
        found.count("ws1", "h1", True, 0.0)
        found.count("ws1", "h2", False, 0.0)
    assert found.bits("ws1", "h1", True, 1.0) == 0.0
    assert found.bits("ws1", "h3", False, 1.0) == 0.0
    assert found.bits("ws1", "h3", True, 1.0) > 0.0
    assert found.bits("ws1", "h3", True, 86400.0 + 1.0) == 0.0


def test_spread_memory_is_bounded() -> None:
    """A flood of sources and destinations keeps a fixed size."""
    found = SourceSpread("s", window_seconds=86400.0, floor=2, max_tracked=4, max_sources=16)
    for i in range(100):
        found.count(f"ws{i}", f"h{i}", True, float(i))
        found.count("ws99", f"d{i}", True, float(i))
    assert len(found.sources) <= 16
    assert found.evidence("ws99", 200.0)["new_destinations_in_window"] == 4


def test_spread_settings_refuse_nonsense() -> None:
    """A zero window or a floor of one is refused."""
    with pytest.raises(InvalidInput):
        HostAuthSettings(spread_floor=1)
    with pytest.raises(InvalidInput):
        HostAuthSettings(spread_window_seconds=0)
    with pytest.raises(InvalidInput):
        SourceSpread("s", window_seconds=1.0, floor=8, max_tracked=4, max_sources=16)


def test_a_sweep_from_a_stranger_raises_spread_evidence() -> None:
    """A new machine reaching a dozen servers in a day: the finding names the spread."""
    detectors = trained()
    for i in range(11):
        detectors.observe(logon(20_000 + i, "u3", "ws-evil", f"srv-{i}"))
    last = logon(20_011, "u3", "ws-evil", "srv-11", auth="NTLM")
    assert detectors.signals(last)[SIGNALS.index("source_spread")] == pytest.approx(1.26, abs=0.01)
    finding = detectors.observe(last)
    assert finding is not None
    assert finding.evidence["source_spread_bits"] == pytest.approx(1.26, abs=0.01)
    assert finding.evidence["spread_new_destinations_in_window"] == 11
