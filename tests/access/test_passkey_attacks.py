"""WebAuthn attacks against the gateway's passkey endpoints: each fails closed, audited.

The software authenticator lies the way a phishing relay or a cloned key would: an
assertion made for another origin or RP ID, a challenge used twice, a credential the
gateway never registered. The answer is always the same generic refusal; the audit log
names the reason. The same attacks are made against the service in
``tests/identity/test_passkeys_ceremonies.py``; here they go through the whole gateway.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from menshen.gateway.contract import Respond
from tests.access.passkey_world import Browser, World, data_of, fields, location, payload
from tests.identity.test_passkeys_authenticator import SoftPasskey

LOGIN = "/.menshen/passkey/login"
GENERIC = "That passkey could not be used to sign in. Try again, or use a password."


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    built = World(tmp_path)
    try:
        yield built
    finally:
        built.close()


@pytest.fixture
def passkey(world: World) -> SoftPasskey:
    browser = world.browser()
    browser.sign_in("bob")
    key = SoftPasskey(credential_id=b"\x0b" * 20)
    payload(browser.add_passkey(key, "Bob's phone"))
    return key


def _begin(world: World) -> tuple[Browser, dict[str, str], dict[str, Any]]:
    """A fresh browser on the sign-in page that has asked for passwordless options."""
    browser = world.browser()
    login = browser.get(location(browser.get("/wiki/")))
    base = {k: v for k, v in data_of(login, "passkey-login").items() if k != "passkey"}
    return browser, base, payload(browser.post_json(f"{LOGIN}/options", base))


def _verify(browser: Browser, base: dict[str, str], ceremony: str, credential: Any) -> Respond:
    body = {**base, "ceremony_id": ceremony, "credential": credential}
    answer = browser.post_json(f"{LOGIN}/verify", body)
    assert isinstance(answer, Respond)
    return answer


def _refused(world: World, answer: Respond, reason: str) -> None:
    assert answer.status == 401
    assert json.loads(answer.body)["detail"] == GENERIC
    assert not [h for h in answer.headers if h[0] == "set-cookie"]  # no session
    failures = world.audited("login.failure", reason)
    assert failures, [(e.kind, e.reason) for e in world.events[-5:]]
    assert failures[-1].details["method"] == "passkey"


def test_an_assertion_made_for_another_origin_is_refused(
    world: World, passkey: SoftPasskey
) -> None:
    """A phishing page relaying our challenge gets an assertion naming its own origin."""
    browser, base, start = _begin(world)
    forged = passkey.get(json.dumps(start["publicKey"]), origin="https://login.example.test.evil")
    _refused(world, _verify(browser, base, start["ceremony_id"], forged), "wrong_origin")


def test_an_assertion_for_another_rp_id_is_refused(world: World, passkey: SoftPasskey) -> None:
    """Authenticator data scoped to another site's RP ID does not sign in here."""
    browser, base, start = _begin(world)
    forged = passkey.get(json.dumps(start["publicKey"]), rp_id="evil.example")
    _refused(world, _verify(browser, base, start["ceremony_id"], forged), "wrong_rp_id")


def test_a_replayed_challenge_is_refused(world: World, passkey: SoftPasskey) -> None:
    """A recorded successful response, sent again, finds its challenge already used."""
    browser, base, start = _begin(world)
    response = passkey.get(json.dumps(start["publicKey"]))
    assert _verify(browser, base, start["ceremony_id"], response).status == 200
    replay = _verify(browser, base, start["ceremony_id"], response)
    _refused(world, replay, "unknown_or_used_challenge")
    fresh_signature = passkey.get(json.dumps(start["publicKey"]))
    again = _verify(browser, base, start["ceremony_id"], fresh_signature)
    _refused(world, again, "unknown_or_used_challenge")


def test_a_replayed_step_up_challenge_is_refused(world: World, passkey: SoftPasskey) -> None:
    """The second-factor endpoint burns its challenges too, and audits the replay."""
    browser = world.browser()
    login = browser.get(location(browser.get("/wiki/")))
    payload(browser.use_passkey(login, passkey, "passkey-login", LOGIN))
    world.clock.advance(6 * 60)  # too old to remove a passkey: verify again first
    listing = browser.get("/.menshen/passkeys")
    page = browser.get(location(browser.post_form("/.menshen/passkeys/remove", fields(listing))))
    button = data_of(page, "use-passkey")
    base = {k: button[k] for k in ("csrf", "rd", "sig")}
    start = payload(browser.post_json("/.menshen/passkey/auth/options", base))
    body = {
        **base,
        "ceremony_id": start["ceremony_id"],
        "credential": passkey.get(json.dumps(start["publicKey"])),
    }
    assert payload(browser.post_json("/.menshen/passkey/auth/verify", body))["redirect"]
    # The session id changed; take its new token so that only the challenge can refuse.
    token = data_of(browser.get("/.menshen/passkeys"), "add-passkey")["csrf"]
    replay = browser.post_json("/.menshen/passkey/auth/verify", {**body, "csrf": token})
    assert replay.status == 401  # type: ignore[union-attr]
    assert world.audited("mfa.failure", "unknown_or_used_challenge")


def test_an_unknown_credential_id_is_refused(world: World, passkey: SoftPasskey) -> None:
    """A credential the gateway never registered, even one naming a real user, is refused."""
    browser, base, start = _begin(world)
    stranger = SoftPasskey(credential_id=b"\x0c" * 20, user_handle=passkey.user_handle)
    forged = stranger.get(json.dumps(start["publicKey"]))
    _refused(world, _verify(browser, base, start["ceremony_id"], forged), "unknown_credential")


def test_an_assertion_without_user_verification_is_refused(
    world: World, passkey: SoftPasskey
) -> None:
    """Presence alone (no PIN or biometric) is one factor: not enough to sign in."""
    browser, base, start = _begin(world)
    weak = passkey.get(json.dumps(start["publicKey"]), user_verified=False)
    _refused(world, _verify(browser, base, start["ceremony_id"], weak), "user_not_verified")


def test_a_ceremony_begun_in_another_browser_is_refused(world: World, passkey: SoftPasskey) -> None:
    """The challenge is bound to the pre-session cookie of the browser that asked for it."""
    _, _, start = _begin(world)
    other, other_base, _ = _begin(world)
    response = passkey.get(json.dumps(start["publicKey"]))
    answer = _verify(other, other_base, start["ceremony_id"], response)
    _refused(world, answer, "challenge_binding_mismatch")
