"""The gateway's own audit events as observed events (NIST SP 800-207 §3.4: the PEP reports
every decision to the monitoring components).

| audit kind | category | action | outcome |
|---|---|---|---|
| ``login.success`` / ``login.failure`` | authentication | login | success / failure |
| ``mfa.success`` / ``mfa.failure`` | mfa | mfa | success / failure |
| ``access.allow`` / ``.deny`` / ``.step_up`` | access | allow / deny / step_up | ok / failure |
| ``logout`` / ``session.revoked`` | session | logout / revoked | success |
| ``session.transfer`` | transfer | transfer | success (``bytes_out`` from details) |

Other kinds (admin changes, blocked attacks, shadow-policy reports) are not behaviour of a
user and map to None. The user is the acting user id when the event has one, else the
subject (a failed login names only the username that was typed). An actor ``client:<name>``
is a machine client (its requests and token requests): it becomes ``client_id``, so
baselines and findings are per client.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Final

from menshen.events.model import AuditEvent, Kind
from menshen.monitor.model import Category, EventOutcome, ObservedEvent
from menshen.store.records import AuditRecord

__all__ = ["GATEWAY_SOURCE", "TRANSFER_KIND", "map_audit", "map_audit_record"]

GATEWAY_SOURCE: Final = "gateway"
TRANSFER_KIND: Final = "session.transfer"
CLIENT_PREFIX: Final = "client:"

_MAP: Final[dict[str, tuple[Category, str, EventOutcome]]] = {
    Kind.LOGIN_SUCCESS: (Category.AUTHENTICATION, "login", EventOutcome.SUCCESS),
    Kind.LOGIN_FAILURE: (Category.AUTHENTICATION, "login", EventOutcome.FAILURE),
    Kind.MFA_SUCCESS: (Category.MFA, "mfa", EventOutcome.SUCCESS),
    Kind.MFA_FAILURE: (Category.MFA, "mfa", EventOutcome.FAILURE),
    Kind.ACCESS_ALLOW: (Category.ACCESS, "allow", EventOutcome.SUCCESS),
    Kind.ACCESS_DENY: (Category.ACCESS, "deny", EventOutcome.FAILURE),
    Kind.ACCESS_STEP_UP: (Category.ACCESS, "step_up", EventOutcome.FAILURE),
    Kind.LOGOUT: (Category.SESSION, "logout", EventOutcome.SUCCESS),
    Kind.SESSION_REVOKED: (Category.SESSION, "revoked", EventOutcome.SUCCESS),
    TRANSFER_KIND: (Category.TRANSFER, "transfer", EventOutcome.SUCCESS),
}


def _text(details: Any, key: str) -> str | None:
    value = details.get(key) if hasattr(details, "get") else None
    return value if isinstance(value, str) and value else None


def _bytes(details: Any) -> int:
    value = details.get("bytes_out") if hasattr(details, "get") else None
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else 0


def _build(
    *,
    tenant_id: str,
    event_id: str,
    kind: str,
    at: datetime,
    actor: str | None,
    subject: str | None,
    app: str | None,
    ip: str | None,
    session_id: str | None,
    reason: str | None,
    details: Any,
) -> ObservedEvent | None:
    mapped = _MAP.get(kind)
    if mapped is None:
        return None
    category, action, outcome = mapped
    who = actor or subject
    client_id: str | None = None
    if who is not None and who.startswith(CLIENT_PREFIX):  # a machine client's request
        client_id = who[len(CLIENT_PREFIX) :]
        who = None
    is_mfa = True if category is Category.MFA else None
    auth_type = reason if category in (Category.AUTHENTICATION, Category.MFA) else None
    if kind in (Kind.MFA_SUCCESS, Kind.MFA_FAILURE):
        auth_type = _text(details, "method") or reason
    return ObservedEvent(
        tenant_id=tenant_id,
        at=at,
        source=GATEWAY_SOURCE,
        event_id=event_id,
        category=category,
        action=action,
        outcome=outcome,
        user=who,
        client_id=client_id,
        device_id=_text(details, "device_id"),
        session_id=session_id,
        src_ip=ip,
        app=app,
        resource=_text(details, "path"),
        user_agent=_text(details, "user_agent"),
        bytes_out=_bytes(details),
        auth_type=auth_type[:64] if auth_type else None,
        is_mfa=is_mfa,
    )


def map_audit(event: AuditEvent) -> ObservedEvent | None:
    """A gateway audit event -> the observed event, or None for kinds not monitored."""
    return _build(
        tenant_id=event.tenant_id,
        event_id=event.id,
        kind=event.kind,
        at=event.at,
        actor=event.actor,
        subject=event.subject,
        app=event.app,
        ip=event.ip,
        session_id=event.session_id,
        reason=event.reason,
        details=event.details,
    )


def map_audit_record(record: AuditRecord) -> ObservedEvent | None:
    """The same mapping for a row read back from the audit log (catch-up, rebuild)."""
    return _build(
        tenant_id=record.tenant_id,
        event_id=record.id,
        kind=record.kind,
        at=record.at,
        actor=record.actor,
        subject=record.subject,
        app=record.app,
        ip=record.ip,
        session_id=record.session_id,
        reason=record.reason,
        details=record.details,
    )
