"""Passkeys in Chromium with the DevTools virtual authenticator: as second factor, for a
passkey-only app (step-up), passwordless, renamed and removed; a phishing origin and a
cloned authenticator refused."""

from __future__ import annotations

import html
import shutil
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest

from menshen.demo.firm import TENANT
from menshen.manifest.apply import apply_manifests
from menshen.manifest.parse import parse_manifests
from tests.access.passkey_world import PASSKEY_RULE
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


def _virtual_authenticator(context: Any, page: Any) -> tuple[Any, str]:
    """A platform authenticator with resident keys and user verification, on ``page``'s tab;
    the DevTools session and the authenticator's id."""
    cdp = context.new_cdp_session(page)
    cdp.send("WebAuthn.enable")
    added = cdp.send(
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
    return cdp, added["authenticatorId"]


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


# -- a rule that only a passkey satisfies -------------------------------------------------


@pytest.fixture(scope="module")
def passkey_rule(running: RunningStack) -> None:
    """The demo's settlement policy, plus /settlement/payouts for passkeys only."""
    platform = running.stack.platform
    assert platform is not None
    tenant = platform.store.tenant(TENANT)
    manifests = parse_manifests(PASSKEY_RULE, "<test>", known_apps=None)
    apply_manifests(tenant, manifests, clock=platform.clock)
    server = running.stack.server
    assert server is not None
    running.run(server.reload_directory())


def _use_code(page: Any, running: RunningStack, username: str) -> None:
    page.fill("#code", running.totp_code(username))
    page.click("button[type=submit]")


def _sign_out(page: Any, base: str) -> None:
    page.goto(f"{base}/.menshen/")
    page.click("#logout")
    page.wait_for_load_state()
    assert "Signed out" in page.content()


def test_a_passkey_only_app_steps_up_then_passwordless_rename_and_removal(
    running: RunningStack, browser: Any, passkey_rule: None
) -> None:
    """TOTP is not enough for payouts: add a passkey from the step-up page, use it, sign in
    with it alone, rename it, remove it."""
    base = f"http://localhost:{running.port}"
    context = browser.new_context()
    try:
        page = context.new_page()
        _virtual_authenticator(context, page)
        page.goto(f"{base}/settlement/payouts")
        page.fill("#username", "admin")
        page.fill("#password", running.stack.people["admin"].password)
        page.click("button[type=submit]")
        page.wait_for_url("**/.menshen/mfa?**")
        _use_code(page, running, "admin")
        # The code opened the session, but the payouts rule wants a passkey: step-up again.
        page.wait_for_url("**need=passkey")
        assert "This application requires a passkey" in page.inner_text("#need")
        assert page.locator("#code").count() == 0
        page.click("#add-passkey-link")
        page.wait_for_url("**/.menshen/passkeys?rd=**")
        page.fill("#passkey-name", "Admin laptop")
        page.click("#add-passkey")
        # Registration returns to the app, which asks for the new passkey.
        page.wait_for_url("**need=passkey")
        page.click("#use-passkey")
        page.wait_for_url("**/settlement/payouts")
        assert "Signed in as admin" in page.inner_text("#whoami")
        running.wait_audit(lambda r: r.kind == "mfa.success" and r.reason == "webauthn")

        _sign_out(page, base)
        page.goto(f"{base}/settlement/payouts")
        page.wait_for_url("**/.menshen/login?**")
        page.click("#passkey-login")  # no username, no password
        page.wait_for_url("**/settlement/payouts")
        assert "Signed in as admin" in page.inner_text("#whoami")
        event = running.wait_audit(lambda r: r.kind == "login.success" and r.reason == "webauthn")
        server = running.stack.server
        assert server is not None
        assert event.session_id is not None
        session = server.sessions.get(event.session_id)
        assert session is not None
        assert (session.auth_level, session.mfa_method) == ("mfa", "webauthn")

        page.goto(f"{base}/.menshen/passkeys")
        page.fill("#passkeys input[name=name]", "Admin's work laptop")
        page.click("#passkeys button.rename")
        page.wait_for_load_state()
        assert "Admin's work laptop" in page.inner_text("#passkeys")
        # Signed in with the passkey moments ago: removal needs no further verification.
        page.click("#passkeys button.remove")
        page.wait_for_load_state()
        assert "No passkeys yet" in page.inner_text("#passkeys")
        running.wait_audit(lambda r: r.kind == "passkey.renamed" and r.outcome == "success")
        running.wait_audit(lambda r: r.kind == "passkey.removed" and r.outcome == "success")
    finally:
        context.close()


# -- a cloned authenticator and a phishing page -------------------------------------------


class _PhishingSite:
    """A look-alike sign-in page on another origin (a port of its own on loopback)."""

    def __init__(self) -> None:
        class Page(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                body = b"<!doctype html><title>Formosa Pay sign-in</title><p>Sign in</p>"
                self.send_response(200)
                self.send_header("content-type", "text/html")
                self.send_header("content-length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Page)
        self.port = self.server.server_address[1]
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self._thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self._thread.join(5)


@pytest.fixture
def phishing_site() -> Iterator[_PhishingSite]:
    site = _PhishingSite()
    try:
        yield site
    finally:
        site.close()


# In the page: ask the authenticator for an assertion over the relayed options.
_GET_ASSERTION = """async ([options]) => {
  const bytes = (text) => Uint8Array.from(
    atob(text.replace(/-/g, "+").replace(/_/g, "/") + "===".slice((text.length + 3) % 4)),
    (c) => c.charCodeAt(0));
  const text = (buffer) => btoa(String.fromCharCode(...new Uint8Array(buffer)))
    .replace(/\\+/g, "-").replace(/\\//g, "_").replace(/=+$/, "");
  try {
    const credential = await navigator.credentials.get({publicKey: {
      challenge: bytes(options.challenge), rpId: options.rpId,
      allowCredentials: [], userVerification: "required", timeout: 5000}});
    const r = credential.response;
    return {credential: {id: credential.id, rawId: text(credential.rawId), type: "public-key",
      response: {clientDataJSON: text(r.clientDataJSON),
        authenticatorData: text(r.authenticatorData), signature: text(r.signature),
        userHandle: r.userHandle ? text(r.userHandle) : null},
      clientExtensionResults: {}}};
  } catch (error) {
    return {error: error.name};
  }
}"""


def _relay_options(running: RunningStack) -> tuple[httpx.Client, dict[str, str], dict[str, Any]]:
    """The phisher's server asks the real gateway (as host ``localhost``) to start a
    passwordless sign-in, as a relay in the middle would."""
    host = f"localhost:{running.port}"
    client = running.client(headers={"host": host})
    first = client.get("/wiki/")
    page = client.get(first.headers["location"]).text
    button = page.split('id="passkey-login"', 1)[1].split(">", 1)[0]
    base = {
        key: html.unescape(button.split(f'data-{key}="', 1)[1].split('"', 1)[0])
        for key in ("csrf", "rd", "sig")
    }
    headers = {"origin": f"http://{host}", "content-type": "application/json"}
    start = client.post("/.menshen/passkey/login/options", json=base, headers=headers)
    assert start.status_code == 200, start.text
    return client, base, start.json()


def _password_only(page: Any, running: RunningStack, base: str, username: str) -> None:
    page.goto(f"{base}/wiki/")
    page.fill("#username", username)
    page.fill("#password", running.stack.people[username].password)
    page.click("button[type=submit]")
    page.wait_for_url("**/wiki/")


def _passwordless(page: Any, base: str) -> None:
    page.goto(f"{base}/wiki/")
    page.wait_for_url("**/.menshen/login?**")
    page.click("#passkey-login")


def test_a_phishing_origin_cannot_use_the_passkey_and_a_clone_is_refused(
    running: RunningStack, browser: Any, phishing_site: _PhishingSite
) -> None:
    """A look-alike origin gets no usable assertion; a copied key with a lower counter is
    refused and disables the passkey for good."""
    base = f"http://localhost:{running.port}"
    context = browser.new_context()
    clone_context = browser.new_context()
    try:
        page = context.new_page()
        cdp, authenticator = _virtual_authenticator(context, page)
        _password_only(page, running, base, "bob")
        page.goto(f"{base}/.menshen/passkeys")
        page.fill("#passkey-name", "Bob laptop")
        page.click("#add-passkey")
        page.locator("#passkeys").get_by_text("Bob laptop").wait_for(timeout=10_000)
        _sign_out(page, base)
        _passwordless(page, base)
        page.wait_for_url("**/wiki/")

        # Phishing on 127.0.0.1: the browser will not use a "localhost" passkey there at all.
        client, relay, start = _relay_options(running)
        try:
            page.goto(f"http://127.0.0.1:{phishing_site.port}/")
            outcome = page.evaluate(_GET_ASSERTION, [start["publicKey"]])
            assert outcome.get("error") in ("SecurityError", "NotAllowedError"), outcome
            # Phishing on localhost, another port: same RP ID, so the authenticator signs,
            # but the signed client data names the phishing origin and the gateway refuses.
            page.goto(f"http://localhost:{phishing_site.port}/")
            outcome = page.evaluate(_GET_ASSERTION, [start["publicKey"]])
            assert "credential" in outcome, outcome
            headers = {"origin": f"http://localhost:{running.port}"}
            relayed = client.post(
                "/.menshen/passkey/login/verify",
                json={**relay, "ceremony_id": start["ceremony_id"], **outcome},
                headers=headers,
            )
            assert relayed.status_code == 401
            assert "set-cookie" not in relayed.headers
        finally:
            client.close()
        running.wait_audit(lambda r: r.kind == "login.failure" and r.reason == "wrong_origin")

        # Clone: the same private key in another authenticator whose counter starts at 0.
        exported = cdp.send("WebAuthn.getCredentials", {"authenticatorId": authenticator})
        [credential] = [c for c in exported["credentials"] if c["rpId"] == "localhost"]
        assert credential["signCount"] >= 1
        clone_page = clone_context.new_page()
        clone_cdp, clone_id = _virtual_authenticator(clone_context, clone_page)
        clone_cdp.send(
            "WebAuthn.addCredential",
            {"authenticatorId": clone_id, "credential": {**credential, "signCount": 0}},
        )
        _passwordless(clone_page, base)
        clone_page.locator("#passkey-error").wait_for(state="visible", timeout=10_000)
        assert "/.menshen/login" in clone_page.url
        running.wait_audit(
            lambda r: r.kind == "login.failure" and r.reason == "sign_count_regression"
        )
        # The genuine authenticator is refused from now on as well: which one is the copy?
        _sign_out(page, base)
        _passwordless(page, base)
        page.locator("#passkey-error").wait_for(state="visible", timeout=10_000)
        running.wait_audit(
            lambda r: r.kind == "login.failure" and r.reason == "credential_flagged_cloned"
        )
        _password_only(page, running, base, "bob")
        page.goto(f"{base}/.menshen/passkeys")
        assert "cloned — disabled" in page.inner_text("#passkeys")
    finally:
        clone_context.close()
        context.close()
