"""The host-authentication detectors on hand-made logons: each signal fires and stays quiet."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from menshen.errors import InvalidInput
from menshen.monitor.hostauth.detect import SIGNALS, HostAuthDetectors
from menshen.monitor.hostauth.fanout import FanOutDetector
from menshen.monitor.hostauth.lanl import LanlReader
from menshen.monitor.hostauth.novelty import NewPairDetector
from menshen.monitor.hostauth.profiles import Population, ProfileLimits, ProfileTable
from menshen.monitor.hostauth.rarity import RareValueDetector
from menshen.monitor.hostauth.settings import HostAuthSettings
from menshen.monitor.model import Category, EntityKind, EventOutcome, ObservedEvent

T0 = datetime(2026, 3, 2, 9, tzinfo=UTC)
LIMITS = ProfileLimits()


def logon(
    seconds: float,
    user: str,
    src: str,
    dst: str,
    auth: str = "Kerberos",
    logon_type: str = "Network",
    action: str = "logon",
) -> ObservedEvent:
    return ObservedEvent(
        tenant_id="t1",
        at=T0 + timedelta(seconds=seconds),
        source="test",
        event_id=f"{seconds}-{user}-{dst}",
        category=Category.AUTHENTICATION,
        action=action,
        outcome=EventOutcome.SUCCESS,
        user=user,
        src_host=src,
        dst_host=dst,
        auth_type=auth,
        logon_type=logon_type,
    )


def trained(events: int = 200) -> HostAuthDetectors:
    """A small domain: ten users each reaching their own two servers with Kerberos."""
    detectors = HostAuthDetectors()
    for i in range(events):
        user = f"u{i % 10}"
        detectors.learn(logon(i * 60, user, f"ws{i % 10}", f"srv{i % 2}"))
        detectors.learn(logon(i * 60 + 1, user, f"ws{i % 10}", f"files{i % 10}"))
    return detectors


def test_known_pair_is_not_new() -> None:
    """A user→computer edge seen before carries no novelty."""
    pairs = NewPairDetector("p", LIMITS)
    for i in range(20):
        pairs.learn("alice", "srv1", float(i))
    assert pairs.bits("alice", "srv1", 30.0) == 0.0


def test_new_pair_of_a_creature_of_habit_is_surprising() -> None:
    """A user who always reaches one server makes a new one several bits surprising."""
    pairs = NewPairDetector("p", LIMITS)
    for i in range(100):
        pairs.learn("alice", "srv1", float(i))
    assert pairs.bits("alice", "db9", 200.0) > 5.0


def test_new_pair_of_a_roamer_is_not_surprising() -> None:
    """An administrator who reaches a new machine most times gets well under one bit."""
    pairs = NewPairDetector("p", LIMITS)
    for i in range(50):
        pairs.learn("admin", f"host{i}", float(i))
    assert pairs.bits("admin", "host-new", 60.0) < 1.0


def test_rare_auth_type_for_a_kerberos_only_server() -> None:
    """NTLM into a server that only ever saw Kerberos is rare; Kerberos is not."""
    population = Population()
    rare = RareValueDetector("r", LIMITS, population, 0.1, 4.0)
    for i in range(100):
        population.observe("Kerberos/Network")
        rare.learn("srv1", "Kerberos/Network", float(i))
    for _ in range(10):
        population.observe("NTLM/Network")
    assert rare.bits("srv1", "NTLM/Network", 200.0) > 4.0
    assert rare.bits("srv1", "Kerberos/Network", 200.0) == 0.0
    assert rare.bits("srv1", None, 200.0) == 0.0


def test_fan_out_fires_over_the_floor_and_the_own_peak() -> None:
    """A source reaching many new destinations in one window fires; a quiet one does not."""
    fan = FanOutDetector("f", LIMITS, window_seconds=3600, floor=4, ratio=2.0, max_tracked=64)
    for i in range(3):
        assert fan.bits("ws1", f"srv{i}", "alice", float(i)) == 0.0
        fan.count("ws1", f"srv{i}", "alice", float(i))
    assert fan.bits("ws1", "srv9", "alice", 10.0) > 0.0
    assert fan.bits("ws2", "srv1", "bob", 10.0) == 0.0


def test_fan_out_of_a_server_that_always_fans_out_is_its_normal() -> None:
    """A source whose earlier clean windows reached 20 destinations is not flagged at 21."""
    fan = FanOutDetector("f", LIMITS, window_seconds=3600, floor=4, ratio=2.0, max_tracked=64)
    for i in range(20):
        fan.count("backup", f"h{i}", "svc", float(i))
    assert fan.bits("backup", "h99", "svc", 3600.0 + 21) == 0.0


def test_profile_memory_is_bounded() -> None:
    """A flood of invented entities and values never grows the table past its limits."""
    table = ProfileTable(ProfileLimits(max_items=4, max_entities=16))
    for i in range(1000):
        table.observe(f"user{i}", f"host{i}", float(i))
        table.observe("one", f"host{i}", float(i))
    assert len(table) <= 16
    assert len(table.profiles["one"].seen) <= 4


def test_old_behaviour_decays_until_forgotten() -> None:
    """A pair unused for months is new again (the count halved below the forgetting floor)."""
    table = ProfileTable(ProfileLimits(half_life_seconds=86400.0))
    table.observe("alice", "srv1", 0.0)
    profile = table.get("alice", 30 * 86400.0)
    assert profile is not None
    assert "srv1" not in profile.seen


def test_lateral_movement_raises_one_finding_with_evidence() -> None:
    """An NTLM network logon to a stranger's server from a new machine becomes a Finding."""
    detectors = trained()
    finding = detectors.observe(logon(20_000, "u3", "ws-evil", "files7", auth="NTLM"))
    assert finding is not None
    assert finding.subject.kind is EntityKind.USER
    assert finding.subject.id == "u3"
    score = finding.evidence["score_bits"]
    assert isinstance(score, float)
    assert score >= detectors.settings.alert_bits
    assert "new_user_host_bits" in finding.evidence
    assert "first_seen_source_bits" in finding.evidence  # ws-evil: never seen in the domain
    assert "new_host_pair_bits" not in finding.evidence  # its newness is counted once
    assert "rare_auth_type_for_source_bits" in finding.evidence
    assert 0.5 <= finding.confidence <= 0.99


