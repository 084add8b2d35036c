"""The event value and the in-process bus."""

from __future__ import annotations

import dataclasses
from datetime import datetime

import pytest

from menshen.errors import InvalidInput
from menshen.events.bus import EventBus, Subscriber
from menshen.events.model import AuditEvent, Kind

from .conftest import T0, make_event


def test_event_gets_a_random_hex_id_by_default() -> None:
    """Two events made without ids get distinct uuid4 hex ids."""
    a = AuditEvent(tenant_id="t1", kind=Kind.LOGOUT, outcome="success", at=T0)
    b = AuditEvent(tenant_id="t1", kind=Kind.LOGOUT, outcome="success", at=T0)
    assert a.id != b.id
    assert len(a.id) == 32
    int(a.id, 16)


def test_event_refuses_a_naive_time() -> None:
    """An event time without a zone is a bug, caught where it is made."""
    with pytest.raises(InvalidInput):
        AuditEvent(tenant_id="t1", kind="logout", outcome="success", at=datetime(2026, 1, 1))


@pytest.mark.parametrize("kind", ["", "Access.Allow", "access..allow", "access allow", "x" * 65])
def test_event_refuses_a_malformed_kind(kind: str) -> None:
    """Kinds are short dotted lower-case names."""
    with pytest.raises(InvalidInput):
        AuditEvent(tenant_id="t1", kind=kind, outcome="allow", at=T0)


def test_event_refuses_an_overlong_id() -> None:
    """Ids longer than the store's column are refused at construction."""
    with pytest.raises(InvalidInput):
        AuditEvent(tenant_id="t1", kind="logout", outcome="success", at=T0, id="x" * 129)


def test_publish_queues_in_order_and_take_drains() -> None:
    """Published events come out of take() oldest first, in bounded batches."""
    bus = EventBus()
    events = [make_event(i) for i in range(5)]
    for event in events:
        bus.publish(event)
    assert bus.pending == 5
    assert bus.take(3) == events[:3]
    assert bus.take(10) == events[3:]
    assert bus.take(10) == []
    assert bus.high_water == 5


def test_subscribers_see_every_event() -> None:
    """A subscriber is called with each event published after it subscribed."""
    bus = EventBus()
    seen: list[AuditEvent] = []
    bus.subscribe(seen.append)
    bus.publish(make_event(1))
    bus.publish(make_event(2))
    assert [e.id for e in seen] == ["ev00000001", "ev00000002"]


def test_unsubscribe_stops_delivery() -> None:
    """After unsubscribing, a callback is no longer called."""
    bus = EventBus()
    seen: list[AuditEvent] = []
    unsubscribe = bus.subscribe(seen.append)
    bus.publish(make_event(1))
    unsubscribe()
    bus.publish(make_event(2))
    assert len(seen) == 1


def test_a_failing_subscriber_never_breaks_publish() -> None:
    """A subscriber that raises is reported; the event is still queued and others still run."""
    errors: list[BaseException] = []

    def broken(event: AuditEvent) -> None:
        raise RuntimeError("monitor bug")

    def report(subscriber: Subscriber, error: BaseException) -> None:
        errors.append(error)

    bus = EventBus(on_error=report)
    seen: list[AuditEvent] = []
    bus.subscribe(broken)
    bus.subscribe(seen.append)
    bus.publish(make_event(1))
    assert bus.pending == 1
    assert len(seen) == 1
    assert bus.subscriber_errors == 1
    assert isinstance(errors[0], RuntimeError)


def test_a_failing_error_reporter_is_swallowed_too() -> None:
    """Even the error reporter failing does not reach the publisher."""

    def broken(event: AuditEvent) -> None:
        raise RuntimeError("monitor bug")

    def broken_report(subscriber: Subscriber, error: BaseException) -> None:
        raise ValueError("reporter bug")

    bus = EventBus(on_error=broken_report)
    bus.subscribe(broken)
    bus.publish(make_event(1))
    assert bus.pending == 1


def test_events_are_immutable() -> None:
    """An event cannot be changed after it is published."""
    event = make_event(1)
    with pytest.raises(dataclasses.FrozenInstanceError):
        event.kind = "access.deny"  # type: ignore[misc]


def test_sequential_event_ids_are_unique_and_differ_between_sources() -> None:
    """The request path's ids never repeat within a source, nor across two sources."""
    from menshen.events.model import SequentialEventIds

    first = SequentialEventIds(lambda n: b"\x01" * n)
    second = SequentialEventIds(lambda n: b"\x02" * n)
    ids = [first() for _ in range(1000)] + [second() for _ in range(1000)]
    assert len(set(ids)) == 2000
    assert all(len(i) == 32 for i in ids)
