"""The operations listener inside the real server, over sockets on 127.0.0.1: counters move
with requests, /healthz follows the audit backlog, and the public listener never serves it."""

from __future__ import annotations

import asyncio
import json
import logging
import threading
import time
from collections.abc import Callable, Coroutine, Iterator
from concurrent.futures import Future
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from menshen import __version__
from menshen.app import Platform, Server
from menshen.events.model import AuditEvent, Kind, Outcome
from menshen.gateway.metrics import AuditFigures, MetricSources
from menshen.gateway.ops import HealthCheck, OpsListener
from menshen.manifest.apply import apply_manifests
from menshen.manifest.parse import parse_manifests
from menshen.monitor.ingest.http_endpoint import INGEST_PATH, hash_token
from menshen.settings import IngestSettings, Listener, Settings
from menshen.settings_metrics import MetricsSettings
from menshen.store.monitor_ingest import MonitorSourceRecord
from menshen.testing import FixedClock
from tests.e2e.harness import form_fields
from tests.monitor.files_app import FILES_MANIFEST

T = TypeVar("T")
TENANT = "acme"
PASSWORD = "correct horse battery staple"
TOKEN = "msrc_" + "m" * 40
START = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)
JSON = {"accept": "application/json"}
Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


class _Stack:
    """A real ``Server`` with one public listener and the metrics listener, both on
    ephemeral ports, on an event loop of its own."""

    def __init__(self, data_dir: Path) -> None:
        self.clock = FixedClock(START)
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self._thread.start()
        self.data_dir = data_dir
        self.server: Server | None = None
        self.platform: Platform | None = None

    def run(self, coro: Coroutine[Any, Any, T], timeout: float = 60) -> T:
        future: Future[T] = asyncio.run_coroutine_threadsafe(coro, self.loop)
        return future.result(timeout)

    async def _upstream(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok")
        await writer.drain()
        writer.close()

    async def start(self) -> None:
        self._upstream_server = await asyncio.start_server(self._upstream, "127.0.0.1", 0)
        port = self._upstream_server.sockets[0].getsockname()[1]
        settings = Settings(
            data_dir=self.data_dir,
            database_url=None,
            tenant=TENANT,
            listeners=(Listener("127.0.0.1", 0),),
            state_refresh_seconds=0.2,
            monitor=replace(IngestSettings(), reconcile_seconds=0.2),
            metrics=MetricsSettings("127.0.0.1", 0),
        )
        platform = await asyncio.to_thread(Platform.open, settings, self.clock)
        self.platform = platform
        await asyncio.to_thread(self._seed, platform, f"http://127.0.0.1:{port}")
        self.server = Server(platform)
        await self.server.start()

    def _seed(self, platform: Platform, upstream: str) -> None:
        tenant = platform.store.tenant(TENANT)
        manifests = parse_manifests(FILES_MANIFEST.format(upstream=upstream), "<t>")
        apply_manifests(tenant, manifests, clock=platform.clock)
        identity = platform.identity(TENANT)
        identity.create_user("dana", "dana@acme.example", "Dana", PASSWORD)
        identity.add_member("staff", "dana")
        identity.create_user("erin", "erin@acme.example", "Erin", PASSWORD)  # not in staff
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

    @property
    def ops_url(self) -> str:
        assert self.server is not None
        assert self.server.ops is not None
        return f"http://127.0.0.1:{self.server.ops.port}"

    def scrape(self) -> Samples:
        answer = httpx.get(self.ops_url + "/metrics", timeout=5)
        assert answer.status_code == 200
        assert answer.headers["content-type"].startswith("text/plain; version=0.0.4")
        return {
            (sample.name, tuple(sorted(sample.labels.items()))): sample.value
            for family in text_string_to_metric_families(answer.text)
            for sample in family.samples
        }

    def sign_in(self, client: httpx.Client, username: str) -> None:
        first = client.get("/files/report", headers={"accept": "text/html"})
        page = client.get(first.headers["location"])
        login = client.post(
            "/.menshen/login",
            data={**form_fields(page.text), "username": username, "password": PASSWORD},
        )
        assert login.status_code == 302, login.text


def _value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def _wait(predicate: Callable[[], bool]) -> bool:
    for _ in range(250):  # bounded: 250 tries, 20 ms apart
        if predicate():
            return True
        time.sleep(0.02)
    return False


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[_Stack]:
    running = _Stack(tmp_path / "data")
    running.run(running.start())
    try:
        yield running
    finally:
        running.close()


def test_decision_counters_move_with_allowed_and_denied_requests(stack: _Stack) -> None:
    """An allowed, a denied and an anonymous request each move their own series."""
    before = stack.scrape()
    with httpx.Client(base_url=stack.url, follow_redirects=False) as dana:
        stack.sign_in(dana, "dana")
        assert dana.get("/files/report", headers=JSON).status_code == 200
    with httpx.Client(base_url=stack.url, follow_redirects=False) as erin:
        stack.sign_in(erin, "erin")
        assert erin.get("/files/report", headers=JSON).status_code == 403
    assert httpx.get(stack.url + "/files/report", headers=JSON).status_code == 401
    after = stack.scrape()

    def moved(decision: str) -> float:
        name = "menshen_requests_total"
        return _value(after, name, decision=decision) - _value(before, name, decision=decision)

    assert moved("allow") == 1
    assert moved("deny") == 1
    assert moved("unauthenticated") == 3  # two browsers sent to sign in, one API client
    assert moved("step_up") == 0
    assert _value(after, "menshen_sessions_live", tenant=TENANT) == 2
    assert _value(after, "menshen_build_info", version=__version__) == 1
    assert stack.server is not None
    written = stack.server.writer.written
    assert _wait(lambda: stack.server is not None and stack.server.writer.pending == 0)
    assert _value(stack.scrape(), "menshen_audit_rows_written_total") >= written > 0


def test_rejected_ingest_lines_are_counted_by_reason(stack: _Stack) -> None:
    """A malformed and a too-old line move rejected{reason=...}; the good one is accepted."""
    good = {"time": "2026-11-25T08:59:00Z", "category": "authentication",
            "action": "vpn_login", "user": "dana", "id": "vpn-1"}  # fmt: skip
    old = {**good, "time": "1970-01-01T00:00:00Z", "id": "vpn-0"}
    body = "\n".join([json.dumps(good), json.dumps(old), '{"time": "2026-11-25T'])
    answer = httpx.post(
        stack.url + INGEST_PATH, content=body, headers={"authorization": f"Bearer {TOKEN}"}
    )
    assert answer.status_code == 202
    samples = stack.scrape()
    labels = {"tenant": TENANT, "source": "vpn"}
    rejected = "menshen_ingest_rejected_total"
    assert _value(samples, rejected, **labels, reason="time_too_old") == 1
    assert _value(samples, rejected, **labels, reason="bad_json") == 1
    assert _value(samples, "menshen_ingest_received_total", **labels) == 3
    assert _value(samples, "menshen_ingest_accepted_total", **labels) == 1
    assert ("menshen_gateway_handoff_pending", ()) in samples


def test_the_monitor_engine_counts_the_events_it_processed(stack: _Stack) -> None:
    """Gateway events reach the engine through the pipeline; the scrape shows them."""
    before = _value(stack.scrape(), "menshen_monitor_events_total")
    assert httpx.get(stack.url + "/files/report", headers=JSON).status_code == 401
    with httpx.Client(base_url=stack.url, follow_redirects=False) as dana:
        stack.sign_in(dana, "dana")  # a sign-in is an event the engine sees
    assert _wait(lambda: _value(stack.scrape(), "menshen_monitor_events_total") > before)


def test_healthz_turns_503_when_the_audit_backlog_passes_the_limit(stack: _Stack) -> None:
    """200 while healthy; with the writer stalled and the backlog past the guard's limit,
    503 naming the audit log, and the gateway refuses requests as unavailable."""
    healthy = httpx.get(stack.ops_url + "/healthz", timeout=5)
    assert healthy.status_code == 200
    assert healthy.json()["status"] == "ok"
    server = stack.server
    assert server is not None
    stack.run(server.writer.stop())  # the writer stalls: every event stays queued
    limit = server.guard.max_audit_backlog
    event = AuditEvent(tenant_id=TENANT, kind=Kind.ACCESS_ALLOW, outcome=Outcome.ALLOW, at=START)

    async def flood() -> None:
        for _ in range(limit + 1 - server.writer.pending):
            server.bus.publish(event)

    stack.run(flood())
    sick = httpx.get(stack.ops_url + "/healthz", timeout=5)
    assert sick.status_code == 503
    assert sick.json()["audit"] == "backlog over limit"
    assert sick.json()["audit_backlog"] > limit
    assert httpx.get(stack.url + "/files/report", headers=JSON).status_code == 503
    assert _value(stack.scrape(), "menshen_requests_total", decision="unavailable") == 1


def test_only_the_two_paths_exist_on_the_metrics_listener(stack: _Stack) -> None:
    """Any other path is 404; POST on /metrics is 405; HEAD answers without a body."""
    for path in ("/", "/metrics/x", "/files/report", "/.menshen/login"):
        assert httpx.get(stack.ops_url + path, timeout=5).status_code == 404
    assert httpx.post(stack.ops_url + "/metrics", timeout=5).status_code == 405
    head = httpx.head(stack.ops_url + "/metrics", timeout=5)
    assert (head.status_code, head.content) == (200, b"")


def test_the_public_listener_does_not_serve_metrics_or_health(stack: _Stack) -> None:
    """/metrics and /healthz on the gateway's own port are not the operations endpoints."""
    for path in ("/metrics", "/healthz"):
        answer = httpx.get(stack.url + path, headers=JSON, timeout=5)
        assert answer.status_code == 404
        assert b"menshen_" not in answer.content


def test_a_non_loopback_address_is_warned_about_at_start(caplog: pytest.LogCaptureFixture) -> None:
    """The listener starts, and the log says the address is not loopback-only."""
    sources = MetricSources(
        version="1",
        decisions=lambda: {},
        audit=lambda: AuditFigures(0, 1, 0, 0),
        sessions=lambda: {},
    )
    listener = OpsListener(sources, HealthCheck(lambda: None, lambda: 0, 1), FixedClock())

    async def start_and_stop(loopback: bool) -> None:
        await listener.start("127.0.0.1", 0, loopback=loopback)
        await listener.stop()

    with caplog.at_level(logging.WARNING, logger="menshen.gateway.ops"):
        asyncio.run(start_and_stop(loopback=True))
        assert not caplog.records
        asyncio.run(start_and_stop(loopback=False))
    assert any("not a loopback address" in r.getMessage() for r in caplog.records)
