"""One forwarded request (RFC 9110 §7.6, RFC 9112 §6-§7): body up, response down, streamed.

The request body goes upstream as it arrives (``Content-Length`` bodies as they are, chunked
ones re-chunked); the response comes back the same way (``Content-Length`` passed through,
chunked and close-delimited bodies re-chunked for HTTP/1.1 clients, close-delimited for
HTTP/1.0 ones). Nothing is buffered whole: each side pauses reading when the other side's
write buffer is above the transport's high-water mark.
"""

from __future__ import annotations

import asyncio
from typing import Protocol

from menshen.gateway.contract import Forward
from menshen.gateway.http1 import Rejected, status_line
from menshen.gateway.outbound import (
    BODY_CHUNKED,
    BODY_LENGTH,
    BODY_NONE,
    upstream_request_head,
)
from menshen.gateway.upstream import UpstreamConnection, UpstreamPool

__all__ = [
    "BODY_CHUNKED",
    "BODY_LENGTH",
    "BODY_NONE",
    "ClientSide",
    "ProxyExchange",
    "upstream_request_head",
]

_PENDING_LIMIT = 256 * 1024
_LAST_CHUNK = b"0\r\n\r\n"

OUT_NONE = 0
OUT_RAW = 1
OUT_CHUNKED = 2


class ClientSide(Protocol):
    """What an exchange needs from the client connection."""

    transport: asyncio.Transport

    def pause_reading_for(self, reason: int) -> None: ...

    def resume_reading_for(self, reason: int) -> None: ...

    def exchange_done(self, keep_alive: bool) -> None: ...

    def exchange_error(self, status: int, kind: str, detail: str) -> None: ...

    def abort_connection(self) -> None: ...


READ_PAUSED_BY_UPSTREAM = 1
READ_PAUSED_BY_PENDING = 2


