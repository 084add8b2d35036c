"""An OpenID Connect relying party for one provider, wiring the sans-IO flow to a fetcher.

OpenID Connect Core 1.0 §3.1 (code flow), §12 (refresh); Discovery 1.0 §4.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any

from menshen.clock import Clock
from menshen.identity.oidc.discovery import discovery_request, parse_discovery
from menshen.identity.oidc.flow import (
    logout_url,
    parse_token_response,
    refresh_request,
    start_login,
    token_request,
    validate_callback,
)
from menshen.identity.oidc.jwks import JwksCache
from menshen.identity.oidc.model import (
    FederatedIdentity,
    FederationFailed,
    HttpFetcher,
    LoginStart,
    PendingLogin,
    ProviderConfig,
    ProviderMetadata,
    TokenSet,
)
from menshen.identity.oidc.pkce import RandomBytes
from menshen.identity.oidc.presets import map_identity
from menshen.identity.oidc.tokens import IdTokenExpectations, validate_id_token

__all__ = ["FederatedLogin", "OidcClient"]


@dataclass(frozen=True, slots=True)
class FederatedLogin:
    """A completed login: who, and the tokens to refresh and log out with."""

    identity: FederatedIdentity
    tokens: TokenSet


class OidcClient:
    """Relying party for ``config``; discovery is fetched lazily and kept."""

    def __init__(
        self,
        config: ProviderConfig,
        fetcher: HttpFetcher,
        clock: Clock,
        *,
        random_bytes: RandomBytes = secrets.token_bytes,
        metadata: ProviderMetadata | None = None,
    ) -> None:
        self.config = config
        self._fetcher = fetcher
        self._clock = clock
        self._random_bytes = random_bytes
        self._metadata = metadata
        self._jwks: JwksCache | None = None

    def metadata(self) -> ProviderMetadata:
        """The provider's discovered metadata (fetched once)."""
        if self._metadata is None:
            response = self._fetcher.send(discovery_request(self.config.issuer))
            self._metadata = parse_discovery(self.config.issuer, response)
        return self._metadata

    def _keys(self) -> JwksCache:
        if self._jwks is None:
            self._jwks = JwksCache(self._fetcher, self.metadata().jwks_uri, self._clock)
        return self._jwks

    def begin(self, extra_params: dict[str, str] | None = None) -> LoginStart:
        """Where to send the browser, and the pending login for its signed cookie."""
        return start_login(
            self.config,
            self.metadata(),
            now=self._clock.now(),
            random_bytes=self._random_bytes,
            extra_params=extra_params,
        )

    def _expect(self, *, nonce: str | None, subject: str | None) -> IdTokenExpectations:
        return IdTokenExpectations(
            issuer=self.metadata().issuer,
            client_id=self.config.client_id,
            allowed_algorithms=self.config.allowed_algorithms,
            now=self._clock.now(),
            clock_skew_seconds=self.config.clock_skew_seconds,
            max_age_seconds=self.config.max_id_token_age_seconds,
            nonce=nonce,
            subject=subject,
        )

    def _identity(self, claims: dict[str, Any]) -> FederatedIdentity:
        return map_identity(self.config.name, self.metadata().issuer, claims, self.config.claims)

    def finish(self, pending: PendingLogin | None, params: dict[str, str]) -> FederatedLogin:
        """Check the callback, redeem the code, validate the ID token, map the claims."""
        if pending is None:
            raise FederationFailed("callback: no pending login for this browser")
        metadata = self.metadata()
        code = validate_callback(
            pending, params, config=self.config, metadata=metadata, now=self._clock.now()
        )
        response = self._fetcher.send(token_request(self.config, metadata, code, pending))
        tokens = parse_token_response(response, id_token_required=True)
        if tokens.id_token is None:
            raise FederationFailed("token response: no ID token")
        claims = validate_id_token(
            tokens.id_token, self._keys(), self._expect(nonce=pending.nonce, subject=None)
        )
        return FederatedLogin(self._identity(claims), tokens)

    def refresh(self, refresh_token: str, identity: FederatedIdentity) -> FederatedLogin:
        """Refresh; a user disabled at the provider makes this raise ``FederationFailed``."""
        metadata = self.metadata()
        response = self._fetcher.send(refresh_request(self.config, metadata, refresh_token))
        tokens = parse_token_response(response, id_token_required=False)
        if tokens.id_token is None:
            return FederatedLogin(identity, tokens)
        claims = validate_id_token(
            tokens.id_token, self._keys(), self._expect(nonce=None, subject=identity.subject)
        )
        refreshed = self._identity(claims)
        if refreshed.subject != identity.subject:
            raise FederationFailed("refresh: subject changed")
        return FederatedLogin(refreshed, tokens)

    def logout_url(
        self,
        id_token_hint: str | None,
        post_logout_redirect_uri: str | None = None,
        state: str | None = None,
    ) -> str | None:
        """RP-initiated logout URL, or None when the provider has no end-session endpoint."""
        return logout_url(
            self.config,
            self.metadata(),
            id_token_hint=id_token_hint,
            post_logout_redirect_uri=post_logout_redirect_uri,
            state=state,
        )
