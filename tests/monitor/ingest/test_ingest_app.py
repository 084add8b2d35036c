"""Ingestion inside the real gateway: its own events, the bytes it sent, HTTP JSON lines."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Coroutine, Iterator
from concurrent.futures import Future
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest

from menshen.app import Platform, Server
from menshen.manifest.apply import apply_manifests
from menshen.manifest.parse import parse_manifests
from menshen.monitor.ingest.http_endpoint import INGEST_PATH, hash_token
from menshen.monitor.ingest.sink import CollectingSink
from menshen.monitor.model import Category
from menshen.settings import IngestSettings, Listener, Settings
from menshen.store.monitor_ingest import MonitorSourceRecord
from menshen.testing import FixedClock
from tests.e2e.harness import form_fields
from tests.monitor.files_app import FILES_MANIFEST

T = TypeVar("T")
TENANT = "acme"
PASSWORD = "correct horse battery staple"
DOWNLOAD = 100_000
TOKEN = "msrc_" + "k" * 40
START = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)


class _Stack:
    def __init__(self, data_dir: Path) -> None:
        self.clock = FixedClock(START)
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self._thread.start()
        self.data_dir = data_dir
        self.sink = CollectingSink()
        self.server: Server | None = None
        self.platform: Platform | None = None
        self.user_id = ""

    def run(self, coro: Coroutine[Any, Any, T], timeout: float = 60) -> T:
        future: Future[T] = asyncio.run_coroutine_threadsafe(coro, self.loop)
        return future.result(timeout)

    async def _upstream(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        head = f"HTTP/1.1 200 OK\r\nContent-Length: {DOWNLOAD}\r\nConnection: close\r\n\r\n"
        writer.write(head.encode() + b"x" * DOWNLOAD)
        await writer.drain()
        writer.close()

    async def start(self) -> None:
        upstream = await asyncio.start_server(self._upstream, "127.0.0.1", 0)
        self._upstream_server = upstream
        port = upstream.sockets[0].getsockname()[1]
        settings = Settings(
            data_dir=self.data_dir,
            database_url=None,
            tenant=TENANT,
            listeners=(Listener("127.0.0.1", 0),),
            state_refresh_seconds=0.2,
            monitor_engine=False,
            monitor=replace(IngestSettings(), reconcile_seconds=0.2),
        )
        platform = await asyncio.to_thread(Platform.open, settings, self.clock)
        self.platform = platform
        await asyncio.to_thread(self._seed, platform, f"http://127.0.0.1:{port}")
        self.server = Server(platform)
        assert self.server.ingest is not None
        self.server.ingest.pipeline.sink = self.sink
        await self.server.start()

    def _seed(self, platform: Platform, upstream: str) -> None:
        tenant = platform.store.tenant(TENANT)
        apply_manifests(
            tenant,
            parse_manifests(FILES_MANIFEST.format(upstream=upstream), "<t>"),
            clock=platform.clock,
        )
        identity = platform.identity(TENANT)
        self.user_id = identity.create_user("dana", "dana@acme.example", "Dana", PASSWORD).id
        identity.add_member("staff", "dana")
        tenant.monitor_sources.add(
            MonitorSourceRecord(TENANT, "vpn", "menshen", hash_token(TOKEN), START)
        )

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

    def wait_for(self, predicate: Any) -> None:
        for _ in range(300):  # bounded: 300 tries, 20 ms apart
            if predicate():
                return
            time.sleep(0.02)
        raise AssertionError("the events never reached the sink")


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[_Stack]:
    running = _Stack(tmp_path / "data")
    running.run(running.start())
    try:
        yield running
    finally:
        running.close()


def test_gateway_events_and_bytes_sent_reach_the_sink(stack: _Stack) -> None:
    """A sign-in and a download through the gateway arrive as login, access and transfer
    events; the transfer carries the response bytes the data plane counted."""
    json_accept = {"accept": "application/json"}
    with httpx.Client(base_url=stack.url, follow_redirects=False) as client:
        first = client.get("/files/report", headers={"accept": "text/html"})
        page = client.get(first.headers["location"])
        login = client.post(
            "/.menshen/login",
            data={**form_fields(page.text), "username": "dana", "password": PASSWORD},
        )
        assert login.status_code == 302
        download = client.get("/files/export.zip", headers=json_accept)
        assert len(download.content) == DOWNLOAD
    server = stack.server
    assert server is not None
    assert server.ingest is not None
    assert server.ingest.transfer
    transfer = server.ingest.transfer

    async def report() -> int:
        return transfer.report()

    assert stack.run(report()) == 1
    stack.wait_for(lambda: any(e.category is Category.TRANSFER for e in stack.sink.events))
    kinds = {(e.category, e.action) for e in stack.sink.events}
    assert (Category.AUTHENTICATION, "login") in kinds
    assert (Category.ACCESS, "allow") in kinds
    sent = [e for e in stack.sink.events if e.category is Category.TRANSFER]
    assert sent[0].bytes_out == DOWNLOAD
    assert sent[0].user == stack.user_id


def test_json_lines_over_http_with_a_source_token(stack: _Stack) -> None:
    """A registered source's lines are accepted (202) and delivered; a bad token gets 401."""
    line = {
        "time": "2026-11-25T08:59:00Z",
        "category": "authentication",
        "action": "vpn_login",
        "user": "dana",
        "src_ip": "203.0.113.5",
        "id": "vpn-1",
    }
    body = json.dumps(line) + "\n" + '{"time": "1970-01-01T00:00:00Z"'
    with httpx.Client(base_url=stack.url) as client:
        answer = client.post(
            INGEST_PATH, content=body, headers={"authorization": f"Bearer {TOKEN}"}
        )
        assert answer.status_code == 202
        assert answer.json() == {"accepted": 1, "rejected": 1}
        refused = client.post(
            INGEST_PATH, content=body, headers={"authorization": "Bearer msrc_" + "z" * 40}
        )
        assert refused.status_code == 401
    stack.wait_for(lambda: any(e.event_id == "vpn-1" for e in stack.sink.events))
    event = next(e for e in stack.sink.events if e.event_id == "vpn-1")
    assert (event.source, event.src_ip) == ("vpn", "203.0.113.5")
