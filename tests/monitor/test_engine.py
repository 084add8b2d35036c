from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import replace
from datetime import timedelta

import pytest

from menshen.monitor.engine import Detect, MonitorEngine, per_tenant
from menshen.monitor.incidents.book import IncidentBook
from menshen.monitor.model import Category, Entity, EntityKind, Finding, ObservedEvent, Severity
from menshen.monitor.response.live import LiveResponse
from menshen.monitor.response.notify import Notifications
from menshen.settings import MonitorOptions, NotifierOptions, PlaybookOptions
from menshen.store.records import TenantRecord
from menshen.store.sql import SqlStore

from .findings import T0
from .receivers import http_receiver
from .world import World

BIG = 5_000_000_000


def big_downloads(event: ObservedEvent) -> Sequence[Finding]:
    """A test detector: any transfer over 1 GB is a high finding about the user."""
    if event.category is not Category.TRANSFER or event.bytes_out < 1_000_000_000:
        return ()
    return (
        Finding(
            tenant_id=event.tenant_id,
            detector="volume",
            subject=Entity(EntityKind.USER, event.user or "?"),
            at=event.at,
            severity=Severity.HIGH,
            confidence=1.0,
            summary=f"downloaded {event.bytes_out} bytes",
            event_ids=(event.event_id,),
            source_ip=event.src_ip,
            session_id=event.session_id,
        ),
    )


def _event(event_id: str, bytes_out: int = BIG, after: timedelta = timedelta(0)) -> ObservedEvent:
    return ObservedEvent(
        "t1",
        T0 + after,
        "gateway",
        event_id,
        Category.TRANSFER,
        "transfer",
        user="u-alice",
        src_ip="203.0.113.9",
        bytes_out=bytes_out,
    )


def _options(url: str, observe: bool = False) -> MonitorOptions:
    return MonitorOptions(
        observe_only=observe,
        playbooks=(
            PlaybookOptions(
                "exfil",
                detectors=("volume",),
                min_severity="high",
                actions=("revoke_sessions",),
                notify=("soc",),
            ),
        ),
        notifiers={"soc": NotifierOptions("soc", "webhook", url=url, secret="x" * 20)},
    )


def _engine(
    world: World, options: MonitorOptions, live: LiveResponse | None = None
) -> MonitorEngine:
    return MonitorEngine(
        store=world.store,
        live=live or world.live,
        actions=world.runner,
        notifications=Notifications(publish=world.events.append, clock=world.clock),
        incidents=IncidentBook(world.store, lambda tenant_id: timedelta(hours=1)),
        options=lambda tenant_id: options,
        clock=world.clock,
        publish=world.events.append,
        detect=big_downloads,
    )


@pytest.fixture
def world(store: SqlStore) -> World:
    store.add_tenant(TenantRecord("t1", "T1", T0))
    return World(store)


def _run(engine: MonitorEngine, *events: ObservedEvent) -> None:
    async def go() -> None:
        engine.start()
        engine.accept(list(events))
        await asyncio.wait_for(engine.drain(), 30)
        await asyncio.wait_for(engine._notifications.drain(), 30)
        await engine.stop()

    asyncio.run(go())


def test_a_finding_raises_risk_at_once_and_the_playbook_acts(world: World) -> None:
    """accept() sets the live score before returning; the session ends; the SOC is told."""
    world.session()
    with http_receiver() as (url, got):
        engine = _engine(world, _options(url))
        engine.accept([_event("small", bytes_out=10)])
        assert world.live.risk("t1", "u-alice") == 0.0
        _run(engine, _event("e1"))
    assert world.live.risk("t1", "u-alice") == pytest.approx(70.0)
    assert world.live_sessions() == 0
    assert len(got.requests) == 1
    (incident,) = IncidentBook(world.store, lambda t: timedelta(hours=1)).list("t1")
    assert incident.responded_at == T0
    assert incident.subject == "user:u-alice"
    kinds = [e.kind for e in world.events]
    assert "monitor.finding" in kinds
    assert "monitor.incident.opened" in kinds
    assert "monitor.action.revoke_sessions" in kinds
    assert "monitor.notify.sent" in kinds


def test_the_same_event_twice_acts_and_notifies_once(world: World) -> None:
    """A replayed event scores again but takes no second action and sends no second alert."""
    with http_receiver() as (url, got):
        engine = _engine(world, _options(url))
        _run(engine, _event("e1"), _event("e1"))
    assert len(world.store.tenant("t1").response_actions.list()) == 1
    assert len(got.requests) == 1
    assert engine.repeated == 1
    assert world.live.risk("t1", "u-alice") == pytest.approx(70.0)


def test_observe_only_runs_everything_but_the_action(world: World) -> None:
    """The score, the incident and the alert happen; the session stays."""
    world.session()
    world.observe = True  # what ActionRunner reads (tenants.<id>.monitor.observe_only)
    with http_receiver() as (url, got):
        _run(_engine(world, _options(url, observe=True)), _event("e1"))
    assert world.live_sessions() == 1
    (action,) = world.store.tenant("t1").response_actions.list()
    assert action.state == "observed"
    assert b'"observe_only":true' in got.requests[0][2]


def test_scores_survive_a_restart_and_decay(world: World) -> None:
    """A new engine loads the stored score; a tick a half-life later halves it."""
    with http_receiver() as (url, _):
        _run(_engine(world, _options(url)), _event("e1"))
        fresh = LiveResponse()
        engine = _engine(world, _options(url), fresh)
        engine.load(["t1"])
        assert fresh.risk("t1", "u-alice") == pytest.approx(70.0)
        world.clock.advance(24 * 3600)
        asyncio.run(engine.tick())
    assert fresh.risk("t1", "u-alice") == pytest.approx(35.0)
    (stored,) = world.store.tenant("t1").risk_scores.list()
    assert stored.subject == "user:u-alice"
    assert stored.score == pytest.approx(35.0)


def test_a_broken_detector_is_counted_and_the_rest_goes_on(world: World) -> None:
    """An exception in detection skips that event; later events are still scored."""
    calls = iter([RuntimeError("boom"), None])

    def flaky(event: ObservedEvent) -> Sequence[Finding]:
        error = next(calls)
        if error is not None:
            raise error
        return big_downloads(event)

    with http_receiver() as (url, _):
        engine = _engine(world, replace(_options(url), playbooks=()))
        engine.detect = flaky
        _run(engine, _event("e1"), _event("e2"))
    assert engine.detector_errors == 1
    assert engine.findings == 1


def test_each_tenant_gets_its_own_detector_set() -> None:
    """per_tenant builds one detection per tenant, on that tenant's first event."""
    built: list[str] = []

    def make(tenant_id: str) -> Detect:
        built.append(tenant_id)
        return big_downloads

    detect = per_tenant(make)
    detect(_event("e1"))
    detect(_event("e2"))
    assert built == ["t1"]
