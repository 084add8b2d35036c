"""Forged and replayed access tokens: every one refused with a precise audit reason."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from menshen.access.client_tokens import gateway_audience
from menshen.gateway.contract import Forward, Respond
from menshen.store.sql import SqlStore
from tests.access.client_world import ISSUER, ClientWorld, Made


@pytest.fixture
def world(sqlite_store: SqlStore) -> ClientWorld:
    return ClientWorld(sqlite_store)


@pytest.fixture
def bank(world: ClientWorld) -> Made:
    return world.make("bank-a")


def _b64(data: dict[str, Any]) -> str:
    raw = json.dumps(data, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _claims(world: ClientWorld, made: Made, **changes: Any) -> dict[str, Any]:
    now = int(world.clock.now().timestamp())
    claims: dict[str, Any] = {
        "iss": ISSUER,
        "aud": gateway_audience(ISSUER, "t1"),
        "sub": "client:bank-a",
        "client_id": "bank-a",
        "cid": made.credential_id,
        "scope": "",
        "iat": now,
        "nbf": now,
        "exp": now + 300,
        "jti": "j1",
    }
    claims.update(changes)
    return claims


def _signed(world: ClientWorld, claims: dict[str, Any], **header: Any) -> str:
    key = world.keyrings["t1"].active_signing_key()
    headers = {"kid": key.kid, "typ": "at+jwt", **header}
    return jwt.encode(claims, key.private_key, algorithm="ES256", headers=headers)


def _refused_because(world: ClientWorld, token: str, reason: str) -> None:
    verdict = world.call("/ledger/books", token)
    assert isinstance(verdict, Respond)
    assert verdict.status == 401
    assert world.last_reason() == f"machine credential refused: {reason}"


def test_a_well_formed_token_passes(world: ClientWorld, bank: Made) -> None:
    """The control case: the same construction with nothing wrong is accepted."""
    assert isinstance(world.call("/ledger/books", _signed(world, _claims(world, bank))), Forward)


def test_alg_none_is_refused(world: ClientWorld, bank: Made) -> None:
    """An unsigned token (alg none) is refused before any key is used."""
    kid = world.keyrings["t1"].active_signing_key().kid
    header = {"alg": "none", "typ": "at+jwt", "kid": kid}
    token = f"{_b64(header)}.{_b64(_claims(world, bank))}."
    _refused_because(world, token, "algorithm 'none' refused")


def test_hs256_keyed_with_the_public_key_is_refused(world: ClientWorld, bank: Made) -> None:
    """The classic confusion: HMAC with the published public key as the secret."""
    key = world.keyrings["t1"].active_signing_key()
    public_pem = key.private_key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    header = {"alg": "HS256", "typ": "at+jwt", "kid": key.kid}
    signing_input = f"{_b64(header)}.{_b64(_claims(world, bank))}"
    mac = hmac.new(public_pem, signing_input.encode(), hashlib.sha256).digest()
    token = signing_input + "." + base64.urlsafe_b64encode(mac).rstrip(b"=").decode()
    _refused_because(world, token, "algorithm 'HS256' refused")


def test_a_token_signed_by_a_stranger_key_with_a_known_kid_is_refused(
    world: ClientWorld, bank: Made
) -> None:
    """The kid of the firm's key with someone else's signature: bad signature."""
    kid = world.keyrings["t1"].active_signing_key().kid
    stranger = ec.generate_private_key(ec.SECP256R1())
    token = jwt.encode(
        _claims(world, bank), stranger, algorithm="ES256", headers={"kid": kid, "typ": "at+jwt"}
    )
    _refused_because(world, token, "bad signature")


def test_wrong_audience_issuer_or_subject_is_refused(world: ClientWorld, bank: Made) -> None:
    """aud of another firm, another issuer, a sub that does not name the client."""
    cases: list[tuple[dict[str, Any], str]] = [
        ({"aud": gateway_audience(ISSUER, "t2")}, "wrong audience"),
        ({"iss": "someone-else"}, "wrong issuer"),
        ({"sub": "client:bank-b"}, "sub does not name the client"),
        (
            {"exp": int(world.clock.now().timestamp()) + 86_400},
            "lifetime longer than this gateway issues",
        ),
    ]
    for changes, reason in cases:
        _refused_because(world, _signed(world, _claims(world, bank, **changes)), reason)


def test_expired_token_is_refused(world: ClientWorld, bank: Made) -> None:
    """A real token from the endpoint, used after its expiry."""
    token = world.token_for(bank)
    assert isinstance(world.call("/ledger/books", token), Forward)
    world.clock.advance(301 + 10)
    _refused_because(world, token, "token expired")


def test_an_identity_assertion_cannot_be_replayed_as_a_token(
    world: ClientWorld, bank: Made
) -> None:
    """An upstream that received a user's assertion (same keys, typ JWT) cannot use it here."""
    assertion = world.minters["t1"].mint(
        audience="ledger",
        subject="client:bank-a",
        email="",
        groups=[],
        session_id="s1",
        mfa_method=None,
        mfa_at=None,
        username="bank-a",
    )
    _refused_because(world, assertion, "not an access token (typ)")


def test_a_token_for_an_unknown_credential_is_refused(world: ClientWorld, bank: Made) -> None:
    """A validly signed token naming a credential the client does not have is refused."""
    token = _signed(world, _claims(world, bank, cid="not-a-credential"))
    _refused_because(world, token, "unknown credential")
