"""Audit events of the sign-in and account pages, in one shape."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from menshen.clock import Clock
from menshen.events.model import AuditEvent, Kind, Outcome
from menshen.gateway.contract import RequestHead
from menshen.store.records import SessionRecord

Publish = Callable[[AuditEvent], None]


@dataclass(frozen=True, slots=True)
class Context:
    """What every handler needs to know about the request it serves."""

    head: RequestHead
    tenant_id: str


class PageAudit:
    def __init__(self, publish: Publish, clock: Clock) -> None:
        self._publish = publish
        self._clock = clock

    def record(
        self,
        ctx: Context,
        kind: str,
        outcome: str,
        session: SessionRecord | None,
        reason: str | None,
        *,
        subject: str | None = None,
        **details: str,
    ) -> None:
        self._publish(
            AuditEvent(
                tenant_id=ctx.tenant_id,
                kind=kind,
                outcome=outcome,
                at=self._clock.now(),
                actor=None if session is None else session.user_id,
                subject=subject,
                ip=ctx.head.client_ip,
                session_id=None if session is None else session.id,
                reason=reason,
                details={"path": ctx.head.path, **details},
            )
        )

    def attack(self, ctx: Context, reason: str, detail: str = "") -> None:
        self.record(ctx, Kind.ATTACK_BLOCKED, Outcome.DENY, None, reason, detail=detail[:300])
