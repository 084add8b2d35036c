"""Acting on the guard's verdict (the seam in ``contract.py``): respond, handle, forward.

The guard runs once per request, synchronously. An exception from it is a 500 and the
request is never forwarded (fail closed). Bodies are bounded before anything is read:
a ``Content-Length`` above the limit is a 413 up front; a chunked body is counted as it
streams and cut off at the limit.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

from menshen.gateway.contract import Forward, Handle, RequestHead, Respond
from menshen.gateway.headers import RequestHeaders
from menshen.gateway.problem import status_problem
from menshen.gateway.proxy import (
    BODY_CHUNKED,
    BODY_LENGTH,
    BODY_NONE,
    ProxyExchange,
    upstream_request_head,
)
from menshen.gateway.request import Incoming
from menshen.gateway.websocket import WebSocketTunnel

if TYPE_CHECKING:
    from menshen.gateway.connection import ClientConnection

__all__ = ["dispatch"]

log = logging.getLogger(__name__)

_CONTINUE = b"HTTP/1.1 100 Continue\r\n\r\n"


def dispatch(
    conn: ClientConnection, msg: Incoming, head: RequestHead, info: RequestHeaders
) -> None:
    """Ask the guard about ``head`` and start whatever it decided."""
    try:
        verdict: object = conn.server.guard.check(head)
    except Exception:
        log.exception("gateway: the guard raised; denying")
        conn.send_response(status_problem(500, "internal error"), keep_alive=False)
        return
    if isinstance(verdict, Forward):  # the common case first
        if head.is_websocket:
            _open_tunnel(conn, msg, head, verdict)
        else:
            _forward(conn, msg, head, info, verdict)
    elif isinstance(verdict, Respond):
        msg.discard = True
        keep = msg.keep_alive and not msg.has_body and not head.is_websocket
        conn.send_response(verdict, keep_alive=keep)
    elif isinstance(verdict, Handle):
        _handle(conn, msg, head, info, verdict)
    else:
        log.error("gateway: the guard returned %r; denying", type(verdict))
        conn.send_response(status_problem(500, "internal error"), keep_alive=False)


def _too_large(conn: ClientConnection, info: RequestHeaders, limit: int) -> bool:
    if info.content_length is not None and info.content_length > limit:
        conn.exchange_error(413, "body_too_large", "the request body is too large")
        return True
    return False


def _forward(
    conn: ClientConnection, msg: Incoming, head: RequestHead, info: RequestHeaders, fwd: Forward
) -> None:
    server = conn.server
    limit = fwd.max_body_bytes if fwd.max_body_bytes is not None else server.limits.max_body_bytes
    if _too_large(conn, info, limit):
        return
    if info.chunked:
        body_mode = BODY_CHUNKED
    elif info.content_length is not None:
        body_mode = BODY_LENGTH
    else:
        body_mode = BODY_NONE
    try:
        request_head = upstream_request_head(
            head, fwd, msg.forwarded, body_mode, info.content_length or 0, cache=server.outbound
        )
    except ValueError:
        log.exception("gateway: the guard's headers cannot be sent; denying")
        conn.send_response(status_problem(500, "internal error"), keep_alive=False)
        return
    if info.expect == "100-continue" and msg.has_body and not msg.complete:
        conn.transport.write(_CONTINUE)
    exchange = ProxyExchange(
        conn,
        server.pool,
        fwd,
        request_head,
        body_mode=body_mode,
        body_limit=limit,
        head_request=head.method == "HEAD",
        client_keep_alive=msg.keep_alive,
        client_http10=msg.version == "1.0",
        meter=server.bytes_out,
    )
    msg.sink = exchange
    exchange.start()


def _open_tunnel(conn: ClientConnection, msg: Incoming, head: RequestHead, fwd: Forward) -> None:
    server = conn.server
    try:
        request_head = upstream_request_head(
            head, fwd, msg.forwarded, BODY_NONE, 0, upgrade=True, cache=server.outbound
        )
    except ValueError:
        log.exception("gateway: the guard's headers cannot be sent; denying")
        conn.send_response(status_problem(500, "internal error"), keep_alive=False)
        return
    msg.discard = True
    tunnel = WebSocketTunnel(conn, server.tunnels, fwd.session_id, request_head)
    conn.tunnel = tunnel
    limits = server.limits
    tunnel.start(
        server.loop,
        fwd.upstream,
        server.pool.tls_context(fwd.upstream),
        (limits.upstream_connect_timeout_seconds, limits.upstream_response_timeout_seconds),
    )


def _handle(
    conn: ClientConnection, msg: Incoming, head: RequestHead, info: RequestHeaders, handle: Handle
) -> None:
    if _too_large(conn, info, handle.max_body_bytes):
        return
    if info.expect == "100-continue" and msg.has_body and not msg.complete:
        conn.transport.write(_CONTINUE)
    msg.sink = HandleBody(conn, msg, head, handle)


class HandleBody:
    """Collects a bounded body for one of the gateway's own endpoints, then awaits it."""

    def __init__(self, conn: ClientConnection, msg: Incoming, head: RequestHead, handle: Handle):
        self.response_started = False
        self._conn = conn
        self._msg = msg
        self._head = head
        self._handle = handle
        self._parts: list[bytes] = []
        self._size = 0
        self._done = False
        self._task: asyncio.Task[None] | None = None

    def body(self, data: bytes) -> None:
        if self._done:
            return
        self._size += len(data)
        if self._size > self._handle.max_body_bytes:
            self._done = True
            self._conn.exchange_error(413, "body_too_large", "the request body is too large")
            return
        self._parts.append(data)

    def body_complete(self) -> None:
        if self._done:
            return
        self._done = True
        body = b"".join(self._parts)
        self._parts = []
        tasks = self._conn.server.tasks
        self._task = self._conn.loop.create_task(self._run(body))
        tasks.add(self._task)
        self._task.add_done_callback(tasks.discard)

    async def _run(self, body: bytes) -> None:
        try:
            respond: object = await self._handle.handler(self._head, body)
        except Exception:
            log.exception("gateway: an endpoint handler raised")
            respond = status_problem(500, "internal error")
        if not isinstance(respond, Respond):
            respond = status_problem(500, "internal error")
        if self._conn.current is self._msg:
            self.response_started = True
            self._conn.send_response(respond, keep_alive=self._msg.keep_alive)

    def client_lost(self) -> None:
        self._done = True
        if self._task is not None and not self._task.done():
            self._task.cancel()

    def client_paused(self) -> None:
        return None

    def client_resumed(self) -> None:
        return None
