"""The authorization code flow with PKCE, sans I/O (OpenID Connect Core 1.0 §3.1; RFC 6749
§4.1 and §6; RFC 7636; RFC 9207; RP-Initiated Logout 1.0 §2).

``start_login`` builds the redirect and the ``PendingLogin`` the browser must carry in a signed
cookie. ``validate_callback`` checks the browser's return against it: ``state`` (login CSRF),
the provider the flow began with and the RFC 9207 ``iss`` parameter (mix-up), age. Token
requests are built as ``HttpRequest`` values and their answers parsed here.
"""

from __future__ import annotations

import base64
import hmac
from collections.abc import Mapping
from datetime import datetime
from urllib.parse import quote, urlencode, urlsplit

from menshen.identity.oidc.model import (
    FederationFailed,
    HttpRequest,
    HttpResponse,
    LoginStart,
    PendingLogin,
    ProviderConfig,
    ProviderMetadata,
    TokenSet,
    is_server_trouble,
)
from menshen.identity.oidc.pkce import RandomBytes, code_challenge_s256, random_token

__all__ = [
    "logout_url",
    "parse_token_response",
    "refresh_request",
    "start_login",
    "token_request",
    "validate_callback",
]

_RESERVED = frozenset(
    {"response_type", "client_id", "redirect_uri", "scope", "state", "nonce", "code_challenge",
     "code_challenge_method"}
)  # fmt: skip


def _with_query(endpoint: str, params: Mapping[str, str]) -> str:
    joiner = "&" if urlsplit(endpoint).query else "?"
    return endpoint + joiner + urlencode(params)


def start_login(
    config: ProviderConfig,
    metadata: ProviderMetadata,
    *,
    now: datetime,
    random_bytes: RandomBytes,
    extra_params: Mapping[str, str] | None = None,
) -> LoginStart:
    """The authorization request URL and the pending login to keep in a signed cookie."""
    if "openid" not in config.scopes:
        raise FederationFailed("configuration: scopes must include openid")
    extra = {**config.extra_authorize_params, **(extra_params or {})}
    if _RESERVED & extra.keys():
        raise FederationFailed("configuration: extra parameters override protocol parameters")
    pending = PendingLogin(
        provider=config.name,
        issuer=metadata.issuer,
        state=random_token(random_bytes),
        nonce=random_token(random_bytes),
        code_verifier=random_token(random_bytes),
        redirect_uri=config.redirect_uri,
        created_at=int(now.timestamp()),
    )
    params = {
        "response_type": "code",
        "client_id": config.client_id,
        "redirect_uri": config.redirect_uri,
        "scope": " ".join(config.scopes),
        "state": pending.state,
        "nonce": pending.nonce,
        "code_challenge": code_challenge_s256(pending.code_verifier),
        "code_challenge_method": "S256",
        **extra,
    }
    return LoginStart(_with_query(metadata.authorization_endpoint, params), pending)


def _same(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode(), b.encode())


def validate_callback(
    pending: PendingLogin | None,
    params: Mapping[str, str],
    *,
    config: ProviderConfig,
    metadata: ProviderMetadata,
    now: datetime,
) -> str:
    """The authorization code from a valid callback, or ``FederationFailed``."""
    if pending is None:
        raise FederationFailed("callback: no pending login for this browser")
    state = params.get("state")
    if not state or not _same(state, pending.state):
        raise FederationFailed("callback: state is missing or does not match")
    # Mix-up defence: the flow must come back to the provider (and issuer) it started with.
    if pending.provider != config.name or pending.issuer != metadata.issuer:
        raise FederationFailed("callback: login was started with another provider")
    iss = params.get("iss")
    if iss is not None and iss != metadata.issuer:
        raise FederationFailed("callback: iss parameter names another issuer")
    if iss is None and metadata.authorization_response_iss_parameter_supported:
        raise FederationFailed("callback: iss parameter missing though the provider sends it")
    if pending.redirect_uri != config.redirect_uri:
        raise FederationFailed("callback: redirect URI changed during the login")
    age = now.timestamp() - pending.created_at
    if age < -config.clock_skew_seconds or age > config.max_login_seconds:
        raise FederationFailed("callback: pending login is too old")
    error = params.get("error")
    if error is not None:
        raise FederationFailed(f"callback: provider answered error {error[:64]!r}")
    code = params.get("code")
    if not code:
        raise FederationFailed("callback: no authorization code")
    return code


