"""OCSF 1.x records (Open Cybersecurity Schema Framework, schema.ocsf.io): the Authentication
class (``class_uid`` 3002, IAM category) and the API Activity class (6003, Application
Activity category), one JSON object per line.

Authentication activities: 1 Logon, 2 Logoff, 3 Authentication Ticket, 4 Service Ticket
Request, 5 Service Ticket Renew, 6 Preauth, 7 Account Switch. API Activity: 1 Create, 2 Read,
3 Update, 4 Delete. ``status_id`` 1 is Success, 2 Failure. ``time`` is epoch milliseconds.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from menshen.monitor.ingest.mappers.fields import get_int, get_obj, get_str, json_object, parse_time
from menshen.monitor.ingest.reject import MapContext, Rejected
from menshen.monitor.model import Category, EventOutcome, ObservedEvent

__all__ = ["map_ocsf"]

AUTHENTICATION = 3002
API_ACTIVITY = 6003
_AUTH_ACTIVITIES = {
    1: "logon",
    2: "logoff",
    3: "authentication_ticket",
    4: "service_ticket_request",
    5: "service_ticket_renew",
    6: "preauth",
    7: "account_switch",
}
_API_ACTIVITIES = {1: "create", 2: "read", 3: "update", 4: "delete"}


def _outcome(record: Mapping[str, Any]) -> EventOutcome:
    status = get_int(record, "status_id")
    if status == 1:
        return EventOutcome.SUCCESS
    if status == 2:
        return EventOutcome.FAILURE
    return EventOutcome.UNKNOWN


def _user(user: Mapping[str, Any]) -> str | None:
    return get_str(user, "name") or get_str(user, "uid")


def map_ocsf(raw: str, ctx: MapContext, default_id: str) -> ObservedEvent:
    """One OCSF Authentication or API Activity record -> an event, or ``Rejected``."""
    record = json_object(raw)
    class_uid = get_int(record, "class_uid")
    if class_uid not in (AUTHENTICATION, API_ACTIVITY):
        raise Rejected("unsupported_class", f"class_uid {class_uid}")
    at = parse_time(record.get("time"), ctx)
    activity = get_int(record, "activity_id") or 0
    metadata = get_obj(record, "metadata")
    src = get_obj(record, "src_endpoint")
    http = get_obj(record, "http_request")
    common: dict[str, Any] = {
        "tenant_id": ctx.tenant_id,
        "at": at,
        "source": ctx.source,
        "event_id": get_str(metadata, "uid") or default_id,
        "outcome": _outcome(record),
        "src_ip": get_str(src, "ip"),
        "src_host": get_str(src, "hostname"),
        "user_agent": get_str(http, "user_agent"),
        "session_id": get_str(get_obj(record, "session"), "uid"),
    }
    if class_uid == AUTHENTICATION:
        is_mfa = record.get("is_mfa")
        if is_mfa is not None and not isinstance(is_mfa, bool):
            raise Rejected("wrong_type", "is_mfa must be a boolean")
        dst = get_obj(record, "dst_endpoint")
        service = get_obj(record, "service")
        return ObservedEvent(
            category=Category.AUTHENTICATION,
            action=_AUTH_ACTIVITIES.get(activity, "other"),
            user=_user(get_obj(record, "user")),
            dst_host=get_str(dst, "hostname") or get_str(dst, "ip"),
            app=get_str(service, "name"),
            auth_type=get_str(record, "auth_protocol"),
            logon_type=get_str(record, "logon_type"),
            is_mfa=is_mfa,
            **common,
        )
    actor = get_obj(record, "actor")
    api = get_obj(record, "api")
    resources = record.get("resources")
    resource = None
    if isinstance(resources, list) and resources and isinstance(resources[0], dict):
        resource = get_str(resources[0], "name") or get_str(resources[0], "uid")
    elif resources is not None and not isinstance(resources, list):
        raise Rejected("wrong_type", "resources must be an array")
    return ObservedEvent(
        category=Category.ACCESS,
        action=get_str(api, "operation") or _API_ACTIVITIES.get(activity, "other"),
        user=_user(get_obj(actor, "user")),
        app=get_str(get_obj(api, "service"), "name"),
        resource=resource or get_str(get_obj(http, "url"), "path"),
        **common,
    )
