"""The client against a real OpenID provider (oidc-provider on Node.js), RS256 and ES256."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace

import httpx
import jwt
import pytest

from menshen.clock import SystemClock
from menshen.identity.oidc.client import OidcClient
from menshen.identity.oidc.flow import parse_token_response, token_request
from menshen.identity.oidc.model import ClaimMapping, FederationFailed, ProviderConfig
from tests.identity.oidc.idp import (
    CLIENT_ID,
    CLIENT_SECRET,
    POST_LOGOUT_URI,
    REDIRECT_URI,
    HttpxFetcher,
    RunningProvider,
    browser_login,
    running_provider,
)

pytestmark = pytest.mark.e2e

GROUPS = {
    "finance-ops": ("settlement-operators",),
    "staff": ("staff",),
    "contractors": ("contractors",),
}


@pytest.fixture(scope="module", params=["RS256", "ES256"])
def provider(request: pytest.FixtureRequest) -> Iterator[RunningProvider]:
    """A real provider signing ID tokens with the parameter's algorithm."""
    with running_provider(request.param) as running:
        yield running


@pytest.fixture
def client(provider: RunningProvider) -> Iterator[OidcClient]:
    """A menshen relying party configured for the provider."""
    config = ProviderConfig(
        name="test-idp",
        issuer=provider.issuer,
        client_id=CLIENT_ID,
        client_secret=CLIENT_SECRET,
        redirect_uri=REDIRECT_URI,
        scopes=("openid", "email", "profile", "groups", "offline_access"),
        claims=ClaimMapping(group_table=GROUPS),
    )
    with httpx.Client(timeout=5.0) as http:
        yield OidcClient(config, HttpxFetcher(http), SystemClock())


def test_login_maps_groups_with_the_providers_signature(
    client: OidcClient, provider: RunningProvider
) -> None:
    """Discovery, PKCE login, code exchange and ID token validation succeed; groups map."""
    start = client.begin()
    params = browser_login(start.url, "alice")
    assert params.get("iss") == provider.issuer
    login = client.finish(start.pending, params)
    assert login.identity.subject == "alice"
    assert login.identity.email == "alice@example.test"
    assert login.identity.groups == ("settlement-operators", "staff")
    assert login.tokens.id_token is not None
    assert jwt.get_unverified_header(login.tokens.id_token)["alg"] == provider.alg


def test_refresh_token_renews_the_login(client: OidcClient) -> None:
    """The refresh token gives new tokens for the same subject."""
    start = client.begin()
    login = client.finish(start.pending, browser_login(start.url, "alice"))
    assert login.tokens.refresh_token is not None
    renewed = client.refresh(login.tokens.refresh_token, login.identity)
    assert renewed.identity.subject == "alice"
    assert renewed.tokens.access_token != login.tokens.access_token


def test_user_disabled_at_the_provider_cannot_refresh(
    client: OidcClient, provider: RunningProvider
) -> None:
    """Once the provider no longer knows the user, refresh fails closed."""
    start = client.begin()
    login = client.finish(start.pending, browser_login(start.url, "bob"))
    assert login.tokens.refresh_token is not None
    provider.command("disable bob")
    try:
        with pytest.raises(FederationFailed) as caught:
            client.refresh(login.tokens.refresh_token, login.identity)
        assert "invalid_grant" in caught.value.reason
    finally:
        provider.command("enable bob")


def test_replayed_authorization_code_is_refused(client: OidcClient) -> None:
    """The provider refuses a code redeemed twice."""
    start = client.begin()
    params = browser_login(start.url, "alice")
    client.finish(start.pending, params)
    with httpx.Client(timeout=5.0) as http:
        again = HttpxFetcher(http).send(
            token_request(client.config, client.metadata(), params["code"], start.pending)
        )
    with pytest.raises(FederationFailed) as caught:
        parse_token_response(again, id_token_required=True)
    assert "invalid_grant" in caught.value.reason


def test_callback_from_another_login_is_refused(client: OidcClient) -> None:
    """Login CSRF with real codes: another browser's callback fails this browser's state."""
    mine = client.begin()
    theirs = client.begin()
    params = browser_login(theirs.url, "alice")
    with pytest.raises(FederationFailed) as caught:
        client.finish(mine.pending, params)
    assert "state" in caught.value.reason


def test_unregistered_redirect_uri_is_refused_by_the_provider(client: OidcClient) -> None:
    """A login asking to return to an unregistered redirect URI never gets a code."""
    with httpx.Client(timeout=5.0, follow_redirects=False) as browser:
        rogue = OidcClient(
            replace(client.config, redirect_uri="http://127.0.0.1:9/evil"),
            HttpxFetcher(browser),
            SystemClock(),
            metadata=client.metadata(),
        )
        answer = browser.get(rogue.begin().url)
    assert answer.status_code == 400
    assert "evil" not in answer.headers.get("location", "")


def test_logout_url_is_accepted_by_the_provider(client: OidcClient) -> None:
    """The RP-initiated logout URL opens the provider's end-session page."""
    start = client.begin()
    login = client.finish(start.pending, browser_login(start.url, "alice"))
    url = client.logout_url(login.tokens.id_token, POST_LOGOUT_URI, state="bye")
    assert url is not None
    with httpx.Client(timeout=5.0, follow_redirects=False) as browser:
        answer = browser.get(url)
    assert answer.status_code == 200
    assert "logout" in answer.text.lower()