class ProxyExchange:
    """Relays one request to an upstream and its response back (a ``ResponseSink``)."""

    def __init__(
        self,
        client: ClientSide,
        pool: UpstreamPool,
        forward: Forward,
        request_head: bytes,
        *,
        body_mode: int,
        body_limit: int,
        head_request: bool,
        client_keep_alive: bool,
        client_http10: bool,
        meter: dict[str, int] | None = None,
    ) -> None:
        self.client = client
        self.pool = pool
        self.forward = forward
        self.response_started = False
        self._request_head = request_head
        self._body_mode = body_mode
        self._body_limit = body_limit
        self._body_seen = 0
        self._head_request = head_request
        self._keep_alive = client_keep_alive
        self._http10 = client_http10
        self._conn: UpstreamConnection | None = None
        self._pending: list[bytes] = []
        self._pending_size = 0
        self._request_done = body_mode == BODY_NONE
        self._response_done = False
        self._finished = False
        self._out_mode = OUT_NONE
        self._out_head: bytes | None = None
        self._retried = False
        self._task: asyncio.Task[None] | None = None
        # Response bytes sent for the session (monitoring's TRANSFER events): one int add per
        # chunk, folded into the listener's per-session counter when the exchange ends.
        self._meter = meter if forward.session_id is not None else None
        self._sent = 0

    # -- start ------------------------------------------------------------------------
    def start(self) -> None:
        conn = self.pool.take_idle(self.forward.upstream)
        if conn is not None:
            self._attach(conn)
        else:
            self._task = self.pool.loop.create_task(self._connect())

    async def _connect(self) -> None:
        try:
            conn = await self.pool.connect(self.forward.upstream)
        except Rejected as exc:
            if not self._finished:
                self._finished = True
                self.client.exchange_error(exc.status, exc.kind, str(exc))
            return
        if self._finished:
            conn.abort()
            return
        self._attach(conn)

    def _attach(self, conn: UpstreamConnection) -> None:
        self._conn = conn
        data = self._request_head
        if self._pending:
            data = b"".join([data, *self._pending])
            self._pending = []
            if self._pending_size > _PENDING_LIMIT:
                self.client.resume_reading_for(READ_PAUSED_BY_PENDING)
            self._pending_size = 0
        if self._request_done and self._body_mode == BODY_CHUNKED:
            data += _LAST_CHUNK
        conn.send_head(self, data, head_request=self._head_request)
        if self._request_done:
            conn.request_complete()

    # -- request body, from the client --------------------------------------------------
    def body(self, data: bytes) -> None:
        self._body_seen += len(data)
        if self._body_seen > self._body_limit:
            self._fail_request(413, "body_too_large", "the request body is too large")
            return
        if self._body_mode == BODY_CHUNKED:
            data = b"%x\r\n%b\r\n" % (len(data), data)
        conn = self._conn
        if conn is not None:
            conn.write(data)
            return
        self._pending.append(data)
        before = self._pending_size
        self._pending_size += len(data)
        if before <= _PENDING_LIMIT < self._pending_size:
            self.client.pause_reading_for(READ_PAUSED_BY_PENDING)

    def body_complete(self) -> None:
        self._request_done = True
        conn = self._conn
        if conn is not None:
            if self._body_mode == BODY_CHUNKED:
                conn.write(_LAST_CHUNK)
            conn.request_complete()
        if self._response_done:
            self._finish()

    def body_failed(self) -> None:
        """The client's request body was malformed or timed out."""
        self._fail_request(400, "malformed", "malformed request body")

    def _fail_request(self, status: int, kind: str, detail: str) -> None:
        if self._finished:
            return
        self._finished = True
        self._drop_upstream()
        if self.response_started:
            self.client.abort_connection()
        else:
            self.client.exchange_error(status, kind, detail)

    # -- client connection events -------------------------------------------------------
    def client_lost(self) -> None:
        self._finished = True
        self._count_sent()
        self._drop_upstream()

    def client_paused(self) -> None:
        if self._conn is not None:
            self._conn.pause_reading()

    def client_resumed(self) -> None:
        if self._conn is not None:
            self._conn.resume_reading()

    def _drop_upstream(self) -> None:
        if self._task is not None and not self._task.done():
            self._task.cancel()
        if self._conn is not None:
            self._conn.detach()
            self._conn = None

    # -- ResponseSink ---------------------------------------------------------------------
    def upstream_head(
        self,
        status: int,
        headers: list[tuple[bytes, bytes]],
        content_length: int | None,
        chunked: bool,
    ) -> None:
        if self._finished:
            return
        self.response_started = True
        parts = [status_line(status)]
        for name, value in headers:
            parts += (name, b": ", value, b"\r\n")
        if self._head_request or status in (204, 304):
            if content_length is not None:
                parts.append(b"content-length: %d\r\n" % content_length)
            self._out_mode = OUT_NONE
        elif content_length is not None:
            parts.append(b"content-length: %d\r\n" % content_length)
            self._out_mode = OUT_RAW
        elif not self._http10:
            parts.append(b"transfer-encoding: chunked\r\n")
            self._out_mode = OUT_CHUNKED
        else:
            self._out_mode = OUT_RAW
            self._keep_alive = False
        if not self._request_done:
            # The rest of the request body will not be read: the connection cannot continue.
            self._keep_alive = False
        if not self._keep_alive:
            parts.append(b"connection: close\r\n\r\n")
        elif self._http10:
            parts.append(b"connection: keep-alive\r\n\r\n")
        else:
            parts.append(b"\r\n")
        self._out_head = b"".join(parts)

    def upstream_body(self, data: bytes) -> None:
        if self._finished or not data:
            return
        self._sent += len(data)
        transport = self.client.transport
        head, self._out_head = self._out_head, None
        if self._out_mode == OUT_CHUNKED:
            size = b"%x\r\n" % len(data)
            if head is None:
                transport.writelines((size, data, b"\r\n"))
            else:
                transport.writelines((head, size, data, b"\r\n"))
        elif self._out_mode == OUT_RAW:
            if head is None:
                transport.write(data)
            else:
                transport.writelines((head, data))

    def upstream_flush(self) -> None:
        head, self._out_head = self._out_head, None
        if head is not None and not self._finished:
            self.client.transport.write(head)

    def upstream_done(self) -> None:
        if self._finished:
            return
        head, self._out_head = self._out_head, None
        tail = _LAST_CHUNK if self._out_mode == OUT_CHUNKED else b""
        if head is not None or tail:
            self.client.transport.write((head or b"") + tail)
        self._conn = None
        self._response_done = True
        if self._request_done or not self._keep_alive:
            self._finish()

    def upstream_failed(self, status: int, detail: str) -> None:
        if self._finished:
            return
        conn, self._conn = self._conn, None
        if (
            conn is not None
            and conn.reused
            and not self.response_started
            and self._body_mode == BODY_NONE
            and not self._retried
        ):
            # A pooled connection the upstream closed while idle: one fresh attempt.
            self._retried = True
            self._task = self.pool.loop.create_task(self._connect())
            return
        self._finished = True
        self._count_sent()
        if self.response_started:
            self.client.abort_connection()
        else:
            kind = "upstream_timeout" if status == 504 else "upstream_unavailable"
            self.client.exchange_error(status, kind, detail)

    def upstream_pause_writing(self) -> None:
        self.client.pause_reading_for(READ_PAUSED_BY_UPSTREAM)

    def upstream_resume_writing(self) -> None:
        self.client.resume_reading_for(READ_PAUSED_BY_UPSTREAM)

    def _finish(self) -> None:
        if self._finished:
            return
        self._finished = True
        self._count_sent()
        self.client.resume_reading_for(READ_PAUSED_BY_UPSTREAM)
        self.client.exchange_done(self._keep_alive and self._request_done)

    def _count_sent(self) -> None:
        meter = self._meter
        if meter is not None and self._sent:
            session_id = self.forward.session_id or ""
            meter[session_id] = meter.get(session_id, 0) + self._sent
            self._sent = 0
