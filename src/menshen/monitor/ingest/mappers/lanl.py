"""The LANL authentication format (Kent 2015, "Comprehensive, Multi-Source Cyber-Security
Events", doi:10.17021/1179829): nine comma-separated fields per line::

    time,src_user@domain,dst_user@domain,src_computer,dst_computer,auth_type,logon_type,
    auth_orientation,success_or_failure

``time`` is seconds from the start of the collection; ``MapContext.epoch`` says which instant
that start is. ``?`` marks an unknown value. This is the shape of Windows domain logons
(event 4624 and friends), so the host-authentication detectors read both alike.
"""

from __future__ import annotations

from datetime import timedelta

from menshen.monitor.ingest.reject import MapContext, Rejected, checked_time
from menshen.monitor.model import Category, EventOutcome, ObservedEvent

__all__ = ["map_lanl"]

_MAX_FIELD = 256
_MAX_SECONDS = 10 * 365 * 86400


def _value(text: str) -> str | None:
    text = text.strip()
    if len(text) > _MAX_FIELD:
        raise Rejected("field_too_long", text[:20])
    return None if text in ("", "?") else text


def map_lanl(raw: str, ctx: MapContext, default_id: str) -> ObservedEvent:
    """One LANL auth line -> an authentication event, or ``Rejected``."""
    parts = raw.rstrip("\r\n").split(",")
    if len(parts) != 9:
        raise Rejected("bad_format", f"expected 9 fields, got {len(parts)}")
    time_text, src_user, _dst_user, src, dst, auth_type, logon_type, orientation, result = parts
    if not time_text.strip().isdigit() or len(time_text) > 12:
        raise Rejected("bad_time", "time must be whole seconds")
    seconds = int(time_text)
    if seconds > _MAX_SECONDS:
        raise Rejected("bad_time", "time beyond ten years from the epoch")
    at = checked_time(ctx.epoch + timedelta(seconds=seconds), ctx)
    result = result.strip()
    if result == "Success":
        outcome = EventOutcome.SUCCESS
    elif result == "Fail":
        outcome = EventOutcome.FAILURE
    else:
        raise Rejected("bad_value", "outcome must be Success or Fail")
    action = (_value(orientation) or "unknown").lower()
    return ObservedEvent(
        tenant_id=ctx.tenant_id,
        at=at,
        source=ctx.source,
        event_id=default_id,
        category=Category.AUTHENTICATION,
        action=action,
        outcome=outcome,
        user=_value(src_user),
        src_host=_value(src),
        dst_host=_value(dst),
        auth_type=_value(auth_type),
        logon_type=_value(logon_type),
    )
