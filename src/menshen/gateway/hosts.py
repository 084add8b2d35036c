"""The ``Host`` header (RFC 9110 §7.2, RFC 3986 §3.2.2-§3.2.3).

Returns the host lower-cased with one trailing dot removed, and the port if one was given.
Userinfo, empty hosts, bad characters, bad labels and bad ports are refused with 400: a
request whose host cannot be named cannot be routed, so it is not guessed at.
"""

from __future__ import annotations

import ipaddress

from menshen.errors import ProtocolError

__all__ = ["HostRejected", "parse_host"]

_NAME_CHARS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789-._")
_DIGITS = frozenset("0123456789")


class HostRejected(ProtocolError):
    """An unusable ``Host`` header; answered with 400."""

    kind = "bad_host"

    def __init__(self, message: str) -> None:
        super().__init__(400, message)


def parse_host(value: str) -> tuple[str, int | None]:
    """Split a ``Host`` value into (host, port); IPv6 literals keep their brackets."""
    value = value.strip(" \t")
    if not value:
        raise HostRejected("empty Host")
    if "@" in value:
        raise HostRejected("userinfo is not allowed in Host")
    if value.startswith("["):
        end = value.find("]")
        if end < 0:
            raise HostRejected("unterminated IPv6 literal")
        literal, rest = value[1:end], value[end + 1 :]
        try:
            address = ipaddress.IPv6Address(literal)
        except ValueError:
            raise HostRejected("invalid IPv6 literal") from None
        host = f"[{address.compressed}]"
        if not rest:
            return host, None
        if not rest.startswith(":"):
            raise HostRejected("garbage after IPv6 literal")
        return host, _parse_port(rest[1:])
    name, sep, port_text = value.rpartition(":")
    if not sep:
        name, port = value, None
    else:
        port = _parse_port(port_text)
    return _check_name(name.lower()), port


def _parse_port(text: str) -> int:
    if not text or len(text) > 5 or not set(text) <= _DIGITS:
        raise HostRejected("invalid port")
    port = int(text)
    if not 0 < port <= 65535:
        raise HostRejected("port out of range")
    return port


def _check_name(name: str) -> str:
    if name.endswith("."):
        name = name[:-1]
    if not name or len(name) > 253:
        raise HostRejected("empty or overlong host name")
    if not set(name) <= _NAME_CHARS:
        raise HostRejected("invalid character in host name")
    for label in name.split("."):
        if not label or len(label) > 63:
            raise HostRejected("empty or overlong label in host name")
    return name
