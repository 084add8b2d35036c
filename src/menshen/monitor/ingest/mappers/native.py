"""menshen's own JSON event: one object per line, the ``ObservedEvent`` field names.

Example (a VPN concentrator forwarding its logins)::

    {"time": "2026-11-25T09:14:03Z", "category": "authentication", "action": "login",
     "outcome": "success", "user": "alice", "src_ip": "203.0.113.7", "id": "vpn-81723"}

``time`` is RFC 3339 or epoch seconds/milliseconds; ``category`` one of ``Category``;
``outcome`` one of success/failure/unknown. Unknown keys are ignored (forward compatible).
"""

from __future__ import annotations

from menshen.errors import InvalidInput
from menshen.monitor.ingest.mappers.fields import get_int, get_str, json_object, parse_time
from menshen.monitor.ingest.reject import MapContext, Rejected
from menshen.monitor.model import Category, EventOutcome, ObservedEvent

__all__ = ["map_native"]

_TEXT = (
    "user",
    "client_id",
    "device_id",
    "session_id",
    "src_ip",
    "src_host",
    "dst_host",
    "app",
    "resource",
    "user_agent",
    "auth_type",
    "logon_type",
)


def map_native(raw: str, ctx: MapContext, default_id: str) -> ObservedEvent:
    """One JSON line in menshen's own shape -> an event, or ``Rejected``."""
    record = json_object(raw)
    at = parse_time(record.get("time"), ctx)
    category_text = get_str(record, "category", required=True) or ""
    try:
        category = Category(category_text)
    except ValueError as exc:
        raise Rejected("bad_value", f"unknown category {category_text!r:.40}") from exc
    outcome_text = get_str(record, "outcome") or "unknown"
    try:
        outcome = EventOutcome(outcome_text)
    except ValueError as exc:
        raise Rejected("bad_value", f"unknown outcome {outcome_text!r:.40}") from exc
    is_mfa = record.get("is_mfa")
    if is_mfa is not None and not isinstance(is_mfa, bool):
        raise Rejected("wrong_type", "is_mfa must be a boolean")
    bytes_out = get_int(record, "bytes_out") or 0
    if bytes_out < 0:
        raise Rejected("bad_value", "bytes_out is negative")
    text = {key: get_str(record, key) for key in _TEXT}
    try:
        return ObservedEvent(
            tenant_id=ctx.tenant_id,
            at=at,
            source=ctx.source,
            event_id=get_str(record, "id") or default_id,
            category=category,
            action=get_str(record, "action", required=True) or "",
            outcome=outcome,
            bytes_out=bytes_out,
            is_mfa=is_mfa,
            **text,
        )
    except InvalidInput as exc:
        raise Rejected("bad_value", str(exc)) from exc
