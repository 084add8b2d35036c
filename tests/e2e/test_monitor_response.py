"""Continuous monitoring end to end: a large download at 03:00 from a new network, through
the real gateway, ends the session by playbook, alerts a signed webhook and opens an incident.

The clock is injected (the firm's 03:00 in Taipei). The user's baseline is a replay of twenty
working days of office-hours downloads fed to the engine; the triggering transfer is the
record of the download the user just made through the gateway.

TODO(issue 6): switch ``_ExfiltrationProbe`` to the detector helper's volume and
new-network detectors (``menshen.monitor.detectors.volume`` / ``new_network``) behind a
baseline-backed detection runner, and take the transfer from the gateway's own
``session.transfer`` events (``menshen.monitor.ingest.transfer``) instead of the replayed
record, once both are wired into ``menshen.app``.
"""

from __future__ import annotations

import asyncio
import ipaddress
import threading
import time
from collections.abc import Coroutine, Iterator, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

import httpx
import pytest

from menshen.app import Platform, Server
from menshen.manifest.apply import apply_manifests
from menshen.manifest.parse import parse_manifests
from menshen.monitor.incidents.book import IncidentBook
from menshen.monitor.model import Category, Entity, EntityKind, Finding, ObservedEvent, Severity
from menshen.monitor.response.messages import verify_signature
from menshen.sessions.cookies import HTTP_COOKIE
from menshen.settings import (
    Listener,
    MonitorOptions,
    NotifierOptions,
    PlaybookOptions,
    Settings,
    TenantOptions,
)
from menshen.testing import FixedClock
from tests.e2e.harness import form_fields
from tests.monitor.receivers import http_receiver

pytestmark = pytest.mark.e2e

T = TypeVar("T")
TENANT = "acme"
FIRM_ZONE = ZoneInfo("Asia/Taipei")
THREE_AM = datetime(2026, 11, 25, 3, 0, tzinfo=FIRM_ZONE).astimezone(UTC)
OFFICE = "192.0.2.0/24"
NEW_NETWORK = "198.51.100.7"
SECRET = "e2e-webhook-secret-0123"
DOWNLOAD = 256 * 1024
PASSWORD = "correct horse battery staple"
JSON = {"accept": "application/json"}

_MANIFEST = """\
apiVersion: menshen.dev/v1
kind: Group
metadata: {{name: staff}}
spec: {{description: Staff, mfaRequired: false}}
---
apiVersion: menshen.dev/v1
kind: App
metadata: {{name: files}}
spec:
  title: File share
  hosts: [127.0.0.1]
  pathPrefix: /files
  upstream: {upstream}
---
apiVersion: menshen.dev/v1
kind: Policy
metadata: {{name: files-access}}
spec:
  app: files
  rules:
    - name: staff-read
      groups: [staff]
"""


@dataclass
class _ExfiltrationProbe:
    """A test detector standing in for volume + new network + hours: learns per user the
    largest transfer, the networks and the local hours seen; flags a transfer 100 times
    the largest from an unseen network outside the usual hours."""

    largest: dict[str, int] = field(default_factory=dict)
    networks: dict[str, set[str]] = field(default_factory=dict)
    hours: dict[str, set[int]] = field(default_factory=dict)

    def __call__(self, event: ObservedEvent) -> Sequence[Finding]:
        if event.category is not Category.TRANSFER or event.user is None:
            return ()
        user, ip = event.user, event.src_ip or ""
        network = str(ipaddress.ip_network(f"{ip}/24", strict=False)) if ip else ""
        hour = event.at.astimezone(FIRM_ZONE).hour
        largest = self.largest.get(user, 0)
        odd = (
            largest > 0
            and event.bytes_out > 100 * largest
            and network not in self.networks.get(user, set())
            and hour not in self.hours.get(user, set())
        )
        self.largest[user] = max(largest, event.bytes_out)
        self.networks.setdefault(user, set()).add(network)
        self.hours.setdefault(user, set()).add(hour)
        if not odd:
            return ()
        return (
            Finding(
                tenant_id=event.tenant_id,
                detector="volume",
                subject=Entity(EntityKind.USER, user),
                at=event.at,
                severity=Severity.HIGH,
                confidence=0.9,
                summary=f"{event.bytes_out} bytes at {hour:02d}:00 from new network {network}",
                evidence={"bytes": event.bytes_out, "usual_max": largest, "network": network},
                event_ids=(event.event_id,),
                source_ip=ip,
                session_id=event.session_id,
            ),
        )


