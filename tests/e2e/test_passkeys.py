"""Passkeys as a second factor, in Chromium with the DevTools virtual authenticator."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from typing import Any

import pytest

from tests.conftest import require_service
from tests.e2e.harness import RunningStack, sign_in
from tests.e2e.test_browser import CHROMIUM, FLAGS

pytestmark = [pytest.mark.e2e, pytest.mark.browser]


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


def _virtual_authenticator(context: Any, page: Any) -> None:
    cdp = context.new_cdp_session(page)
    cdp.send("WebAuthn.enable")
    cdp.send(
        "WebAuthn.addVirtualAuthenticator",
        {
            "options": {
                "protocol": "ctap2",
                "transport": "internal",
                "hasResidentKey": True,
                "hasUserVerification": True,
                "isUserVerified": True,
            }
        },
    )


def _password(page: Any, running: RunningStack) -> None:
    page.fill("#username", "alice")
    page.fill("#password", running.stack.people["alice"].password)
    page.click("button[type=submit]")
    page.wait_for_url("**/.menshen/mfa**")


def test_alice_registers_a_passkey_and_uses_it_as_her_second_factor(
    running: RunningStack, browser: Any
) -> None:
    """Password+TOTP, add a passkey, sign out, then password+passkey reaches the app."""
    # WebAuthn needs a secure context and a domain RP ID: localhost, not 127.0.0.1.
    base = f"http://localhost:{running.port}"
    context = browser.new_context()
    try:
        page = context.new_page()
        _virtual_authenticator(context, page)
        page.goto(f"{base}/settlement/batches")
        _password(page, running)
        assert page.locator("#use-passkey").count() == 0
        page.fill("#code", running.totp_code("alice"))
        page.click("button[type=submit]")
        page.wait_for_url("**/settlement/batches")

        page.goto(f"{base}/.menshen/passkeys")
        assert "No passkeys yet" in page.inner_text("#passkeys")
        page.fill("#passkey-name", "Test laptop")
        page.click("#add-passkey")
        page.locator("#passkeys").get_by_text("Test laptop").wait_for(timeout=10_000)
        running.wait_audit(lambda r: r.kind == "passkey.registered")

        page.goto(f"{base}/.menshen/")
        page.click("#logout")
        page.wait_for_load_state()
        assert "Signed out" in page.content()

        page.goto(f"{base}/settlement/batches")
        _password(page, running)
        page.click("#use-passkey")
        page.wait_for_url("**/settlement/batches")
        assert "Signed in as alice" in page.inner_text("#whoami")
        page.goto(f"{base}/.menshen/")
        assert "second factor: webauthn" in page.inner_text("main")
        event = running.wait_audit(lambda r: r.kind == "mfa.success" and r.reason == "webauthn")
        assert event.session_id is not None
        session = running.stack.server.sessions.get(event.session_id)  # type: ignore[union-attr]
        assert session is not None
        assert session.mfa_method == "webauthn"
        assert session.auth_level == "mfa"
        page.goto(f"{base}/.menshen/passkeys")
        assert "never" not in page.inner_text("#passkeys")
    finally:
        context.close()


def test_passkey_calls_without_csrf_token_or_from_another_origin_are_refused(
    running: RunningStack,
) -> None:
    """The JSON endpoints need this origin, JSON and the session's CSRF token."""
    with running.client() as client:
        sign_in(running, client, "bob")
        body = {"csrf": "forged", "rd": "/", "sig": "x"}
        origin = {"origin": running.url, "content-type": "application/json"}
        forged = client.post("/.menshen/passkey/auth/options", json=body, headers=origin)
        assert forged.status_code == 403
        elsewhere = {"origin": "https://evil.example", "content-type": "application/json"}
        cross = client.post("/.menshen/passkey/register/options", json=body, headers=elsewhere)
        assert cross.status_code == 403
        no_origin = client.post("/.menshen/passkey/register/options", json=body)
        assert no_origin.status_code == 403
    running.wait_audit(
        lambda r: r.kind == "attack.blocked" and r.reason == "forged or malformed passkey call"
    )


def test_a_replayed_passkey_ceremony_fails_closed_with_an_audit_event(
    running: RunningStack,
) -> None:
    """An unknown ceremony id and a junk credential are refused and audited as mfa.failure."""
    with running.client() as client:
        sign_in(running, client, "bob")
        page = client.get("/.menshen/passkeys")
        assert page.status_code == 200, page.text
        marker = 'data-csrf="'
        csrf = page.text.split(marker, 1)[1].split('"', 1)[0]
        headers = {"origin": running.url, "content-type": "application/json"}
        response = client.post(
            "/.menshen/passkey/register/verify",
            json={"csrf": csrf, "ceremony_id": "nope", "name": "x", "credential": {}},
            headers=headers,
        )
        assert response.status_code == 401
    running.wait_audit(lambda r: r.kind == "mfa.failure" and r.reason is not None)
