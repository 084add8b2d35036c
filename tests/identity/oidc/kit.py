"""Hand-made provider parts for unit tests: keys, signed ID tokens, a scripted fetcher."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Callable, Mapping
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from menshen.identity.oidc.model import (
    HttpRequest,
    HttpResponse,
    ProviderConfig,
    ProviderMetadata,
)
from menshen.testing import FixedClock

ISSUER = "https://idp.example.test"
OTHER_ISSUER = "https://evil-idp.example.test"
CLIENT_ID = "menshen-client"
JWKS_URI = f"{ISSUER}/jwks"
NONCE = "n-0S6_WzA2Mj"

RSA_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
EC_KEY = ec.generate_private_key(ec.SECP256R1())


def metadata(issuer: str = ISSUER, *, iss_param: bool = False) -> ProviderMetadata:
    """Discovered metadata for a provider at ``issuer``."""
    return ProviderMetadata(
        issuer=issuer,
        authorization_endpoint=f"{issuer}/authorize",
        token_endpoint=f"{issuer}/token",
        jwks_uri=f"{issuer}/jwks",
        end_session_endpoint=f"{issuer}/logout",
        authorization_response_iss_parameter_supported=iss_param,
    )


def config(name: str = "corp", issuer: str = ISSUER) -> ProviderConfig:
    """A confidential client of the provider at ``issuer``."""
    return ProviderConfig(
        name=name,
        issuer=issuer,
        client_id=CLIENT_ID,
        client_secret="s3cret:/+",
        redirect_uri="https://access.example.test/.menshen/oidc/callback",
    )


def jwk(key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey, kid: str) -> dict[str, Any]:
    """The public JWK of ``key`` with ``kid``."""
    algorithm: Any = (
        jwt.algorithms.RSAAlgorithm
        if isinstance(key, rsa.RSAPrivateKey)
        else jwt.algorithms.ECAlgorithm
    )
    data: dict[str, Any] = json.loads(algorithm.to_jwk(key.public_key()))
    data["kid"] = kid
    return data


def jwks_response(*keys: Mapping[str, Any]) -> HttpResponse:
    """A JWK Set answer."""
    return HttpResponse(200, json.dumps({"keys": list(keys)}).encode())


def claims(clock: FixedClock, **overrides: Any) -> dict[str, Any]:
    """Valid ID token claims at ``clock``'s time, with ``overrides`` (None removes a claim)."""
    now = int(clock.now().timestamp())
    base: dict[str, Any] = {
        "iss": ISSUER,
        "sub": "user-123",
        "aud": CLIENT_ID,
        "exp": now + 300,
        "iat": now,
        "nonce": NONCE,
        "email": "alice@example.test",
        "groups": ["finance-ops"],
    }
    base.update(overrides)
    return {k: v for k, v in base.items() if v is not None}


def sign(payload: Mapping[str, Any], *, alg: str = "RS256", kid: str = "k1") -> str:
    """A token signed by the provider's real key for ``alg``."""
    key = RSA_KEY if alg.startswith(("RS", "PS")) else EC_KEY
    return jwt.encode(dict(payload), key, algorithm=alg, headers={"kid": kid})


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def forge(header: Mapping[str, Any], payload: Mapping[str, Any], secret: bytes | None) -> str:
    """A token with any header; HMAC-SHA256 over it with ``secret``, or no signature."""
    signing_input = f"{_b64(json.dumps(header).encode())}.{_b64(json.dumps(payload).encode())}"
    if secret is None:
        return signing_input + "."
    mac = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{_b64(mac)}"


def public_pem() -> bytes:
    """The provider's RSA public key as PEM, the secret of the algorithm-confusion attack."""
    return RSA_KEY.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


class ScriptedFetcher:
    """Answers by URL from a table of callables; records every request."""

    def __init__(self, routes: dict[str, Callable[[HttpRequest], HttpResponse]]) -> None:
        self.routes = routes
        self.requests: list[HttpRequest] = []

    def send(self, request: HttpRequest) -> HttpResponse:
        self.requests.append(request)
        route = self.routes.get(request.url.split("?")[0])
        if route is None:
            return HttpResponse(404, b"{}")
        return route(request)
