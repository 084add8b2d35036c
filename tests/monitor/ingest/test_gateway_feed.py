"""The gateway's audit events: mapping per kind, the bounded hand-off, catch-up from the log."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest

from menshen.events.bus import EventBus
from menshen.events.model import AuditEvent, Kind, Outcome
from menshen.events.writer import AuditWriter
from menshen.monitor.ingest.gateway_feed import GatewayFeed
from menshen.monitor.ingest.gateway_map import TRANSFER_KIND, map_audit
from menshen.monitor.ingest.limits import IngestLimits
from menshen.monitor.ingest.pipeline import Pipeline
from menshen.monitor.ingest.sink import CollectingSink
from menshen.monitor.model import Category, EventOutcome
from menshen.store.sql import SqlStore
from menshen.testing import FixedClock

AT = datetime(2026, 11, 25, 3, 0, tzinfo=UTC)


def _event(kind: str, outcome: str, n: int = 0, **fields: object) -> AuditEvent:
    return AuditEvent(
        tenant_id="t1",
        kind=kind,
        outcome=outcome,
        at=AT,
        id=f"e{n:05d}",
        **fields,  # type: ignore[arg-type]
    )


@pytest.mark.parametrize(
    ("kind", "outcome", "category", "action", "observed"),
    [
        (Kind.LOGIN_SUCCESS, Outcome.SUCCESS, Category.AUTHENTICATION, "login", "success"),
        (Kind.LOGIN_FAILURE, Outcome.FAILURE, Category.AUTHENTICATION, "login", "failure"),
        (Kind.MFA_SUCCESS, Outcome.SUCCESS, Category.MFA, "mfa", "success"),
        (Kind.MFA_FAILURE, Outcome.FAILURE, Category.MFA, "mfa", "failure"),
        (Kind.ACCESS_ALLOW, Outcome.ALLOW, Category.ACCESS, "allow", "success"),
        (Kind.ACCESS_DENY, Outcome.DENY, Category.ACCESS, "deny", "failure"),
        (Kind.ACCESS_STEP_UP, Outcome.STEP_UP, Category.ACCESS, "step_up", "failure"),
        (Kind.LOGOUT, Outcome.SUCCESS, Category.SESSION, "logout", "success"),
        (Kind.SESSION_REVOKED, Outcome.SUCCESS, Category.SESSION, "revoked", "success"),
        (TRANSFER_KIND, Outcome.SUCCESS, Category.TRANSFER, "transfer", "success"),
    ],
)
def test_each_gateway_kind_maps(
    kind: str, outcome: str, category: Category, action: str, observed: str
) -> None:
    """Every monitored audit kind has its category, action and outcome."""
    event = map_audit(
        _event(
            kind,
            outcome,
            actor="u-alice",
            app="payroll",
            ip="203.0.113.9",
            session_id="s1",
            reason="password",
            details={"path": "/export", "bytes_out": 5_000_000, "method": "totp"},
        )
    )
    assert event is not None
    assert (event.category, event.action, event.outcome) == (
        category,
        action,
        EventOutcome(observed),
    )
    assert (event.user, event.src_ip, event.session_id, event.app) == (
        "u-alice",
        "203.0.113.9",
        "s1",
        "payroll",
    )
    assert event.resource == "/export"
    assert event.source == "gateway"
    assert event.event_id == "e00000"
    assert event.bytes_out == 5_000_000
    assert event.is_mfa is (True if category is Category.MFA else None)


def test_failed_login_names_the_typed_username() -> None:
    """A failed login has no actor: the subject (the username typed) is the user."""
    event = map_audit(_event(Kind.LOGIN_FAILURE, Outcome.FAILURE, subject="alice"))
    assert event is not None
    assert event.user == "alice"


def test_admin_changes_are_not_monitored() -> None:
    """Kinds that are not a user's behaviour map to None."""
    assert map_audit(_event(Kind.ADMIN_CHANGE, Outcome.SUCCESS)) is None


def _setup(
    store: SqlStore, capacity: int
) -> tuple[EventBus, GatewayFeed, Pipeline, CollectingSink, AuditWriter]:
    clock = FixedClock(AT)
    bus = EventBus()
    sink = CollectingSink()
    pipeline = Pipeline(sink, clock, IngestLimits(queue=100_000, burst=100_000, batch=100_000))
    feed = GatewayFeed(pipeline, store, clock, capacity=capacity)
    feed.start_cursors()
    bus.subscribe(feed)
    writer = AuditWriter(store, bus, clock)
    return bus, feed, pipeline, sink, writer


def test_a_full_handoff_drops_count_and_catch_up_recovers_every_event(
    sqlite_store: SqlStore,
) -> None:
    """With room for 10, 50 events: 40 dropped live, all 50 delivered once after catch-up."""
    bus, feed, pipeline, sink, writer = _setup(sqlite_store, capacity=10)
    events = [_event(Kind.ACCESS_ALLOW, Outcome.ALLOW, n, actor="u1") for n in range(50)]
    for event in events:
        bus.publish(event)
    assert feed.dropped == 40
    feed.pump()
    writer.write_now(bus.take(1000))
    recovered = asyncio.run(feed.reconcile())
    assert recovered == 40
    while pipeline.drain_once():
        pass
    assert sorted(e.event_id for e in sink.events) == [e.id for e in events]
    # A second round finds nothing new and the cursor is stored.
    assert asyncio.run(feed.reconcile()) == 0
    assert sqlite_store.tenant("t1").monitor_cursors.get("monitor.ingest") == 50


