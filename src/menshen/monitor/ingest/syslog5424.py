"""The syslog message format of RFC 5424 §6 (``<PRI>1 TIMESTAMP HOSTNAME APP-NAME PROCID
MSGID [SD] MSG``), read into its header fields; the message of ``sshd``/``sudo`` records
then goes to the Linux auth mapper. A legacy RFC 3164 message (``<PRI>Mmm dd ...``), which
many senders still emit, is handed to the auth-log line mapper whole.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from menshen.monitor.ingest.mappers.fields import parse_time
from menshen.monitor.ingest.mappers.linux_auth import map_auth_message, map_linux_auth
from menshen.monitor.ingest.reject import MapContext, Rejected
from menshen.monitor.model import ObservedEvent

__all__ = ["SyslogMessage", "map_syslog", "parse_5424"]

_HEADER = re.compile(
    r"<(?P<pri>\d{1,3})>1 (?P<ts>\S{1,48}) (?P<host>\S{1,255}) (?P<app>\S{1,48}) "
    r"(?P<procid>\S{1,128}) (?P<msgid>\S{1,32}) ",
)
_LEGACY = re.compile(r"<(?P<pri>\d{1,3})>(?P<rest>[A-Z][a-z]{2} .*)", re.DOTALL)


@dataclass(frozen=True, slots=True)
class SyslogMessage:
    pri: int
    timestamp: str | None
    hostname: str | None
    app_name: str | None
    message: str


def _nil(value: str) -> str | None:
    return None if value == "-" else value


def _skip_structured_data(text: str) -> str:
    """What follows STRUCTURED-DATA (§6.3): ``-`` or ``[id k="v" ...]...`` with escapes."""
    if text.startswith("-"):
        return text[1:].removeprefix(" ")
    index = 0
    while index < len(text) and text[index] == "[":
        index += 1
        in_quotes = False
        while index < len(text):
            char = text[index]
            if char == "\\" and in_quotes:
                index += 2
                continue
            if char == '"':
                in_quotes = not in_quotes
            elif char == "]" and not in_quotes:
                break
            index += 1
        else:
            raise Rejected("bad_syslog", "unterminated structured data")
        index += 1
    if index == 0:
        raise Rejected("bad_syslog", "no structured data")
    return text[index:].removeprefix(" ")


def parse_5424(raw: str) -> SyslogMessage:
    """The header fields and message of one RFC 5424 record, or ``Rejected``."""
    match = _HEADER.match(raw)
    if match is None:
        raise Rejected("bad_syslog", "not an RFC 5424 header")
    pri = int(match["pri"])
    if pri > 191:
        raise Rejected("bad_syslog", "PRI above 191")
    message = _skip_structured_data(raw[match.end() :]).removeprefix("\ufeff")
    return SyslogMessage(
        pri=pri,
        timestamp=_nil(match["ts"]),
        hostname=_nil(match["host"]),
        app_name=_nil(match["app"]),
        message=message,
    )


def map_syslog(raw: str, ctx: MapContext, default_id: str) -> ObservedEvent:
    """One syslog record (RFC 5424, or legacy BSD) -> an auth event, or ``Rejected``."""
    legacy = _LEGACY.match(raw)
    if legacy is not None:
        return map_linux_auth(legacy["rest"], ctx, default_id)
    parsed = parse_5424(raw)
    if parsed.timestamp is None:
        raise Rejected("missing_field", "TIMESTAMP")
    at = parse_time(parsed.timestamp, ctx, "TIMESTAMP")
    return map_auth_message(
        parsed.message, parsed.app_name or "", parsed.hostname, at, ctx, default_id
    )
