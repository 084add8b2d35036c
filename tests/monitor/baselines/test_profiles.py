"""Profiles and the book: learning period, relearning, bounds, volume classes, codec."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from menshen.errors import InvalidInput
from menshen.monitor.baselines import BaselineBook, BaselineConfig
from menshen.monitor.baselines.codec import dump_firm, dump_profile, load_firm, load_profile
from menshen.monitor.detectors import DetectorSet
from menshen.monitor.model import Entity, EntityKind
from tests.monitor.detectors.helpers import T0, TableGeo, event, ip, login, train

ALICE = Entity(EntityKind.USER, "alice")


def _learner(config: BaselineConfig | None = None) -> DetectorSet:
    return DetectorSet(
        [],
        BaselineBook(config or BaselineConfig()),
        geo=TableGeo(),
        peer_group={"alice": "finance"}.get,
    )


def test_learning_ends_after_ten_sign_ins_but_not_before_five_days() -> None:
    """Ten logins on day one are not enough; on day five they are (Entra's bounds)."""
    learner = _learner()
    for n in range(12):
        learner.process(login(T0 + timedelta(minutes=n)))
    book = learner.book
    assert not book.mature(ALICE, (T0 + timedelta(days=1)).timestamp())
    assert book.mature(ALICE, (T0 + timedelta(days=5)).timestamp())


def test_learning_ends_after_fourteen_days_whatever_the_count() -> None:
    """A rare user is mature after 14 days."""
    learner = _learner()
    learner.process(login(T0))
    assert not learner.book.mature(ALICE, (T0 + timedelta(days=13)).timestamp())
    assert learner.book.mature(ALICE, (T0 + timedelta(days=14)).timestamp())


def test_learning_restarts_after_long_inactivity() -> None:
    """Back after 90 days: the profile learns again (Entra restarts after inactivity)."""
    learner = _learner()
    end = train(learner)
    later = end + timedelta(days=90)
    learner.process(event(later))
    assert not learner.book.mature(ALICE, later.timestamp())


def test_a_profile_stays_bounded_however_many_values_it_sees() -> None:
    """5,000 distinct networks and paths keep each top-K at its configured size."""
    config = BaselineConfig(top_networks=8, top_paths=16)
    learner = _learner(config)
    for n in range(5000):
        learner.process(
            event(
                T0 + timedelta(seconds=n),
                src_ip=f"10.{n // 256 % 256}.{n % 256}.1",
                resource=f"/r{n}/x",
            )
        )
    profile = learner.book.profile(ALICE)
    assert profile is not None
    assert len(profile.networks.entries) == 8
    assert len(profile.paths.entries) == 16
    assert len(profile.sessions) <= config.open_sessions
    assert len(json.dumps(dump_profile(profile))) < 20_000


def test_the_book_drops_the_least_recently_seen_tenth_when_full() -> None:
    """max_entities bounds the number of profiles."""
    learner = _learner(BaselineConfig(max_entities=50))
    for n in range(200):
        learner.process(event(T0 + timedelta(seconds=n), user=f"u{n}", device_id=None, src_ip=None))
    assert len(learner.book) <= 50
    assert learner.book.profile(Entity(EntityKind.USER, "u199")) is not None


def test_month_end_hours_are_learnt_apart_from_ordinary_hours() -> None:
    """Bytes on 31 March go to the month-end class, 30 March to the ordinary one."""
    learner = _learner()
    march_30 = T0 + timedelta(days=28)
    for day, sent in ((march_30, 1000), (march_30 + timedelta(days=1), 99_000)):
        learner.process(event(day, bytes_out=sent))
        learner.process(event(day + timedelta(hours=1), bytes_out=0))
    learner.process(event(march_30 + timedelta(days=2), bytes_out=0))
    profile = learner.book.profile(ALICE)
    assert profile is not None
    assert profile.month_end_bytes.count == 2  # both 31 March hours
    assert profile.month_end_bytes.mean == pytest.approx(49_500)
    assert profile.hourly_bytes.count == 2


def test_profiles_round_trip_through_versioned_json() -> None:
    """dump -> JSON -> load -> dump is the identity; the firm row too."""
    learner = _learner()
    train(learner, days=8)
    learner.process(login(T0 + timedelta(days=9), src_ip=ip("frankfurt")))
    profile = learner.book.profile(ALICE)
    assert profile is not None
    data = json.loads(json.dumps(dump_profile(profile)))
    again = load_profile(data, learner.book.config)
    assert dump_profile(again) == data
    firm = json.loads(json.dumps(dump_firm(learner.book)))
    other = BaselineBook(BaselineConfig())
    load_firm(other, firm)
    assert dump_firm(other) == firm
    assert other.peer_share("finance", "wiki:/pages/home") == pytest.approx(1.0)


@pytest.mark.parametrize(
    "change",
    [
        lambda d: d.update(v=99),
        lambda d: d.pop("hours"),
        lambda d: d["hours"].update(bins=[0.0]),
        lambda d: d.update(last_place=["x"]),
    ],
)
def test_a_document_of_another_version_or_broken_is_refused(change: object) -> None:
    """Unknown versions and broken documents raise InvalidInput, never guess."""
    learner = _learner()
    learner.process(event(T0))
    profile = learner.book.profile(ALICE)
    assert profile is not None
    data = dump_profile(profile)
    change(data)  # type: ignore[operator]
    with pytest.raises(InvalidInput):
        load_profile(data, learner.book.config)
