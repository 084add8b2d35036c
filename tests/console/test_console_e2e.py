"""The console behind the real gateway: admins with MFA get in, everyone else does not."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from menshen.demo.firm import TENANT
from menshen.segmentation.repository import load_segmentation
from tests.e2e.harness import RunningStack, sign_in

pytestmark = pytest.mark.e2e
PAGE = "/console/segmentation"


@pytest.fixture(scope="module")
def running(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningStack]:
    stack = RunningStack(Path(tmp_path_factory.mktemp("console")))
    stack.start()
    try:
        yield stack
    finally:
        stack.stop()


def test_demo_tenant_holds_the_worked_example(running: RunningStack) -> None:
    """make demo loads the Formosa Pay inventory and segmentation into the demo tenant."""
    platform = running.stack.platform
    assert platform is not None
    seg = load_segmentation(platform.store.tenant(TENANT))
    assert seg.inventory.asset("laptop-17") is not None
    assert "console" in seg.inventory.asset("gateway").gateway_apps  # type: ignore[union-attr]


def test_admin_with_totp_opens_the_console_and_the_overlay(running: RunningStack) -> None:
    """admin signs in with password and TOTP and sees the picture and a blast radius."""
    with running.client() as client:
        done = sign_in(running, client, "admin", target=PAGE)
        assert done.status_code == 302, done.text
        page = client.get(PAGE)
        assert page.status_code == 200, page.text
        assert "<svg" in page.text
        assert 'id="whoami">admin' in page.text
        overlay = client.get(PAGE, params={"asset": "laptop-17"})
        assert overlay.status_code == 200
        assert 'class="asset compromised" data-asset="laptop-17"' in overlay.text
        assert 'data-asset="settlement-db" opacity="0.45"' in overlay.text
    allowed = [r for r in running.audit() if r.kind == "access.allow" and r.app == "console"]
    assert allowed, "the gateway audits the console like any app"


def test_finance_staff_and_contractors_are_refused_by_the_gateway(running: RunningStack) -> None:
    """alice (finance-ops, MFA) and bob (contractor) get the gateway's 403, not the console."""
    for username, target in (("alice", "/settlement/"), ("bob", "/wiki/")):
        with running.client() as client:
            sign_in(running, client, username, target=target)
            page = client.get(PAGE)
            assert page.status_code == 403, (username, page.text)
            assert "<svg" not in page.text
    denied = {r.reason for r in running.audit() if r.kind == "access.deny" and r.app == "console"}
    assert denied


def test_console_port_refuses_requests_that_bypass_the_gateway(running: RunningStack) -> None:
    """Straight to the console's loopback port: no assertion or a forged one is a 401."""
    with httpx.Client(base_url=running.stack.console_url) as direct:
        assert direct.get(PAGE).status_code == 401
        forged = direct.get(PAGE, headers={"x-menshen-assertion": "eyJhbGciOiJub25lIn0.e30."})
        assert forged.status_code == 401
        spoofed = direct.get(
            PAGE, headers={"x-menshen-user": "admin", "x-menshen-groups": "admins"}
        )
        assert spoofed.status_code == 401
