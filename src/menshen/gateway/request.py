"""From parsed request bytes to a validated ``RequestHead`` (RFC 9112 §3, RFC 9110 §7.2).

Order of checks: version (505), method (CONNECT: 405), request target (origin-form only,
no fragment), canonical path, header framing and filtering, Host, forwarding headers.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal, Protocol

from menshen.gateway.contract import RequestHead
from menshen.gateway.headers import RequestHeaders, split_request_headers
from menshen.gateway.http1 import Rejected

if TYPE_CHECKING:
    from menshen.gateway.connection import ClientConnection

__all__ = ["BodySink", "Incoming", "build_head"]

_SCHEMES: dict[str | None, Literal["http", "https"]] = {"http": "http", "https": "https"}


class BodySink(Protocol):
    """Receives the body of the request being served."""

    response_started: bool

    def body(self, data: bytes) -> None: ...

    def body_complete(self) -> None: ...

    def client_lost(self) -> None: ...

    def client_paused(self) -> None: ...

    def client_resumed(self) -> None: ...


@dataclass(slots=True)
class Incoming:
    """One request as parsed, until it has been served (mutable: the parser fills it)."""

    method: str
    version: str
    keep_alive: bool
    upgrade: bool
    url: bytes
    raw_headers: list[tuple[bytes, bytes]]
    chunks: list[bytes] = field(default_factory=list)  # body bytes received while queued
    complete: bool = False
    has_body: bool = False
    discard: bool = False
    sink: BodySink | None = None
    forwarded: tuple[str, str, str] = ("", "", "")  # X-Forwarded-For, -Proto, -Host to send

    @classmethod
    def placeholder(cls) -> Incoming:
        """Stands for a request whose head could not even be parsed."""
        return cls("GET", "1.1", False, False, b"", [], complete=True, discard=True)


def build_head(conn: ClientConnection, msg: Incoming) -> tuple[RequestHead, RequestHeaders]:
    """Validate ``msg`` and build the head the guard judges; raises ``ProtocolError``."""
    server = conn.server
    if msg.version != "1.1" and msg.version != "1.0":
        raise Rejected(505, "bad_version", f"HTTP/{msg.version} is not supported")
    if msg.method == "CONNECT":
        raise Rejected(405, "bad_method", "CONNECT is not allowed")
    url = msg.url.decode("latin-1")
    if not url.startswith("/"):
        raise Rejected(400, "bad_target", "only origin-form request targets are accepted")
    if "#" in url:
        raise Rejected(400, "bad_target", "a fragment is not part of a request target")
    raw_path, _, query = url.partition("?")
    path = server.canonical_path(raw_path)
    info = split_request_headers(msg.raw_headers, conn.peer_trusted, server.header_names)
    msg.has_body = info.chunked or bool(info.content_length)
    if info.host is None:
        raise Rejected(400, "bad_host", "missing Host header")
    host, port = server.parse_host(info.host)
    if info.identity_stripped:
        server.report(
            "identity_header_stripped",
            conn.peer_ip,
            f"{info.identity_stripped} client-supplied x-menshen-* header(s) removed",
        )
    peer = conn.peer_ip
    if conn.peer_trusted:
        client_ip, xff = server.trusted.client_ip(peer, info.forwarded_for)
        scheme = _SCHEMES.get(info.forwarded_proto, server.scheme)
        xhost = info.forwarded_host or info.host
    else:
        client_ip = xff = peer
        scheme = server.scheme
        xhost = info.host
    msg.forwarded = (xff, scheme, xhost)
    is_websocket = (
        msg.upgrade
        and msg.method == "GET"
        and info.upgrade is not None
        and info.upgrade.lower() == "websocket"
        and "upgrade" in info.connection
    )
    if msg.upgrade and not is_websocket and msg.has_body:
        raise Rejected(400, "malformed", "an Upgrade request other than WebSocket with a body")
    if info.expect is not None and info.expect != "100-continue":
        raise Rejected(417, "malformed", "unsupported Expect")
    head = RequestHead(
        method=msg.method,
        path=path,
        query=query,
        host=host,
        port=port if port is not None else server.port,
        scheme=scheme,
        headers=info.headers,
        client_ip=client_ip,
        peer_ip=peer,
        is_websocket=is_websocket,
        client_cert_serial=conn.client_cert_serial,
    )
    return head, info
