"""What the gateway reads on every request from the monitor: risk, blocks, step-up.

NIST SP 800-207 §3.3.1 (the policy engine uses the subject's current risk) and §2.1 tenet 7.
The engine writes these tables; the guard only reads them, and each read is one or two
dictionary look-ups (no I/O, no lock: a read sees the value before or after a write, and
CPython's dict operations are atomic). ``risk`` is the guard's ``LiveAttributes.risk``
(``menshen.access.device_trust.LiveDevices`` takes this object as its ``risk``); ``blocked``
and ``step_up_since`` are the guard's ``Containment``.
"""

from __future__ import annotations

from datetime import datetime

from menshen.gateway.contract import RequestHead
from menshen.policy.model import Device
from menshen.store.records import SessionRecord

__all__ = ["LiveResponse"]


class LiveResponse:
    """Risk scores of users, blocked source addresses and step-up demands, per tenant."""

    def __init__(self) -> None:
        self._risk: dict[str, dict[str, float]] = {}
        self._blocked: dict[str, dict[str, datetime]] = {}
        self._step_up: dict[str, dict[str, datetime]] = {}
        self.blocking = False
        self.writes = 0  # counts local changes, so a sync read before one does not undo it

    # -- LiveAttributes -----------------------------------------------------------------
    def risk(self, tenant_id: str, user_id: str) -> float:
        scores = self._risk.get(tenant_id)
        return 0.0 if scores is None else scores.get(user_id, 0.0)

    def device(
        self, tenant_id: str, session: SessionRecord, head: RequestHead, now: datetime
    ) -> Device | None:
        return None  # devices come from menshen.access.device_trust.LiveDevices

    # -- Containment --------------------------------------------------------------------
    def blocked(self, tenant_id: str, ip: str, now: datetime) -> bool:
        until = self._blocked.get(tenant_id, {}).get(ip)
        return until is not None and now < until

    def step_up_since(self, tenant_id: str, user_id: str) -> datetime | None:
        return self._step_up.get(tenant_id, {}).get(user_id)

    # -- writes (the engine) ------------------------------------------------------------
    def set_risk(self, tenant_id: str, user_id: str, score: float) -> None:
        scores = self._risk.setdefault(tenant_id, {})
        if score > 0:
            scores[user_id] = score
        else:
            scores.pop(user_id, None)

    def block(self, tenant_id: str, ip: str, until: datetime) -> None:
        self._blocked.setdefault(tenant_id, {})[ip] = until
        self.blocking = True
        self.writes += 1

    def unblock(self, tenant_id: str, ip: str) -> None:
        self._blocked.get(tenant_id, {}).pop(ip, None)
        self.blocking = any(self._blocked.values())
        self.writes += 1

    def expire_blocks(self, now: datetime) -> None:
        """Forget blocks that have run out (the guard ignores them already)."""
        for table in self._blocked.values():
            for ip in [ip for ip, until in table.items() if until <= now]:
                del table[ip]
        self.blocking = any(self._blocked.values())

    def reset_containment(
        self,
        tenant_id: str,
        blocks: dict[str, datetime],
        step_ups: dict[str, datetime],
        read_after: int | None = None,
    ) -> bool:
        """Replace a tenant's blocks and step-up demands with the store's (actions taken or
        undone by another replica or the CLI); each table is swapped whole. Skipped (False)
        when a local change happened since ``read_after`` (``writes`` before the read): the
        next round reads it from the store."""
        if read_after is not None and read_after != self.writes:
            return False
        self._blocked[tenant_id] = blocks
        self._step_up[tenant_id] = step_ups
        self.blocking = any(self._blocked.values())
        return True

    def require_step_up(self, tenant_id: str, user_id: str, since: datetime) -> None:
        self._step_up.setdefault(tenant_id, {})[user_id] = since
        self.writes += 1

    def clear_step_up(self, tenant_id: str, user_id: str) -> None:
        self._step_up.get(tenant_id, {}).pop(user_id, None)
        self.writes += 1