class _Stack:
    """Gateway + one upstream on a background loop, with the injected clock."""

    def __init__(self, data_dir: Path, webhook: str) -> None:
        self.clock = FixedClock(THREE_AM - timedelta(minutes=5))
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self._thread.start()
        self.data_dir = data_dir
        self.webhook = webhook
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
        monitor = MonitorOptions(
            playbooks=(
                PlaybookOptions(
                    "exfiltration",
                    detectors=("volume",),
                    min_severity="high",
                    min_confidence=0.8,
                    actions=("revoke_sessions",),
                    notify=("soc",),
                ),
            ),
            notifiers={"soc": NotifierOptions("soc", "webhook", url=self.webhook, secret=SECRET)},
        )
        settings = Settings(
            data_dir=self.data_dir,
            database_url=None,
            tenant=TENANT,
            listeners=(Listener("127.0.0.1", 0),),
            trusted_proxies=("127.0.0.1/32",),
            state_refresh_seconds=0.2,
            tenants={TENANT: TenantOptions(monitor=monitor)},
        )
        platform = await asyncio.to_thread(Platform.open, settings, self.clock)
        self.platform = platform
        await asyncio.to_thread(self._seed, platform, f"http://127.0.0.1:{port}")
        self.server = Server(platform)
        await self.server.start()

    def _seed(self, platform: Platform, upstream: str) -> None:
        tenant = platform.store.tenant(TENANT)
        manifests = parse_manifests(_MANIFEST.format(upstream=upstream), "<e2e>")
        apply_manifests(tenant, manifests, clock=platform.clock)
        identity = platform.identity(TENANT)
        self.user_id = identity.create_user("dana", "dana@acme.example", "Dana", PASSWORD).id
        identity.add_member("staff", "dana")

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


def test_a_3am_bulk_download_from_a_new_network_ends_the_session(
    stack: tuple[_Stack, Any],
) -> None:
    """Playbook revokes the session, the next request is refused, the SOC gets a signed
    alert, and the incident shows first event, detection and response."""
    running, received = stack
    server = running.server
    assert server is not None
    assert server.monitor is not None
    probe = _ExfiltrationProbe()
    server.monitor.detect = probe
    history = _history(running.user_id)

    async def learn() -> None:
        assert server.monitor is not None
        server.monitor.accept(history)

    running.run(learn())
    assert probe.largest[running.user_id] == 2_160_000
    assert server.monitor.findings == 0

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
        download = client.get("/files/export.zip", headers=JSON)
        assert download.status_code == 200
        assert len(download.content) == DOWNLOAD
        session_id = server.sessions.sessions_of(TENANT, running.user_id)[0].id

        # The transfer record of that download (scaled to the size of an exfiltration).
        transfer = ObservedEvent(
            TENANT,
            running.clock.now(),
            "replay",
            "t-export",
            Category.TRANSFER,
            "transfer",
            user=running.user_id,
            session_id=session_id,
            src_ip=NEW_NETWORK,
            app="files",
            resource="/files/export.zip",
            bytes_out=3_000_000_000,
        )

        async def trigger() -> float:
            assert server.monitor is not None
            started = time.perf_counter()
            server.monitor.accept([transfer])
            return started

        started = running.run(trigger())
        refused_after: float | None = None
        for _ in range(500):  # bounded: 500 tries, 10 ms apart
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

    # The incident's timeline: first event at 03:00, detected and responded at once.
    assert running.platform is not None
    book = IncidentBook(running.platform.store, lambda t: timedelta(hours=1))
    (incident,) = book.list(TENANT)
    assert [name for name, _ in incident.timeline()] == ["first event", "detected", "responded"]
    assert incident.first_event_at == THREE_AM
    assert incident.subject == f"user:{running.user_id}"
    assert incident.time_to_respond is not None
    (action,) = running.platform.store.tenant(TENANT).response_actions.list()
    assert (action.action, action.state, action.incident_id) == (
        "revoke_sessions",
        "done",
        incident.id,
    )
