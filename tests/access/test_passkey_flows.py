"""Passwordless sign-in and passkey step-up through the whole gateway, on a fixed clock."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from menshen.gateway.contract import Forward, Respond
from menshen.sessions.useragent import user_agent_family
from tests.access.passkey_world import (
    PASSKEY_RULE,
    UA,
    Browser,
    World,
    data_of,
    fields,
    link_of,
    location,
    payload,
    text,
)
from tests.identity.test_passkeys_authenticator import SoftPasskey

_ids = iter(range(1, 200))


def _passkey() -> SoftPasskey:
    return SoftPasskey(credential_id=bytes([next(_ids)]) * 20)


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    built = World(tmp_path)
    try:
        yield built
    finally:
        built.close()


def _with_passkey(world: World, username: str) -> tuple[Browser, SoftPasskey]:
    browser = world.browser()
    browser.sign_in(username)
    passkey = _passkey()
    assert payload(browser.add_passkey(passkey, "Laptop")) == {"redirect": "/.menshen/passkeys"}
    return browser, passkey


def _session_of(world: World, browser: Browser) -> tuple[str | None, str]:
    token = browser.cookies["__Host-menshen_session"]
    found = world.server.sessions.lookup("formosa-pay", token, user_agent_family(UA))
    assert found.session is not None
    return found.session.mfa_method, found.session.auth_level


def test_passwordless_sign_in_opens_an_mfa_session_and_returns_to_the_app(world: World) -> None:
    """'Sign in with a passkey' needs no username or password and lands on the signed rd."""
    _, passkey = _with_passkey(world, "alice")
    browser = world.browser()
    login = browser.get(location(browser.get("/settlement/batches")))
    assert 'id="passkey-login"' in text(login)
    assert "script-src 'self'" in dict(login.headers)["content-security-policy"]  # type: ignore[union-attr]
    done = browser.use_passkey(login, passkey, "passkey-login", "/.menshen/passkey/login")
    assert payload(done) == {"redirect": "/settlement/batches"}
    assert _session_of(world, browser) == ("webauthn", "mfa")
    assert isinstance(browser.get("/settlement/batches"), Forward)
    success = world.audited("login.success", "webauthn")[-1]
    assert success.details["method"] == "passkey"


def test_passwordless_sign_in_needs_the_login_token_and_this_origin(world: World) -> None:
    """Login CSRF: no pre-session cookie, a wrong token or another origin are refused."""
    browser = world.browser()
    login = browser.get(location(browser.get("/wiki/")))
    body = data_of(login, "passkey-login")
    fresh = world.browser()
    assert fresh.post_json("/.menshen/passkey/login/options", body).status == 403  # type: ignore[union-attr]
    forged = {**body, "csrf": "0" * 64}
    assert browser.post_json("/.menshen/passkey/login/options", forged).status == 403  # type: ignore[union-attr]
    cross = browser.post_json("/.menshen/passkey/login/options", body, origin="https://evil.test")
    assert cross.status == 403  # type: ignore[union-attr]
    no_origin = browser.post_json("/.menshen/passkey/login/options", body, origin=None)
    assert no_origin.status == 403  # type: ignore[union-attr]
    assert len(world.audited("attack.blocked", "forged or malformed passkey call")) == 4


def test_a_disabled_user_cannot_sign_in_with_a_passkey(world: World) -> None:
    """Disabling the account refuses its passkeys; the reason goes to the audit log."""
    _, passkey = _with_passkey(world, "bob")
    identity = world.platform.identity("formosa-pay")
    bob = world.platform.store.tenant("formosa-pay").users.by_username("bob")
    assert bob is not None
    identity.disable_user(bob.id)
    browser = world.browser()
    login = browser.get(location(browser.get("/wiki/")))
    refused = browser.use_passkey(login, passkey, "passkey-login", "/.menshen/passkey/login")
    assert isinstance(refused, Respond)
    assert refused.status == 401
    assert world.audited("login.failure", "user_disabled")


def test_passwordless_failures_lock_the_source_address(world: World) -> None:
    """Twenty refused passkey sign-ins from one address pause sign-in from it, as passwords do."""
    _, passkey = _with_passkey(world, "alice")
    attacker = world.browser(ip="203.0.113.66")
    login = attacker.get(location(attacker.get("/wiki/")))
    stranger = SoftPasskey(credential_id=b"\xee" * 20, user_handle=b"nobody")
    for _ in range(20):
        refused = attacker.use_passkey(login, stranger, "passkey-login", "/.menshen/passkey/login")
        assert refused.status == 401  # type: ignore[union-attr]
    blocked = attacker.post_json("/.menshen/passkey/login/options", data_of(login, "passkey-login"))
    assert blocked.status == 401  # type: ignore[union-attr]
    assert world.audited("login.failure", "ip_blocked")
    assert len(world.audited("login.failure", "unknown_credential")) == 20
    # The owner elsewhere is not affected.
    owner = world.browser(ip="198.51.100.20")
    page = owner.get(location(owner.get("/wiki/")))
    done = owner.use_passkey(page, passkey, "passkey-login", "/.menshen/passkey/login")
    assert payload(done)["redirect"] == "/wiki/"


def test_a_passkey_only_rule_asks_for_a_passkey_and_totp_does_not_pass(world: World) -> None:
    """Step-up to a webauthn-only rule: the page offers only the passkey, or adding one."""
    world.apply(PASSKEY_RULE)
    browser = world.browser()
    browser.sign_in("alice", "/settlement/batches")
    assert isinstance(browser.get("/settlement/batches"), Forward)
    step_up = location(browser.get("/settlement/payouts"))
    assert step_up.startswith("/.menshen/mfa?")
    assert step_up.endswith("&need=passkey")
    page = browser.get(step_up)
    assert "This application requires a passkey" in text(page)
    assert 'id="code"' not in text(page)
    add = link_of(page, "add-passkey-link")
    assert add.startswith("/.menshen/passkeys?rd=%2Fsettlement%2Fpayouts&sig=")

    passkey = _passkey()
    added = browser.add_passkey(passkey, "Laptop", add[len("/.menshen/passkeys") :])
    assert payload(added) == {"redirect": "/settlement/payouts"}
    page = browser.get(location(browser.get("/settlement/payouts")))
    assert 'id="use-passkey"' in text(page)
    assert 'id="code"' not in text(page)
    done = browser.use_passkey(page, passkey, "use-passkey", "/.menshen/passkey/auth")
    assert payload(done) == {"redirect": "/settlement/payouts"}
    assert isinstance(browser.get("/settlement/payouts"), Forward)
    assert _session_of(world, browser)[0] == "webauthn"


def test_a_totp_code_does_not_open_a_passkey_only_path(world: World) -> None:
    """The hint only shapes the page: a code entered anyway still leaves the path closed."""
    world.apply(PASSKEY_RULE)
    browser = world.browser()
    browser.sign_in("alice", "/settlement/batches")
    step_up = location(browser.get("/settlement/payouts"))
    page = browser.get(step_up.removesuffix("&need=passkey"))
    assert 'id="code"' in text(page)
    elevated = browser.post_form("/.menshen/mfa", {**fields(page), "code": world.code("alice")})
    assert location(elevated) == "/settlement/payouts"
    assert _session_of(world, browser)[0] == "totp"
    assert location(browser.get("/settlement/payouts")).endswith("&need=passkey")
    reasons = [e.reason or "" for e in world.audited("access.step_up")]
    assert any("webauthn" in r or "passkey" in r for r in reasons)


FRESH_RULE = """\
apiVersion: menshen.dev/v1
kind: Policy
metadata: {name: settlement-access}
spec:
  app: settlement
  rules:
    - name: finance-ops-with-fresh-mfa
      groups: [finance-ops, admins]
      mfa: {required: true, maxAge: 30m}
"""


def test_a_passkey_only_user_refreshes_with_the_passkey_not_an_app_enrolment(
    world: World,
) -> None:
    """MFA is required but the user has only a passkey: a stale factor asks for the passkey."""
    world.apply(FRESH_RULE)
    _, passkey = _with_passkey(world, "alice")
    alice = world.platform.store.tenant("formosa-pay").users.by_username("alice")
    assert alice is not None
    world.platform.identity("formosa-pay").reset_mfa(alice.id)  # no authenticator app now
    world.reload()
    browser = world.browser()
    login = browser.get(location(browser.get("/settlement/batches")))
    payload(browser.use_passkey(login, passkey, "passkey-login", "/.menshen/passkey/login"))
    assert isinstance(browser.get("/settlement/batches"), Forward)
    world.clock.advance(40 * 60)
    step_up = location(browser.get("/settlement/batches"))
    assert step_up.startswith("/.menshen/mfa?")
    page = browser.get(step_up)
    assert 'id="use-passkey"' in text(page)
    assert 'id="code"' not in text(page)
    assert "fresh second factor" in text(page)
    payload(browser.use_passkey(page, passkey, "use-passkey", "/.menshen/passkey/auth"))
    assert isinstance(browser.get("/settlement/batches"), Forward)
