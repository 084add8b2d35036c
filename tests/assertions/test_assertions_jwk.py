"""JWK encoding of P-256 keys and RFC 7638 thumbprints."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from menshen.errors import InvalidInput
from menshen.jwk import (
    b64url_decode,
    b64url_encode,
    public_jwk,
    public_key_from_jwk,
    thumbprint,
)

VECTORS = Path(__file__).parent / "vectors"


def test_thumbprint_matches_the_rfc_7638_example() -> None:
    """The RFC's own RSA key hashes to the thumbprint printed in §3.1."""
    vector = json.loads((VECTORS / "rfc7638.json").read_text())
    assert thumbprint(vector["jwk"]) == vector["thumbprint"]


def test_thumbprint_ignores_optional_members() -> None:
    """Only the required members of a key type are hashed."""
    vector = json.loads((VECTORS / "rfc7638.json").read_text())
    bare = {k: vector["jwk"][k] for k in ("kty", "n", "e")}
    assert thumbprint(bare) == thumbprint({**bare, "use": "sig", "kid": "x"})


@pytest.mark.parametrize("jwk", [{}, {"kty": "EC", "crv": "P-256", "x": "AA"}, {"kty": "XYZ"}])
def test_thumbprint_refuses_incomplete_keys(jwk: dict[str, Any]) -> None:
    """A JWK without its required members has no thumbprint."""
    with pytest.raises(InvalidInput):
        thumbprint(jwk)


def test_public_jwk_round_trips_and_names_itself() -> None:
    """A P-256 key becomes a JWK with fixed-length coordinates and kid = thumbprint."""
    key = ec.generate_private_key(ec.SECP256R1()).public_key()
    jwk = public_jwk(key)
    assert jwk["kty"] == "EC"
    assert jwk["crv"] == "P-256"
    assert jwk["alg"] == "ES256"
    assert jwk["use"] == "sig"
    assert len(b64url_decode(jwk["x"])) == 32
    assert len(b64url_decode(jwk["y"])) == 32
    assert jwk["kid"] == thumbprint(jwk)
    assert "d" not in jwk
    assert public_key_from_jwk(jwk).public_numbers() == key.public_numbers()


def test_public_jwk_refuses_other_curves() -> None:
    """Only P-256 keys are used for ES256."""
    with pytest.raises(InvalidInput):
        public_jwk(ec.generate_private_key(ec.SECP384R1()).public_key())


def _valid_jwk() -> dict[str, str]:
    return public_jwk(ec.generate_private_key(ec.SECP256R1()).public_key())


@pytest.mark.parametrize(
    "change",
    [
        {"crv": "P-384"},
        {"kty": "RSA"},
        {"alg": "HS256"},
        {"use": "enc"},
        {"x": b64url_encode(bytes(31))},
        {"y": "not base64url!"},
        {"y": b64url_encode((1).to_bytes(32, "big"))},
    ],
)
def test_public_key_from_jwk_refuses_bad_keys(change: dict[str, str]) -> None:
    """Wrong type, curve, use, length or a point off the curve are refused."""
    with pytest.raises(InvalidInput):
        public_key_from_jwk({**_valid_jwk(), **change})
