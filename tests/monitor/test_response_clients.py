"""Automatic response against machine clients: suspend, undo, and per-client events."""

from __future__ import annotations

import asyncio

import pytest

from menshen.events.model import AuditEvent, Kind, Outcome
from menshen.identity.clients import MachineClientService, SecretHasher
from menshen.monitor.ingest.gateway_map import map_audit
from menshen.monitor.response.model import ActionKind, PlannedAction
from menshen.store.records import TenantRecord
from menshen.store.sql import SqlStore

from .findings import T0
from .world import World


@pytest.fixture
def world(store: SqlStore) -> World:
    store.add_tenant(TenantRecord("t1", "T1", T0))
    return World(store)


def _suspend(key: str = "k1", kind: ActionKind = ActionKind.SUSPEND) -> PlannedAction:
    return PlannedAction("abuse", kind, "client:bank-a", "client:bank-a", key, "abuse: spike")


def _clients(world: World) -> MachineClientService:
    return MachineClientService(
        world.store.tenant("t1").machine_clients, "t1", SecretHasher(b"m" * 32), world.clock
    )


def test_suspending_a_client_and_undo_resumes_it(world: World) -> None:
    """The playbook suspends the client in the registry; undo lifts the suspension."""
    _clients(world).create("bank-a", by="test")
    record = asyncio.run(world.runner.run("t1", _suspend()))
    assert record is not None
    assert record.state == "done"
    assert record.details == {"suspended": True}
    repo = world.store.tenant("t1").machine_clients
    suspended = repo.get("bank-a")
    assert suspended is not None
    assert suspended.suspended_by == "monitor"
    assert suspended.suspend_reason == "automatic response: abuse"
    asyncio.run(world.runner.undo("t1", record.id, by="admin"))
    resumed = repo.get("bank-a")
    assert resumed is not None
    assert resumed.suspended_at is None
    assert world.kinds() == ["monitor.action.suspend:success", "monitor.action_undone:success"]


def test_undo_leaves_a_suspension_an_admin_made(world: World) -> None:
    """A client suspended already by an admin stays suspended when the action is undone."""
    _clients(world).create("bank-a", by="test")
    _clients(world).suspend("bank-a", by="admin", reason="contract ended")
    record = asyncio.run(world.runner.run("t1", _suspend()))
    assert record is not None
    assert record.details == {"suspended": False}
    asyncio.run(world.runner.undo("t1", record.id, by="admin"))
    kept = world.store.tenant("t1").machine_clients.get("bank-a")
    assert kept is not None
    assert kept.suspend_reason == "contract ended"


def test_other_actions_on_a_client_fail_cleanly(world: World) -> None:
    """Only suspension applies to a client; anything else is a recorded failure."""
    _clients(world).create("bank-a", by="test")
    record = asyncio.run(world.runner.run("t1", _suspend(kind=ActionKind.REQUIRE_STEP_UP)))
    assert record is not None
    assert record.state == "failed"
    client = world.store.tenant("t1").machine_clients.get("bank-a")
    assert client is not None
    assert client.suspended_at is None


def test_client_events_become_per_client_observations() -> None:
    """An access or token event whose actor is client:<name> is about that client, not a user."""
    for kind in (Kind.ACCESS_ALLOW, Kind.LOGIN_FAILURE):
        observed = map_audit(
            AuditEvent("t1", kind, Outcome.ALLOW, T0, actor="client:bank-a", app="ledger")
        )
        assert observed is not None
        assert observed.client_id == "bank-a"
        assert observed.user is None
    person = map_audit(AuditEvent("t1", Kind.ACCESS_ALLOW, Outcome.ALLOW, T0, actor="u-1"))
    assert person is not None
    assert (person.user, person.client_id) == ("u-1", None)
