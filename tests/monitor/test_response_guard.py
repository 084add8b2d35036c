"""The guard honours automatic response: blocked sources, step-up demands, live risk."""

from __future__ import annotations

from datetime import timedelta

import pytest

from menshen.gateway.contract import Forward, Respond
from menshen.monitor.response.live import LiveResponse
from menshen.store.sql import SqlStore

from ..access.test_guard import World


@pytest.fixture
def world(sqlite_store: SqlStore) -> tuple[World, LiveResponse]:
    live = LiveResponse()
    world = World(sqlite_store, live=live)
    world.guard._containment = live  # as app.Server wires it (Guard(containment=...))
    return world, live


def test_a_blocked_source_is_refused_before_anything_else(
    world: tuple[World, LiveResponse],
) -> None:
    """Even a valid session from a blocked address gets 403, with an audit event."""
    w, live = world
    token = w.login("u-ann")
    live.block("t1", "10.0.0.5", w.clock.now() + timedelta(minutes=10))
    verdict = w.check("/ledger/books", token)
    assert isinstance(verdict, Respond)
    assert verdict.status == 403
    assert w.events[-1].reason == "source address blocked by automatic response"
    w.clock.advance(601)
    assert isinstance(w.check("/ledger/books", token), Forward)


def test_a_step_up_demand_sends_older_verifications_to_mfa(
    world: tuple[World, LiveResponse],
) -> None:
    """A session verified before the demand is stepped up; one verified after passes."""
    w, live = world
    before = w.login("u-ann")
    w.clock.advance(60)
    live.require_step_up("t1", "u-ann", w.clock.now())
    verdict = w.check("/ledger/books", before)
    assert isinstance(verdict, Respond)
    assert verdict.status == 302
    assert dict(verdict.headers)["location"].startswith("/.menshen/mfa?")
    w.clock.advance(1)
    assert isinstance(w.check("/ledger/books", w.login("u-ann")), Forward)


def test_a_step_up_demand_holds_the_users_own_pages_until_they_verify(
    world: tuple[World, LiveResponse],
) -> None:
    """Self-service pages (passkeys, devices, sessions) see a session held for step-up as
    not cleared, so a stolen session cannot enrol its own passkey or device meanwhile."""
    w, live = world
    w.login("u-ann")
    session = w.sessions.sessions_of("t1", "u-ann")[0]
    assert w.guard.cleared("t1", session)
    w.clock.advance(60)
    live.require_step_up("t1", "u-ann", w.clock.now())
    assert w.guard.signed_in("t1", session)
    assert not w.guard.cleared("t1", session)
    w.clock.advance(1)
    w.login("u-ann")
    fresh = [s for s in w.sessions.sessions_of("t1", "u-ann") if s.id != session.id]
    assert fresh
    assert w.guard.cleared("t1", fresh[0])
