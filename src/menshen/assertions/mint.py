"""Minting the identity assertion: a short-lived ES256 JWT (RFC 7519, RFC 7515).

Claims: ``iss``, ``aud`` (the app), ``sub`` (the user id), ``email``, ``preferred_username``,
``groups``, ``sid`` (the session), ``amr`` (RFC 8176 method references), ``auth_time`` (OIDC
Core §2), ``mfa_time`` and ``mfa_method`` when a second factor was used, ``iat``, ``nbf``,
``exp`` and a random ``jti``. The header names the signing key (``kid``).

Signing costs far more than the rest of a proxied request, so a token is cached per
(session, audience, key) and reused until ``refresh_before`` its expiry, as long as the
claims it was made from are unchanged (a group change or a step-up mints a fresh one). The
cache is a bounded LRU; ``forget_session`` drops a revoked session's tokens. Not thread-safe:
the gateway calls it from its event loop.
"""

from __future__ import annotations

import secrets
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import jwt

from menshen.assertions.keyring import Keyring
from menshen.clock import Clock
from menshen.errors import ConfigError

# RFC 8176 §2 values for each menshen second factor.
_AMR_FOR_METHOD: dict[str, tuple[str, ...]] = {
    "totp": ("otp",),
    "recovery_code": ("otp",),
    "webauthn": ("hwk", "user"),
}

_CacheKey = tuple[str, str, str]
_Inputs = tuple[str, str, tuple[str, ...], str | None, datetime | None, str, datetime | None]


def new_jti() -> str:
    return secrets.token_urlsafe(16)


@dataclass(frozen=True, slots=True)
class _Cached:
    token: str
    inputs: _Inputs
    reuse_until: datetime


class AssertionMinter:
    """Signs identity assertions with the keyring's active key, caching per session."""

    def __init__(
        self,
        keyring: Keyring,
        issuer: str,
        clock: Clock,
        *,
        lifetime: timedelta | None = None,
        refresh_before: timedelta = timedelta(seconds=60),
        cache_size: int = 50_000,
        jti_source: Callable[[], str] = new_jti,
    ) -> None:
        self._keyring = keyring
        self._issuer = issuer
        self._clock = clock
        self._lifetime = lifetime if lifetime is not None else keyring.token_lifetime
        if self._lifetime <= timedelta(0) or self._lifetime > keyring.token_lifetime:
            # A token outliving the keyring's lifetime could outlive its key's publication.
            raise ConfigError("assertion lifetime must be positive and within the keyring's")
        if cache_size < 1:
            raise ConfigError("cache size must be positive")
        # Stop reusing a token refresh_before its expiry (or half-way, for short lifetimes),
        # so an upstream never receives one about to expire.
        if self._lifetime > 2 * refresh_before:
            self._reuse_for = self._lifetime - refresh_before
        else:
            self._reuse_for = self._lifetime / 2
        self._cache_size = cache_size
        self._jti = jti_source
        self._cache: OrderedDict[_CacheKey, _Cached] = OrderedDict()
        self._by_session: dict[str, set[_CacheKey]] = {}
        self.minted = 0

    def mint(
        self,
        *,
        audience: str,
        subject: str,
        email: str,
        groups: Sequence[str],
        session_id: str,
        mfa_method: str | None,
        mfa_at: datetime | None,
        username: str,
        auth_time: datetime | None = None,
    ) -> str:
        """The assertion for this session and app: a cached one if still fresh, else new."""
        signing_key = self._keyring.active_signing_key()
        now = self._clock.now()
        key = (session_id, audience, signing_key.kid)
        inputs: _Inputs = (subject, email, tuple(groups), mfa_method, mfa_at, username, auth_time)
        cached = self._cache.get(key)
        if cached is not None and cached.inputs == inputs and now < cached.reuse_until:
            self._cache.move_to_end(key)
            return cached.token
        issued = int(now.timestamp())
        claims: dict[str, object] = {
            "iss": self._issuer,
            "aud": audience,
            "sub": subject,
            "email": email,
            "preferred_username": username,
            "groups": list(groups),
            "sid": session_id,
            "amr": _amr(mfa_method),
            "iat": issued,
            "nbf": issued,
            "exp": issued + int(self._lifetime.total_seconds()),
            "jti": self._jti(),
        }
        if auth_time is not None:
            claims["auth_time"] = int(auth_time.timestamp())
        if mfa_method is not None and mfa_at is not None:
            claims["mfa_method"] = mfa_method
            claims["mfa_time"] = int(mfa_at.timestamp())
        token = jwt.encode(
            claims,
            signing_key.private_key,
            algorithm="ES256",
            headers={"kid": signing_key.kid, "typ": "JWT"},
        )
        self.minted += 1
        self._remember(key, _Cached(token, inputs, now + self._reuse_for))
        return token

    def forget_session(self, session_id: str) -> int:
        """Drop every cached token of a session (on revocation); returns how many."""
        keys = self._by_session.pop(session_id, set())
        for key in keys:
            self._cache.pop(key, None)
        return len(keys)

    def __len__(self) -> int:
        return len(self._cache)

    def _remember(self, key: _CacheKey, entry: _Cached) -> None:
        self._cache[key] = entry
        self._cache.move_to_end(key)
        self._by_session.setdefault(key[0], set()).add(key)
        while len(self._cache) > self._cache_size:
            old_key, _ = self._cache.popitem(last=False)
            session_keys = self._by_session.get(old_key[0])
            if session_keys is not None:
                session_keys.discard(old_key)
                if not session_keys:
                    del self._by_session[old_key[0]]


def _amr(mfa_method: str | None) -> list[str]:
    if mfa_method is None:
        return ["pwd"]
    extra = _AMR_FOR_METHOD.get(mfa_method, ())
    return ["pwd", *extra, "mfa"]
