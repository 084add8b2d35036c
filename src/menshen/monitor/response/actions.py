"""Taking, recording and undoing playbook actions (NIST SP 800-61r2 §3.3.4, containment).

Each planned action is first stored under its ``dedupe_key``: when a row with that key
exists, the action was taken (or observed) already and nothing happens, so one finding
leads to one action however often it is seen. Then, unless the tenant is in observe-only
mode, it is taken: sessions revoked through ``SessionService`` (every replica refuses them
within the revocation fan-out), a user disabled, a device's trust lowered to
``registered`` with its sessions ended, a source address blocked or a step-up demanded in
the ``LiveResponse`` tables the guard reads. Every action, failed or not, is an audit event;
an admin can undo it (``menshen monitor undo``), which is audited too.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from menshen.clock import Clock
from menshen.errors import InvalidInput, NotFound
from menshen.events.model import AuditEvent, Outcome
from menshen.identity.service import IdentityService
from menshen.monitor.response.kinds import ACTION_PREFIX, ACTION_UNDONE, ACTOR, OBSERVED
from menshen.monitor.response.live import LiveResponse
from menshen.monitor.response.model import ActionKind, PlannedAction
from menshen.sessions.service import SessionService
from menshen.store.api import Store
from menshen.store.monitor_response import ResponseActionRecord

__all__ = ["ActionRunner"]

Publish = Callable[[AuditEvent], None]
QUARANTINE_TRUST = "registered"
STEP_UP_FOR = timedelta(days=1)  # longer than any session's absolute lifetime


class ActionRunner:
    def __init__(
        self,
        *,
        store: Store,
        sessions: SessionService,
        identity: Callable[[str], IdentityService],
        live: LiveResponse,
        publish: Publish,
        clock: Clock,
        observe_only: Callable[[str], bool],
    ) -> None:
        self._store = store
        self._sessions = sessions
        self._identity = identity
        self._live = live
        self._publish = publish
        self._clock = clock
        self._observe_only = observe_only

    async def run(
        self, tenant_id: str, planned: PlannedAction, incident_id: str | None = None
    ) -> ResponseActionRecord | None:
        """Take ``planned`` once; the stored action, or None if it was taken before."""
        now = self._clock.now()
        observe = self._observe_only(tenant_id)
        expires_in = planned.expires_in or (
            STEP_UP_FOR if planned.kind is ActionKind.REQUIRE_STEP_UP else None
        )
        record = ResponseActionRecord(
            tenant_id=tenant_id,
            id=uuid.uuid4().hex,
            dedupe_key=planned.dedupe_key,
            playbook=planned.playbook,
            action=planned.kind.value,
            subject=planned.subject,
            target=planned.target,
            state=OBSERVED if observe else "running",
            reason=planned.reason,
            created_at=now,
            incident_id=incident_id,
            expires_at=None if expires_in is None else now + expires_in,
        )
        repo = self._store.tenant(tenant_id).response_actions
        stored = await asyncio.to_thread(repo.add, record)
        if stored.id != record.id:
            return None
        if observe:
            self._audit(record, OBSERVED, "observe-only: not taken", {})
            return record
        try:
            details = await self._take(record, now)
            state, outcome, problem = "done", Outcome.SUCCESS, None
        except Exception as error:  # an action that fails is recorded, never raised
            details = {"error": f"{type(error).__name__}: {error}"[:300]}
            state, outcome, problem = "failed", Outcome.FAILURE, details["error"]
        await asyncio.to_thread(repo.finish, record.id, state=state, details=details)
        self._audit(record, outcome, problem or record.reason, details)
        return ResponseActionRecord(**{**_fields(record), "state": state, "details": details})

    async def _take(self, record: ResponseActionRecord, now: datetime) -> dict[str, Any]:
        tenant_id = record.tenant_id
        kind, _, target = record.target.partition(":")
        action = ActionKind(record.action)
        why = f"automatic response: {record.playbook}"
        if action is ActionKind.BLOCK_IP:
            if record.expires_at is None:
                raise InvalidInput("a block needs an expiry")
            self._live.block(tenant_id, target, record.expires_at)
            return {"until": record.expires_at.isoformat()}
        if action is ActionKind.QUARANTINE_DEVICE:
            return await self._quarantine(tenant_id, target, now, why)
        if kind == "session":
            done = await self._sessions.revoke(tenant_id, target, by=ACTOR, reason=why)
            return {"sessions": int(done)}
        if kind == "client":
            return await self._suspend_client(tenant_id, target, action, now, why)
        user_id = target
        if action is ActionKind.REQUIRE_STEP_UP:
            self._live.require_step_up(tenant_id, user_id, now)
            return {"since": now.isoformat()}
        if action is ActionKind.SUSPEND:
            await asyncio.to_thread(self._identity(tenant_id).disable_user, user_id)
        ended = await self._sessions.revoke_user(tenant_id, user_id, by=ACTOR, reason=why)
        return {"sessions": ended}

    async def _quarantine(
        self, tenant_id: str, device_id: str, now: datetime, why: str
    ) -> dict[str, Any]:
        devices = self._store.tenant(tenant_id).devices
        device = await asyncio.to_thread(devices.get, device_id)
        if device is None or device.revoked_at is not None:
            raise NotFound(f"no live device {device_id!r}")
        await asyncio.to_thread(
            devices.approve, device_id, trust=QUARANTINE_TRUST, by=ACTOR, at=now
        )
        ended = await self._sessions.revoke_device(tenant_id, device_id, by=ACTOR, reason=why)
        return {"previous_trust": device.approved_trust, "sessions": ended}

    async def _suspend_client(
        self, tenant_id: str, name: str, action: ActionKind, now: datetime, why: str
    ) -> dict[str, Any]:
        """Suspend a machine client: every gateway refuses its tokens and API keys from its
        next snapshot refresh (menshen.access.client_auth)."""
        if action is not ActionKind.SUSPEND:
            raise InvalidInput(f"a machine client can be suspended, not {action.value}")
        clients = self._store.tenant(tenant_id).machine_clients
        if await asyncio.to_thread(clients.get, name) is None:
            raise NotFound(f"no machine client {name!r}")
        done = await asyncio.to_thread(clients.suspend, name, at=now, by=ACTOR, reason=why)
        return {"suspended": done}  # False: suspended already (undo then leaves it so)

    async def undo(self, tenant_id: str, action_id: str, *, by: str) -> ResponseActionRecord:
        """Reverse a done action: unblock, clear the step-up, enable the user, restore the
        device's trust. Ended sessions stay ended (the user signs in again)."""
        repo = self._store.tenant(tenant_id).response_actions
        record = await asyncio.to_thread(repo.get, action_id)
        if record is None:
            raise NotFound(f"no action {action_id!r}")
        now = self._clock.now()
        if not await asyncio.to_thread(repo.undo, action_id, at=now, by=by):
            raise InvalidInput(f"action {action_id} is {record.state}: nothing to undo")
        target = record.target.partition(":")[2]
        action = ActionKind(record.action)
        if action is ActionKind.BLOCK_IP:
            self._live.unblock(tenant_id, target)
        elif action is ActionKind.REQUIRE_STEP_UP:
            self._live.clear_step_up(tenant_id, target)
        elif action is ActionKind.SUSPEND and record.target.startswith("user:"):
            await asyncio.to_thread(self._identity(tenant_id).enable_user, target)
        elif action is ActionKind.SUSPEND and record.target.startswith("client:"):
            if record.details.get("suspended") is True:
                clients = self._store.tenant(tenant_id).machine_clients
                await asyncio.to_thread(clients.resume, target)
        elif action is ActionKind.QUARANTINE_DEVICE:
            trust = str(record.details.get("previous_trust", QUARANTINE_TRUST))
            devices = self._store.tenant(tenant_id).devices
            await asyncio.to_thread(devices.approve, target, trust=trust, by=by, at=now)
        self._publish(
            AuditEvent(
                tenant_id=tenant_id,
                kind=ACTION_UNDONE,
                outcome=Outcome.SUCCESS,
                at=now,
                actor=by,
                subject=record.target,
                reason=f"undo {record.action} ({record.playbook})",
                details={"action_id": action_id},
            )
        )
        undone = {"state": "undone", "undone_at": now, "undone_by": by}
        return ResponseActionRecord(**{**_fields(record), **undone})

    def restore(
        self, tenant_id: str, records: list[ResponseActionRecord], read_after: int | None = None
    ) -> None:
        """Make the tenant's blocks and step-up demands those of ``records`` (the actions in
        force, as the store lists them): after a restart, and on every refresh, so an action
        taken by another replica or undone from the CLI reaches this gateway."""
        blocks: dict[str, datetime] = {}
        step_ups: dict[str, datetime] = {}
        for record in records:
            target = record.target.partition(":")[2]
            if record.action == ActionKind.BLOCK_IP.value and record.expires_at is not None:
                blocks[target] = max(record.expires_at, blocks.get(target, record.expires_at))
            elif record.action == ActionKind.REQUIRE_STEP_UP.value:
                since = datetime.fromisoformat(
                    str(record.details.get("since", record.created_at.isoformat()))
                )
                step_ups[target] = max(since, step_ups.get(target, since))
        self._live.reset_containment(tenant_id, blocks, step_ups, read_after)

    def _audit(
        self, record: ResponseActionRecord, outcome: str, reason: str, details: dict[str, Any]
    ) -> None:
        self._publish(
            AuditEvent(
                tenant_id=record.tenant_id,
                kind=ACTION_PREFIX + record.action,
                outcome=outcome,
                at=self._clock.now(),
                actor=ACTOR,
                subject=record.target,
                reason=reason[:500],
                details={
                    "action_id": record.id,
                    "playbook": record.playbook,
                    "incident": record.incident_id or "",
                    **details,
                },
            )
        )


def _fields(record: ResponseActionRecord) -> dict[str, Any]:
    return {name: getattr(record, name) for name in record.__dataclass_fields__}
