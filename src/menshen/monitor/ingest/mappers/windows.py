"""Windows Security log events as JSON (Microsoft, "Audit Logon" / "Audit Credential
Validation" / "Audit Kerberos Authentication Service" event reference):

* 4624 an account logged on, 4625 failed to log on, 4648 logon with explicit credentials;
* 4768 a Kerberos TGT was requested, 4769 a service ticket was requested (``Status`` 0x0 is
  success);
* 4776 the computer tried to validate an account's credentials (NTLM).

Two JSON shapes are read: the flat export (``EventID``, ``TimeCreated``, ``Computer``,
``EventData``) and Winlogbeat's (``@timestamp``, ``winlog.event_id``,
``winlog.computer_name``, ``winlog.event_data``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from menshen.monitor.ingest.mappers.fields import get_int, get_obj, get_str, json_object, parse_time
from menshen.monitor.ingest.reject import MapContext, Rejected
from menshen.monitor.model import Category, EventOutcome, ObservedEvent

__all__ = ["map_windows"]

_ACTIONS = {
    4624: "logon",
    4625: "logon",
    4648: "explicit_logon",
    4768: "kerberos_tgt",
    4769: "kerberos_service_ticket",
    4776: "ntlm_validation",
}
LOGON_TYPES = {
    "2": "Interactive",
    "3": "Network",
    "4": "Batch",
    "5": "Service",
    "7": "Unlock",
    "8": "NetworkCleartext",
    "9": "NewCredentials",
    "10": "RemoteInteractive",
    "11": "CachedInteractive",
}


def _shape(record: Mapping[str, Any]) -> tuple[int | None, object, str | None, Mapping[str, Any]]:
    winlog = get_obj(record, "winlog")
    if winlog:
        return (
            get_int(winlog, "event_id"),
            record.get("@timestamp"),
            get_str(winlog, "computer_name"),
            get_obj(winlog, "event_data"),
        )
    created = record.get("TimeCreated")
    if isinstance(created, dict):
        created = created.get("SystemTime")
    return (
        get_int(record, "EventID"),
        created,
        get_str(record, "Computer"),
        get_obj(record, "EventData"),
    )


def _outcome(event_id: int, data: Mapping[str, Any]) -> EventOutcome:
    if event_id == 4625:
        return EventOutcome.FAILURE
    if event_id in (4768, 4769, 4776):
        status = (get_str(data, "Status") or "0x0").lower()
        return EventOutcome.SUCCESS if status in ("0x0", "0") else EventOutcome.FAILURE
    return EventOutcome.SUCCESS


def _account(data: Mapping[str, Any]) -> str | None:
    name = get_str(data, "TargetUserName")
    domain = get_str(data, "TargetDomainName")
    if name and domain and "@" not in name:
        return f"{name}@{domain}"
    return name


def _auth_type(event_id: int, data: Mapping[str, Any]) -> str | None:
    if event_id in (4768, 4769):
        return "Kerberos"
    if event_id == 4776:
        return "NTLM"
    return get_str(data, "AuthenticationPackageName")


def map_windows(raw: str, ctx: MapContext, default_id: str) -> ObservedEvent:
    """One Windows Security event in JSON -> an authentication event, or ``Rejected``."""
    record = json_object(raw)
    event_id, created, computer, data = _shape(record)
    if event_id not in _ACTIONS:
        raise Rejected("unsupported_event", f"EventID {event_id}")
    at = parse_time(created, ctx, "TimeCreated")
    logon_type = get_str(data, "LogonType")
    ip = get_str(data, "IpAddress")
    record_id = get_str(record, "EventRecordID") or get_str(record, "record_id")
    src_host = get_str(data, "WorkstationName") or get_str(data, "Workstation")
    dst_host = computer
    if event_id == 4769:
        dst_host = get_str(data, "ServiceName") or computer
    return ObservedEvent(
        tenant_id=ctx.tenant_id,
        at=at,
        source=ctx.source,
        event_id=f"{computer or 'win'}:{record_id}" if record_id else default_id,
        category=Category.AUTHENTICATION,
        action=_ACTIONS[event_id],
        outcome=_outcome(event_id, data),
        user=_account(data),
        src_ip=None if ip in (None, "-", "::1", "127.0.0.1") else ip,
        src_host=None if src_host == "-" else src_host,
        dst_host=dst_host,
        auth_type=_auth_type(event_id, data),
        logon_type=LOGON_TYPES.get(logon_type or "", logon_type),
    )
