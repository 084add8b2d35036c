"""Values of OpenID Connect federation (OpenID Connect Core 1.0 §3.1, RFC 6749 §4.1).

Every failure is a ``FederationFailed``: an ``AuthenticationFailed`` whose message says
nothing, with the reason kept in ``reason`` for the audit log only. ``transient`` marks the
failures that say nothing about the login itself (the provider unreachable, or answering
with a server error, RFC 9110 §15.6), which a background re-check may retry.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from menshen.errors import AuthenticationFailed

__all__ = [
    "ClaimMapping",
    "FederatedIdentity",
    "FederationFailed",
    "HttpFetcher",
    "HttpRequest",
    "HttpResponse",
    "LoginStart",
    "PendingLogin",
    "ProviderConfig",
    "ProviderMetadata",
    "TokenSet",
    "is_server_trouble",
]


class FederationFailed(AuthenticationFailed):
    """Federated login failed; ``reason`` is for the audit log, never for the user."""

    def __init__(self, reason: str, *, transient: bool = False) -> None:
        super().__init__()
        self.reason = reason
        self.transient = transient


def is_server_trouble(status: int) -> bool:
    """A status that blames the server or asks to come back later, not the request."""
    return status >= 500 or status == 429


@dataclass(frozen=True, slots=True)
class HttpRequest:
    """An HTTP request to the provider: a GET, or a POST of a form."""

    method: str
    url: str
    headers: Mapping[str, str] = field(default_factory=dict)
    form: Mapping[str, str] | None = None


@dataclass(frozen=True, slots=True)
class HttpResponse:
    """The provider's answer: status and body bytes."""

    status: int
    body: bytes

    def json_object(self, what: str) -> dict[str, Any]:
        """The body as a JSON object, or ``FederationFailed`` naming ``what`` was bad."""
        try:
            value = json.loads(self.body)
        except ValueError:
            raise FederationFailed(f"{what}: body is not JSON") from None
        if not isinstance(value, dict):
            raise FederationFailed(f"{what}: body is not a JSON object")
        return value


class HttpFetcher(Protocol):
    """Sends one request with a bounded timeout; raises ``FederationFailed`` on transport errors."""

    def send(self, request: HttpRequest) -> HttpResponse: ...


@dataclass(frozen=True, slots=True)
class ClaimMapping:
    """Where a provider keeps the claims menshen needs.

    ``groups_path`` walks nested objects (Keycloak's ``realm_access.roles`` is
    ``("realm_access", "roles")``); empty means the provider sends no groups.
    ``group_table`` maps provider group names to menshen group names; provider groups not in
    the table are dropped (default deny). ``required_claims`` must match exactly (Google's
    ``hd`` hosted domain, for instance).
    """

    subject: str = "sub"
    email: tuple[str, ...] = ("email",)
    name: tuple[str, ...] = ("name",)
    groups_path: tuple[str, ...] = ("groups",)
    group_table: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    required_claims: Mapping[str, str] = field(default_factory=dict)
    require_verified_email: bool = False


@dataclass(frozen=True, slots=True)
class ProviderConfig:
    """One identity provider as a tenant's admin configured it."""

    name: str
    issuer: str
    client_id: str
    redirect_uri: str
    client_secret: str | None = None
    scopes: tuple[str, ...] = ("openid", "email", "profile")
    claims: ClaimMapping = field(default_factory=ClaimMapping)
    allowed_algorithms: tuple[str, ...] = ("RS256", "ES256", "PS256", "ES384", "EdDSA")
    clock_skew_seconds: int = 60
    max_id_token_age_seconds: int = 600
    max_login_seconds: int = 600
    extra_authorize_params: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class ProviderMetadata:
    """The parts of the discovery document menshen uses (OpenID Connect Discovery 1.0 §3)."""

    issuer: str
    authorization_endpoint: str
    token_endpoint: str
    jwks_uri: str
    userinfo_endpoint: str | None = None
    end_session_endpoint: str | None = None
    id_token_signing_alg_values_supported: tuple[str, ...] = ()
    authorization_response_iss_parameter_supported: bool = False


@dataclass(frozen=True, slots=True)
class PendingLogin:
    """What the browser carries between the redirect and the callback.

    The caller stores ``to_cookie()`` in a signed, HttpOnly, short-lived cookie: that binds
    ``state`` to this browser (login CSRF) and to this provider (mix-up).
    """

    provider: str
    issuer: str
    state: str
    nonce: str
    code_verifier: str
    redirect_uri: str
    created_at: int

    def to_cookie(self) -> str:
        """Compact JSON for the signed cookie."""
        return json.dumps(
            [
                self.provider,
                self.issuer,
                self.state,
                self.nonce,
                self.code_verifier,
                self.redirect_uri,
                self.created_at,
            ],
            separators=(",", ":"),
        )

    @classmethod
    def from_cookie(cls, value: str) -> PendingLogin:
        """Parse ``to_cookie()`` output; anything else is ``FederationFailed``."""
        try:
            items = json.loads(value)
        except ValueError:
            raise FederationFailed("pending login cookie is not JSON") from None
        if not isinstance(items, list) or len(items) != 7:
            raise FederationFailed("pending login cookie has the wrong shape")
        *texts, created_at = items
        if not all(isinstance(t, str) and t for t in texts) or type(created_at) is not int:
            raise FederationFailed("pending login cookie has the wrong types")
        provider, issuer, state, nonce, verifier, redirect_uri = texts
        return cls(provider, issuer, state, nonce, verifier, redirect_uri, created_at)


@dataclass(frozen=True, slots=True)
class LoginStart:
    """Where to send the browser, and what to remember until it comes back."""

    url: str
    pending: PendingLogin


@dataclass(frozen=True, slots=True)
class TokenSet:
    """A token endpoint response (RFC 6749 §5.1, OpenID Connect Core 1.0 §3.1.3.3)."""

    access_token: str
    id_token: str | None
    refresh_token: str | None
    expires_in: int | None


@dataclass(frozen=True, slots=True)
class FederatedIdentity:
    """Who the provider says signed in, mapped to menshen's terms."""

    provider: str
    issuer: str
    subject: str
    email: str | None
    name: str | None
    provider_groups: tuple[str, ...]
    groups: tuple[str, ...]
    claims: Mapping[str, Any]
