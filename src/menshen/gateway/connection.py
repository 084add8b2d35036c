"""One client connection (RFC 9112): parse, validate, ask the guard, act on the verdict.

Requests on a connection are served strictly in order. A pipelined request (one that
arrives while the previous response is still being sent) is parsed and queued, reading
pauses, and it is served when the previous exchange ends. Every rejection is a response
with ``Connection: close`` followed by a lingering close (our FIN first, the client's
remaining bytes read and dropped for a moment) so the client gets to read the answer.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from collections import deque
from typing import TYPE_CHECKING, cast

import httptools

from menshen.errors import ProtocolError
from menshen.gateway.contract import Respond
from menshen.gateway.http1 import Rejected, render_response
from menshen.gateway.problem import status_problem
from menshen.gateway.request import Incoming, build_head
from menshen.gateway.tls import peer_serial
from menshen.gateway.verdicts import dispatch
from menshen.gateway.websocket import WebSocketTunnel

if TYPE_CHECKING:
    from menshen.gateway.server import GatewayServer

__all__ = ["ClientConnection"]

log = logging.getLogger(__name__)

READ_PAUSED_BY_PIPELINE = 4
_LINGER_SECONDS = 2.0

TIMER_NONE = 0
TIMER_HEADER = 1
TIMER_BODY = 2
TIMER_KEEPALIVE = 3


class _Stop(Exception):
    """Raised inside a parser callback to stop parsing a connection we gave up on."""


class ClientConnection(asyncio.Protocol):
    """The server side of one client TCP (or TLS) connection."""

    def __init__(self, server: GatewayServer) -> None:
        self.server = server
        self.loop = server.loop
        self.transport: asyncio.Transport = None  # type: ignore[assignment]
        self.peer_ip = ""
        self.peer_trusted = False
        self.client_cert_serial: str | None = None
        self.tunnel: WebSocketTunnel | None = None
        self._parser = httptools.HttpRequestParser(self)
        self._max_head = server.limits.max_header_bytes
        self._url = b""
        self._raw_headers: list[tuple[bytes, bytes]] = []
        self._head_size = 0
        self._head_raw = 0
        self._in_head = False
        self._incoming: Incoming | None = None
        self.current: Incoming | None = None
        self._queue: deque[Incoming] = deque()
        self._paused = 0
        self._dead = False
        self._closing = False
        self._eof = False
        self._timer: asyncio.TimerHandle | None = None
        self._timer_kind = TIMER_NONE
        self._timer_when = 0.0
        self._deadline = 0.0

    # -- asyncio.Protocol ---------------------------------------------------------------
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports implement the interface without subclassing it.
        self.transport = cast(asyncio.Transport, transport)
        peer = transport.get_extra_info("peername")
        self.peer_ip = str(peer[0]) if peer else ""
        if self.peer_ip.startswith("::ffff:") and "." in self.peer_ip:
            self.peer_ip = self.peer_ip[7:]
        self.peer_trusted = self.server.trusted.contains(self.peer_ip)
        if self.server.client_certificates:
            # Performance: the handshake is over; the certificate is read once per connection.
            self.client_cert_serial = peer_serial(transport.get_extra_info("peercert"))
        sock = transport.get_extra_info("socket")
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.server.connections.add(self)
        self._arm(TIMER_HEADER, self.server.limits.header_timeout_seconds)

    def connection_lost(self, exc: Exception | None) -> None:
        self._dead = True
        self._timer_kind = TIMER_NONE
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self.server.connection_closed(self)
        tunnel = self.tunnel
        if tunnel is not None:
            tunnel.client_lost()
        for msg in (self.current, *self._queue):
            if msg is not None and msg.sink is not None:
                msg.sink.client_lost()
        self.current = None
        self._queue.clear()

    def eof_received(self) -> bool | None:
        if self.tunnel is not None:
            return None
        if self.current is not None and not self._dead:
            self._eof = True
            return True  # half-close: finish the response, then close
        return None

    def pause_writing(self) -> None:
        if self.tunnel is not None:
            self.tunnel.client_paused()
        elif self.current is not None and self.current.sink is not None:
            self.current.sink.client_paused()

    def resume_writing(self) -> None:
        if self.tunnel is not None:
            self.tunnel.client_resumed()
        elif self.current is not None and self.current.sink is not None:
            self.current.sink.client_resumed()

    def data_received(self, data: bytes) -> None:
        if self.tunnel is not None:
            self.tunnel.from_client(data)
            return
        if self._dead:
            return
        if self._in_head or self.current is None:
            if self._incoming is None and not self._in_head and _has_bare_lf(data):
                self._reject(Rejected(400, "smuggling", "bare LF in the request head"))
                return
            self._head_raw += len(data)
        elif self._timer_kind == TIMER_BODY:
            self._deadline = self.loop.time() + self.server.limits.body_timeout_seconds
        try:
            self._parser.feed_data(data)
        except httptools.HttpParserUpgrade as upgrade:
            self._after_upgrade(data[upgrade.args[0] :])
            return
        except httptools.HttpParserCallbackError as exc:
            cause = exc.__context__
            if isinstance(cause, ProtocolError):
                self._reject(cause)
            elif not isinstance(cause, _Stop):
                log.exception("gateway: internal error while parsing", exc_info=cause)
                self._reject(Rejected(500, "internal", "internal error"))
            return
        except httptools.HttpParserError as exc:
            message = str(exc)
            kind = "smuggling" if "Length" in message or "Encoding" in message else "malformed"
            self._reject(Rejected(400, kind, message))
            return
        if self._in_head and self._head_raw > self._max_head:
            self._reject(Rejected(431, "header_too_large", "request header section too large"))

    # -- httptools callbacks ----------------------------------------------------------
    def on_message_begin(self) -> None:
        self._in_head = True
        self._url = b""
        self._raw_headers = []
        self._head_size = 0
        if self.current is None:
            self._arm(TIMER_HEADER, self.server.limits.header_timeout_seconds)

    def on_url(self, url: bytes) -> None:
        self._url += url
        self._head_size += len(url)
        if self._head_size > self._max_head:
            raise Rejected(414, "header_too_large", "request target too long")

    def on_header(self, name: bytes, value: bytes) -> None:
        self._raw_headers.append((name, value))
        self._head_size += len(name) + len(value) + 4
        if self._head_size > self._max_head:
            raise Rejected(431, "header_too_large", "request header section too large")

    def on_headers_complete(self) -> None:
        self._in_head = False
        self._head_raw = 0
        parser = self._parser
        msg = Incoming(
            method=parser.get_method().decode("ascii"),
            version=parser.get_http_version(),
            keep_alive=parser.should_keep_alive(),
            upgrade=parser.should_upgrade(),
            url=self._url,
            raw_headers=self._raw_headers,
        )
        self._incoming = msg
        if self.current is None:
            self._start(msg)
            if self._dead:
                raise _Stop
        else:
            self._queue.append(msg)
            self.pause_reading_for(READ_PAUSED_BY_PIPELINE)

    def on_body(self, body: bytes) -> None:
        msg = self._incoming
        if msg is None:
            return
        if msg.sink is not None:
            msg.sink.body(body)
        elif msg.discard:
            return
        else:
            msg.chunks.append(body)
        if self._dead:
            raise _Stop

    def on_message_complete(self) -> None:
        msg = self._incoming
        self._incoming = None
        if msg is None:
            return
        msg.complete = True
        if msg is self.current and self._timer_kind == TIMER_BODY:
            self._disarm()
        if msg.sink is not None:
            msg.sink.body_complete()
        if self._dead:
            raise _Stop

    # -- serving ------------------------------------------------------------------------
    def _start(self, msg: Incoming) -> None:
        self.current = msg
        try:
            head, info = build_head(self, msg)
        except ProtocolError as exc:
            self._reject(exc)
            return
        if msg.has_body and not msg.complete:
            self._arm(TIMER_BODY, self.server.limits.body_timeout_seconds)
        else:
            self._disarm()
        dispatch(self, msg, head, info)
        if msg.sink is not None and msg.chunks:
            chunks, msg.chunks = msg.chunks, []
            for chunk in chunks:
                msg.sink.body(chunk)
        if msg.sink is not None and msg.complete:
            msg.sink.body_complete()

    def _start_next(self) -> None:
        if self._dead or self.current is not None or not self._queue:
            return
        msg = self._queue.popleft()
        if not self._queue:
            self.resume_reading_for(READ_PAUSED_BY_PIPELINE)
        self._start(msg)

    def _after_upgrade(self, rest: bytes) -> None:
        if self.tunnel is not None:
            if rest:
                self.tunnel.from_client(rest)
            return
        # Not a WebSocket (or refused): continue as plain HTTP with a fresh parser.
        self._parser = httptools.HttpRequestParser(self)
        if rest and not self._dead:
            self.data_received(rest)

    # -- the exchange's side (see proxy.ClientSide) ---------------------------------------
    def pause_reading_for(self, reason: int) -> None:
        if not self._paused and not self.transport.is_closing():
            self.transport.pause_reading()
        self._paused |= reason

    def resume_reading_for(self, reason: int) -> None:
        if not self._paused & reason:
            return
        self._paused &= ~reason
        if not self._paused and not self.transport.is_closing():
            self.transport.resume_reading()

    def exchange_done(self, keep_alive: bool) -> None:
        msg = self.current
        self.current = None
        if msg is not None and msg.sink is not None:
            msg.sink = None
            msg.discard = True
        if not keep_alive or self._closing or self._dead or self._eof:
            self._close_after_write()
            return
        if self._queue:
            self.loop.call_soon(self._start_next)
        elif not self._in_head:
            self._arm(TIMER_KEEPALIVE, self.server.limits.keepalive_timeout_seconds)

    def exchange_error(self, status: int, kind: str, detail: str) -> None:
        if not kind.startswith("upstream_"):
            self.server.report(kind, self.peer_ip, detail)
        msg = self.current
        keep = (
            msg is not None
            and msg.complete
            and msg.keep_alive
            and kind.startswith("upstream_")
            and not self._dead
        )
        self.send_response(status_problem(status, detail), keep_alive=keep)

    def send_final(self, respond: Respond) -> None:
        """Answer and close (used after a refused WebSocket handshake)."""
        self.tunnel = None
        self.send_response(respond, keep_alive=False)

    def abort_connection(self) -> None:
        self._dead = True
        self.transport.abort()

    def send_response(self, respond: Respond, *, keep_alive: bool) -> None:
        """Write a response the gateway made and end the current exchange."""
        msg = self.current
        head_only = msg is not None and msg.method == "HEAD"
        try:
            data = render_response(
                respond.status,
                respond.headers,
                respond.body,
                date=self.server.date(),
                keep_alive=keep_alive,
                head_only=head_only,
            )
        except ValueError:
            log.exception("gateway: refusing to send a malformed response")
            fallback = status_problem(500, "internal error")
            data = render_response(
                500, fallback.headers, fallback.body, date=self.server.date(), keep_alive=False
            )
            keep_alive = False
        if not self.transport.is_closing():
            self.transport.write(data)
        self.exchange_done(keep_alive)

    # -- rejection and closing ------------------------------------------------------------
    def _reject(self, exc: ProtocolError) -> None:
        kind = getattr(exc, "kind", "malformed")
        self.server.report(kind, self.peer_ip, str(exc))
        self._dead = True
        msg = self.current
        started = msg is not None and msg.sink is not None and msg.sink.response_started
        if msg is not None and msg.sink is not None:
            msg.sink.client_lost()
            msg.sink = None
        if started:
            self.abort_connection()
            return
        self.current = msg or Incoming.placeholder()
        self.send_response(status_problem(exc.status, str(exc)), keep_alive=False)

    def _close_after_write(self) -> None:
        self._dead = True
        self._disarm()
        transport = self.transport
        if transport.is_closing():
            return
        if self._paused:
            self._paused = 0
            transport.resume_reading()
        if transport.can_write_eof():
            transport.write_eof()
            self.loop.call_later(_LINGER_SECONDS, transport.abort)
        else:
            transport.close()

    def shutdown(self) -> None:
        """Graceful stop: close now if idle, else after the current exchange."""
        self._closing = True
        if self.tunnel is not None:
            return
        if self.current is None:
            self._close_after_write()

    # -- one lazy timer per connection --------------------------------------------------
    def _arm(self, kind: int, seconds: float) -> None:
        self._timer_kind = kind
        self._deadline = self.loop.time() + seconds
        if self._timer is None or self._deadline < self._timer_when:
            if self._timer is not None:
                self._timer.cancel()
            self._timer_when = self._deadline
            self._timer = self.loop.call_at(self._deadline, self._on_timer)

    def _disarm(self) -> None:
        self._timer_kind = TIMER_NONE

    def _on_timer(self) -> None:
        self._timer = None
        kind = self._timer_kind
        if kind == TIMER_NONE or self._dead:
            return
        if self.loop.time() < self._deadline:
            self._timer_when = self._deadline
            self._timer = self.loop.call_at(self._deadline, self._on_timer)
            return
        self._timer_kind = TIMER_NONE
        if kind == TIMER_KEEPALIVE:
            self._close_after_write()
        elif kind == TIMER_HEADER:
            self._reject(Rejected(408, "header_timeout", "the request head took too long"))
        else:
            self._reject(Rejected(408, "body_timeout", "the request body took too long"))


def _has_bare_lf(data: bytes) -> bool:
    """A LF not preceded by CR within the head part of ``data`` (RFC 9112 §2.2)."""
    end = data.find(b"\r\n\r\n")
    if end < 0:
        end = len(data)
    # Counted in place: slicing would copy the head of every request.
    return data.count(b"\n", 0, end) != data.count(b"\r\n", 0, end)
