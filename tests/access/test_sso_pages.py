"""Single sign-on pages: tenants' own providers, routing by email domain, provider logout."""

from __future__ import annotations

import asyncio
import re
from urllib.parse import parse_qs, urlencode, urlsplit

import jwt
import pytest

from menshen.access.sso_discover import DISCOVER_EVENT, NO_SSO_FOR_DOMAIN
from menshen.access.sso_logout import LOGOUT_EVENT
from menshen.events.model import Kind, Outcome
from menshen.sessions.cookies import HTTP_COOKIE
from menshen.store.sql import SqlStore
from tests.access.sso_kit import HOSTS, SsoWorld, header, provider_settings, set_cookies
from tests.identity.oidc import kit

CSRF = re.compile(r'name="csrf" value="([^"]+)"')


@pytest.fixture
def world(sqlite_store: SqlStore) -> SsoWorld:
    """Tenant t1 with provider corp (corp.test), tenant t2 with provider partner."""
    return SsoWorld(
        sqlite_store,
        (
            provider_settings("corp"),
            provider_settings("partner", tenant="t2", email_domains=("partner.test",)),
        ),
    )


def _query(url: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}


# -- providers belong to their tenant --------------------------------------------------
def test_each_tenant_offers_only_its_own_providers(world: SsoWorld) -> None:
    """The sign-in page of a tenant's host lists that tenant's providers and no other."""
    assert [label for label, _ in world.sso.links("t1", "/")] == ["corp"]
    assert [label for label, _ in world.sso.links("t2", "/")] == ["partner"]


def test_another_tenants_provider_cannot_be_started(world: SsoWorld) -> None:
    """Starting tenant t2's provider on tenant t1's host fails, audited in t1."""
    head = world.head("t1", "GET", "/.menshen/oidc/start", query={"provider": "partner"})
    answer = world.answer(world.sso.start(world.ctx(head, "t1")), head)
    assert answer.status == 401
    assert "location" not in dict(answer.headers)
    (event,) = [e for e in world.events if e.kind == Kind.LOGIN_FAILURE]
    assert event.tenant_id == "t1"
    assert event.reason == "oidc: unknown provider"


def test_a_callback_for_another_tenants_provider_is_refused(world: SsoWorld) -> None:
    """A login begun on t2's host and brought back to t1's host gives no session."""
    head = world.head("t2", "GET", "/.menshen/oidc/start", query={"provider": "partner"})
    started = world.answer(world.sso.start(world.ctx(head, "t2")), head)
    assert started.status == 302
    params = world.idp.authorize(header(started, "location"), "alice")
    pending = set_cookies(started)["menshen_oidc"]
    back = world.head(
        "t1", "GET", "/.menshen/oidc/callback", query=params, cookies={"menshen_oidc": pending}
    )
    done = world.answer(world.sso.callback(world.ctx(back, "t1")), back)
    assert done.status == 401
    assert HTTP_COOKIE not in set_cookies(done)
    (event,) = [e for e in world.events if e.kind == Kind.LOGIN_FAILURE]
    assert event.tenant_id == "t1"
    assert "another tenant" in (event.reason or "")
    assert world.store.tenant("t1").users.list() == []


def test_the_same_login_on_its_own_tenants_host_succeeds(world: SsoWorld) -> None:
    """Tenant t2's provider works on t2's host, and the user lands in t2 only."""
    world.idp.email_domain = "partner.test"
    world.sign_in("bob", tenant="t2", provider="partner")
    assert [u.email for u in world.store.tenant("t2").users.list()] == ["bob@partner.test"]
    assert world.store.tenant("t1").users.list() == []


# -- provider by email domain ----------------------------------------------------------
def _login_page(world: SsoWorld) -> tuple[str, str, str]:
    """The login page's body, its pre-session cookie and its CSRF token."""
    head = world.head("t1", "GET", "/.menshen/login")
    page = world.answer(world.signin.login_page(world.ctx(head, "t1")), head)
    binding = set_cookies(page)["menshen_csrf"]
    body = page.body.decode()
    match = CSRF.search(body)
    assert match is not None
    return body, binding, match.group(1)


def _discover(world: SsoWorld, email: str, csrf: str, binding: str) -> tuple[int, str, str]:
    head = world.head(
        "t1", "POST", "/.menshen/oidc/discover", cookies={"menshen_csrf": binding}, form=True
    )
    body = urlencode(
        {"csrf": csrf, "rd": "/wiki/", "sig": world.signin._signer.sign("/wiki/"), "email": email}
    )
    answer = world.answer(world.sso.discover(world.ctx(head, "t1")), head, body.encode())
    location = dict(answer.headers).get("location", "")
    return answer.status, location, answer.body.decode()


def test_the_login_page_asks_for_a_work_email_when_domains_route(world: SsoWorld) -> None:
    """A tenant whose providers list email domains gets the work-email field."""
    body, _, _ = _login_page(world)
    assert 'action="/.menshen/oidc/discover"' in body
    assert "Work email" in body


def test_a_work_email_sends_the_user_to_its_domains_provider(world: SsoWorld) -> None:
    """The domain picks the provider; the address travels as login_hint."""
    _, binding, csrf = _login_page(world)
    status, location, _ = _discover(world, " Alice@Corp.test ", csrf, binding)
    assert status == 302
    assert location.startswith(f"{kit.ISSUER}/authorize?")
    assert _query(location)["login_hint"] == "alice@corp.test"


