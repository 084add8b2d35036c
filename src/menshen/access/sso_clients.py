"""The identity providers of each tenant and their relying-party clients.

A provider belongs to one tenant (``IdentityProviderSettings.tenant``) and is looked up only
in the tenant the request's host routes to, so a provider configured for one firm is never
offered or accepted on another firm's hosts. Scopes follow each provider's rule for refresh
tokens (OpenID Connect Core 1.0 §11): Okta and Entra ID issue one only for ``offline_access``;
a generic provider asked for ``offline_access`` must also be sent ``prompt=consent``;
Keycloak issues session-bound refresh tokens without it (its offline tokens would outlive a
logout at the provider, so menshen does not ask for them).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from menshen.clock import Clock
from menshen.identity.oidc.client import OidcClient
from menshen.identity.oidc.model import ClaimMapping, HttpFetcher, ProviderConfig
from menshen.settings import IdentityProviderSettings

__all__ = ["ProviderClients", "claim_mapping", "login_parameters", "scopes_for"]

_MAX_CLIENTS = 64
OFFLINE_ACCESS = "offline_access"
_NEEDS_OFFLINE_ACCESS = frozenset({"okta", "entra_id"})
# Refresh and logout use no redirect URI; their client is cached under this key.
_BACK_CHANNEL = ""


def claim_mapping(provider: IdentityProviderSettings) -> ClaimMapping:
    """The claim mapping for a configured provider and its preset."""
    path = tuple(provider.groups_claim.split(".")) if provider.groups_claim else ()
    table = dict(provider.group_map)
    if provider.preset == "entra_id":
        tenant = provider.issuer.rstrip("/").split("/")[-2]
        return ClaimMapping(
            subject="oid",
            email=("email", "preferred_username"),
            groups_path=path,
            group_table=table,
            required_claims={"tid": tenant},
        )
    verified = provider.preset == "keycloak"
    return ClaimMapping(groups_path=path, group_table=table, require_verified_email=verified)


def scopes_for(provider: IdentityProviderSettings) -> tuple[str, ...]:
    """The configured scopes, plus ``offline_access`` where the preset needs it for a
    refresh token."""
    if provider.preset in _NEEDS_OFFLINE_ACCESS and OFFLINE_ACCESS not in provider.scopes:
        return (*provider.scopes, OFFLINE_ACCESS)
    return provider.scopes


def login_parameters(provider: IdentityProviderSettings) -> dict[str, str]:
    """Extra authorization parameters: ``prompt=consent`` when a generic provider is asked
    for ``offline_access`` (Core §11: offline access needs the user's explicit consent)."""
    if provider.preset == "generic" and OFFLINE_ACCESS in provider.scopes:
        return {"prompt": "consent"}
    return {}


class ProviderClients:
    """Providers by tenant and name, and one cached client per provider and redirect URI."""

    def __init__(
        self,
        providers: Mapping[str, Sequence[IdentityProviderSettings]],
        fetcher: HttpFetcher,
        clock: Clock,
    ) -> None:
        self._providers = {
            tenant: {p.name: p for p in items} for tenant, items in providers.items() if items
        }
        self._fetcher = fetcher
        self._clock = clock
        self._clients: dict[tuple[str, str, str], OidcClient] = {}

    def tenants(self) -> list[str]:
        """Tenants with at least one provider."""
        return sorted(self._providers)

    def of(self, tenant_id: str) -> list[IdentityProviderSettings]:
        """The tenant's providers, in configuration order."""
        return list(self._providers.get(tenant_id, {}).values())

    def get(self, tenant_id: str, name: str) -> IdentityProviderSettings | None:
        """The tenant's provider called ``name``; None for any other tenant's."""
        return self._providers.get(tenant_id, {}).get(name)

    def for_email(self, tenant_id: str, email: str) -> IdentityProviderSettings | None:
        """The first of the tenant's providers that lists the address's domain."""
        domain = email.strip().lower().rpartition("@")[2]
        if not domain:
            return None
        for provider in self.of(tenant_id):
            if domain in provider.email_domains:
                return provider
        return None

    def routes_by_email(self, tenant_id: str) -> bool:
        """Whether any of the tenant's providers is chosen by email domain."""
        return any(p.email_domains for p in self.of(tenant_id))

    def client(
        self, tenant_id: str, provider: IdentityProviderSettings, redirect_uri: str
    ) -> OidcClient:
        """The relying party for a login returning to ``redirect_uri``."""
        key = (tenant_id, provider.name, redirect_uri)
        client = self._clients.get(key)
        if client is None:
            config = ProviderConfig(
                name=provider.name,
                issuer=provider.issuer,
                client_id=provider.client_id,
                client_secret=provider.client_secret,
                redirect_uri=redirect_uri,
                scopes=scopes_for(provider),
                claims=claim_mapping(provider),
                extra_authorize_params=login_parameters(provider),
            )
            client = OidcClient(config, self._fetcher, self._clock)
            if len(self._clients) >= _MAX_CLIENTS:  # Host ports come from the request
                self._clients.clear()
            self._clients[key] = client
        return client

    def back_channel(self, tenant_id: str, provider: IdentityProviderSettings) -> OidcClient:
        """The relying party for refresh and logout, which need no redirect URI."""
        return self.client(tenant_id, provider, _BACK_CHANNEL)
