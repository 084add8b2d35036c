"""The attacks on single sign-on of issue 4, each through the gateway's callback.

OpenID Connect Core 1.0 §3.1.3.7 (ID token validation), RFC 6749 §10.5–§10.6 and §10.12
(code replay, redirect URI manipulation, login CSRF), RFC 9207 (mix-up), RFC 8725 §2.1–§3.1
(``alg: none`` and algorithm confusion). Each fails closed the same way: the one generic
401 page, no session cookie, no session, and a ``login.failure`` audit event with the precise
reason. The provider's own refusal of an unregistered redirect URI is tested against a real
provider in ``tests/identity/oidc/test_real_provider.py``.
"""

from __future__ import annotations

import html
from datetime import timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from menshen.access.sso import GENERIC_SSO_ERROR
from menshen.events.model import AuditEvent, Kind, Outcome
from menshen.gateway.contract import Respond
from menshen.sessions.cookies import HTTP_COOKIE
from menshen.store.sql import SqlStore
from tests.access.sso_kit import (
    FakeProvider,
    IdTokenMaker,
    SsoWorld,
    provider_settings,
    set_cookies,
)
from tests.identity.oidc import kit

PARTNER_ISSUER = kit.OTHER_ISSUER


@pytest.fixture
def world(sqlite_store: SqlStore) -> SsoWorld:
    """Tenant t1 with provider corp, and partner at another issuer with its own key."""
    built = SsoWorld(
        sqlite_store,
        (provider_settings("corp"), provider_settings("partner", issuer=PARTNER_ISSUER)),
    )
    built.network.add(
        FakeProvider(
            built.clock, issuer=PARTNER_ISSUER, key=ec.generate_private_key(ec.SECP256R1())
        )
    )
    return built


def _partner(world: SsoWorld) -> FakeProvider:
    return world.network.providers[PARTNER_ISSUER]


def _failures(world: SsoWorld) -> list[AuditEvent]:
    return [e for e in world.events if e.kind == Kind.LOGIN_FAILURE]


def _refused(world: SsoWorld, answer: Respond, reason: str, *, sessions: int = 0) -> None:
    """The generic page, no session cookie, ``sessions`` sessions in all, and one audited
    failure whose reason contains ``reason``."""
    assert answer.status == 401
    assert GENERIC_SSO_ERROR in html.unescape(answer.body.decode())
    assert reason not in answer.body.decode()
    assert HTTP_COOKIE not in set_cookies(answer)
    assert world.sessions.live_count == sessions
    (event,) = _failures(world)
    assert event.outcome == Outcome.FAILURE
    assert event.session_id is None
    assert reason in (event.reason or ""), event.reason


def _query(url: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}


# -- the ID token ------------------------------------------------------------------------
def _signed(**changes: Any) -> IdTokenMaker:
    """The provider's own key signing claims with ``changes``."""
    return lambda claims: kit.sign({**claims, **changes}, alg="ES256")


def _published_key_pem() -> bytes:
    """The provider's public signing key, as anyone can fetch it from its JWKS."""
    return kit.EC_KEY.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def _expired(claims: dict[str, Any]) -> str:
    now = claims["iat"]
    return kit.sign({**claims, "iat": now - 3600, "exp": now - 600}, alg="ES256")


ID_TOKEN_ATTACKS = [
    pytest.param(
        lambda claims: kit.forge({"alg": "none", "kid": "k1"}, claims, None),
        "algorithm 'none' is not allowed",
        id="alg-none",
    ),
    pytest.param(
        lambda claims: kit.forge({"alg": "HS256", "kid": "k1"}, claims, _published_key_pem()),
        "algorithm 'HS256' is not allowed",
        id="hs256-keyed-with-the-public-key",
    ),
    pytest.param(_signed(iss=PARTNER_ISSUER), "issuer does not match", id="wrong-iss"),
    pytest.param(_signed(aud="another-client"), "audience does not include", id="wrong-aud"),
    pytest.param(_signed(nonce="the-attackers-nonce"), "nonce does not match", id="wrong-nonce"),
    pytest.param(_expired, "expired", id="expired"),
]


@pytest.mark.parametrize(("forge", "reason"), ID_TOKEN_ATTACKS)
def test_a_bad_id_token_signs_no_one_in(world: SsoWorld, forge: IdTokenMaker, reason: str) -> None:
    """The provider's token endpoint hands back a forged or wrong ID token: refused."""
    world.idp.forge_id_token = forge
    url, pending = world.start()
    answer = world.callback(world.idp.authorize(url, "alice"), pending)
    _refused(world, answer, f"oidc: id token: {reason}")
    assert world.store.tenant("t1").users.list() == []


def test_the_untampered_id_token_of_the_same_provider_signs_in(world: SsoWorld) -> None:
    """The control case: the provider's own ES256 token with the right claims works."""
    world.idp.forge_id_token = _signed()
    assert world.session_of(world.sign_in("alice")) is not None
    assert _failures(world) == []


# -- the authorization response ----------------------------------------------------------
def test_a_replayed_authorization_code_is_refused(world: SsoWorld) -> None:
    """The same callback a second time (code and pending cookie captured): the provider
    refuses the spent code and no second session is issued."""
    url, pending = world.start()
    params = world.idp.authorize(url, "alice")
    first = world.callback(params, pending)
    assert first.status == 302
    again = world.callback(params, pending)
    _refused(world, again, "oidc: token response: HTTP 400 error 'invalid_grant'", sessions=1)


