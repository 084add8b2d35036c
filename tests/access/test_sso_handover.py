"""Which new session takes over a provider login: every place that issues a session.

A second factor or a step-up continues the same login (``same_login=True``): the provider
login moves to the new session. A new sign-in (password, passwordless passkey, single sign-on
again) inherits nothing, and the provider login of the session it replaces ends.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from menshen.demo.firm import TENANT
from menshen.sessions.cookies import HTTP_COOKIE
from menshen.sessions.useragent import user_agent_family
from menshen.store.records import FederatedSessionRecord
from menshen.store.sql import SqlStore
from tests.access.passkey_world import (
    PASSKEY_RULE,
    UA,
    Browser,
    World,
    location,
    payload,
)
from tests.access.sso_kit import SsoWorld, set_cookies
from tests.identity.test_passkeys_authenticator import SoftPasskey

SESSION_COOKIE = "__Host-menshen_session"


# -- sites in the single sign-on world ---------------------------------------------------
@pytest.fixture
def sso(sqlite_store: SqlStore) -> SsoWorld:
    """Tenant t1 with one provider."""
    return SsoWorld(sqlite_store)


def _login_of(world: SsoWorld, token: str) -> FederatedSessionRecord | None:
    session = world.session_of(token)
    assert session is not None
    return world.store.tenant("t1").federated_sessions.get(session.id)


def test_a_second_factor_after_sso_carries_the_login(sso: SsoWorld) -> None:
    """/.menshen/mfa continues the same login: the record moves, its sealed tokens as they
    were (nothing is re-sealed)."""
    token = sso.sign_in("alice")
    before = _login_of(sso, token)
    assert before is not None
    elevated = sso.second_factor(token)
    after = _login_of(sso, elevated)
    assert after is not None
    assert after.refresh_token_sealed == before.refresh_token_sealed
    assert after.id_token_sealed == before.id_token_sealed
    assert after.next_check_at == before.next_check_at
    assert sso.store.tenant("t1").federated_sessions.get(before.session_id) is None


def test_a_password_sign_in_over_an_sso_session_inherits_nothing(sso: SsoWorld) -> None:
    """The password form in a browser signed in through SSO is a new login: the provider
    login of the replaced session ends, the new session has none."""
    token = sso.sign_in("alice")
    before = _login_of(sso, token)
    assert before is not None
    identity = sso.identity("t1")
    identity.set_password(before.user_id, "correct horse battery staple")
    user = sso.store.tenant("t1").users.get(before.user_id)
    assert user is not None
    done = sso.password_sign_in(user.username, "correct horse battery staple", session=token)
    assert done.status == 302
    fresh = set_cookies(done)[HTTP_COOKIE]
    assert _login_of(sso, fresh) is None
    assert sso.store.tenant("t1").federated_sessions.get(before.session_id) is None
    assert sso.session_of(token) is None


def test_a_new_sso_sign_in_replaces_the_old_login(sso: SsoWorld) -> None:
    """Signing in through the provider again keeps only the new login, on the new session."""
    token = sso.sign_in("alice")
    before = _login_of(sso, token)
    assert before is not None
    again = sso.sign_in("alice", session=token)
    after = _login_of(sso, again)
    assert after is not None
    assert after.session_id != before.session_id
    assert after.refresh_token_sealed != before.refresh_token_sealed
    assert sso.store.tenant("t1").federated_sessions.get(before.session_id) is None


# -- sites in the whole gateway (passkeys) -----------------------------------------------
@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    built = World(tmp_path)
    try:
        yield built
    finally:
        built.close()


def _session_id(world: World, browser: Browser) -> str:
    token = browser.cookies[SESSION_COOKIE]
    found = world.server.sessions.lookup(TENANT, token, user_agent_family(UA))
    assert found.session is not None
    return found.session.id


def _plant_login(world: World, browser: Browser) -> FederatedSessionRecord:
    """A provider login behind the browser's session, as single sign-on would keep it."""
    session_id = _session_id(world, browser)
    session = world.platform.store.tenant(TENANT).sessions.get(session_id)
    assert session is not None
    now = world.clock.now()
    record = FederatedSessionRecord(
        TENANT, session_id, session.user_id, "corp", "sub-1", b"\x01r", b"\x01i", now, now, now
    )
    world.platform.store.tenant(TENANT).federated_sessions.add(record)
    return record


def _with_passkey(world: World) -> tuple[Browser, SoftPasskey]:
    browser = world.browser()
    browser.sign_in("alice")
    passkey = SoftPasskey(credential_id=b"\x07" * 20)
    assert payload(browser.add_passkey(passkey, "Laptop")) == {"redirect": "/.menshen/passkeys"}
    return browser, passkey


def test_a_passkey_step_up_carries_the_login(world: World) -> None:
    """A passkey asked for by a rule continues the same login: the provider login moves."""
    world.apply(PASSKEY_RULE)
    browser, passkey = _with_passkey(world)
    planted = _plant_login(world, browser)
    page = browser.get(location(browser.get("/settlement/payouts")))
    done = browser.use_passkey(page, passkey, "use-passkey", "/.menshen/passkey/auth")
    assert payload(done) == {"redirect": "/settlement/payouts"}
    repo = world.platform.store.tenant(TENANT).federated_sessions
    new_id = _session_id(world, browser)
    assert new_id != planted.session_id
    assert repo.get(planted.session_id) is None
    moved = repo.get(new_id)
    assert moved is not None
    assert moved.refresh_token_sealed == planted.refresh_token_sealed


def test_a_passwordless_sign_in_inherits_no_login(world: World) -> None:
    """'Sign in with a passkey' over a session is a new login: the old provider login ends."""
    browser, passkey = _with_passkey(world)
    planted = _plant_login(world, browser)
    login = browser.get("/.menshen/login")
    done = browser.use_passkey(login, passkey, "passkey-login", "/.menshen/passkey/login")
    assert payload(done) == {"redirect": "/"}
    repo = world.platform.store.tenant(TENANT).federated_sessions
    new_id = _session_id(world, browser)
    assert new_id != planted.session_id
    assert repo.get(planted.session_id) is None
    assert repo.get(new_id) is None
