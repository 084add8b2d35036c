"""Minting identity assertions: claims, the per-session cache, rotation."""

from __future__ import annotations

import itertools
from datetime import timedelta
from typing import Any

import jwt
import pytest

from menshen.assertions.keyring import Keyring
from menshen.assertions.mint import AssertionMinter
from menshen.assertions.verify import AssertionVerifier
from menshen.errors import ConfigError
from menshen.testing import FixedClock

from .conftest import T0

ISSUER = "https://access.example-pay.tw"
APP = "settlement-admin"


def _minter(keyring: Keyring, clock: FixedClock, **kwargs: Any) -> AssertionMinter:
    counter = itertools.count(1)
    return AssertionMinter(keyring, ISSUER, clock, jti_source=lambda: f"j{next(counter)}", **kwargs)


def _mint(minter: AssertionMinter, **overrides: Any) -> str:
    args: dict[str, Any] = {
        "audience": APP,
        "subject": "u-alice",
        "email": "alice@example-pay.tw",
        "groups": ["finance", "staff"],
        "session_id": "s1",
        "mfa_method": "totp",
        "mfa_at": T0 - timedelta(minutes=2),
        "username": "alice",
    }
    args.update(overrides)
    return minter.mint(**args)


def _claims(keyring: Keyring, clock: FixedClock, token: str, audience: str = APP) -> Any:
    return AssertionVerifier(keyring.jwks, ISSUER, audience, clock).verify(token)


def test_assertion_carries_the_identity_claims(keyring: Keyring, clock: FixedClock) -> None:
    """iss, aud, sub, email, username, groups, sid, amr, times and jti are all present."""
    token = _mint(_minter(keyring, clock), auth_time=T0 - timedelta(minutes=5))
    claims = _claims(keyring, clock, token)
    now = int(T0.timestamp())
    assert claims == {
        "iss": ISSUER,
        "aud": APP,
        "sub": "u-alice",
        "email": "alice@example-pay.tw",
        "preferred_username": "alice",
        "groups": ["finance", "staff"],
        "sid": "s1",
        "amr": ["pwd", "otp", "mfa"],
        "auth_time": now - 300,
        "mfa_method": "totp",
        "mfa_time": now - 120,
        "iat": now,
        "nbf": now,
        "exp": now + 300,
        "jti": "j1",
    }
    header = jwt.get_unverified_header(token)
    assert header == {"alg": "ES256", "kid": keyring.active_signing_key().kid, "typ": "JWT"}


def test_password_only_session_says_so(keyring: Keyring, clock: FixedClock) -> None:
    """Without a second factor amr is ["pwd"] and no MFA time is claimed."""
    claims = _claims(keyring, clock, _mint(_minter(keyring, clock), mfa_method=None, mfa_at=None))
    assert claims["amr"] == ["pwd"]
    assert "mfa_time" not in claims
    assert "mfa_method" not in claims


def test_cached_token_is_reused_until_a_minute_before_expiry(
    keyring: Keyring, clock: FixedClock
) -> None:
    """The same session and app get the same token for lifetime - 60 s, then a new one."""
    minter = _minter(keyring, clock)
    first = _mint(minter)
    clock.advance(239)
    assert _mint(minter) == first
    clock.advance(1)
    second = _mint(minter)
    assert second != first
    assert minter.minted == 2
    assert _claims(keyring, clock, second)["iat"] == int(T0.timestamp()) + 240


def test_cache_is_per_session_and_audience(keyring: Keyring, clock: FixedClock) -> None:
    """Another app or another session never gets this session's token."""
    minter = _minter(keyring, clock)
    base = _mint(minter)
    other_app = _mint(minter, audience="wiki")
    other_session = _mint(minter, session_id="s2")
    assert len({base, other_app, other_session}) == 3
    assert _claims(keyring, clock, other_app, audience="wiki")["aud"] == "wiki"


@pytest.mark.parametrize(
    ("argument", "value", "claim", "claimed"),
    [
        ("groups", ["staff"], "groups", ["staff"]),
        ("email", "alice@new.example", "email", "alice@new.example"),
        ("mfa_at", T0, "mfa_time", int(T0.timestamp())),
        ("mfa_method", "webauthn", "amr", ["pwd", "hwk", "user", "mfa"]),
        ("username", "alice2", "preferred_username", "alice2"),
    ],
)
def test_changed_claims_are_not_served_from_cache(
    keyring: Keyring, clock: FixedClock, argument: str, value: Any, claim: str, claimed: Any
) -> None:
    """A group change or a step-up mints a fresh token at once (no stale claims)."""
    minter = _minter(keyring, clock)
    first = _mint(minter)
    second = _mint(minter, **{argument: value})
    assert second != first
    assert _claims(keyring, clock, second)[claim] == claimed


def test_forget_session_drops_its_tokens(keyring: Keyring, clock: FixedClock) -> None:
    """After revocation the session's cached tokens are gone."""
    minter = _minter(keyring, clock)
    first = _mint(minter)
    _mint(minter, audience="wiki")
    _mint(minter, session_id="s2")
    assert minter.forget_session("s1") == 2
    assert len(minter) == 1
    assert _mint(minter) != first


def test_cache_is_bounded(keyring: Keyring, clock: FixedClock) -> None:
    """The least recently used tokens are dropped beyond cache_size."""
    minter = _minter(keyring, clock, cache_size=3)
    tokens = [_mint(minter, session_id=f"s{i}") for i in range(5)]
    assert len(minter) == 3
    assert minter.forget_session("s0") == 0
    assert _mint(minter, session_id="s4") == tokens[4]
    assert _mint(minter, session_id="s0") != tokens[0]


def test_rotation_switches_signing_key_at_once(keyring: Keyring, clock: FixedClock) -> None:
    """After rotate, new tokens name and use the new key even within the cache window."""
    minter = _minter(keyring, clock)
    old = _mint(minter)
    new_key = keyring.rotate()
    fresh = _mint(minter)
    assert fresh != old
    assert jwt.get_unverified_header(fresh)["kid"] == new_key.kid
    assert _claims(keyring, clock, fresh)["sub"] == "u-alice"


def test_lifetime_longer_than_the_keyring_allows_is_refused(
    keyring: Keyring, clock: FixedClock
) -> None:
    """A token may not outlive its key's publication window."""
    with pytest.raises(ConfigError):
        AssertionMinter(keyring, ISSUER, clock, lifetime=timedelta(minutes=10))


def test_short_lifetime_reuses_for_half_of_it(keyring: Keyring, clock: FixedClock) -> None:
    """With a 60 s lifetime a token is reused for 30 s."""
    minter = _minter(keyring, clock, lifetime=timedelta(seconds=60))
    first = _mint(minter)
    clock.advance(29)
    assert _mint(minter) == first
    clock.advance(1)
    assert _mint(minter) != first