def test_habitual_logons_raise_nothing() -> None:
    """The users' usual Kerberos logons to their usual servers are quiet."""
    detectors = trained()
    assert detectors.observe(logon(20_000, "u3", "ws3", "files3")) is None
    assert detectors.observe(logon(20_001, "u4", "ws4", "srv0")) is None


def test_logoffs_and_other_categories_are_not_scored() -> None:
    """A logoff is learned, not judged; a non-authentication event is ignored."""
    detectors = trained()
    assert (
        detectors.observe(logon(20_000, "u3", "ws-evil", "files7", auth="NTLM", action="logoff"))
        is None
    )
    other = ObservedEvent(
        tenant_id="t1",
        at=T0,
        source="test",
        event_id="x",
        category=Category.ACCESS,
        action="request",
        user="u3",
    )
    assert detectors.observe(other) is None


def test_a_finding_teaches_the_baseline_by_default() -> None:
    """After an alert the pairs are known and the repeat scores lower (learned by default)."""
    detectors = trained()
    first = logon(20_000, "u3", "ws-evil", "files7", auth="NTLM")
    before = detectors.signals(first)
    assert detectors.observe(first) is not None
    after = detectors.signals(logon(20_010, "u3", "ws-evil", "files7", auth="NTLM"))
    assert after[0] == 0.0
    assert after[1] == 0.0
    assert after[SIGNALS.index("first_seen_source")] == 0.0
    assert sum(after) < sum(before)


def test_findings_can_be_kept_out_of_the_baseline() -> None:
    """With learn_from_findings off, the same attack seen twice alarms twice."""
    detectors = trained()
    detectors.settings = HostAuthSettings(learn_from_findings=False)
    assert detectors.observe(logon(20_000, "u3", "ws-evil", "files7", auth="NTLM")) is not None
    assert detectors.observe(logon(20_010, "u3", "ws-evil", "files7", auth="NTLM")) is not None


def test_settings_refuse_nonsense() -> None:
    """Thresholds outside their ranges are refused at construction."""
    with pytest.raises(InvalidInput):
        HostAuthSettings(alert_bits=0)
    with pytest.raises(InvalidInput):
        HostAuthSettings(rare_below=1.5)


def test_lanl_line_becomes_an_observed_event() -> None:
    """The nine LANL fields map onto the event; ? is None; the day survives."""
    reader = LanlReader("t1")
    event = reader.parse("172801,U12@DOM1,U12@DOM1,C17693,C1003,NTLM,?,LogOn,Fail\n", 3)
    assert (event.user, event.src_host, event.dst_host) == ("U12@DOM1", "C17693", "C1003")
    assert event.auth_type == "NTLM"
    assert event.logon_type is None
    assert event.action == "logon"
    assert event.outcome is EventOutcome.FAILURE
    assert (event.at - reader.origin).total_seconds() == 172801


@pytest.mark.parametrize(
    "line",
    [
        "1,U1@D,U1@D,C1,C2,NTLM,Network,LogOn",
        "x,U1@D,U1@D,C1,C2,NTLM,Network,LogOn,Success",
        "-5,U1@D,U1@D,C1,C2,NTLM,Network,LogOn,Success",
        "1,U1@D,U1@D,C1,C2,NTLM,Network,LogOn,Maybe",
        "1," + "U" * 300 + ",U1@D,C1,C2,NTLM,Network,LogOn,Success",
    ],
)
def test_malformed_lanl_lines_are_counted_not_raised(line: str) -> None:
    """Reading skips a malformed line, counts it and keeps its reason."""
    reader = LanlReader("t1")
    assert list(reader.read([line])) == []
    assert reader.malformed_count == 1
    assert reader.malformed[0].reason


@given(st.text(max_size=400))
def test_any_text_is_an_event_or_a_counted_reason(line: str) -> None:
    """Whatever the line, the reader yields an event or counts it; nothing else escapes."""
    reader = LanlReader("t1")
    events = list(reader.read([line]))
    assert len(events) + reader.malformed_count <= 1


@given(
    st.integers(min_value=0, max_value=10 * 365 * 86400),
    st.from_regex(r"[A-Z][0-9]{1,5}\$?@DOM1", fullmatch=True),
    st.sampled_from(["NTLM", "Kerberos", "?"]),
    st.sampled_from(["Network", "Interactive", "?"]),
)
def test_well_formed_lines_always_parse(second: int, user: str, auth: str, kind: str) -> None:
    """Every well-formed line maps, keeping its second and its user."""
    reader = LanlReader("t1")
    event = reader.parse(f"{second},{user},{user},C1,C2,{auth},{kind},LogOn,Success", 1)
    assert (event.at - reader.origin).total_seconds() == second
    assert event.user == user
