"""Provider discovery (OpenID Connect Discovery 1.0 §4), strict about the issuer.

The issuer in the document must equal the configured issuer exactly (§4.3), otherwise a
compromised or mistyped discovery URL could make menshen trust another issuer's tokens.
Endpoints must be https, except on loopback hosts (test providers).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from menshen.identity.oidc.model import (
    FederationFailed,
    HttpRequest,
    HttpResponse,
    ProviderMetadata,
    is_server_trouble,
)

__all__ = ["discovery_request", "is_acceptable_endpoint", "parse_discovery"]

_LOOPBACK = frozenset({"127.0.0.1", "::1", "localhost"})
_WELL_KNOWN = "/.well-known/openid-configuration"


def is_acceptable_endpoint(url: str) -> bool:
    """https anywhere, or http on a loopback host; never fragments or user info."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return False
    if parts.fragment or parts.username is not None or not parts.hostname:
        return False
    if parts.scheme == "https":
        return True
    return parts.scheme == "http" and parts.hostname in _LOOPBACK


def discovery_request(issuer: str) -> HttpRequest:
    """GET the issuer's discovery document (§4.1: issuer + /.well-known/openid-configuration)."""
    return HttpRequest("GET", issuer.rstrip("/") + _WELL_KNOWN, {"Accept": "application/json"})


def _endpoint(document: dict[str, Any], key: str, *, required: bool) -> str | None:
    value = document.get(key)
    if value is None and not required:
        return None
    if not isinstance(value, str) or not is_acceptable_endpoint(value):
        raise FederationFailed(f"discovery: {key} is missing or not an acceptable URL")
    return value


def _strings(document: dict[str, Any], key: str) -> tuple[str, ...]:
    value = document.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise FederationFailed(f"discovery: {key} is not a list of strings")
    return tuple(value)


def parse_discovery(expected_issuer: str, response: HttpResponse) -> ProviderMetadata:
    """The provider's metadata, or ``FederationFailed`` if anything is off."""
    if response.status != 200:
        raise FederationFailed(
            f"discovery: HTTP {response.status}", transient=is_server_trouble(response.status)
        )
    document = response.json_object("discovery")
    if document.get("issuer") != expected_issuer:
        raise FederationFailed("discovery: issuer does not match the configured issuer")
    if "code" not in _strings(document, "response_types_supported"):
        raise FederationFailed("discovery: provider does not support the code flow")
    methods = document.get("code_challenge_methods_supported")
    if methods is not None and "S256" not in _strings(document, "code_challenge_methods_supported"):
        raise FederationFailed("discovery: provider does not support PKCE S256")
    iss_supported = document.get("authorization_response_iss_parameter_supported", False)
    return ProviderMetadata(
        issuer=expected_issuer,
        authorization_endpoint=str(_endpoint(document, "authorization_endpoint", required=True)),
        token_endpoint=str(_endpoint(document, "token_endpoint", required=True)),
        jwks_uri=str(_endpoint(document, "jwks_uri", required=True)),
        userinfo_endpoint=_endpoint(document, "userinfo_endpoint", required=False),
        end_session_endpoint=_endpoint(document, "end_session_endpoint", required=False),
        id_token_signing_alg_values_supported=_strings(
            document, "id_token_signing_alg_values_supported"
        ),
        authorization_response_iss_parameter_supported=iss_supported is True,
    )
