"""ID token validation: the attacks of RFC 8725 and OpenID Connect Core §3.1.3.7 each refused."""

from __future__ import annotations

from typing import Any

import pytest

from menshen.errors import AuthenticationFailed
from menshen.identity.oidc.jwks import JwksCache
from menshen.identity.oidc.model import FederationFailed, HttpRequest, HttpResponse
from menshen.identity.oidc.tokens import IdTokenExpectations, validate_id_token
from menshen.testing import FixedClock
from tests.identity.oidc.kit import (
    CLIENT_ID,
    EC_KEY,
    ISSUER,
    JWKS_URI,
    NONCE,
    RSA_KEY,
    ScriptedFetcher,
    claims,
    forge,
    jwk,
    jwks_response,
    public_pem,
    sign,
)


def _setup(*keys: dict[str, Any]) -> tuple[FixedClock, JwksCache, ScriptedFetcher]:
    clock = FixedClock()
    served = list(keys) or [jwk(RSA_KEY, "k1"), jwk(EC_KEY, "e1")]
    fetcher = ScriptedFetcher({JWKS_URI: lambda _r: jwks_response(*served)})
    return clock, JwksCache(fetcher, JWKS_URI, clock), fetcher


def _expect(clock: FixedClock, **changes: Any) -> IdTokenExpectations:
    values: dict[str, Any] = {
        "issuer": ISSUER,
        "client_id": CLIENT_ID,
        "allowed_algorithms": ("RS256", "ES256"),
        "now": clock.now(),
        "clock_skew_seconds": 60,
        "max_age_seconds": 600,
        "nonce": NONCE,
    }
    values.update(changes)
    return IdTokenExpectations(**values)


def _reason(raw: str, keys: JwksCache, expect: IdTokenExpectations) -> str:
    with pytest.raises(FederationFailed) as caught:
        validate_id_token(raw, keys, expect)
    assert str(caught.value) == "authentication failed"
    assert isinstance(caught.value, AuthenticationFailed)
    return caught.value.reason


def test_valid_rs256_token_is_accepted() -> None:
    """A correctly signed RS256 token with the right claims yields its claims."""
    clock, keys, _ = _setup()
    result = validate_id_token(sign(claims(clock)), keys, _expect(clock))
    assert result["sub"] == "user-123"


def test_valid_es256_token_is_accepted() -> None:
    """ES256 tokens verify against the provider's P-256 key."""
    clock, keys, _ = _setup()
    raw = sign(claims(clock), alg="ES256", kid="e1")
    assert validate_id_token(raw, keys, _expect(clock))["iss"] == ISSUER


def test_alg_none_is_refused() -> None:
    """An unsigned token (alg none) is refused before any key lookup."""
    clock, keys, fetcher = _setup()
    raw = forge({"alg": "none", "kid": "k1"}, claims(clock), None)
    assert "algorithm" in _reason(raw, keys, _expect(clock))
    assert fetcher.requests == []


def test_hs256_signed_with_public_key_is_refused() -> None:
    """Algorithm confusion: HMAC keyed with the provider's public key is refused."""
    clock, keys, _ = _setup()
    raw = forge({"alg": "HS256", "kid": "k1"}, claims(clock), public_pem())
    assert "algorithm" in _reason(raw, keys, _expect(clock))


def test_hs256_is_refused_even_when_allowed_by_configuration() -> None:
    """A misconfigured allow list cannot re-enable symmetric algorithms."""
    clock, keys, _ = _setup()
    raw = forge({"alg": "HS256", "kid": "k1"}, claims(clock), public_pem())
    expect = _expect(clock, allowed_algorithms=("HS256", "RS256"))
    assert "algorithm" in _reason(raw, keys, expect)


def test_rs256_header_on_ec_key_is_refused() -> None:
    """The key type decides: an RS256 header naming the EC key finds no usable key."""
    clock, keys, _ = _setup()
    raw = sign(claims(clock), alg="RS256", kid="e1")
    assert "no RS256 key" in _reason(raw, keys, _expect(clock))


def test_tampered_payload_is_refused() -> None:
    """Changing the payload breaks the signature."""
    clock, keys, _ = _setup()
    header, _payload, signature = sign(claims(clock)).split(".")
    other = sign(claims(clock, sub="admin")).split(".")[1]
    assert "signature" in _reason(f"{header}.{other}x.{signature}", keys, _expect(clock))