def test_events_written_before_they_were_pumped_are_delivered_once(sqlite_store: SqlStore) -> None:
    """Catch-up that reads a row still in the hand-off does not deliver it twice."""
    bus, feed, pipeline, sink, writer = _setup(sqlite_store, capacity=1000)
    events = [_event(Kind.LOGIN_SUCCESS, Outcome.SUCCESS, n, actor="u1") for n in range(20)]
    for event in events:
        bus.publish(event)
    writer.write_now(bus.take(1000))
    asyncio.run(feed.reconcile())  # pumps first, so these count as live
    feed.pump()
    while pipeline.drain_once():
        pass
    assert sorted(e.event_id for e in sink.events) == [e.id for e in events]


def test_events_written_while_the_monitor_was_down_are_caught_up(sqlite_store: SqlStore) -> None:
    """A restarted feed reads the log from its stored cursor."""
    bus, feed, _pipeline, _sink, writer = _setup(sqlite_store, capacity=1000)
    first = _event(Kind.LOGIN_SUCCESS, Outcome.SUCCESS, 1, actor="u1")
    bus.publish(first)
    writer.write_now(bus.take(10))
    asyncio.run(feed.reconcile())
    # The process stops; two events are written by another process meanwhile.
    later = [_event(Kind.LOGIN_FAILURE, Outcome.FAILURE, n, subject="bob") for n in (2, 3)]
    AuditWriter(sqlite_store, EventBus(), FixedClock(AT)).write_now(later)
    _, feed2, pipeline2, sink2, _ = _setup(sqlite_store, capacity=1000)
    assert asyncio.run(feed2.reconcile()) == 2
    pipeline2.drain_once()
    assert [e.event_id for e in sink2.events] == ["e00002", "e00003"]


def test_the_subscriber_never_raises_into_the_publisher(sqlite_store: SqlStore) -> None:
    """Publishing with a full hand-off only counts; the bus sees no subscriber error."""
    bus, feed, _, _, _ = _setup(sqlite_store, capacity=0)
    bus.publish(_event(Kind.ACCESS_ALLOW, Outcome.ALLOW))
    assert feed.dropped == 1
    assert bus.subscriber_errors == 0


def test_the_gateway_is_bounded_by_the_queue_not_by_the_outside_senders_rate(
    sqlite_store: SqlStore,
) -> None:
    """A busy gateway outruns any flood rate: its events pass the rate, not the queue bound."""
    clock = FixedClock(AT)
    pipeline = Pipeline(CollectingSink(), clock, IngestLimits(queue=300, rate=1.0, burst=1))
    feed = GatewayFeed(pipeline, sqlite_store, clock, capacity=1000, batch=100)
    for n in range(250):
        feed(_event(Kind.ACCESS_ALLOW, Outcome.ALLOW, n, actor="u1"))
    assert feed.pump() == 250
    assert feed.dropped == 0
    for n in range(250, 400):
        feed(_event(Kind.ACCESS_ALLOW, Outcome.ALLOW, n, actor="u1"))
    feed.pump()
    assert feed.dropped == 100  # the queue's bound (300) still holds


def test_one_pump_takes_a_bounded_share_of_the_handoff(sqlite_store: SqlStore) -> None:
    """A pump call maps at most four batches, so the event loop is never held for long."""
    clock = FixedClock(AT)
    pipeline = Pipeline(CollectingSink(), clock, IngestLimits(queue=100_000, burst=100_000))
    feed = GatewayFeed(pipeline, sqlite_store, clock, capacity=10_000, batch=100)
    for n in range(1000):
        feed(_event(Kind.ACCESS_ALLOW, Outcome.ALLOW, n, actor="u1"))
    assert feed.pump() == 400
    assert feed.pending == 600
    assert feed.pump(most=1000) == 600


def test_a_full_page_marks_the_catch_up_behind(sqlite_store: SqlStore) -> None:
    """Reading a full page of the log means it ran ahead: the next round comes soon."""
    clock = FixedClock(AT)
    bus = EventBus()
    pipeline = Pipeline(CollectingSink(), clock, IngestLimits(queue=100_000, burst=100_000))
    feed = GatewayFeed(pipeline, sqlite_store, clock, capacity=0, read_limit=10)
    feed.start_cursors()
    writer = AuditWriter(sqlite_store, bus, clock)
    writer.write_now([_event(Kind.ACCESS_ALLOW, Outcome.ALLOW, n, actor="u1") for n in range(25)])
    assert asyncio.run(feed.reconcile()) == 10
    assert feed.behind
    asyncio.run(feed.reconcile())
    assert asyncio.run(feed.reconcile()) == 5
    assert not feed.behind
