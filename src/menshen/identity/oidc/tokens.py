"""ID token validation (OpenID Connect Core 1.0 §3.1.3.7 and §12.2; RFC 8725 §3.1–3.2).

The algorithm is fixed by the relying party's allow list and the key type, never trusted from
the token: ``none`` and every HMAC algorithm are refused outright, which also defeats the
"HS256 signed with the provider's public key" confusion. Time checks use the injected clock
with a bounded skew; PyJWT only verifies the signature.
"""

from __future__ import annotations

import hmac
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import jwt

from menshen.identity.oidc.jwks import JwksCache
from menshen.identity.oidc.model import FederationFailed

__all__ = ["ASYMMETRIC_ALGORITHMS", "IdTokenExpectations", "validate_id_token"]

ASYMMETRIC_ALGORITHMS = frozenset(
    {"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"}
)


@dataclass(frozen=True, slots=True)
class IdTokenExpectations:
    """What this particular ID token must say.

    ``nonce`` is required after an authorization response; after a refresh (§12.2) it is None
    and ``subject`` holds the original ``sub``, which the new token must repeat.
    """

    issuer: str
    client_id: str
    allowed_algorithms: tuple[str, ...]
    now: datetime
    clock_skew_seconds: int
    max_age_seconds: int
    nonce: str | None = None
    subject: str | None = None


def _header(raw: str) -> dict[str, Any]:
    try:
        header = jwt.get_unverified_header(raw)
    except jwt.PyJWTError:
        raise FederationFailed("id token: malformed header") from None
    return header


def _verified_payload(raw: str, keys: JwksCache, allowed: tuple[str, ...]) -> dict[str, Any]:
    header = _header(raw)
    alg = header.get("alg")
    if not isinstance(alg, str) or alg not in allowed or alg not in ASYMMETRIC_ALGORITHMS:
        raise FederationFailed(f"id token: algorithm {alg!r} is not allowed")
    if "crit" in header:
        raise FederationFailed("id token: critical header extensions are not supported")
    kid = header.get("kid")
    if kid is not None and not isinstance(kid, str):
        raise FederationFailed("id token: kid is not a string")
    key = keys.key_for(kid, alg)
    try:
        decoded = jwt.PyJWS().decode_complete(raw, key=key, algorithms=[alg])
    except jwt.PyJWTError:
        raise FederationFailed("id token: bad signature") from None
    try:
        payload = json.loads(decoded["payload"])
    except ValueError:
        raise FederationFailed("id token: payload is not JSON") from None
    if not isinstance(payload, dict):
        raise FederationFailed("id token: payload is not a JSON object")
    return payload


def _optional_number(claims: Mapping[str, Any], name: str) -> float | None:
    value = claims.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise FederationFailed(f"id token: {name} is not a number")
    return float(value)


def _number(claims: Mapping[str, Any], name: str) -> float:
    value = _optional_number(claims, name)
    if value is None:
        raise FederationFailed(f"id token: {name} is missing")
    return value


def _check_audience(claims: Mapping[str, Any], client_id: str) -> None:
    aud = claims.get("aud")
    audiences = [aud] if isinstance(aud, str) else aud
    if not isinstance(audiences, list) or client_id not in audiences:
        raise FederationFailed("id token: audience does not include this client")
    azp = claims.get("azp")
    # §3.1.3.7 items 4–5: several audiences need an azp, and any azp must be us.
    if (len(audiences) > 1 and azp is None) or (azp is not None and azp != client_id):
        raise FederationFailed("id token: authorized party is not this client")


def _check_times(claims: Mapping[str, Any], expect: IdTokenExpectations) -> None:
    now = expect.now.timestamp()
    skew = expect.clock_skew_seconds
    exp = _number(claims, "exp")
    iat = _number(claims, "iat")
    nbf = _optional_number(claims, "nbf")
    if exp <= now - skew:
        raise FederationFailed("id token: expired")
    if iat > now + skew:
        raise FederationFailed("id token: issued in the future")
    if iat < now - skew - expect.max_age_seconds:
        raise FederationFailed("id token: issued too long ago")
    if nbf is not None and nbf > now + skew:
        raise FederationFailed("id token: not yet valid")


def _same(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode(), b.encode())


def validate_id_token(raw: str, keys: JwksCache, expect: IdTokenExpectations) -> dict[str, Any]:
    """The claims of a valid ID token, or ``FederationFailed`` with the first reason found."""
    claims = _verified_payload(raw, keys, expect.allowed_algorithms)
    if claims.get("iss") != expect.issuer:
        raise FederationFailed("id token: issuer does not match")
    _check_audience(claims, expect.client_id)
    _check_times(claims, expect)
    sub = claims.get("sub")
    if not isinstance(sub, str) or not sub or len(sub) > 255:
        raise FederationFailed("id token: sub is missing or malformed")
    if expect.subject is not None and sub != expect.subject:
        raise FederationFailed("id token: subject changed on refresh")
    nonce = claims.get("nonce")
    if expect.nonce is not None:
        if not isinstance(nonce, str) or not _same(nonce, expect.nonce):
            raise FederationFailed("id token: nonce does not match")
    elif nonce is not None and not isinstance(nonce, str):
        raise FederationFailed("id token: nonce is malformed")
    return claims
