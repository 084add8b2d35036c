"""A real ``Server`` for tests over sockets on 127.0.0.1: one public listener on an ephemeral
port, an upstream that answers ``body`` to every request, the one-app firm of
``files_app.FILES_MANIFEST``, the user dana (in staff) and an ingest source token, all on an
event loop of its own. Subclasses adjust the settings (``settings``) and the server before it
starts (``prepare``)."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable, Coroutine
from concurrent.futures import Future
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

from menshen.app import Platform, Server
from menshen.manifest.apply import apply_manifests
from menshen.manifest.parse import parse_manifests
from menshen.monitor.ingest.http_endpoint import hash_token
from menshen.settings import IngestSettings, Listener, Settings
from menshen.store.monitor_ingest import MonitorSourceRecord
from menshen.testing import FixedClock
from tests.monitor.files_app import FILES_MANIFEST

T = TypeVar("T")
TENANT = "acme"
PASSWORD = "correct horse battery staple"
START = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)


class AppStack:
    """The running server; ``token`` is the ingest source ``vpn``'s bearer token."""

    def __init__(
        self, data_dir: Path, *, token: str, body: bytes = b"ok", start_at: datetime = START
    ) -> None:
        self.clock = FixedClock(start_at)
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self._thread.start()
        self.data_dir = data_dir
        self.token = token
        self._body = body
        self.server: Server | None = None
        self.platform: Platform | None = None
        self.user_id = ""

    def settings(self, base: Settings) -> Settings:
        """The settings the stack runs with (override to change them)."""
        return base

    def prepare(self, server: Server) -> None:
        """Called once the server is built, before it starts (override to adjust it)."""

    def seed(self, platform: Platform) -> None:
        """Extra data after the firm, dana and the source are in (override to add some)."""

    def run(self, coro: Coroutine[Any, Any, T], timeout: float = 60) -> T:
        future: Future[T] = asyncio.run_coroutine_threadsafe(coro, self.loop)
        return future.result(timeout)

    async def _upstream(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        head = f"HTTP/1.1 200 OK\r\nContent-Length: {len(self._body)}\r\nConnection: close\r\n\r\n"
        writer.write(head.encode() + self._body)
        await writer.drain()
        writer.close()

    async def start(self) -> None:
        self._upstream_server = await asyncio.start_server(self._upstream, "127.0.0.1", 0)
        port = self._upstream_server.sockets[0].getsockname()[1]
        settings = self.settings(
            Settings(
                data_dir=self.data_dir,
                database_url=None,
                tenant=TENANT,
                listeners=(Listener("127.0.0.1", 0),),
                state_refresh_seconds=0.2,
                monitor=replace(IngestSettings(), reconcile_seconds=0.2),
            )
        )
        platform = await asyncio.to_thread(Platform.open, settings, self.clock)
        self.platform = platform
        await asyncio.to_thread(self._seed, platform, f"http://127.0.0.1:{port}")
        self.server = Server(platform)
        self.prepare(self.server)
        await self.server.start()

    def _seed(self, platform: Platform, upstream: str) -> None:
        tenant = platform.store.tenant(TENANT)
        manifests = parse_manifests(FILES_MANIFEST.format(upstream=upstream), "<t>")
        apply_manifests(tenant, manifests, clock=platform.clock)
        identity = platform.identity(TENANT)
        self.user_id = identity.create_user("dana", "dana@acme.example", "Dana", PASSWORD).id
        identity.add_member("staff", "dana")
        tenant.monitor_sources.add(
            MonitorSourceRecord(TENANT, "vpn", "menshen", hash_token(self.token), START)
        )
        self.seed(platform)

    async def stop(self) -> None:
        if self.server is not None:
            await self.server.stop()
        self._upstream_server.close()
        if self.platform is not None:
            self.platform.close()

    def close(self) -> None:
        try:
            self.run(self.stop())
        finally:
            self.loop.call_soon_threadsafe(self.loop.stop)
            self._thread.join(10)
            self.loop.close()

    @property
    def url(self) -> str:
        assert self.server is not None
        return f"http://127.0.0.1:{self.server.listeners[0].port}"

    def wait_for(self, predicate: Callable[[], bool], what: str = "the condition") -> None:
        for _ in range(300):  # bounded: 300 tries, 20 ms apart
            if predicate():
                return
            time.sleep(0.02)
        raise AssertionError(f"{what} never came true")