def test_an_unknown_domain_goes_back_to_the_password_form(world: SsoWorld) -> None:
    """No provider for the domain: the login page says so; the attempt is audited."""
    _, binding, csrf = _login_page(world)
    for email in ("someone@elsewhere.test", "partner@partner.test", "no-at-sign"):
        status, location, body = _discover(world, email, csrf, binding)
        assert status == 200
        assert not location
        assert NO_SSO_FOR_DOMAIN in body
    events = [e for e in world.events if e.kind == DISCOVER_EVENT]
    assert [e.details["domain"] for e in events] == ["elsewhere.test", "partner.test", "no-at-sign"]


def test_a_forged_email_form_is_refused(world: SsoWorld) -> None:
    """Without the login CSRF token bound to the browser, nothing is started."""
    _, binding, csrf = _login_page(world)
    status, location, _ = _discover(world, "alice@corp.test", "0" * 64, binding)
    assert status == 403
    assert not location
    status, _, _ = _discover(world, "alice@corp.test", csrf, "another-browser")
    assert status == 403
    assert [e.kind for e in world.events] == [Kind.ATTACK_BLOCKED, Kind.ATTACK_BLOCKED]


# -- signing out -----------------------------------------------------------------------
def _logout(world: SsoWorld, token: str) -> tuple[int, str, str]:
    session = world.session_of(token)
    assert session is not None
    head = world.head("t1", "POST", "/.menshen/logout", cookies={HTTP_COOKIE: token}, form=True)
    body = urlencode({"csrf": world.csrf.token(session.id, "logout")}).encode()
    answer = world.answer(world.account.logout_submit(world.ctx(head, "t1")), head, body)
    return answer.status, dict(answer.headers).get("location", ""), answer.body.decode()


def test_signing_out_of_sso_ends_the_providers_session_too(world: SsoWorld) -> None:
    """RP-initiated logout: revoked here, then sent to the provider with the right hints."""
    token = world.sign_in("alice")
    session = world.session_of(token)
    assert session is not None
    status, location, _ = _logout(world, token)
    assert status == 302
    assert location.startswith(f"{kit.ISSUER}/logout?")
    params = _query(location)
    assert params["client_id"] == kit.CLIENT_ID
    assert params["post_logout_redirect_uri"] == f"http://{HOSTS['t1']}/.menshen/logged-out"
    assert params["state"]
    assert (
        jwt.decode(params["id_token_hint"], options={"verify_signature": False})["sub"] == "alice"
    )
    assert world.session_of(token) is None
    assert world.store.tenant("t1").federated_sessions.get(session.id) is None
    (event,) = [e for e in world.events if e.kind == LOGOUT_EVENT]
    assert event.outcome == Outcome.SUCCESS
    assert event.details["provider"] == "corp"


def test_logout_at_the_provider_can_be_switched_off(sqlite_store: SqlStore) -> None:
    """With logout_at_provider false, only the menshen session ends."""
    world = SsoWorld(sqlite_store, (provider_settings(logout_at_provider=False),))
    token = world.sign_in("alice")
    status, location, body = _logout(world, token)
    assert status == 200
    assert not location
    assert "You are signed out" in body
    assert world.session_of(token) is None


def test_a_password_session_signs_out_as_before(world: SsoWorld) -> None:
    """A session not opened through a provider gets the plain signed-out page."""
    world.identity("t1").create_user("carol", "carol@one.test", "Carol", password=None)
    user = world.store.tenant("t1").users.by_username("carol")
    assert user is not None
    made = asyncio.run(
        world.sessions.create(
            "t1", user.id, user_agent_family="Chrome/Linux", ip="10.0.0.7", auth_level="mfa"
        )
    )
    status, location, body = _logout(world, made.token)
    assert (status, location) == (200, "")
    assert "You are signed out" in body
    assert not [e for e in world.events if e.kind == LOGOUT_EVENT]


def test_a_session_rotated_by_mfa_still_signs_out_at_the_provider(world: SsoWorld) -> None:
    """Logout right after a second factor finds the provider login on the new session id."""
    token = world.sign_in("alice")
    first = world.session_of(token)
    assert first is not None
    elevated = world.second_factor(token)
    status, location, _ = _logout(world, elevated)
    assert status == 302
    assert location.startswith(f"{kit.ISSUER}/logout?")
    hint = jwt.decode(_query(location)["id_token_hint"], options={"verify_signature": False})
    assert hint["sub"] == "alice"
    assert world.store.tenant("t1").federated_sessions.get(first.id) is None
    session = world.store.tenant("t1").sessions.get(first.id)
    assert session is not None
    assert session.revoke_reason == "rotated"


def test_the_signed_out_page_needs_no_session(world: SsoWorld) -> None:
    """Where the provider sends the browser back: a plain page."""
    head = world.head("t1", "GET", "/.menshen/logged-out", query={"state": "x"})
    page = world.answer(world.sso.logged_out(world.ctx(head, "t1")), head)
    assert page.status == 200
    assert "You are signed out" in page.body.decode()