@pytest.mark.parametrize(
    ("overrides", "reason"),
    [
        ({"iss": "https://evil-idp.example.test"}, "issuer"),
        ({"aud": "another-client"}, "audience"),
        ({"aud": [CLIENT_ID, "another-client"]}, "authorized party"),
        ({"aud": [CLIENT_ID, "x"], "azp": "x"}, "authorized party"),
        ({"azp": "another-client"}, "authorized party"),
        ({"nonce": "replayed-nonce"}, "nonce"),
        ({"nonce": None}, "nonce"),
        ({"sub": None}, "sub"),
        ({"exp": None}, "exp"),
        ({"iat": "yesterday"}, "iat"),
    ],
)
def test_wrong_claims_are_refused(overrides: dict[str, Any], reason: str) -> None:
    """Wrong iss, aud, azp, nonce or missing required claims are each refused."""
    clock, keys, _ = _setup()
    assert reason in _reason(sign(claims(clock, **overrides)), keys, _expect(clock))


def test_expired_token_is_refused_beyond_the_skew() -> None:
    """A token expired longer ago than the allowed clock skew is refused."""
    clock, keys, _ = _setup()
    raw = sign(claims(clock))
    clock.advance(300 + 61)
    assert "expired" in _reason(raw, keys, _expect(clock))


def test_recently_expired_token_is_accepted_within_the_skew() -> None:
    """Clock skew tolerance: a token expired 30 s ago on the provider's clock still passes."""
    clock, keys, _ = _setup()
    raw = sign(claims(clock))
    clock.advance(330)
    assert validate_id_token(raw, keys, _expect(clock))["sub"] == "user-123"


def test_token_issued_far_in_the_future_is_refused() -> None:
    """An iat beyond the skew in the future is refused."""
    clock, keys, _ = _setup()
    now = int(clock.now().timestamp())
    raw = sign(claims(clock, iat=now + 3600, exp=now + 7200))
    assert "future" in _reason(raw, keys, _expect(clock))


def test_old_token_is_refused() -> None:
    """A long-lived token issued long ago (a replayed old token) is refused."""
    clock, keys, _ = _setup()
    now = int(clock.now().timestamp())
    raw = sign(claims(clock, iat=now - 3600, exp=now + 3600))
    assert "too long ago" in _reason(raw, keys, _expect(clock))


def test_refresh_token_must_keep_the_subject() -> None:
    """After a refresh the new ID token must name the same subject."""
    clock, keys, _ = _setup()
    raw = sign(claims(clock, nonce=None, sub="someone-else"))
    expect = _expect(clock, nonce=None, subject="user-123")
    assert "subject" in _reason(raw, keys, expect)


def test_rotated_key_is_fetched_once_on_unknown_kid() -> None:
    """Key rotation: an unknown kid refetches the JWKS (after the minimum interval)."""
    clock = FixedClock()
    served = [jwk(RSA_KEY, "old")]
    fetcher = ScriptedFetcher({JWKS_URI: lambda _r: jwks_response(*served)})
    keys = JwksCache(fetcher, JWKS_URI, clock)
    validate_id_token(sign(claims(clock), kid="old"), keys, _expect(clock))
    served[:] = [jwk(RSA_KEY, "new")]
    clock.advance(61)
    validate_id_token(sign(claims(clock), kid="new"), keys, _expect(clock))
    assert keys.fetches == 2


def test_unknown_kids_cannot_force_repeated_fetches() -> None:
    """Made-up kids refetch at most once per minimum interval."""
    clock, keys, _ = _setup()
    validate_id_token(sign(claims(clock)), keys, _expect(clock))
    clock.advance(61)
    for n in range(5):
        _reason(sign(claims(clock), kid=f"bogus-{n}"), keys, _expect(clock))
    assert keys.fetches == 2


def test_symmetric_key_in_jwks_is_never_used() -> None:
    """An oct key published in the JWKS cannot verify anything."""
    oct_key = {"kty": "oct", "kid": "k1", "k": "c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0"}
    clock, keys, _ = _setup(oct_key)
    raw = forge({"alg": "HS256", "kid": "k1"}, claims(clock), b"secret-secret-secret-secret")
    _reason(raw, keys, _expect(clock, allowed_algorithms=("HS256", "RS256")))
    assert "no RS256 key" in _reason(sign(claims(clock)), keys, _expect(clock))


def test_jwks_fetch_failure_fails_closed() -> None:
    """An unreachable JWKS endpoint refuses the login."""
    clock = FixedClock()

    def broken(_request: HttpRequest) -> HttpResponse:
        return HttpResponse(503, b"")

    keys = JwksCache(ScriptedFetcher({JWKS_URI: broken}), JWKS_URI, clock)
    assert "HTTP 503" in _reason(sign(claims(clock)), keys, _expect(clock))