def _client_auth(config: ProviderConfig, form: dict[str, str]) -> dict[str, str]:
    """client_secret_basic for confidential clients (RFC 6749 §2.3.1), else a public client."""
    if config.client_secret is None:
        form["client_id"] = config.client_id
        return {}
    user = quote(config.client_id, safe="")
    password = quote(config.client_secret, safe="")
    token = base64.b64encode(f"{user}:{password}".encode()).decode("ascii")
    return {"Authorization": f"Basic {token}"}


def _token_post(
    config: ProviderConfig, metadata: ProviderMetadata, form: dict[str, str]
) -> HttpRequest:
    headers = {"Accept": "application/json", **_client_auth(config, form)}
    return HttpRequest("POST", metadata.token_endpoint, headers, form)


def token_request(
    config: ProviderConfig, metadata: ProviderMetadata, code: str, pending: PendingLogin
) -> HttpRequest:
    """Exchange the authorization code, proving possession of the PKCE verifier."""
    form = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": pending.redirect_uri,
        "code_verifier": pending.code_verifier,
    }
    return _token_post(config, metadata, form)


def refresh_request(
    config: ProviderConfig, metadata: ProviderMetadata, refresh_token: str
) -> HttpRequest:
    """Use a refresh token (RFC 6749 §6)."""
    form = {"grant_type": "refresh_token", "refresh_token": refresh_token}
    return _token_post(config, metadata, form)


def _optional_str(body: Mapping[str, object], key: str) -> str | None:
    value = body.get(key)
    if value is None:
        return None
    if not isinstance(value, str) or not value:
        raise FederationFailed(f"token response: {key} is malformed")
    return value


def parse_token_response(response: HttpResponse, *, id_token_required: bool) -> TokenSet:
    """The tokens of a successful response; an error response is ``FederationFailed``."""
    if response.status != 200:
        reason = f"token response: HTTP {response.status}"
        try:
            error = response.json_object("token response").get("error")
        except FederationFailed:
            error = None
        if isinstance(error, str):
            reason += f" error {error[:64]!r}"
        raise FederationFailed(reason, transient=is_server_trouble(response.status))
    body = response.json_object("token response")
    token_type = body.get("token_type")
    if not isinstance(token_type, str) or token_type.lower() != "bearer":
        raise FederationFailed("token response: token_type is not Bearer")
    access_token = _optional_str(body, "access_token")
    if access_token is None:
        raise FederationFailed("token response: no access token")
    id_token = _optional_str(body, "id_token")
    if id_token is None and id_token_required:
        raise FederationFailed("token response: no ID token")
    expires_in = body.get("expires_in")
    if expires_in is not None and (type(expires_in) is not int or expires_in <= 0):
        raise FederationFailed("token response: expires_in is malformed")
    return TokenSet(access_token, id_token, _optional_str(body, "refresh_token"), expires_in)


def logout_url(
    config: ProviderConfig,
    metadata: ProviderMetadata,
    *,
    id_token_hint: str | None,
    post_logout_redirect_uri: str | None = None,
    state: str | None = None,
) -> str | None:
    """The RP-initiated logout URL, or None when the provider has no end-session endpoint."""
    if metadata.end_session_endpoint is None:
        return None
    params = {"client_id": config.client_id}
    if id_token_hint is not None:
        params["id_token_hint"] = id_token_hint
    if post_logout_redirect_uri is not None:
        params["post_logout_redirect_uri"] = post_logout_redirect_uri
        if state is not None:
            params["state"] = state
    return _with_query(metadata.end_session_endpoint, params)
