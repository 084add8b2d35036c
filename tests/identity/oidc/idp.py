"""Start the real OpenID provider (tests/idp/provider.mjs on Node.js) and drive its login pages.

The provider is oidc-provider with its development interactions: a login form that accepts
any password for a known login, then a consent form. ``browser_login`` posts both with httpx.
"""

from __future__ import annotations

import json
import select
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs, urljoin, urlsplit

import httpx

from menshen.identity.oidc.model import FederationFailed, HttpRequest, HttpResponse
from tests.conftest import require_service

IDP_DIR = Path(__file__).resolve().parents[2] / "idp"
CLIENT_ID = "menshen"
CLIENT_SECRET = "menshen-test-client-secret"
REDIRECT_URI = "http://127.0.0.1:9/callback"
POST_LOGOUT_URI = "http://127.0.0.1:9/signed-out"
_START_TIMEOUT = 20.0
_COMMAND_TIMEOUT = 5.0
_MAX_HOPS = 12


class HttpxFetcher:
    """The back channel: an httpx client with bounded timeouts."""

    def __init__(self, client: httpx.Client) -> None:
        self._client = client

    def send(self, request: HttpRequest) -> HttpResponse:
        try:
            answer = self._client.request(
                request.method, request.url, headers=dict(request.headers), data=request.form
            )
        except httpx.HTTPError as exc:
            raise FederationFailed(f"transport: {type(exc).__name__}") from None
        return HttpResponse(answer.status_code, answer.content)


@dataclass
class RunningProvider:
    """A started provider process."""

    issuer: str
    alg: str
    process: subprocess.Popen[str]

    def command(self, line: str) -> None:
        """Send a stdin command (``disable bob``) and wait, bounded, for its answer."""
        assert self.process.stdin is not None
        assert self.process.stdout is not None
        self.process.stdin.write(line + "\n")
        self.process.stdin.flush()
        answer = _read_line(self.process, _COMMAND_TIMEOUT)
        assert json.loads(answer) == {"ok": True}, answer


def _read_line(process: subprocess.Popen[str], timeout: float) -> str:
    assert process.stdout is not None
    ready, _, _ = select.select([process.stdout], [], [], timeout)
    if not ready:
        raise TimeoutError("the OpenID provider did not answer in time")
    return process.stdout.readline()


@contextmanager
def running_provider(
    alg: str,
    redirect_uri: str = REDIRECT_URI,
    *,
    post_logout_uri: str = POST_LOGOUT_URI,
    refresh_tokens: str = "always",
) -> Iterator[RunningProvider]:
    """Start provider.mjs signing with ``alg`` for ``redirect_uri``; stop it afterwards.

    ``refresh_tokens`` is ``always`` or ``offline`` (oidc-provider's own rule: only for
    ``offline_access`` with ``prompt=consent``), see provider.mjs.
    """
    node = shutil.which("node")
    if node is None:
        require_service("Node.js", "`node` is not on PATH")
    if not (IDP_DIR / "node_modules" / "oidc-provider").is_dir():
        require_service("oidc-provider", "run `npm ci` in tests/idp (make test does it)")
    process = subprocess.Popen(
        [node, str(IDP_DIR / "provider.mjs"), "--alg", alg, "--redirect-uri", redirect_uri,
         "--post-logout-uri", post_logout_uri, "--refresh-tokens", refresh_tokens],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        cwd=IDP_DIR,
    )  # fmt: skip
    try:
        line = _read_line(process, _START_TIMEOUT)
        if not line:
            raise RuntimeError("the OpenID provider exited at start")
        started = json.loads(line)
        yield RunningProvider(started["issuer"], started["alg"], process)
    finally:
        if process.stdin is not None:
            process.stdin.close()  # the provider exits when stdin closes
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)
        if process.stdout is not None:
            process.stdout.close()


def browser_login(url: str, login: str, redirect_uri: str = REDIRECT_URI) -> dict[str, str]:
    """Follow the authorization URL as a browser would; the callback's query parameters."""
    with httpx.Client(timeout=5.0, follow_redirects=False) as browser:
        response = browser.get(url)
        for _ in range(_MAX_HOPS):
            if response.is_redirect:
                target = urljoin(str(response.url), response.headers["location"])
                if target.startswith(redirect_uri):
                    return {k: v[0] for k, v in parse_qs(urlsplit(target).query).items()}
                response = browser.get(target)
            elif 'value="login"' in response.text:
                form = {"prompt": "login", "login": login, "password": "any"}
                response = browser.post(str(response.url), data=form)
            elif 'value="consent"' in response.text:
                response = browser.post(str(response.url), data={"prompt": "consent"})
            else:
                raise AssertionError(
                    f"unexpected page {response.status_code}: {response.text[:300]}"
                )
        raise AssertionError("too many hops before the callback")
