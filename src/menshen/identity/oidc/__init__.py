"""OpenID Connect federation: menshen as a relying party (OpenID Connect Core 1.0).

The client core is sans-IO where it can be: requests are built as ``HttpRequest`` values and
responses parsed from ``HttpResponse`` values, so the same logic serves sync and async callers.
``OidcClient`` wires the pieces to a synchronous ``HttpFetcher`` and a ``Clock``.
"""

from menshen.identity.oidc.client import FederatedLogin, OidcClient
from menshen.identity.oidc.model import (
    FederatedIdentity,
    FederationFailed,
    HttpFetcher,
    HttpRequest,
    HttpResponse,
    LoginStart,
    PendingLogin,
    ProviderConfig,
    ProviderMetadata,
    TokenSet,
)

__all__ = [
    "FederatedIdentity",
    "FederatedLogin",
    "FederationFailed",
    "HttpFetcher",
    "HttpRequest",
    "HttpResponse",
    "LoginStart",
    "OidcClient",
    "PendingLogin",
    "ProviderConfig",
    "ProviderMetadata",
    "TokenSet",
]
