"""The seam between the data plane (sockets, HTTP/1.1 framing) and the guard (who may pass).

The data plane parses and validates a request head, then asks the ``Guard`` once per
request. The guard answers with one of three values:

* ``Forward``  — proxy to an upstream, adding the given headers;
* ``Respond``  — answer directly (login redirect, 401/403 problem, ...);
* ``Handle``   — one of the gateway's own endpoints under ``/.menshen/`` that needs the
  request body and may do slow work (password hashing); the data plane reads the body
  (bounded) and awaits the handler.

``Guard.check`` is synchronous and must do no blocking I/O: it runs on the event loop for
every request. Anything it cannot decide from memory is a denial or a ``Handle``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Literal, Protocol

Headers = tuple[tuple[str, str], ...]


@dataclass(frozen=True, slots=True)
class RequestHead:
    """A validated request head.

    ``path`` is the canonical path (see ``menshen.gateway.paths``): the exact bytes the
    policy judges and the upstream receives. ``headers`` keep their received order, names
    lower-cased, with every client-supplied ``x-menshen-*`` header (and its ``_``/case
    variants) already removed.
    """

    method: str
    path: str
    query: str  # without the '?'; '' when absent
    host: str  # lower-case, no trailing dot, no port
    port: int  # the port the client addressed (from Host, else the listener's)
    scheme: Literal["http", "https"]
    headers: Headers
    client_ip: str  # effective client address (X-Forwarded-For only from trusted proxies)
    peer_ip: str  # the TCP peer
    is_websocket: bool = False
    # The serial (lower-case hex) of the client certificate the TLS handshake verified
    # against a device CA, read once per connection; None without one.
    client_cert_serial: str | None = None

    def header(self, name: str) -> str | None:
        """The first value of a header (``name`` lower-case), or None."""
        for key, value in self.headers:
            if key == name:
                return value
        return None

    def header_values(self, name: str) -> list[str]:
        return [value for key, value in self.headers if key == name]

    @property
    def target(self) -> str:
        return f"{self.path}?{self.query}" if self.query else self.path


@dataclass(frozen=True, slots=True)
class Upstream:
    host: str
    port: int
    tls: bool = False
    tls_verify: bool = True
    server_name: str | None = None


@dataclass(frozen=True, slots=True)
class Forward:
    """Proxy the request to ``upstream`` with ``add_headers`` appended.

    ``strip_cookies`` names cookies the data plane removes from the ``Cookie`` header (the
    gateway's own session cookie never reaches an upstream); ``drop_headers`` names request
    headers (lower case) removed entirely (a machine client's credential). ``session_id`` binds a
    WebSocket tunnel to the session so that revoking the session closes it.
    """

    upstream: Upstream
    add_headers: Headers = ()
    strip_cookies: frozenset[str] = frozenset()
    drop_headers: frozenset[str] = frozenset()
    session_id: str | None = None
    max_body_bytes: int | None = None  # None: the listener's default


@dataclass(frozen=True, slots=True)
class Respond:
    status: int
    headers: Headers = ()
    body: bytes = b""


@dataclass(frozen=True, slots=True)
class Handle:
    """Read the body (at most ``max_body_bytes``) and await ``handler`` for the answer."""

    handler: Callable[[RequestHead, bytes], Awaitable[Respond]]
    max_body_bytes: int = 64 * 1024


Verdict = Forward | Respond | Handle


class Guard(Protocol):
    def check(self, head: RequestHead) -> Verdict: ...


class TunnelCloser(Protocol):
    """Implemented by the data plane: close every open tunnel bound to a session."""

    def close_session(self, session_id: str) -> int: ...


@dataclass(frozen=True, slots=True)
class ListenerLimits:
    max_header_bytes: int = 16 * 1024
    max_body_bytes: int = 10 * 1024 * 1024
    header_timeout_seconds: float = 10.0
    body_timeout_seconds: float = 60.0
    keepalive_timeout_seconds: float = 75.0
    upstream_connect_timeout_seconds: float = 5.0
    upstream_response_timeout_seconds: float = 60.0
    trusted_proxies: tuple[str, ...] = field(default=())  # CIDRs whose X-Forwarded-* count
