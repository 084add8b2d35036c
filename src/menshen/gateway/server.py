"""The gateway's listener: ``GatewayServer`` (NIST SP 800-207 §3 policy enforcement point).

Hand-built on asyncio protocols and httptools (see DESIGN.md §6) and meant to run under
uvloop (``new_event_loop``). Several processes may share the port with ``reuse_port``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import ssl
from collections.abc import Callable
from email.utils import format_datetime
from typing import Literal

from menshen.clock import Clock
from menshen.gateway.connection import ClientConnection
from menshen.gateway.contract import Guard, ListenerLimits
from menshen.gateway.forwarded import TrustedProxies
from menshen.gateway.headers import NameCache
from menshen.gateway.hosts import parse_host
from menshen.gateway.outbound import OutboundCache
from menshen.gateway.paths import canonical_path
from menshen.gateway.upstream import UpstreamPool
from menshen.gateway.websocket import TunnelRegistry

__all__ = ["GatewayServer", "ProtocolErrorHook", "install_event_loop_policy", "new_event_loop"]

log = logging.getLogger(__name__)

ProtocolErrorHook = Callable[[str, str, str], None]
_CACHE_SIZE = 4096


def new_event_loop() -> asyncio.AbstractEventLoop:
    """A uvloop event loop when uvloop is installed, else the default one."""
    try:
        import uvloop
    except ImportError:  # pragma: no cover - uvloop is a dependency
        return asyncio.new_event_loop()
    loop: asyncio.AbstractEventLoop = uvloop.new_event_loop()
    return loop


def install_event_loop_policy() -> bool:
    """Make ``asyncio.run`` use uvloop; returns whether uvloop is in use."""
    try:
        import uvloop
    except ImportError:  # pragma: no cover - uvloop is a dependency
        return False
    asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
    return True


class GatewayServer:
    """An HTTP/1.1 (or HTTPS) reverse proxy listener that asks ``guard`` about every request.

    Implements ``TunnelCloser``. ``on_protocol_error(kind, peer_ip, detail)`` is called for
    every request refused on the wire and for every stripped identity header, so the
    caller can write an audit event; it must not block.
    """

    def __init__(
        self,
        guard: Guard,
        limits: ListenerLimits,
        clock: Clock,
        *,
        tls: ssl.SSLContext | None = None,
        scheme: Literal["http", "https"] = "http",
        on_protocol_error: ProtocolErrorHook | None = None,
        pool_max_idle: int = 64,
        pool_idle_timeout_seconds: float = 30.0,
        shutdown_grace_seconds: float = 10.0,
    ) -> None:
        self.guard = guard
        self.limits = limits
        self.clock = clock
        self.tls = tls
        self.scheme: Literal["http", "https"] = "https" if tls is not None else scheme
        # Whether clients may present device certificates (see ``tls.server_context``).
        self.client_certificates = tls is not None and tls.verify_mode != ssl.CERT_NONE
        self.trusted = TrustedProxies(limits.trusted_proxies)
        self.tunnels = TunnelRegistry()
        self.connections: set[ClientConnection] = set()
        self.tasks: set[asyncio.Task[None]] = set()
        self.port = 0
        self._on_protocol_error = on_protocol_error
        self._pool_max_idle = pool_max_idle
        self._pool_idle_timeout = pool_idle_timeout_seconds
        self._grace = shutdown_grace_seconds
        self.header_names: NameCache = {}
        self.outbound = OutboundCache()
        self._paths: dict[str, str] = {}
        self._hosts: dict[str, tuple[str, int | None]] = {}
        self._date_second = -1
        self._date = b""
        self._loop: asyncio.AbstractEventLoop | None = None
        self._pool: UpstreamPool | None = None
        self._server: asyncio.AbstractServer | None = None
        self._all_closed = asyncio.Event()
        # Response bytes per session id since the last ``take_bytes_out`` (monitoring).
        self.bytes_out: dict[str, int] = {}

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        assert self._loop is not None, "the server has not been started"
        return self._loop

    @property
    def pool(self) -> UpstreamPool:
        assert self._pool is not None, "the server has not been started"
        return self._pool

    async def start(self, host: str, port: int, reuse_port: bool = False) -> None:
        """Bind and listen; ``port`` 0 picks a free port (read it from ``self.port``)."""
        loop = asyncio.get_running_loop()
        self._loop = loop
        self._pool = UpstreamPool(
            loop,
            connect_timeout=self.limits.upstream_connect_timeout_seconds,
            response_timeout=self.limits.upstream_response_timeout_seconds,
            max_idle=self._pool_max_idle,
            idle_timeout=self._pool_idle_timeout,
        )
        self._server = await loop.create_server(
            lambda: ClientConnection(self),
            host,
            port,
            ssl=self.tls,
            reuse_port=reuse_port or None,
            backlog=1024,
        )
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        """Stop accepting, let exchanges in flight finish (bounded), close everything."""
        if self._server is None:
            return
        self._server.close()
        self._all_closed.clear()
        self.tunnels.close_all()
        for conn in list(self.connections):
            conn.shutdown()
        if self.connections:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self._grace):
                    await self._all_closed.wait()
        for conn in list(self.connections):
            conn.abort_connection()
        for task in list(self.tasks):
            task.cancel()
        self.pool.close()
        self._server = None

    def connection_closed(self, conn: ClientConnection) -> None:
        self.connections.discard(conn)
        if not self.connections:
            self._all_closed.set()

    def take_bytes_out(self) -> dict[str, int]:
        """Response bytes per session since the last call (the counter starts again)."""
        taken = dict(self.bytes_out)
        self.bytes_out.clear()  # cleared in place: exchanges in flight hold this dict
        return taken

    def close_session(self, session_id: str) -> int:
        """Close every WebSocket tunnel bound to ``session_id``; returns how many."""
        return self.tunnels.close_session(session_id)

    # -- shared helpers for connections (cached: hosts and paths repeat) -----------------
    def canonical_path(self, raw: str) -> str:
        path = self._paths.get(raw)
        if path is None:
            path = canonical_path(raw)
            if len(self._paths) >= _CACHE_SIZE:
                self._paths.clear()
            self._paths[raw] = path
        return path

    def parse_host(self, value: str) -> tuple[str, int | None]:
        parsed = self._hosts.get(value)
        if parsed is None:
            parsed = parse_host(value)
            if len(self._hosts) >= _CACHE_SIZE:
                self._hosts.clear()
            self._hosts[value] = parsed
        return parsed

    def date(self) -> bytes:
        """The ``Date`` value (RFC 9110 §6.6.1), recomputed at most once a second."""
        now = self.clock.now()
        second = int(now.timestamp())
        if second != self._date_second:
            self._date_second = second
            self._date = format_datetime(now, usegmt=True).encode("ascii")
        return self._date

    def report(self, kind: str, peer_ip: str, detail: str) -> None:
        hook = self._on_protocol_error
        if hook is None:
            return
        try:
            hook(kind, peer_ip, detail)
        except Exception:
            log.exception("gateway: the protocol-error hook raised")
