"""What an app behind the gateway does with X-Menshen-Assertion: keys fetched when needed."""

from __future__ import annotations

import asyncio
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from menshen.assertions.keyring import Keyring
from menshen.assertions.mint import AssertionMinter
from menshen.assertions.upstream import JwksCache, UpstreamIdentity, fetch_json
from menshen.assertions.verify import AssertionVerifier
from menshen.testing import FixedClock

ISSUER = "menshen"


class Gateway:
    """The gateway's JWKS endpoint, counting fetches; ``down`` makes it fail."""

    def __init__(self, keyring: Keyring) -> None:
        self.keyring = keyring
        self.fetches = 0
        self.down = False

    def __call__(self, url: str) -> dict[str, Any]:
        self.fetches += 1
        if self.down:
            raise OSError("connection refused")
        return self.keyring.jwks()


def setup(keyring: Keyring, clock: FixedClock) -> tuple[Gateway, UpstreamIdentity, AssertionMinter]:
    gateway = Gateway(keyring)
    cache = JwksCache("http://127.0.0.1:1/jwks", gateway, monotonic=clock.monotonic)
    verifier = AssertionVerifier(cache.current, issuer=ISSUER, audience="wiki", clock=clock)
    return gateway, UpstreamIdentity(verifier, cache), AssertionMinter(keyring, ISSUER, clock)


def token(minter: AssertionMinter, session: str = "s1") -> str:
    return minter.mint(audience="wiki", subject="u1", email="a@x.example", groups=["g"],
                       session_id=session, mfa_method=None, mfa_at=None, username="a")  # fmt: skip


def claims(identity: UpstreamIdentity, value: str | None) -> dict[str, Any] | None:
    headers = {} if value is None else {"x-menshen-assertion": value}
    return asyncio.run(identity.claims(headers))


def test_keys_are_fetched_on_first_use_and_after_a_rotation(
    keyring: Keyring, clock: FixedClock
) -> None:
    """An unknown key id triggers one fetch; a known one none."""
    gateway, identity, minter = setup(keyring, clock)
    assert claims(identity, token(minter)) is not None
    assert claims(identity, token(minter)) is not None
    assert gateway.fetches == 1
    keyring.rotate()
    clock.advance(5)
    fresh = AssertionMinter(keyring, ISSUER, clock)
    assert claims(identity, token(fresh, "s2")) is not None
    assert gateway.fetches == 2


def test_bad_signature_with_a_known_key_id_fetches_nothing(
    keyring: Keyring, clock: FixedClock
) -> None:
    """A forged token naming a key we hold is refused without asking the gateway."""
    gateway, identity, minter = setup(keyring, clock)
    good = token(minter)
    assert claims(identity, good) is not None
    body = jwt.decode(good, options={"verify_signature": False})
    kid = jwt.get_unverified_header(good)["kid"]
    forged = jwt.encode(body, ec.generate_private_key(ec.SECP256R1()), "ES256",
                        headers={"kid": kid})  # fmt: skip
    for _ in range(5):
        clock.advance(10)
        assert claims(identity, forged) is None
    assert gateway.fetches == 1


def test_unknown_key_ids_are_fetched_at_most_once_per_interval(
    keyring: Keyring, clock: FixedClock
) -> None:
    """A flood of tokens with made-up key ids costs the gateway one fetch per second."""
    gateway, identity, minter = setup(keyring, clock)
    body = jwt.decode(token(minter), options={"verify_signature": False})
    key = ec.generate_private_key(ec.SECP256R1())
    for index in range(20):
        made_up = jwt.encode(body, key, "ES256", headers={"kid": f"k{index}"})
        assert claims(identity, made_up) is None
    assert gateway.fetches == 1
    clock.advance(1.5)
    assert claims(identity, jwt.encode(body, key, "ES256", headers={"kid": "late"})) is None
    assert gateway.fetches == 2


def test_gateway_down_fails_closed(keyring: Keyring, clock: FixedClock) -> None:
    """No keys can be fetched: every token is refused."""
    gateway, identity, minter = setup(keyring, clock)
    gateway.down = True
    assert claims(identity, token(minter)) is None
    assert claims(identity, None) is None
    assert claims(identity, "") is None


def test_fetch_json_refuses_other_schemes() -> None:
    """Only http(s) URLs are fetched (no file:, no ftp:)."""
    for url in ("file:///etc/passwd", "ftp://x/jwks"):
        with pytest.raises(ValueError, match="http"):
            fetch_json(url)
