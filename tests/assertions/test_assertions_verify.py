"""What an upstream does with X-Menshen-Assertion, and the attacks it must refuse.

Attack tokens are crafted by hand (reference: the JWT algorithm-confusion list in
/work/shared/reference/iap.md, item 16; RFC 8725 §2.1).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from datetime import timedelta
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from menshen.assertions.keyring import Keyring
from menshen.assertions.mint import AssertionMinter
from menshen.assertions.verify import AssertionVerifier
from menshen.errors import AuthenticationFailed
from menshen.testing import FixedClock

from .conftest import T0

ISSUER = "https://access.example-pay.tw"
APP = "settlement-admin"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _part(obj: dict[str, Any]) -> str:
    return _b64(json.dumps(obj).encode())


def _claims(**overrides: Any) -> dict[str, Any]:
    now = int(T0.timestamp())
    claims: dict[str, Any] = {
        "iss": ISSUER,
        "aud": APP,
        "sub": "u-alice",
        "iat": now,
        "nbf": now,
        "exp": now + 300,
        "groups": ["finance"],
    }
    claims.update(overrides)
    return {k: v for k, v in claims.items() if v is not None}


def _signed(keyring: Keyring, claims: dict[str, Any], **header: Any) -> str:
    """A token signed with the real active key (so only the named change is wrong)."""
    key = keyring.active_signing_key()
    return jwt.encode(
        claims, key.private_key, algorithm="ES256", headers={"kid": key.kid, **header}
    )


def _verifier(keyring: Keyring, clock: FixedClock) -> AssertionVerifier:
    return AssertionVerifier(keyring.jwks, ISSUER, APP, clock)


def _refused(keyring: Keyring, clock: FixedClock, token: str) -> None:
    with pytest.raises(AuthenticationFailed) as caught:
        _verifier(keyring, clock).verify(token)
    assert str(caught.value) == "authentication failed"


def test_a_genuine_assertion_verifies(keyring: Keyring, clock: FixedClock) -> None:
    """The control case: a well-formed token from the active key is accepted."""
    claims = _verifier(keyring, clock).verify(_signed(keyring, _claims()))
    assert claims["sub"] == "u-alice"


def test_alg_none_is_refused(keyring: Keyring, clock: FixedClock) -> None:
    """An unsigned token (alg none, empty signature) is refused."""
    kid = keyring.active_signing_key().kid
    for alg in ("none", "None", "NONE"):
        token = f"{_part({'alg': alg, 'kid': kid, 'typ': 'JWT'})}.{_part(_claims())}."
        _refused(keyring, clock, token)


def test_hs256_keyed_with_the_public_key_is_refused(keyring: Keyring, clock: FixedClock) -> None:
    """HMAC with the published key as the secret (algorithm confusion) is refused."""
    key = keyring.active_signing_key()
    public = key.private_key.public_key()
    secrets_to_try = [
        public.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        ),
        json.dumps(keyring.jwks()["keys"][0]).encode(),
        public.public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
        ),
    ]
    for secret in secrets_to_try:
        signing_input = f"{_part({'alg': 'HS256', 'kid': key.kid})}.{_part(_claims())}"
        mac = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
        _refused(keyring, clock, f"{signing_input}.{_b64(mac)}")


def test_rs256_is_refused(keyring: Keyring, clock: FixedClock) -> None:
    """An RSA-signed token naming our kid is refused."""
    rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    kid = keyring.active_signing_key().kid
    token = jwt.encode(_claims(), rsa_key, algorithm="RS256", headers={"kid": kid})
    _refused(keyring, clock, token)


def test_other_ec_algorithms_are_refused(keyring: Keyring, clock: FixedClock) -> None:
    """Only ES256: an ES384 token is refused even with a matching kid."""
    other = ec.generate_private_key(ec.SECP384R1())
    kid = keyring.active_signing_key().kid
    _refused(keyring, clock, jwt.encode(_claims(), other, algorithm="ES384", headers={"kid": kid}))


def test_a_forged_signature_under_our_kid_is_refused(keyring: Keyring, clock: FixedClock) -> None:
    """An attacker's own P-256 key cannot sign for our kid."""
    attacker = ec.generate_private_key(ec.SECP256R1())
    kid = keyring.active_signing_key().kid
    _refused(
        keyring, clock, jwt.encode(_claims(), attacker, algorithm="ES256", headers={"kid": kid})
    )


def test_a_changed_payload_is_refused(keyring: Keyring, clock: FixedClock) -> None:
    """Swapping the payload of a genuine token (adding a group) breaks the signature."""
    header, _, signature = _signed(keyring, _claims()).split(".")
    forged = _part(_claims(groups=["finance", "admins"]))
    _refused(keyring, clock, f"{header}.{forged}.{signature}")


