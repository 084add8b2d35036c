"""The request head sent upstream (RFC 9110 §7.6 forwarding, RFC 9112 §3 and §6 framing).

The client's end-to-end fields go first, in received order, minus the fields the guard
adds (the guard's value wins) and minus the gateway's own cookies; then the gateway's
``X-Forwarded-*`` fields, the guard's fields, and framing written by the data plane.

The guard's fields repeat from request to request (the identity assertion is cached per
session), so their check against response splitting and their serialisation are cached
too, keyed by the fields themselves; the cache is bounded.
"""

from __future__ import annotations

from menshen.gateway.contract import Forward, Headers, RequestHead
from menshen.gateway.headers import strip_cookies
from menshen.gateway.http1 import check_field

__all__ = ["BODY_CHUNKED", "BODY_LENGTH", "BODY_NONE", "OutboundCache", "upstream_request_head"]

BODY_NONE = 0
BODY_LENGTH = 1
BODY_CHUNKED = 2

_UPGRADE = "connection: upgrade\r\nupgrade: websocket\r\n"
_CHUNKED_END = "transfer-encoding: chunked\r\n\r\n"
_NO_NAMES: frozenset[str] = frozenset()

# (lower-case names of the fields, their serialisation)
AddedFields = tuple[frozenset[str], str]


def added_fields(add_headers: Headers) -> AddedFields:
    """Check the guard's fields (``ValueError`` if one could split the request) and
    serialise them."""
    for name, value in add_headers:
        check_field(name, value)
    names = frozenset(name.lower() for name, _ in add_headers)
    return names, "".join([f"{name}: {value}\r\n" for name, value in add_headers])


class OutboundCache:
    """Checked, serialised guard fields by value (one per server; event loop only)."""

    __slots__ = ("_added", "_size")

    def __init__(self, size: int = 4096) -> None:
        self._added: dict[Headers, AddedFields] = {}
        self._size = size

    def added(self, add_headers: Headers) -> AddedFields:
        found = self._added.get(add_headers)
        if found is None:
            found = added_fields(add_headers)  # raises before anything is cached
            if len(self._added) >= self._size:
                self._added.clear()
            self._added[add_headers] = found
        return found


def upstream_request_head(
    head: RequestHead,
    forward: Forward,
    forwarded: tuple[str, str, str],
    body_mode: int,
    content_length: int,
    *,
    upgrade: bool = False,
    cache: OutboundCache | None = None,
) -> bytes:
    """Serialise the request sent upstream; ``forwarded`` is (for, proto, host).

    Raises ``ValueError`` if the guard's headers could split the request (answered 500).
    """
    add = forward.add_headers
    if not add:
        added, block = _NO_NAMES, ""
    elif cache is not None:
        added, block = cache.added(add)
    else:
        added, block = added_fields(add)
    query = head.query
    target = f"{head.path}?{query}" if query else head.path
    lines = [f"{head.method} {target} HTTP/1.1\r\n"]
    strip = forward.strip_cookies
    drop = forward.drop_headers
    for name, value in head.headers:
        if name in added or (drop and name in drop):
            continue
        if name == "cookie" and strip:
            stripped = strip_cookies(value, strip)
            if stripped is None:
                continue
            value = stripped
        lines.append(f"{name}: {value}\r\n")
    xff, proto, xhost = forwarded
    lines.append(
        f"x-forwarded-for: {xff}\r\nx-forwarded-proto: {proto}\r\nx-forwarded-host: {xhost}\r\n"
    )
    lines.append(block)
    if upgrade:
        lines.append(_UPGRADE)
    if body_mode == BODY_LENGTH:
        lines.append(f"content-length: {content_length}\r\n\r\n")
    elif body_mode == BODY_CHUNKED:
        lines.append(_CHUNKED_END)
    else:
        lines.append("\r\n")
    return "".join(lines).encode("latin-1")
