"""Self-service passkeys and recovery codes: rename, remove and renew, with re-authentication."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from menshen.gateway.contract import Respond
from menshen.settings import PasskeyOptions, TenantOptions
from tests.access.passkey_world import Browser, World, data_of, fields, location, payload, text
from tests.identity.test_passkeys_authenticator import AAGUID, SoftPasskey, b64url

LISTED = "fbfc3007-154e-4ecc-8c0b-6e020557d7bd"


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    built = World(tmp_path)
    try:
        yield built
    finally:
        built.close()


def _signed_in_with_passkey(world: World, seed: int = 1) -> tuple[Browser, SoftPasskey]:
    browser = world.browser()
    browser.sign_in("alice")
    passkey = SoftPasskey(credential_id=bytes([seed]) * 20)
    payload(browser.add_passkey(passkey, "Laptop"))
    return browser, passkey


def _form_csrf(page: object) -> str:
    assert isinstance(page, Respond)
    return fields(page)["csrf"]


def _passkey_rows(browser: Browser) -> str:
    page = text(browser.get("/.menshen/passkeys"))
    return page.split('<table id="passkeys">', 1)[1].split("</table>", 1)[0]


def test_the_passkeys_page_lists_name_dates_and_the_cloned_state(world: World) -> None:
    """Name, added, last used ('never' until used), and 'cloned — disabled' once flagged."""
    browser, passkey = _signed_in_with_passkey(world)
    rows = _passkey_rows(browser)
    assert "Laptop" in rows
    assert "2026-01-05" in rows
    assert "never" in rows
    tenant = world.platform.store.tenant("formosa-pay")
    tenant.webauthn.flag_cloned(b64url(passkey.credential_id), world.clock.now())
    assert "cloned — disabled" in _passkey_rows(browser)


def test_a_passkey_can_be_renamed_by_its_owner_only(world: World) -> None:
    """Rename is a same-origin form with the session's token; bad names and others' keys fail."""
    browser, passkey = _signed_in_with_passkey(world)
    credential = b64url(passkey.credential_id)
    csrf = _form_csrf(browser.get("/.menshen/passkeys"))
    done = browser.post_form(
        "/.menshen/passkeys/rename", {"csrf": csrf, "credential": credential, "name": "Work key"}
    )
    assert location(done) == "/.menshen/passkeys"
    assert "Work key" in _passkey_rows(browser)
    bad = browser.post_form(
        "/.menshen/passkeys/rename", {"csrf": csrf, "credential": credential, "name": " "}
    )
    assert bad.status == 400  # type: ignore[union-attr]
    bob = world.browser()
    bob.sign_in("bob")
    payload(bob.add_passkey(SoftPasskey(credential_id=b"\x09" * 20), "Bob's key"))
    bob_csrf = _form_csrf(bob.get("/.menshen/passkeys"))
    stolen = bob.post_form(
        "/.menshen/passkeys/rename", {"csrf": bob_csrf, "credential": credential, "name": "Mine"}
    )
    assert stolen.status == 404  # type: ignore[union-attr]
    forged = browser.post_form(
        "/.menshen/passkeys/rename", {"csrf": bob_csrf, "credential": credential, "name": "X"}
    )
    assert forged.status == 403  # type: ignore[union-attr]
    assert [e.outcome for e in world.audited("passkey.renamed")] == [
        "success",
        "failure",
        "failure",
    ]
    assert world.audited("passkey.renamed", "no_such_passkey")
    assert world.audited("attack.blocked", "forged or malformed form")


def test_removal_within_five_minutes_of_a_verification_needs_nothing_more(world: World) -> None:
    """Just signed in with a second factor: Remove removes."""
    browser, _ = _signed_in_with_passkey(world)
    page = browser.get("/.menshen/passkeys")
    assert 'id="reauth-note"' not in text(page)
    credential = fields(page)["credential"]
    done = browser.post_form(
        "/.menshen/passkeys/remove", {"csrf": _form_csrf(page), "credential": credential}
    )
    assert location(done) == "/.menshen/passkeys"
    assert "No passkeys yet" in _passkey_rows(browser)
    assert world.audited("passkey.removed", "by its user")


def test_a_stale_session_verifies_again_with_a_passkey_before_removing(world: World) -> None:
    """Six minutes on, Remove sends the user to verify; after a passkey it works."""
    browser, passkey = _signed_in_with_passkey(world)
    world.clock.advance(6 * 60)
    page = browser.get("/.menshen/passkeys")
    assert 'id="reauth-note"' in text(page)
    form = {"csrf": _form_csrf(page), "credential": fields(page)["credential"]}
    verify = location(browser.post_form("/.menshen/passkeys/remove", form))
    assert verify.startswith("/.menshen/mfa?rd=%2F.menshen%2Fpasskeys&sig=")
    assert verify.endswith("&need=reauth")
    assert world.audited("passkey.removed", "reauthentication_required")
    assert "Laptop" in _passkey_rows(browser)

    confirm = browser.get(verify)
    assert "Confirm it is you" in text(confirm)
    done = browser.use_passkey(confirm, passkey, "use-passkey", "/.menshen/passkey/auth")
    assert payload(done) == {"redirect": "/.menshen/passkeys"}
    page = browser.get("/.menshen/passkeys")  # a new session: new form tokens
    form = {"csrf": _form_csrf(page), "credential": fields(page)["credential"]}
    assert location(browser.post_form("/.menshen/passkeys/remove", form)) == "/.menshen/passkeys"
    assert "No passkeys yet" in _passkey_rows(browser)


def test_recovery_codes_are_counted_and_renewed_after_a_fresh_code(world: World) -> None:
    """The authenticators page counts unused codes; renewing needs a recent verification."""
    browser = world.browser()
    browser.sign_in("alice")
    page = browser.get("/.menshen/authenticators")
    assert 'id="totp-status">set up' in text(page)
    assert "0 of 10 unused" in text(page)
    world.clock.advance(6 * 60)
    verify = location(browser.post_form("/.menshen/recovery-codes", {"csrf": _form_csrf(page)}))
    assert verify.startswith("/.menshen/mfa?rd=%2F.menshen%2Fauthenticators&sig=")
    assert world.audited("recovery_codes.regenerated", "reauthentication_required")

    confirm = browser.get(verify)
    back = browser.post_form("/.menshen/mfa", {**fields(confirm), "code": world.code("alice")})
    assert location(back) == "/.menshen/authenticators"
    page = browser.get("/.menshen/authenticators")
    shown = browser.post_form("/.menshen/recovery-codes", {"csrf": _form_csrf(page)})
    codes = text(shown).split('<ul class="codes">', 1)[1].split("</ul>", 1)[0].count("<li>")
    assert codes == 10
    assert "10 of 10 unused" in text(browser.get("/.menshen/authenticators"))
    assert world.audited("recovery_codes.regenerated", "by its user")


def test_self_service_pages_need_a_finished_sign_in(world: World) -> None:
    """No session: sign in first; a password-only session owing its code: finish it first."""
    stranger = world.browser()
    for page in ("/.menshen/passkeys", "/.menshen/authenticators"):
        assert location(stranger.get(page)).startswith("/.menshen/login?rd=")
    half = world.browser()
    login = half.get(location(half.get("/wiki/")))
    person = world.people["alice"]
    half.post_form(
        "/.menshen/login",
        {**fields(login), "username": "alice", "password": person.password},
    )
    for page in ("/.menshen/passkeys", "/.menshen/authenticators"):
        assert location(half.get(page)).startswith("/.menshen/mfa?rd=")
    options = half.post_json("/.menshen/passkey/register/options", {"csrf": "x"})
    assert options.status == 403  # type: ignore[union-attr]


def test_a_user_without_totp_verifies_again_with_a_passkey_alone(world: World) -> None:
    """Bob has no authenticator app: his re-verification page offers his passkey, no code."""
    browser = world.browser()
    browser.sign_in("bob")
    passkey = SoftPasskey(credential_id=b"\x42" * 20)
    payload(browser.add_passkey(passkey, "Phone"))
    page = browser.get("/.menshen/passkeys")
    verify = location(browser.post_form("/.menshen/passkeys/remove", {**fields(page)}))
    confirm = browser.get(verify)
    assert 'id="use-passkey"' in text(confirm)
    assert 'id="code"' not in text(confirm)
    done = browser.use_passkey(confirm, passkey, "use-passkey", "/.menshen/passkey/auth")
    assert payload(done) == {"redirect": "/.menshen/passkeys"}


@pytest.fixture
def listed(tmp_path: Path) -> Iterator[World]:
    options = TenantOptions(passkeys=PasskeyOptions("listed", (LISTED,)))
    built = World(tmp_path, tenants={"formosa-pay": options})
    try:
        yield built
    finally:
        built.close()


def _register(browser: Browser, passkey: SoftPasskey, fmt: str) -> Respond:
    page = browser.get("/.menshen/passkeys")
    base = {"csrf": data_of(page, "add-passkey")["csrf"]}
    start = payload(browser.post_json("/.menshen/passkey/register/options", base))
    credential = passkey.create(json.dumps(start["publicKey"]), fmt=fmt)
    answer = browser.post_json(
        "/.menshen/passkey/register/verify",
        {**base, "ceremony_id": start["ceremony_id"], "name": "Key", "credential": credential},
    )
    assert isinstance(answer, Respond)
    return answer


def test_a_listed_attestation_policy_admits_only_listed_authenticators(listed: World) -> None:
    """tenants.<id>.passkeys.attestation=listed: unlisted or unattested models are refused."""
    browser = listed.browser()
    browser.sign_in("alice")
    unlisted = SoftPasskey(credential_id=b"\x51" * 20, aaguid=bytes(16))
    assert _register(browser, unlisted, "packed").status == 401
    unattested = SoftPasskey(credential_id=b"\x52" * 20, aaguid=AAGUID)
    assert _register(browser, unattested, "none").status == 401
    assert len(listed.audited("mfa.failure", "attestation_not_allowed")) == 2
    good = SoftPasskey(credential_id=b"\x53" * 20, aaguid=AAGUID)
    assert _register(browser, good, "packed").status == 200
    registered = listed.audited("passkey.registered")
    assert [e.details["aaguid"] for e in registered] == [LISTED]


def test_a_step_up_demand_sends_the_passkeys_page_back_to_verification(world: World) -> None:
    """While automatic response holds the user for step-up, their own pages ask for the
    second factor first (a stolen session cannot add its own passkey meanwhile)."""
    browser, _ = _signed_in_with_passkey(world)
    assert isinstance(browser.get("/.menshen/passkeys"), Respond)
    assert browser.get("/.menshen/passkeys").status == 200  # type: ignore[union-attr]
    alice = world.platform.store.tenant("formosa-pay").users.by_username("alice")
    assert alice is not None
    world.clock.advance(60)
    world.server.live_response.require_step_up("formosa-pay", alice.id, world.clock.now())
    held = browser.get("/.menshen/passkeys")
    assert held.status == 302  # type: ignore[union-attr]
    assert location(held).startswith("/.menshen/mfa?")