def test_unknown_or_missing_kid_is_refused(keyring: Keyring, clock: FixedClock) -> None:
    """The key is chosen by kid from the JWKS only; no kid or an unknown one is refused."""
    key = keyring.active_signing_key()
    unknown = jwt.encode(_claims(), key.private_key, algorithm="ES256", headers={"kid": "k-x"})
    _refused(keyring, clock, unknown)
    bare = jwt.encode(_claims(), key.private_key, algorithm="ES256")
    _refused(keyring, clock, bare)


def test_an_embedded_jwk_header_is_not_trusted(keyring: Keyring, clock: FixedClock) -> None:
    """A token carrying its own key in the header (jwk / jku) still needs our kid's key."""
    attacker = ec.generate_private_key(ec.SECP256R1())
    kid = keyring.active_signing_key().kid
    token = jwt.encode(
        _claims(),
        attacker,
        algorithm="ES256",
        headers={"kid": kid, "jku": "https://evil.example/jwks.json"},
    )
    _refused(keyring, clock, token)


@pytest.mark.parametrize(
    "claims",
    [
        _claims(aud="wiki"),
        _claims(aud=["wiki", "grafana"]),
        _claims(iss="https://evil.example"),
        _claims(aud=None),
        _claims(iss=None),
        _claims(sub=None),
        _claims(sub=""),
        _claims(exp=None),
        _claims(nbf=None),
        _claims(exp="tomorrow"),
    ],
)
def test_wrong_or_missing_claims_are_refused(
    keyring: Keyring, clock: FixedClock, claims: dict[str, Any]
) -> None:
    """Audience, issuer, subject and times must be present and right."""
    _refused(keyring, clock, _signed(keyring, claims))


def test_audience_list_containing_the_app_is_accepted(keyring: Keyring, clock: FixedClock) -> None:
    """RFC 7519 §4.1.3: aud may be a list; it must contain this app."""
    token = _signed(keyring, _claims(aud=["wiki", APP]))
    assert _verifier(keyring, clock).verify(token)["sub"] == "u-alice"


def test_expired_token_is_refused_after_the_leeway(keyring: Keyring, clock: FixedClock) -> None:
    """A token is good until exp + 30 s of leeway, and not after."""
    token = _signed(keyring, _claims())
    clock.advance(300 + 29)
    assert _verifier(keyring, clock).verify(token)
    clock.advance(1)
    _refused(keyring, clock, token)


def test_not_yet_valid_token_is_refused(keyring: Keyring, clock: FixedClock) -> None:
    """nbf (or iat) beyond now + leeway is refused."""
    now = int(T0.timestamp())
    _refused(keyring, clock, _signed(keyring, _claims(nbf=now + 31)))
    _refused(keyring, clock, _signed(keyring, _claims(iat=now + 31)))
    assert _verifier(keyring, clock).verify(_signed(keyring, _claims(nbf=now + 30)))


def test_critical_header_extensions_are_refused(keyring: Keyring, clock: FixedClock) -> None:
    """RFC 7515 §4.1.11: an unknown crit extension must not be ignored."""
    _refused(keyring, clock, _signed(keyring, _claims(), crit=["exp"]))


@pytest.mark.parametrize("token", ["", "abc", "a.b", "a.b.c", "..", "a.b.c.d.e", "\u00e9.x.y"])
def test_malformed_tokens_are_refused(keyring: Keyring, clock: FixedClock, token: str) -> None:
    """Garbage is an authentication failure, never another exception."""
    _refused(keyring, clock, token)


def test_rotation_keeps_old_tokens_valid_until_they_expire(
    keyring: Keyring, clock: FixedClock
) -> None:
    """A token minted before rotate() verifies after it; once pruned its key is gone."""
    minter = AssertionMinter(keyring, ISSUER, clock)
    verifier = _verifier(keyring, clock)

    def mint(session_id: str) -> str:
        return minter.mint(
            audience=APP,
            subject="u-alice",
            email="alice@example-pay.tw",
            groups=["finance"],
            session_id=session_id,
            mfa_method="totp",
            mfa_at=T0,
            username="alice",
        )

    before = mint("s1")
    old_kid = jwt.get_unverified_header(before)["kid"]
    clock.advance(100)
    new_key = keyring.rotate()
    assert verifier.verify(before)["sid"] == "s1"
    after = mint("s2")
    assert jwt.get_unverified_header(after)["kid"] == new_key.kid
    assert verifier.verify(after)["sid"] == "s2"

    clock.advance(keyring.token_lifetime.total_seconds() + keyring.skew.total_seconds())
    assert keyring.prune() == [old_kid]
    assert old_kid not in {k["kid"] for k in keyring.jwks()["keys"]}
    late = AssertionVerifier(keyring.jwks, ISSUER, APP, clock, leeway=timedelta(days=1))
    with pytest.raises(AuthenticationFailed):
        late.verify(before)  # even a lax clock cannot revive a pruned key
