"""Linux authentication logs (``/var/log/auth.log``, ``/var/log/secure``, journald's syslog
forwarding): OpenSSH ``sshd`` and ``sudo`` messages.

A line is a BSD syslog header (RFC 3164 §4.1.2 ``Mmm dd hh:mm:ss host prog[pid]: msg``, with
no year: the year is the one that puts the time closest before ``now``) or an RFC 3339 header
(rsyslog's high-precision format). ``map_auth_message`` reads the message alone, for the
syslog listener, which parses the RFC 5424 header itself. Messages read:

* ``Accepted password|publickey|keyboard-interactive/pam for USER from IP port N``
* ``Failed password|publickey for [invalid user] USER from IP port N``
* ``Invalid user USER from IP``
* ``sudo: USER : TTY=... ; USER=root ; COMMAND=...`` and ``... incorrect password attempts``
"""

from __future__ import annotations

import re
from datetime import datetime

from menshen.monitor.ingest.mappers.fields import parse_time
from menshen.monitor.ingest.reject import MapContext, Rejected, checked_time
from menshen.monitor.model import Category, EventOutcome, ObservedEvent

__all__ = ["map_auth_message", "map_linux_auth"]

_BSD = re.compile(
    r"(?P<mon>[A-Z][a-z]{2}) {1,2}(?P<day>\d{1,2}) (?P<time>\d\d:\d\d:\d\d) "
    r"(?P<host>\S{1,255}) (?P<prog>[^\s:\[]{1,64})(?:\[\d{1,10}\])?: (?P<msg>.*)",
    re.DOTALL,
)
_ISO = re.compile(
    r"(?P<ts>\d{4}-\d\d-\d\dT\S{8,32}) (?P<host>\S{1,255}) "
    r"(?P<prog>[^\s:\[]{1,64})(?:\[\d{1,10}\])?: (?P<msg>.*)",
    re.DOTALL,
)
_ACCEPTED = re.compile(
    r"(?P<verdict>Accepted|Failed) (?P<method>password|publickey|keyboard-interactive/pam|"
    r"hostbased|gssapi-with-mic) for (?P<invalid>invalid user )?(?P<user>\S{0,128}) "
    r"from (?P<ip>[0-9A-Fa-f:.]{2,45}) port \d{1,5}"
)
_INVALID = re.compile(r"Invalid user (?P<user>\S{0,128}) from (?P<ip>[0-9A-Fa-f:.]{2,45})")
_SUDO = re.compile(r"\s*(?P<user>[^\s:]{1,128}) : (?P<rest>.*)", re.DOTALL)
_MONTH_NAMES = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_MONTHS = {name: number for number, name in enumerate(_MONTH_NAMES, 1)}


def _bsd_time(mon: str, day: str, clock: str, ctx: MapContext) -> datetime:
    month = _MONTHS.get(mon)
    if month is None:
        raise Rejected("bad_time", f"month {mon!r}")
    hour, minute, second = (int(part) for part in clock.split(":"))
    now = ctx.now
    for year in (now.year, now.year - 1):
        try:
            at = datetime(year, month, int(day), hour, minute, second, tzinfo=now.tzinfo)
        except ValueError as exc:
            if year == now.year - 1:
                raise Rejected("bad_time", "no such date") from exc
            continue
        if at <= now + ctx.max_skew:
            return checked_time(at, ctx)
    raise Rejected("bad_time", "no such date")


def map_linux_auth(raw: str, ctx: MapContext, default_id: str) -> ObservedEvent:
    """One auth.log line -> an event, or ``Rejected`` (other programs' lines too)."""
    line = raw.rstrip("\r\n")
    match = _BSD.match(line)
    if match is not None:
        at = _bsd_time(match["mon"], match["day"], match["time"], ctx)
    else:
        match = _ISO.match(line)
        if match is None:
            raise Rejected("bad_format", "not a syslog line")
        at = parse_time(match["ts"], ctx)
    return map_auth_message(match["msg"], match["prog"], match["host"], at, ctx, default_id)


def map_auth_message(
    message: str, program: str, host: str | None, at: datetime, ctx: MapContext, default_id: str
) -> ObservedEvent:
    """The message of an ``sshd`` or ``sudo`` record -> an event, or ``Rejected``."""
    base = {
        "tenant_id": ctx.tenant_id,
        "at": at,
        "source": ctx.source,
        "event_id": default_id,
        "dst_host": host,
    }
    if program == "sshd":
        found = _ACCEPTED.search(message)
        if found is not None:
            method = found["method"]
            return ObservedEvent(
                category=Category.AUTHENTICATION,
                action="ssh_login",
                outcome=EventOutcome.SUCCESS
                if found["verdict"] == "Accepted"
                else EventOutcome.FAILURE,
                user=found["user"] or None,
                src_ip=found["ip"],
                auth_type=method,
                logon_type="invalid_user" if found["invalid"] else "ssh",
                **base,  # type: ignore[arg-type]
            )
        found = _INVALID.search(message)
        if found is not None:
            return ObservedEvent(
                category=Category.AUTHENTICATION,
                action="ssh_login",
                outcome=EventOutcome.FAILURE,
                user=found["user"] or None,
                src_ip=found["ip"],
                logon_type="invalid_user",
                **base,  # type: ignore[arg-type]
            )
        raise Rejected("unrecognised_message", "sshd message not about a login")
    if program == "sudo":
        found = _SUDO.match(message)
        if found is None:
            raise Rejected("unrecognised_message", "sudo message without a user")
        failed = "incorrect password" in found["rest"] or "authentication failure" in found["rest"]
        target = re.search(r"USER=(\S{1,128})", found["rest"])
        return ObservedEvent(
            category=Category.AUTHENTICATION,
            action="sudo",
            outcome=EventOutcome.FAILURE if failed else EventOutcome.SUCCESS,
            user=found["user"],
            resource=target.group(1) if target else None,
            logon_type="sudo",
            **base,  # type: ignore[arg-type]
        )
    raise Rejected("unrecognised_program", program[:40])
