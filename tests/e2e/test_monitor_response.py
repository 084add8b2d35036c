"""Continuous monitoring end to end: a large download at 03:00 from a new network, through
the real gateway and the real detectors, ends the session by playbook, alerts a signed
webhook and opens an incident.

The clock is injected (the firm's 03:00 in Taipei). The user's baseline is a replay of twenty
working days of office-hours downloads fed to the engine; then she signs in from a network
she never used and downloads 112 MiB. The gateway's own ``session.transfer`` event for that
download (its per-minute report, flushed explicitly here) goes through the ingest pipeline to
the built-in ``unusual_volume`` detector (``new_network`` has already flagged the sign-in),
and the ``exfiltration`` playbook revokes the session.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

import httpx
import pytest

from menshen.monitor.incidents.book import IncidentBook
from menshen.monitor.model import Category, Entity, EntityKind, ObservedEvent
from menshen.monitor.response.messages import verify_signature
from menshen.sessions.cookies import HTTP_COOKIE
from menshen.settings import (
    IngestSettings,
    MonitorOptions,
    NotifierOptions,
    PlaybookOptions,
    Settings,
    TenantOptions,
)
from tests.e2e.harness import form_fields
from tests.monitor.app_stack import AppStack
from tests.monitor.receivers import http_receiver

pytestmark = pytest.mark.e2e

T = TypeVar("T")
TENANT = "acme"
FIRM_ZONE = ZoneInfo("Asia/Taipei")
THREE_AM = datetime(2026, 11, 25, 3, 0, tzinfo=FIRM_ZONE).astimezone(UTC)
OFFICE = "192.0.2.0/24"
NEW_NETWORK = "198.51.100.7"
SECRET = "e2e-webhook-secret-0123"
DOWNLOAD = 112 * 1024 * 1024  # above the detector's 100 MiB floor, ~50x her usual hour
SMALL = 2048
CHUNK = 1024 * 1024
PASSWORD = "correct horse battery staple"
JSON = {"accept": "application/json"}


class _Stack(AppStack):
    """Gateway + one upstream on a background loop, with the injected clock, the exfiltration
    playbook and a webhook notifier."""

    def __init__(self, data_dir: Path, webhook: str) -> None:
        super().__init__(
            data_dir, token="msrc_" + "e" * 40, start_at=THREE_AM - timedelta(minutes=5)
        )
        self.webhook = webhook

    async def _upstream(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        request = await reader.readuntil(b"\r\n\r\n")
        size = DOWNLOAD if b"/files/export.zip" in request.split(b"\r\n", 1)[0] else SMALL
        head = f"HTTP/1.1 200 OK\r\nContent-Length: {size}\r\nConnection: close\r\n\r\n"
        writer.write(head.encode())
        chunk = b"x" * CHUNK
        for start in range(0, size, CHUNK):
            writer.write(chunk[: min(CHUNK, size - start)])
            await writer.drain()
        writer.close()

    def settings(self, base: Settings) -> Settings:
        monitor = MonitorOptions(
            playbooks=(
                PlaybookOptions(
                    "exfiltration",
                    detectors=("unusual_volume",),
                    min_severity="high",
                    min_confidence=0.6,
                    actions=("revoke_sessions",),
                    notify=("soc",),
                ),
            ),
            notifiers={"soc": NotifierOptions("soc", "webhook", url=self.webhook, secret=SECRET)},
        )
        return replace(
            base,
            trusted_proxies=("127.0.0.1/32",),
            monitor=IngestSettings(),
            tenants={TENANT: TenantOptions(monitor=monitor)},
        )


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[tuple[_Stack, Any]]:
    with http_receiver() as (url, received):
        running = _Stack(tmp_path / "data", f"{url}/alerts")
        running.run(running.start())
        try:
            yield running, received
        finally:
            running.close()


def _history(user_id: str) -> list[ObservedEvent]:
    """Twenty working days of office-hours downloads from the office network."""
    events: list[ObservedEvent] = []
    start = THREE_AM - timedelta(days=30)
    for day in range(30):
        date = (start + timedelta(days=day)).astimezone(FIRM_ZONE)
        if date.weekday() >= 5:
            continue
        for hour in (9, 11, 14, 16):
            at = date.replace(hour=hour, minute=7)
            events.append(
                ObservedEvent(
                    TENANT,
                    at.astimezone(UTC),
                    "replay",
                    f"h-{day}-{hour}",
                    Category.TRANSFER,
                    "transfer",
                    user=user_id,
                    src_ip=f"192.0.2.{10 + hour}",
                    bytes_out=2_000_000 + 10_000 * hour,
                )
            )
    return events


def _detectors_of(findings: list[tuple[str, str]]) -> set[str]:
    return {detector for detector, _ in findings}


def _eventually(check: Callable[[], bool]) -> bool:
    """``check`` comes true within 5 s (the audit writer flushes in batches)."""
    for _ in range(500):  # bounded: 500 tries, 10 ms apart
        if check():
            return True
        time.sleep(0.01)
    return check()


def test_a_3am_bulk_download_from_a_new_network_ends_the_session(
    stack: tuple[_Stack, Any],
) -> None:
    """The real detectors flag the sign-in and the download; the playbook revokes the
    session, the next request is refused, the SOC gets a signed alert, and the incident
    shows first event, detection and response."""
    running, received = stack
    server = running.server
    assert server is not None
    assert server.monitor is not None
    assert server.detection is not None
    assert server.ingest is not None
    assert server.ingest.transfer is not None
    engine, reporter = server.monitor, server.ingest.transfer
    history = _history(running.user_id)

    async def learn() -> None:
        await asyncio.to_thread(engine.accept, history)

    running.run(learn())
    profile = server.detection.detector_set(TENANT).book.profile(
        Entity(EntityKind.USER, running.user_id)
    )
    assert profile is not None
    assert profile.hourly_bytes.count >= 24  # enough active hours for the volume detector
    assert engine.findings == 0

    def findings() -> list[tuple[str, str]]:
        assert running.platform is not None
        rows = running.platform.store.tenant(TENANT).audit.iterate()
        return [
            (str(r.details["detector"]), r.outcome) for r in rows if r.kind == "monitor.finding"
        ]

    # 02:55 in Taipei: Dana signs in from a network she has never used.
    away = {"x-forwarded-for": NEW_NETWORK}
    with httpx.Client(base_url=running.url, headers=away, follow_redirects=False) as client:
        first = client.get("/files/report", headers={"accept": "text/html"})
        assert first.status_code == 302
        page = client.get(first.headers["location"])
        login = client.post(
            "/.menshen/login",
            data={**form_fields(page.text), "username": "dana", "password": PASSWORD},
        )
        assert login.status_code == 302, login.text
        session_cookie = client.cookies[HTTP_COOKIE]
        running.clock.advance(300)  # 03:00
        received_bytes = 0
        with client.stream("GET", "/files/export.zip", headers=JSON) as download:
            assert download.status_code == 200
            for part in download.iter_bytes():
                received_bytes += len(part)
        assert received_bytes == DOWNLOAD
        # The sign-in from the new network has reached the detectors.
        assert _eventually(lambda: "new_network" in _detectors_of(findings()))
        assert server.sessions.sessions_of(TENANT, running.user_id)

        # The gateway's per-minute transfer report, now: one session.transfer event.
        async def trigger() -> tuple[float, int]:
            started = time.perf_counter()
            return started, await reporter.flush()

        started, reported = running.run(trigger())
        assert reported == 1
        refused_after: float | None = None
        for _ in range(1000):  # bounded: 1000 tries, 10 ms apart
            again = client.get("/files/report", headers=JSON)
            if again.status_code == 401:
                refused_after = time.perf_counter() - started
                break
            assert again.status_code == 200
            time.sleep(0.01)
        assert refused_after is not None, "the session was never refused"
        print(f"\ntriggering event -> refused request: {refused_after * 1000:.1f} ms")
        assert again.json()["title"] == "Unauthorized"
    assert session_cookie
    assert server.sessions.sessions_of(TENANT, running.user_id) == []
    running.run(engine.drain())  # the incident's response time is written after the action
    assert _eventually(lambda: ("unusual_volume", "high") in findings())

    # The SOC's webhook receiver got the signed alert.
    assert received.arrived.wait(10)
    path, headers, body = received.requests[0]
    assert path == "/alerts"
    assert verify_signature(
        SECRET,
        headers["X-Menshen-Timestamp"],
        body,
        headers["X-Menshen-Signature"],
        int(running.clock.now().timestamp()),
    )
    assert b'"playbook":"exfiltration"' in body
    assert b'"detector":"unusual_volume"' in body

    # The incident's timeline: the odd sign-in at 02:55 first, detected, then the response.
    assert running.platform is not None
    book = IncidentBook(running.platform.store, lambda t: timedelta(hours=1))
    (incident,) = book.list(TENANT)
    assert [name for name, _ in incident.timeline()] == ["first event", "detected", "responded"]
    assert incident.first_event_at == THREE_AM - timedelta(minutes=5)
    assert {"new_network", "unusual_volume"} <= {f.detector for f in incident.findings}
    assert incident.subject == f"user:{running.user_id}"
    assert incident.responded_at == THREE_AM
    (action,) = running.platform.store.tenant(TENANT).response_actions.list()
    assert (action.action, action.state, action.incident_id) == (
        "revoke_sessions",
        "done",
        incident.id,
    )
