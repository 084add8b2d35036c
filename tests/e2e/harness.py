"""Run the demo stack (gateway + sample apps + demo firm) on a background event loop.

Tests talk to it over real sockets on 127.0.0.1 with ephemeral ports.
"""

from __future__ import annotations

import asyncio
import logging
import re
import threading
import time
from collections.abc import Coroutine, Iterator
from concurrent.futures import Future
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import httpx
import uvloop

from menshen.demo.firm import TENANT
from menshen.demo.run import DemoStack
from menshen.identity import totp
from menshen.settings import IdentityProviderSettings
from menshen.store.records import AuditRecord

T = TypeVar("T")
CSRF = re.compile(r'name="csrf" value="([^"]+)"')
HIDDEN = re.compile(r'name="(rd|sig)" value="([^"]*)"')
BROWSER_UA = (
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/126.0 Safari/537.36"
)
HTML = "text/html,application/xhtml+xml"


class RunningStack:
    def __init__(
        self,
        data_dir: Path,
        *,
        database_url: str | None = None,
        http_port: int = 0,
        identity_providers: tuple[IdentityProviderSettings, ...] = (),
    ) -> None:
        self.loop = uvloop.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self._thread.start()
        self.stack = DemoStack(
            data_dir,
            http_port=http_port,
            https_port=0,
            app_ports=(0, 0),
            state_refresh_seconds=0.2,
            database_url=database_url,
            identity_providers=identity_providers,
        )
        self._last_step: dict[str, int] = {}

    def run(self, coro: Coroutine[Any, Any, T], timeout: float = 30) -> T:
        future: Future[T] = asyncio.run_coroutine_threadsafe(coro, self.loop)
        return future.result(timeout)

    def start(self) -> None:
        self.run(self.stack.start(), timeout=60)

    def stop(self) -> None:
        try:
            self.run(self.stack.stop(), timeout=60)
        finally:
            self.loop.call_soon_threadsafe(self.loop.stop)
            self._thread.join(10)
            _close_bounded(self.loop)

    @property
    def url(self) -> str:
        return self.stack.http_url

    @property
    def port(self) -> int:
        return int(self.url.rsplit(":", 1)[1])

    def audit(self) -> list[AuditRecord]:
        """Every audit row written so far, after the writer has drained (bounded wait)."""
        server = self.stack.server
        assert server is not None
        assert self.stack.platform is not None
        deadline = time.monotonic() + 10
        while server.writer.pending and time.monotonic() < deadline:
            time.sleep(0.02)
        assert server.writer.pending == 0, "audit writer did not drain"
        return list(self.stack.platform.store.tenant(TENANT).audit.iterate())

    def wait_audit(self, predicate: Any, timeout: float = 5) -> AuditRecord:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for record in self.audit():
                if predicate(record):
                    return record
            time.sleep(0.05)
        raise AssertionError("expected audit event not found")

    def totp_code(self, username: str) -> str:
        """A code for a time step this user has not used yet (the server accepts now ±1)."""
        secret = self.stack.people[username].totp_secret
        assert secret is not None
        last = self._last_step.get(username, -1)
        for _ in range(40):
            now_step = int(time.time()) // 30
            candidates = [s for s in (now_step - 1, now_step, now_step + 1) if s > last]
            # A step about to fall out of the window is risky: prefer current or next.
            usable = [s for s in candidates if s >= now_step]
            if usable:
                step = usable[0]
                self._last_step[username] = step
                at = datetime.fromtimestamp(step * 30, UTC)
                return totp.totp_at(totp.decode_secret(secret), at)
            time.sleep(1)
        raise AssertionError("no unused TOTP step within 40 s")

    def client(self, **kwargs: Any) -> httpx.Client:
        headers = {"user-agent": BROWSER_UA, "accept": HTML}
        headers.update(kwargs.pop("headers", {}))
        return httpx.Client(base_url=self.url, headers=headers, follow_redirects=False, **kwargs)


def form_fields(page: str) -> dict[str, str]:
    fields = dict(HIDDEN.findall(page))
    match = CSRF.search(page)
    if match:
        fields["csrf"] = match.group(1)
    return fields


def sign_in(
    running: RunningStack,
    client: httpx.Client,
    username: str,
    *,
    target: str = "/wiki/",
    code: str | None = None,
) -> httpx.Response:
    """Walk the sign-in flow like a browser; returns the response after the last form."""
    first = client.get(target)
    assert first.status_code == 302, first.text
    login_url = first.headers["location"]
    page = client.get(login_url)
    assert page.status_code == 200, page.text
    person = running.stack.people[username]
    response = client.post(
        "/.menshen/login",
        data={**form_fields(page.text), "username": username, "password": person.password},
    )
    if response.status_code != 302 or "/.menshen/mfa" not in response.headers["location"]:
        return response
    mfa_page = client.get(response.headers["location"])
    assert mfa_page.status_code == 200, mfa_page.text
    the_code = code or running.totp_code(username)
    return client.post("/.menshen/mfa", data={**form_fields(mfa_page.text), "code": the_code})


def wait_until(predicate: Any, timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return False


def iter_lines(text: str) -> Iterator[str]:
    yield from text.splitlines()


def raw_request(port: int, data: bytes, *, timeout: float = 5.0) -> bytes:
    """Send raw bytes to the gateway and return what it answers until it closes (bounded)."""
    import socket

    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.sendall(data)
        chunks: list[bytes] = []
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                chunk = sock.recv(65536)
            except (TimeoutError, ConnectionResetError):
                break
            if not chunk:
                break
            chunks.append(chunk)
            if b"\r\n\r\n" in b"".join(chunks) and _complete(b"".join(chunks)):
                break
        return b"".join(chunks)


def _complete(data: bytes) -> bool:
    head, _, body = data.partition(b"\r\n\r\n")
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            return len(body) >= int(value.strip())
    return False


def status_of(response: bytes) -> int:
    return int(response.split(b" ", 2)[1])


def _close_bounded(loop: asyncio.AbstractEventLoop, seconds: float = 10) -> None:
    """Close the stopped loop, but never hang the test run on it.

    Seen once under heavy load (2026-11-25, tests/e2e/test_flow.py teardown): uvloop's
    ``close`` waited in epoll for a handle that never closed after the stack had stopped.
    Until that handle is found, the close runs in a daemon thread and is abandoned (with a
    logged warning) after ``seconds``; the stack itself has already stopped by then.
    """
    closer = threading.Thread(target=loop.close, daemon=True, name="loop-close")
    closer.start()
    closer.join(seconds)
    if closer.is_alive():
        logging.getLogger(__name__).warning("the test stack's event loop did not close in time")
