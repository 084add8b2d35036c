"""Discovery: the document must name the configured issuer and use safe endpoints."""

from __future__ import annotations

import json
from typing import Any

import pytest

from menshen.identity.oidc.discovery import discovery_request, parse_discovery
from menshen.identity.oidc.model import FederationFailed, HttpResponse
from tests.identity.oidc.kit import ISSUER, OTHER_ISSUER


def _document(**changes: Any) -> dict[str, Any]:
    document: dict[str, Any] = {
        "issuer": ISSUER,
        "authorization_endpoint": f"{ISSUER}/authorize",
        "token_endpoint": f"{ISSUER}/token",
        "jwks_uri": f"{ISSUER}/jwks",
        "end_session_endpoint": f"{ISSUER}/logout",
        "response_types_supported": ["code", "id_token"],
        "code_challenge_methods_supported": ["S256"],
        "authorization_response_iss_parameter_supported": True,
    }
    document.update(changes)
    return document


def _parse(document: dict[str, Any], status: int = 200) -> Any:
    return parse_discovery(ISSUER, HttpResponse(status, json.dumps(document).encode()))


def test_discovery_url_is_under_the_issuer() -> None:
    """The document is fetched from issuer + /.well-known/openid-configuration."""
    assert discovery_request(ISSUER + "/").url == f"{ISSUER}/.well-known/openid-configuration"


def test_good_document_is_parsed() -> None:
    """A well-formed document yields the endpoints and the RFC 9207 flag."""
    meta = _parse(_document())
    assert meta.token_endpoint == f"{ISSUER}/token"
    assert meta.authorization_response_iss_parameter_supported is True


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"issuer": OTHER_ISSUER}, "issuer"),
        ({"issuer": ISSUER + "/"}, "issuer"),
        ({"token_endpoint": "http://idp.example.test/token"}, "token_endpoint"),
        ({"jwks_uri": None}, "jwks_uri"),
        ({"code_challenge_methods_supported": ["plain"]}, "S256"),
        ({"response_types_supported": ["id_token"]}, "code flow"),
    ],
)
def test_bad_documents_are_refused(changes: dict[str, Any], reason: str) -> None:
    """Issuer mismatch, plain-http endpoints, or no PKCE S256 are refused."""
    with pytest.raises(FederationFailed) as caught:
        _parse(_document(**changes))
    assert reason in caught.value.reason


def test_http_error_is_refused() -> None:
    """A failing discovery endpoint fails closed."""
    with pytest.raises(FederationFailed):
        _parse(_document(), status=500)
