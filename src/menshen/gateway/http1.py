"""HTTP/1.1 wire helpers (RFC 9112): rejections with their status, response serialisation.

Everything the gateway writes itself goes through ``render_response``: a status line, the
given headers (checked for CR/LF/NUL so that no value can split the response, RFC 9112 §2.2),
``Content-Length`` always, ``Cache-Control: no-store`` on errors, ``Date`` and ``Connection``.
"""

from __future__ import annotations

from http import HTTPStatus

from menshen.errors import ProtocolError
from menshen.gateway.contract import Headers

__all__ = [
    "Rejected",
    "check_field",
    "render_response",
    "status_line",
]

_TOKEN = frozenset("!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")
_FORBIDDEN_IN_VALUE = ("\r", "\n", "\x00")
_STATUS_LINES: dict[int, bytes] = {
    s.value: f"HTTP/1.1 {s.value} {s.phrase}\r\n".encode("ascii") for s in HTTPStatus
}
# Headers render_response computes itself; given values for them are dropped.
_OWN = frozenset(["content-length", "transfer-encoding", "connection", "date", "keep-alive"])


class Rejected(ProtocolError):
    """A request refused on the wire; ``kind`` names the attack class for the audit hook."""

    def __init__(self, status: int, kind: str, message: str) -> None:
        super().__init__(status, message)
        self.kind = kind


def status_line(status: int) -> bytes:
    """``HTTP/1.1 404 Not Found\\r\\n``; we always speak 1.1 (RFC 9110 §6.2)."""
    line = _STATUS_LINES.get(status)
    if line is None:
        line = f"HTTP/1.1 {status} \r\n".encode("ascii")
    return line


def check_field(name: str, value: str) -> None:
    """Raise ``ValueError`` unless ``name: value`` is a safe header field line."""
    if not name or not set(name) <= _TOKEN:
        raise ValueError(f"invalid header name {name!r}")
    for bad in _FORBIDDEN_IN_VALUE:
        if bad in value:
            raise ValueError(f"CR, LF or NUL in the value of header {name!r}")


def render_response(
    status: int,
    headers: Headers,
    body: bytes,
    *,
    date: bytes,
    keep_alive: bool,
    head_only: bool = False,
) -> bytes:
    """Serialise a complete response the gateway makes itself.

    Raises ``ValueError`` when a header could split the response; callers answer 500.
    """
    if not 200 <= status <= 599:
        raise ValueError(f"the gateway does not send status {status}")
    parts = [status_line(status).decode("ascii")]
    has_cache_control = False
    for name, value in headers:
        check_field(name, value)
        lower = name.lower()
        if lower in _OWN:
            continue
        if lower == "cache-control":
            has_cache_control = True
        parts.append(f"{name}: {value}\r\n")
    if status >= 400 and not has_cache_control:
        parts.append("cache-control: no-store\r\n")
    if status not in (204, 304):
        parts.append(f"content-length: {len(body)}\r\n")
    parts.append("connection: keep-alive\r\n" if keep_alive else "connection: close\r\n")
    head = "".join(parts).encode("latin-1") + b"date: " + date + b"\r\n\r\n"
    if head_only or status in (204, 304):
        return head
    return head + body
