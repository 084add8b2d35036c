"""WebSocket pass-through (RFC 6455 §4 handshake, §5.2 framing, §7.4 close codes).

After the guard allowed the upgrade, the handshake goes upstream on a fresh connection (never
pooled); a ``101`` is relayed and bytes are then piped both ways untouched. Every tunnel is
registered under the session that opened it so that revoking the session closes it at once
(reference: Pomerium issue #1327 — WebSockets not re-checked after logout). When the
server-to-client stream is at a frame boundary the client first gets a close frame with
code 1008 (policy violation); otherwise the TCP connection is simply closed.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import ssl
from typing import Protocol, cast

import httptools

from menshen.gateway.contract import Respond, Upstream
from menshen.gateway.headers import filter_response_headers
from menshen.gateway.http1 import Rejected

__all__ = ["FrameBoundary", "TunnelRegistry", "WebSocketTunnel", "close_frame"]

CLOSE_POLICY_VIOLATION = 1008
CLOSE_GOING_AWAY = 1001
_MAX_REFUSAL_BODY = 64 * 1024
_MAX_EARLY_CLIENT_BYTES = 64 * 1024


def close_frame(code: int, reason: str = "") -> bytes:
    """An unmasked (server-to-client) close frame, RFC 6455 §5.5.1."""
    payload = code.to_bytes(2, "big") + reason.encode("utf-8")[:120]
    return bytes([0x88, len(payload)]) + payload


class FrameBoundary:
    """Follows frame headers in one direction to know when a frame may be injected."""

    __slots__ = ("_head", "_left")

    def __init__(self) -> None:
        self._head = bytearray()
        self._left = 0

    @property
    def at_boundary(self) -> bool:
        return self._left == 0 and not self._head

    def feed(self, data: bytes) -> None:
        i, n = 0, len(data)
        while i < n:
            if self._left:
                take = min(self._left, n - i)
                self._left -= take
                i += take
                continue
            self._head.append(data[i])
            i += 1
            head = self._head
            if len(head) < 2:
                continue
            marker = head[1] & 0x7F
            extended = 2 if marker == 126 else 8 if marker == 127 else 0
            if len(head) < 2 + extended + (4 if head[1] & 0x80 else 0):
                continue
            self._left = int.from_bytes(head[2 : 2 + extended], "big") if extended else marker
            head.clear()


class TunnelClient(Protocol):
    """What a tunnel needs from the client connection that asked for it."""

    transport: asyncio.Transport

    def exchange_error(self, status: int, kind: str, detail: str) -> None: ...

    def send_final(self, respond: Respond) -> None: ...


class TunnelRegistry:
    """Open tunnels by session id (the data plane's ``TunnelCloser``)."""

    def __init__(self) -> None:
        self._by_session: dict[str, set[WebSocketTunnel]] = {}
        self._all: set[WebSocketTunnel] = set()

    def add(self, tunnel: WebSocketTunnel) -> None:
        self._all.add(tunnel)
        if tunnel.session_id is not None:
            self._by_session.setdefault(tunnel.session_id, set()).add(tunnel)

    def remove(self, tunnel: WebSocketTunnel) -> None:
        self._all.discard(tunnel)
        if tunnel.session_id is not None:
            tunnels = self._by_session.get(tunnel.session_id)
            if tunnels is not None:
                tunnels.discard(tunnel)
                if not tunnels:
                    del self._by_session[tunnel.session_id]

    def close_session(self, session_id: str) -> int:
        tunnels = list(self._by_session.pop(session_id, ()))
        for tunnel in tunnels:
            tunnel.close(CLOSE_POLICY_VIOLATION, "session revoked")
        return len(tunnels)

    def close_all(self) -> int:
        tunnels = list(self._all)
        for tunnel in tunnels:
            tunnel.close(CLOSE_GOING_AWAY, "gateway shutting down")
        return len(tunnels)

    def __len__(self) -> int:
        return len(self._all)


class WebSocketTunnel(asyncio.Protocol):
    """The upstream side of one WebSocket, and the pipe between it and the client."""

    def __init__(
        self,
        client: TunnelClient,
        registry: TunnelRegistry,
        session_id: str | None,
        request_head: bytes,
    ) -> None:
        self.client = client
        self.registry = registry
        self.session_id = session_id
        self.open = False
        self.closed = False
        self._request_head = request_head
        self._transport: asyncio.Transport | None = None
        self._parser = httptools.HttpResponseParser(self)
        self._headers: list[tuple[bytes, bytes]] = []
        self._status = 0
        self._refusal = bytearray()
        self._early: list[bytes] = []
        self._early_size = 0
        self._boundary = FrameBoundary()
        self._task: asyncio.Task[None] | None = None
        self._handshake_timer: asyncio.TimerHandle | None = None

    # -- set-up -------------------------------------------------------------------------
    def start(
        self,
        loop: asyncio.AbstractEventLoop,
        upstream: Upstream,
        ssl_context: ssl.SSLContext | None,
        timeouts: tuple[float, float],
    ) -> None:
        """Connect to ``upstream`` (fresh, never pooled) and send the handshake."""
        self.registry.add(self)
        self._task = loop.create_task(self._connect(loop, upstream, ssl_context, timeouts))

    async def _connect(
        self,
        loop: asyncio.AbstractEventLoop,
        upstream: Upstream,
        ssl_context: ssl.SSLContext | None,
        timeouts: tuple[float, float],
    ) -> None:
        connect_timeout, response_timeout = timeouts
        server_name = (upstream.server_name or upstream.host) if ssl_context else None
        try:
            async with asyncio.timeout(connect_timeout):
                await loop.create_connection(
                    lambda: self,
                    upstream.host,
                    upstream.port,
                    ssl=ssl_context,
                    server_hostname=server_name,
                )
        except TimeoutError:
            self._refuse(Rejected(504, "upstream_timeout", "connecting to the upstream timed out"))
            return
        except (OSError, ssl.SSLError) as exc:
            self._refuse(Rejected(502, "upstream_unavailable", f"upstream unreachable: {exc}"))
            return
        if self.closed:
            self._abort_upstream()
            return
        assert self._transport is not None
        self._transport.write(self._request_head)
        self._handshake_timer = loop.call_later(response_timeout, self._handshake_timed_out)

    def _handshake_timed_out(self) -> None:
        if not self.open and not self.closed:
            self._refuse(Rejected(504, "upstream_timeout", "the upstream did not answer in time"))

    def _refuse(self, exc: Rejected) -> None:
        if self.closed:
            return
        self._shut()
        self.client.exchange_error(exc.status, exc.kind, str(exc))

    # -- client side ----------------------------------------------------------------------
    def from_client(self, data: bytes) -> None:
        if self.closed:
            return
        if self.open and self._transport is not None:
            self._transport.write(data)
            return
        self._early.append(data)
        self._early_size += len(data)
        if self._early_size > _MAX_EARLY_CLIENT_BYTES:
            self.close(CLOSE_POLICY_VIOLATION, "too much data before the handshake")

    def client_lost(self) -> None:
        self.closed = True
        self._shut()

    def client_paused(self) -> None:
        if self._transport is not None and not self.closed:
            self._transport.pause_reading()

    def client_resumed(self) -> None:
        if self._transport is not None and not self.closed:
            self._transport.resume_reading()

    def close(self, code: int, reason: str) -> None:
        """Close both sides now; a close frame first when the stream allows one."""
        if self.closed:
            return
        transport = self.client.transport
        if self.open and self._boundary.at_boundary and not transport.is_closing():
            transport.write(close_frame(code, reason))
        self._shut()
        transport.close()

    def _shut(self) -> None:
        self.closed = True
        self.registry.remove(self)
        if self._handshake_timer is not None:
            self._handshake_timer.cancel()
            self._handshake_timer = None
        if self._task is not None and not self._task.done():
            self._task.cancel()
        self._abort_upstream()

    def _abort_upstream(self) -> None:
        if self._transport is not None:
            self._transport.abort()

    # -- asyncio.Protocol (upstream side) ---------------------------------------------------
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports implement the interface without subclassing it.
        self._transport = cast(asyncio.Transport, transport)
        sock = transport.get_extra_info("socket")
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def connection_lost(self, exc: Exception | None) -> None:
        if self.closed:
            return
        if self.open:
            self.closed = True
            self.registry.remove(self)
            self.client.transport.close()
        else:
            self._refuse(
                Rejected(502, "upstream_unavailable", "the upstream closed the connection")
            )

    def data_received(self, data: bytes) -> None:
        if self.closed:
            return
        if self.open:
            self._boundary.feed(data)
            self.client.transport.write(data)
            return
        try:
            self._parser.feed_data(data)
        except httptools.HttpParserUpgrade as upgrade:
            self._switch(data[upgrade.args[0] :])
        except httptools.HttpParserError:
            self._refuse(Rejected(502, "upstream_unavailable", "malformed upstream handshake"))

    def pause_writing(self) -> None:
        self.client.transport.pause_reading()

    def resume_writing(self) -> None:
        self.client.transport.resume_reading()

    # -- handshake response -----------------------------------------------------------------
    def on_header(self, name: bytes, value: bytes) -> None:
        self._headers.append((name, value))

    def on_headers_complete(self) -> None:
        self._status = self._parser.get_status_code()

    def on_body(self, body: bytes) -> None:
        self._refusal += body
        if len(self._refusal) > _MAX_REFUSAL_BODY:
            self._refuse(Rejected(502, "upstream_unavailable", "upstream refusal too large"))

    def on_message_complete(self) -> None:
        if self._status == 101 or self.closed:
            return  # the upgrade exception follows
        if 100 <= self._status < 200:
            self._headers = []
            return
        kept, _, _ = filter_response_headers(self._headers)
        headers = tuple(
            (n.decode("latin-1"), v.decode("latin-1"))
            for n, v in kept
            if n.lower() in (b"content-type", b"www-authenticate", b"sec-websocket-version")
        )
        self._shut()
        self.client.send_final(Respond(self._status, headers, bytes(self._refusal)))

    def _switch(self, rest: bytes) -> None:
        if self._status != 101:
            self._refuse(Rejected(502, "upstream_unavailable", "unexpected upgrade response"))
            return
        if self._handshake_timer is not None:
            self._handshake_timer.cancel()
            self._handshake_timer = None
        kept, _, _ = filter_response_headers(self._headers)
        parts = [b"HTTP/1.1 101 Switching Protocols\r\n"]
        for name, value in kept:
            parts += (name, b": ", value, b"\r\n")
        parts.append(b"connection: upgrade\r\nupgrade: websocket\r\n\r\n")
        self.open = True
        self.client.transport.write(b"".join(parts))
        if rest:
            self._boundary.feed(rest)
            self.client.transport.write(rest)
        if self._early and self._transport is not None:
            self._transport.write(b"".join(self._early))
            self._early = []
