"""The browser flow in Debian's Chromium, driven by Playwright: login, MFA, app, logout."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from typing import Any

import pytest

from tests.conftest import require_service
from tests.e2e.harness import RunningStack

pytestmark = [pytest.mark.e2e, pytest.mark.browser]
CHROMIUM = "/usr/bin/chromium"
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if shutil.which(CHROMIUM) is None:
        require_service("Chromium", f"{CHROMIUM} is missing (make test installs it with apt-get)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS, headless=True)
        try:
            yield chromium
        finally:
            chromium.close()


def test_alice_signs_in_with_totp_uses_the_app_and_signs_out(
    running: RunningStack, browser: Any
) -> None:
    """Login page, TOTP page, the settlement app with her verified identity, sign-out."""
    context = browser.new_context()
    try:
        page = context.new_page()
        page.goto(f"{running.url}/settlement/batches")
        assert "/.menshen/login" in page.url
        page.fill("#username", "alice")
        page.fill("#password", running.stack.people["alice"].password)
        page.click("button[type=submit]")
        page.wait_for_url("**/.menshen/mfa**")
        page.fill("#code", running.totp_code("alice"))
        page.click("button[type=submit]")
        page.wait_for_url("**/settlement/batches")
        assert "Signed in as alice" in page.inner_text("#whoami")
        assert "B-20261125-01" in page.inner_text("#batches")
        assert "otp" in page.inner_text("#claims")
        cookies = {c["name"]: c for c in context.cookies()}
        assert cookies["menshen_session"]["httpOnly"] is True
        assert cookies["menshen_session"]["sameSite"] == "Lax"
        page.goto(f"{running.url}/.menshen/")
        assert "alice" in page.inner_text("h1")
        page.click("#logout")
        page.wait_for_load_state()
        assert "Signed out" in page.content()
        page.goto(f"{running.url}/settlement/batches")
        assert "/.menshen/login" in page.url
    finally:
        context.close()


def test_bob_sees_why_he_was_denied(running: RunningStack, browser: Any) -> None:
    """The contractor's browser shows the denial page with its reason."""
    context = browser.new_context()
    try:
        page = context.new_page()
        page.goto(f"{running.url}/wiki/")
        page.fill("#username", "bob")
        page.fill("#password", running.stack.people["bob"].password)
        page.click("button[type=submit]")
        page.wait_for_url("**/wiki/")
        response = page.goto(f"{running.url}/settlement/")
        assert response is not None
        assert response.status == 403
        assert page.inner_text("#reasons").strip()
    finally:
        context.close()


def test_https_listener_sets_a_host_prefixed_secure_cookie(
    running: RunningStack, browser: Any
) -> None:
    """On HTTPS the session cookie is __Host- prefixed and Secure."""
    https = running.stack.https_url
    assert https is not None
    context = browser.new_context(ignore_https_errors=True)
    try:
        page = context.new_page()
        page.goto(f"{https}/wiki/")
        page.fill("#username", "bob")
        page.fill("#password", running.stack.people["bob"].password)
        page.click("button[type=submit]")
        page.wait_for_url("**/wiki/")
        assert "Signed in as bob" in page.inner_text("#whoami")
        cookies = {c["name"]: c for c in context.cookies()}
        session = cookies["__Host-menshen_session"]
        assert session["secure"] is True
        assert session["httpOnly"] is True
    finally:
        context.close()
