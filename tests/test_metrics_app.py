"""The operations listener inside the real server, over sockets on 127.0.0.1: counters move
with requests, /healthz follows the audit backlog, and the public listener never serves it."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import TypeVar

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from menshen import __version__
from menshen.app import Platform
from menshen.events.model import AuditEvent, Kind, Outcome
from menshen.gateway.metrics import AuditFigures, MetricSources
from menshen.gateway.ops import HealthCheck, OpsListener
from menshen.monitor.ingest.http_endpoint import INGEST_PATH
from menshen.settings import Settings
from menshen.settings_metrics import MetricsSettings
from menshen.testing import FixedClock
from tests.e2e.harness import form_fields
from tests.monitor.app_stack import PASSWORD, START, TENANT, AppStack

T = TypeVar("T")
TOKEN = "msrc_" + "m" * 40
JSON = {"accept": "application/json"}
Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


class _Stack(AppStack):
    """The real server with the metrics listener on an ephemeral port too, and erin, who is
    in no group (her requests are denied)."""

    def __init__(self, data_dir: Path) -> None:
        super().__init__(data_dir, token=TOKEN)

    def settings(self, base: Settings) -> Settings:
        return replace(base, metrics=MetricsSettings("127.0.0.1", 0))

    def seed(self, platform: Platform) -> None:
        identity = platform.identity(TENANT)
        identity.create_user("erin", "erin@acme.example", "Erin", PASSWORD)  # not in staff

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
