from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest

from menshen.errors import InvalidInput
from menshen.monitor.response.actions import ActionRunner
from menshen.monitor.response.live import LiveResponse
from menshen.monitor.response.model import ActionKind, PlannedAction
from menshen.store.records import TenantRecord
from menshen.store.sql import SqlStore

from .findings import T0
from .world import World


@pytest.fixture
def world(store: SqlStore) -> World:
    store.add_tenant(TenantRecord("t1", "T1", T0))
    return World(store)


def _planned(kind: ActionKind, target: str = "user:u-alice", key: str = "k1") -> PlannedAction:
    expires = timedelta(minutes=30) if kind is ActionKind.BLOCK_IP else None
    return PlannedAction("exfil", kind, "user:u-alice", target, key, "exfil: big download", expires)


def test_revoking_ends_every_session_of_the_user_once(world: World) -> None:
    """The first run ends both sessions; the same finding again takes no second action."""
    world.session(), world.session()
    first = asyncio.run(world.runner.run("t1", _planned(ActionKind.REVOKE_SESSIONS), "i1"))
    assert first is not None
    assert first.state == "done"
    assert first.details == {"sessions": 2}
    assert world.live_sessions() == 0
    world.session()
    assert asyncio.run(world.runner.run("t1", _planned(ActionKind.REVOKE_SESSIONS))) is None
    assert world.live_sessions() == 1
    assert len(world.store.tenant("t1").response_actions.list()) == 1
    assert world.kinds() == ["monitor.action.revoke_sessions:success"]


def test_observe_only_records_what_it_would_have_done(world: World) -> None:
    """In observe-only mode the session stays and the action is stored as observed."""
    world.observe = True
    world.session()
    record = asyncio.run(world.runner.run("t1", _planned(ActionKind.SUSPEND)))
    assert record is not None
    assert record.state == "observed"
    assert world.live_sessions() == 1
    assert world.store.tenant("t1").users.get("u-alice").disabled is False  # type: ignore[union-attr]
    assert world.kinds() == ["monitor.action.suspend:observed"]
    with pytest.raises(InvalidInput):
        asyncio.run(world.runner.undo("t1", record.id, by="admin"))


def test_suspending_disables_and_undo_enables(world: World) -> None:
    """Suspend disables the user and ends sessions; undo enables the account again."""
    world.session()
    record = asyncio.run(world.runner.run("t1", _planned(ActionKind.SUSPEND)))
    assert record is not None
    users = world.store.tenant("t1").users
    assert users.get("u-alice").disabled is True  # type: ignore[union-attr]
    assert world.live_sessions() == 0
    undone = asyncio.run(world.runner.undo("t1", record.id, by="admin"))
    assert undone.state == "undone"
    assert undone.undone_by == "admin"
    assert users.get("u-alice").disabled is False  # type: ignore[union-attr]
    assert world.kinds()[-1] == "monitor.action_undone:success"


def test_a_block_expires_is_undone_and_survives_a_restart(world: World) -> None:
    """The address is refused until the block ends; a new runner restores it; undo lifts it."""
    record = asyncio.run(world.runner.run("t1", _planned(ActionKind.BLOCK_IP, "ip:203.0.113.9")))
    assert record is not None
    assert world.live.blocked("t1", "203.0.113.9", T0 + timedelta(minutes=29))
    assert not world.live.blocked("t1", "203.0.113.9", T0 + timedelta(minutes=30))
    fresh = LiveResponse()  # after a restart: empty tables
    runner = ActionRunner(
        store=world.store,
        sessions=world.sessions,
        identity=lambda tenant_id: world.identity,
        live=fresh,
        publish=world.events.append,
        clock=world.clock,
        observe_only=lambda tenant_id: False,
    )
    runner.restore("t1", list(world.store.tenant("t1").response_actions.active(T0)))
    assert fresh.blocked("t1", "203.0.113.9", T0)
    asyncio.run(runner.undo("t1", record.id, by="admin"))
    assert not fresh.blocked("t1", "203.0.113.9", T0)


def test_step_up_is_demanded_since_the_action_and_undone(world: World) -> None:
    """Sessions verified before the action must verify again; undo drops the demand."""
    record = asyncio.run(world.runner.run("t1", _planned(ActionKind.REQUIRE_STEP_UP)))
    assert record is not None
    assert record.expires_at == T0 + timedelta(days=1)
    assert world.live.step_up_since("t1", "u-alice") == T0
    asyncio.run(world.runner.undo("t1", record.id, by="admin"))
    assert world.live.step_up_since("t1", "u-alice") is None


def test_quarantine_lowers_device_trust_and_undo_restores_it(world: World) -> None:
    """The device drops to registered with its sessions ended; undo gives back managed."""
    device_id = world.device("managed")
    record = asyncio.run(
        world.runner.run("t1", _planned(ActionKind.QUARANTINE_DEVICE, f"device:{device_id}"))
    )
    assert record is not None
    assert record.details["previous_trust"] == "managed"
    devices = world.store.tenant("t1").devices
    assert devices.get(device_id).approved_trust == "registered"  # type: ignore[union-attr]
    asyncio.run(world.runner.undo("t1", record.id, by="admin"))
    assert devices.get(device_id).approved_trust == "managed"  # type: ignore[union-attr]


def test_a_failed_action_is_recorded_and_audited(world: World) -> None:
    """Suspending a machine client that does not exist fails, stored as failed, audited."""
    record = asyncio.run(world.runner.run("t1", _planned(ActionKind.SUSPEND, "client:bank-a")))
    assert record is not None
    assert record.state == "failed"
    assert "no machine client" in record.details["error"]
    assert world.kinds() == ["monitor.action.suspend:failure"]
