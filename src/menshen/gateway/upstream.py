"""Upstream connections: a keep-alive pool per ``Upstream`` and the response parser
(RFC 9112 §6-§9: message framing, persistence).

One request at a time per connection (no pipelining upstream). A connection returns to the
pool only when its response was read completely, the request was sent completely and the
upstream did not ask to close; on any error it is discarded. Idle connections expire after
``idle_timeout`` seconds; at most ``max_idle`` are kept per upstream.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import ssl
from typing import Protocol, cast

import httptools

from menshen.gateway.contract import Upstream
from menshen.gateway.headers import filter_response_headers
from menshen.gateway.http1 import Rejected

__all__ = ["ResponseSink", "UpstreamConnection", "UpstreamPool"]


class ResponseSink(Protocol):
    """Where an upstream connection delivers the response of the request it carries."""

    def upstream_head(
        self,
        status: int,
        headers: list[tuple[bytes, bytes]],
        content_length: int | None,
        chunked: bool,
    ) -> None: ...

    def upstream_body(self, data: bytes) -> None: ...

    def upstream_flush(self) -> None: ...

    def upstream_done(self) -> None: ...

    def upstream_failed(self, status: int, detail: str) -> None: ...

    def upstream_pause_writing(self) -> None: ...

    def upstream_resume_writing(self) -> None: ...


class UpstreamConnection(asyncio.Protocol):
    """One HTTP/1.1 connection to an upstream, carrying one exchange at a time."""

    def __init__(self, pool: UpstreamPool, upstream: Upstream) -> None:
        self.pool = pool
        self.upstream = upstream
        self.transport: asyncio.Transport | None = None
        self.sink: ResponseSink | None = None
        self.closed = False
        self.idle_since = 0.0
        self.reused = False
        self.idle_list: list[UpstreamConnection] | None = None  # the pool's list for upstream
        self.response_started = False
        self._parser = httptools.HttpResponseParser(self)
        self._headers: list[tuple[bytes, bytes]] = []
        self._interim = False
        self._head_request = False
        self._parser_spent = False
        self._close_delimited = False
        self._request_complete = False
        self._reading_paused = False
        self._last_read = 0.0
        self._timer: asyncio.TimerHandle | None = None

    # -- asyncio.Protocol -------------------------------------------------------------
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports implement the interface without subclassing it.
        self.transport = cast(asyncio.Transport, transport)
        sock = transport.get_extra_info("socket")
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self._cancel_timer()
        self.pool.forget(self)
        sink = self.sink
        if sink is None:
            return
        self.sink = None
        if self._close_delimited and exc is None:
            sink.upstream_done()
        else:
            sink.upstream_failed(502, "the upstream closed the connection")

    def eof_received(self) -> bool | None:
        return None  # close our side too; connection_lost decides what EOF meant

    def data_received(self, data: bytes) -> None:
        if self.sink is None:
            # Bytes nobody asked for: the connection's framing can no longer be trusted.
            self.abort()
            return
        sink = self.sink
        self._last_read = self.pool.loop.time()
        try:
            self._parser.feed_data(data)
        except httptools.HttpParserError:
            self._fail(502, "the upstream sent a malformed response")
            return
        if self.sink is sink:
            # Head and first body bytes leave in one write when they arrived together.
            sink.upstream_flush()

    def pause_writing(self) -> None:
        if self.sink is not None:
            self.sink.upstream_pause_writing()

    def resume_writing(self) -> None:
        if self.sink is not None:
            self.sink.upstream_resume_writing()

    # -- httptools callbacks ----------------------------------------------------------
    def on_header(self, name: bytes, value: bytes) -> None:
        self._headers.append((name, value))

    def on_headers_complete(self) -> None:
        status = self._parser.get_status_code()
        headers, self._headers = self._headers, []
        sink = self.sink
        if sink is None:
            return
        if 100 <= status < 200:
            # Interim responses are not relayed: the gateway answers 100-continue itself.
            self._interim = True
            return
        self.response_started = True
        kept, content_length, chunked = filter_response_headers(headers)
        no_body = self._head_request or status in (204, 304)
        self._close_delimited = not no_body and content_length is None and not chunked
        sink.upstream_head(status, kept, content_length, chunked)
        if self._head_request and self.sink is sink:
            # llhttp cannot be told the request was HEAD: finish here, parse the next
            # response with a fresh parser.
            self._parser_spent = True
            self._finish(keep_alive=self._parser.should_keep_alive())

    def on_body(self, body: bytes) -> None:
        if self.sink is not None and not self._parser_spent:
            self.sink.upstream_body(body)

    def on_message_complete(self) -> None:
        if self._interim:
            self._interim = False
            return
        if self.sink is None or self._parser_spent:
            return
        self._finish(keep_alive=self._parser.should_keep_alive())

    # -- used by the exchange ---------------------------------------------------------
    def send_head(self, sink: ResponseSink, head: bytes, *, head_request: bool) -> None:
        """Start an exchange: write the request head (the body follows with ``write``)."""
        self.sink = sink
        self.response_started = False
        self._close_delimited = False
        self._request_complete = False
        self._head_request = head_request
        if self._parser_spent or head_request:
            self._parser = httptools.HttpResponseParser(self)
            self._parser_spent = False
        self._last_read = self.pool.loop.time()
        self._arm_timer()
        assert self.transport is not None
        self.transport.write(head)

    def write(self, data: bytes) -> None:
        if self.transport is not None and not self.closed:
            self.transport.write(data)

    def request_complete(self) -> None:
        self._request_complete = True

    def pause_reading(self) -> None:
        if self.transport is not None and not self._reading_paused and not self.closed:
            self._reading_paused = True
            self.transport.pause_reading()

    def resume_reading(self) -> None:
        if self.transport is not None and self._reading_paused and not self.closed:
            self._reading_paused = False
            self._last_read = self.pool.loop.time()
            self.transport.resume_reading()

    def detach(self) -> None:
        """The client went away mid-exchange: this connection's framing is lost."""
        self.sink = None
        self.abort()

    def abort(self) -> None:
        self.closed = True
        self._cancel_timer()
        self.pool.forget(self)
        if self.transport is not None:
            self.transport.abort()

    # -- internals --------------------------------------------------------------------
    def _finish(self, *, keep_alive: bool) -> None:
        sink = self.sink
        self.sink = None
        # The response timer is left armed (it does nothing while no exchange runs, and
        # the next exchange reuses it): no timer set and cancelled per request.
        reusable = keep_alive and self._request_complete and not self.closed
        if self._reading_paused:
            self.resume_reading()
        if reusable:
            self.pool.release(self)
        else:
            self.abort()
        if sink is not None:
            sink.upstream_done()

    def _fail(self, status: int, detail: str) -> None:
        sink = self.sink
        self.sink = None
        self.abort()
        if sink is not None:
            sink.upstream_failed(status, detail)

    def _arm_timer(self) -> None:
        if self._timer is None:
            delay = self.pool.response_timeout
            self._timer = self.pool.loop.call_later(delay, self._on_timer)

    def _cancel_timer(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _on_timer(self) -> None:
        self._timer = None
        if self.sink is None or self.closed:
            return
        now = self.pool.loop.time()
        due = self._last_read + self.pool.response_timeout
        if self._reading_paused or now < due:
            # Lazy timer: re-armed only when it fires, not on every read.
            delay = self.pool.response_timeout if self._reading_paused else due - now
            self._timer = self.pool.loop.call_later(delay, self._on_timer)
            return
        self._fail(504, "the upstream did not answer in time")


class UpstreamPool:
    """Keep-alive connections per upstream."""

    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        *,
        connect_timeout: float,
        response_timeout: float,
        max_idle: int = 64,
        idle_timeout: float = 30.0,
    ) -> None:
        self.loop = loop
        self.connect_timeout = connect_timeout
        self.response_timeout = response_timeout
        self.max_idle = max_idle
        self.idle_timeout = idle_timeout
        self.connections_opened = 0
        self._idle: dict[Upstream, list[UpstreamConnection]] = {}
        self._sweeper: asyncio.TimerHandle | None = None
        self._tls: dict[bool, ssl.SSLContext] = {}
        self._closed = False

    def take_idle(self, upstream: Upstream) -> UpstreamConnection | None:
        idle = self._idle.get(upstream)
        while idle:
            conn = idle.pop()
            if not conn.closed:
                conn.reused = True
                return conn
        return None

    async def connect(self, upstream: Upstream) -> UpstreamConnection:
        """Open a new connection; raises ``Rejected`` 502 (refused) or 504 (timed out)."""
        ssl_context = self.tls_context(upstream)
        server_name = (upstream.server_name or upstream.host) if upstream.tls else None
        try:
            async with asyncio.timeout(self.connect_timeout):
                _, protocol = await self.loop.create_connection(
                    lambda: UpstreamConnection(self, upstream),
                    upstream.host,
                    upstream.port,
                    ssl=ssl_context,
                    server_hostname=server_name,
                )
        except TimeoutError:
            raise Rejected(
                504, "upstream_timeout", "connecting to the upstream timed out"
            ) from None
        except (OSError, ssl.SSLError) as exc:
            raise Rejected(502, "upstream_unavailable", f"upstream unreachable: {exc}") from None
        self.connections_opened += 1
        return protocol

    def release(self, conn: UpstreamConnection) -> None:
        if self._closed or conn.closed:
            conn.abort()
            return
        idle = conn.idle_list
        if idle is None:
            # Kept on the connection: an Upstream's hash is computed field by field.
            idle = conn.idle_list = self._idle.setdefault(conn.upstream, [])
        if len(idle) >= self.max_idle:
            conn.abort()
            return
        conn.idle_since = self.loop.time()
        idle.append(conn)
        if self._sweeper is None:
            self._sweeper = self.loop.call_later(self.idle_timeout / 2, self._sweep)

    def forget(self, conn: UpstreamConnection) -> None:
        idle = conn.idle_list
        if idle and conn in idle:
            idle.remove(conn)

    def close(self) -> None:
        """Close every idle connection; busy ones close when their exchange ends."""
        self._closed = True
        if self._sweeper is not None:
            self._sweeper.cancel()
            self._sweeper = None
        for idle in list(self._idle.values()):
            for conn in list(idle):
                conn.abort()
        self._idle.clear()

    def idle_count(self) -> int:
        return sum(len(v) for v in self._idle.values())

    def _sweep(self) -> None:
        self._sweeper = None
        cutoff = self.loop.time() - self.idle_timeout
        remaining = 0
        for idle in list(self._idle.values()):
            for conn in [c for c in idle if c.idle_since <= cutoff]:
                conn.abort()
            remaining += len(idle)
        if remaining and not self._closed:
            self._sweeper = self.loop.call_later(self.idle_timeout / 2, self._sweep)

    def tls_context(self, upstream: Upstream) -> ssl.SSLContext | None:
        """The client TLS context for ``upstream`` (None for plain HTTP)."""
        if not upstream.tls:
            return None
        verify = upstream.tls_verify
        context = self._tls.get(verify)
        if context is None:
            context = ssl.create_default_context()
            if not verify:
                context.check_hostname = False
                context.verify_mode = ssl.CERT_NONE
            context.set_alpn_protocols(["http/1.1"])
            self._tls[verify] = context
        return context