def test_a_callback_without_state_is_refused(world: SsoWorld) -> None:
    """No state: refused before the code is spent."""
    url, pending = world.start()
    params = world.idp.authorize(url, "alice")
    del params["state"]
    answer = world.callback(params, pending)
    _refused(world, answer, "oidc: callback: state is missing or does not match")
    assert world.idp.token_requests() == 0


def test_login_csrf_with_the_attackers_own_callback_is_refused(world: SsoWorld) -> None:
    """The attacker's code and state, for the attacker's account, fed to the victim's
    browser mid-login: state does not match the victim's pending login; the code is unspent."""
    attacker_url, _ = world.start()
    planted = world.idp.authorize(attacker_url, "mallory")
    victim_url, victim_pending = world.start()
    world.idp.authorize(victim_url, "alice")
    answer = world.callback(planted, victim_pending)
    _refused(world, answer, "oidc: callback: state is missing or does not match")
    assert world.idp.token_requests() == 0
    assert planted["code"] in world.idp.codes


def test_login_csrf_in_a_browser_that_began_no_login_is_refused(world: SsoWorld) -> None:
    """The attacker's callback link opened by a victim who started nothing: no pending
    login cookie, so there is nothing to complete."""
    url, _ = world.start()
    planted = world.idp.authorize(url, "mallory")
    answer = world.callback(planted, None)
    _refused(world, answer, "oidc: callback: no pending login cookie")
    assert world.idp.token_requests() == 0


# -- mix-up between two providers (RFC 9207) ---------------------------------------------
@pytest.mark.parametrize(("started_at", "answered_by"), [("partner", "corp"), ("corp", "partner")])
def test_a_response_from_another_provider_is_refused_by_its_iss(
    world: SsoWorld, started_at: str, answered_by: str
) -> None:
    """A login begun at one provider and answered by the other, ``iss`` naming the other:
    refused before any code reaches a token endpoint (the code cannot leak to the provider
    the login was begun with)."""
    providers = {"corp": world.idp, "partner": _partner(world)}
    for provider in providers.values():
        provider.iss_param = True
    url, pending = world.start(provider=started_at)
    answer = world.callback(providers[answered_by].authorize(url, "alice"), pending)
    _refused(world, answer, "oidc: callback: iss parameter names another issuer")
    assert [p.token_requests() for p in providers.values()] == [0, 0]


def test_a_response_without_iss_from_a_provider_that_sends_it_is_refused(world: SsoWorld) -> None:
    """RFC 9207 §2.4: a provider that advertises ``iss`` must send it; without it, refused."""
    world.idp.iss_param = True
    url, pending = world.start()
    params = world.idp.authorize(url, "alice")
    del params["iss"]
    answer = world.callback(params, pending)
    _refused(world, answer, "oidc: callback: iss parameter missing")
    assert world.idp.token_requests() == 0


def test_another_providers_code_is_refused_by_the_provider_the_login_began_with(
    world: SsoWorld,
) -> None:
    """Without ``iss``: partner's code, under the state of a login begun at corp, is redeemed
    only at corp (with corp's PKCE verifier and redirect URI), which refuses it."""
    url, pending = world.start(provider="corp")
    params = _partner(world).authorize(url, "alice")
    answer = world.callback(params, pending)
    _refused(world, answer, "oidc: token response: HTTP 400 error 'invalid_grant'")
    assert _partner(world).token_requests() == 0


def test_an_id_token_signed_by_another_provider_is_refused(world: SsoWorld) -> None:
    """corp's endpoint relaying a token made with partner's key (claiming corp): bad
    signature, since only the keys of the provider the login began with are trusted."""
    partner_key = _partner(world).key

    def relayed(claims: dict[str, Any]) -> str:
        return jwt.encode(claims, partner_key, algorithm="ES256", headers={"kid": "k1"})

    world.idp.forge_id_token = relayed
    url, pending = world.start()
    answer = world.callback(world.idp.authorize(url, "alice"), pending)
    _refused(world, answer, "oidc: id token: bad signature")


# -- the redirect URI --------------------------------------------------------------------
def test_the_authorization_request_names_only_menshens_own_callback(world: SsoWorld) -> None:
    """A redirect_uri slipped into the start link is ignored: the provider is always sent
    the callback of the host the login began on (the URI registered at the provider)."""
    head = world.head(
        "t1",
        "GET",
        "/.menshen/oidc/start",
        query={"provider": "corp", "redirect_uri": "https://evil.test/steal"},
    )
    started = world.answer(world.sso.start(world.ctx(head, "t1")), head)
    location = dict(started.headers)["location"]
    assert _query(location)["redirect_uri"] == "http://apps.one.test/.menshen/oidc/callback"
    assert "evil.test" not in location


def test_a_callback_reached_at_another_uri_than_the_login_named_is_refused(
    world: SsoWorld,
) -> None:
    """The callback only completes a login whose authorization request named the URI it
    was reached at: a response delivered to another port of the host is refused unspent."""
    url, pending = world.start()
    params = world.idp.authorize(url, "alice")
    answer = world.callback(params, pending, port=8080)
    _refused(world, answer, "oidc: callback: redirect URI changed during the login")
    assert world.idp.token_requests() == 0


def test_a_stale_callback_is_refused(world: SsoWorld) -> None:
    """A callback long after the login began (a code captured and kept) is refused."""
    url, pending = world.start()
    params = world.idp.authorize(url, "alice")
    world.clock.advance(timedelta(hours=1).total_seconds())
    answer = world.callback(params, pending)
    _refused(world, answer, "oidc: callback: pending login is too old")
