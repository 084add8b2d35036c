"""A machine client over real sockets: token, allowed call, suspension, refused next call."""

from __future__ import annotations

import httpx
import pytest

from menshen.demo.firm import TENANT
from menshen.manifest.apply import apply_manifests
from menshen.manifest.parse import parse_manifests
from tests.e2e.harness import RunningStack, wait_until

pytestmark = pytest.mark.e2e

WIKI_WITH_PARTNER = """\
apiVersion: menshen.dev/v1
kind: Policy
metadata: {name: wiki-access}
spec:
  app: wiki
  rules:
    - name: wiki-admin-pages-staff-only
      effect: deny
      groups: [contractors]
      paths: [/wiki/admin]
    - name: everyone-reads-and-edits
      groups: [finance-ops, contractors, admins]
    - name: bank-a-reads-the-echo-api
      clients: [bank-a]
      methods: [GET]
      paths: [/wiki/echo]
"""


def _let_bank_a_read(running: RunningStack) -> None:
    """The demo wiki's policy plus a rule naming the machine client bank-a."""
    platform = running.stack.platform
    assert platform is not None
    manifests = parse_manifests(WIKI_WITH_PARTNER, "<test>", known_apps=["wiki"])
    apply_manifests(platform.store.tenant(TENANT), manifests, clock=platform.clock)


def test_token_call_suspend_and_refused_on_the_next_request(running: RunningStack) -> None:
    """bank-a gets a token, calls the API it is allowed, is suspended, and is refused."""
    platform = running.stack.platform
    assert platform is not None
    _let_bank_a_read(running)
    _, issued = platform.machine_clients(TENANT).create("bank-a", by="e2e")
    with httpx.Client(base_url=running.url, timeout=10) as client:
        answer = client.post(
            "/.menshen/oauth/token",
            data={"grant_type": "client_credentials"},
            auth=("bank-a", issued.value),
        )
        assert answer.status_code == 200, answer.text
        token = answer.json()["access_token"]
        bearer = {"authorization": f"Bearer {token}", "accept": "application/json"}

        def allowed() -> bool:
            return client.get("/wiki/echo/reports", headers=bearer).status_code == 200

        assert wait_until(allowed), "the new app and client never reached the gateway"
        echoed = client.get("/wiki/echo/reports", headers=bearer).json()
        assert echoed["verified"] is True
        assert echoed["claims"]["sub"] == "client:bank-a"
        upstream_auth = [v for k, v in echoed["headers"] if k == "authorization"]
        assert upstream_auth == []  # the token itself never reached the app
        spoofed = {**bearer, "x-menshen-user": "admin", "x-menshen-client": "bank-z"}
        echoed = client.get("/wiki/echo/reports", headers=spoofed).json()
        for name in ("x-menshen-user", "x-menshen-client"):
            assert [v for k, v in echoed["headers"] if k == name] == ["bank-a"]
        assert client.get("/wiki/", headers=bearer).status_code == 403  # not named there

        platform.machine_clients(TENANT).suspend("bank-a", by="e2e", reason="leaked")
        assert running.run(_refresh(running)) is None
        refused = client.get("/wiki/echo/reports", headers=bearer)
        assert refused.status_code == 401
        assert refused.headers["www-authenticate"].startswith("Bearer")
    running.wait_audit(
        lambda r: (
            r.actor == "client:bank-a"
            and r.reason == "machine credential refused: client suspended"
        )
    )


async def _refresh(running: RunningStack) -> None:
    """What the next upkeep round does (the test need not wait for it)."""
    server = running.stack.server
    assert server is not None
    await server.refresh_once()
