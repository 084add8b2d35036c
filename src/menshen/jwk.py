"""JSON Web Keys for P-256 (RFC 7517 §4, RFC 7518 §6.2) and their thumbprints (RFC 7638 §3).

The key id of a menshen signing key is its RFC 7638 SHA-256 thumbprint, so a ``kid`` names
exactly one public key and can be recomputed by anyone holding the JWK.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Mapping
from typing import Any

from cryptography.hazmat.primitives.asymmetric import ec

from menshen.errors import InvalidInput

P256_COORDINATE_BYTES = 32

# RFC 7638 §3.2: the required members of each key type, the only ones hashed.
_REQUIRED_MEMBERS: dict[str, tuple[str, ...]] = {
    "EC": ("crv", "kty", "x", "y"),
    "RSA": ("e", "kty", "n"),
    "OKP": ("crv", "kty", "x"),
    "oct": ("k", "kty"),
}


def b64url_encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(text: str) -> bytes:
    """Decode unpadded base64url (RFC 7515 §2); ``InvalidInput`` on anything else."""
    if not isinstance(text, str) or "=" in text:
        raise InvalidInput("not base64url")
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (ValueError, TypeError):
        raise InvalidInput("not base64url") from None


def thumbprint(jwk: Mapping[str, Any]) -> str:
    """The RFC 7638 SHA-256 thumbprint of ``jwk``, base64url without padding."""
    kty = jwk.get("kty")
    members = _REQUIRED_MEMBERS.get(kty) if isinstance(kty, str) else None
    if members is None:
        raise InvalidInput(f"unsupported key type for a thumbprint: {kty!r}")
    required: dict[str, str] = {}
    for name in members:
        value = jwk.get(name)
        if not isinstance(value, str):
            raise InvalidInput(f"JWK member {name!r} is missing")
        required[name] = value
    canonical = json.dumps(required, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return b64url_encode(hashlib.sha256(canonical.encode("utf-8")).digest())


def public_jwk(key: ec.EllipticCurvePublicKey) -> dict[str, str]:
    """The public JWK of a P-256 key for ES256 signatures, with ``kid`` = its thumbprint."""
    if not isinstance(key.curve, ec.SECP256R1):
        raise InvalidInput("only P-256 keys are used for assertions")
    numbers = key.public_numbers()
    jwk = {
        "kty": "EC",
        "crv": "P-256",
        "x": b64url_encode(numbers.x.to_bytes(P256_COORDINATE_BYTES, "big")),
        "y": b64url_encode(numbers.y.to_bytes(P256_COORDINATE_BYTES, "big")),
    }
    jwk["kid"] = thumbprint(jwk)
    jwk["use"] = "sig"
    jwk["alg"] = "ES256"
    return jwk


def public_key_from_jwk(jwk: Mapping[str, Any]) -> ec.EllipticCurvePublicKey:
    """The P-256 public key a JWK describes; ``InvalidInput`` unless it is exactly that.

    The coordinates must have their full fixed length (RFC 7518 §6.2.1.2) and the point must
    lie on the curve (checked by ``cryptography`` when the key is built).
    """
    if jwk.get("kty") != "EC" or jwk.get("crv") != "P-256":
        raise InvalidInput("not a P-256 JWK")
    if jwk.get("alg", "ES256") != "ES256" or jwk.get("use", "sig") != "sig":
        raise InvalidInput("JWK is not meant for ES256 signatures")
    x = b64url_decode(jwk.get("x", ""))
    y = b64url_decode(jwk.get("y", ""))
    if len(x) != P256_COORDINATE_BYTES or len(y) != P256_COORDINATE_BYTES:
        raise InvalidInput("JWK coordinates have the wrong length")
    numbers = ec.EllipticCurvePublicNumbers(
        int.from_bytes(x, "big"), int.from_bytes(y, "big"), ec.SECP256R1()
    )
    try:
        return numbers.public_key()
    except ValueError:
        raise InvalidInput("JWK point is not on the curve") from None
