"""The provider's signing keys (RFC 7517 JWK Set), cached with bounded rotation.

Keys are fetched on first use and again when older than ``max_age_seconds``. A token whose
``kid`` is unknown triggers one refetch (the provider rotated its keys), but at most once per
``min_refetch_seconds`` so that tokens with made-up ``kid`` values cannot turn menshen into a
request amplifier against the provider. Only public signature keys are kept: a symmetric
(``oct``) or encryption key in the set is ignored, never used to verify.
"""

from __future__ import annotations

from dataclasses import dataclass

import jwt
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

from menshen.clock import Clock
from menshen.identity.oidc.model import (
    FederationFailed,
    HttpFetcher,
    HttpRequest,
    HttpResponse,
    is_server_trouble,
)

__all__ = ["JwksCache", "PublicKey", "SigningKey", "key_fits_algorithm", "parse_jwks"]

PublicKey = rsa.RSAPublicKey | ec.EllipticCurvePublicKey | ed25519.Ed25519PublicKey

_MAX_KEYS = 32
_CURVES = {"ES256": ec.SECP256R1, "ES384": ec.SECP384R1, "ES512": ec.SECP521R1}


@dataclass(frozen=True, slots=True)
class SigningKey:
    """One public verification key and its ``kid`` (None when the provider gave none)."""

    kid: str | None
    key: PublicKey


def key_fits_algorithm(key: PublicKey, alg: str) -> bool:
    """Whether ``alg`` may be verified with ``key`` (the key type decides, not the token)."""
    if alg[:2] in ("RS", "PS"):
        return isinstance(key, rsa.RSAPublicKey) and key.key_size >= 2048
    if alg in _CURVES:
        return isinstance(key, ec.EllipticCurvePublicKey) and isinstance(key.curve, _CURVES[alg])
    if alg in ("EdDSA", "Ed25519"):
        return isinstance(key, ed25519.Ed25519PublicKey)
    return False


def parse_jwks(response: HttpResponse) -> tuple[SigningKey, ...]:
    """The usable public signature keys of a JWK Set response."""
    if response.status != 200:
        raise FederationFailed(
            f"jwks: HTTP {response.status}", transient=is_server_trouble(response.status)
        )
    document = response.json_object("jwks")
    entries = document.get("keys")
    if not isinstance(entries, list):
        raise FederationFailed("jwks: no keys array")
    keys: list[SigningKey] = []
    for entry in entries[:_MAX_KEYS]:
        if not isinstance(entry, dict) or entry.get("use", "sig") != "sig":
            continue
        if entry.get("kty") not in ("RSA", "EC", "OKP"):
            continue
        try:
            parsed = jwt.PyJWK(entry).key
        except (jwt.PyJWTError, ValueError, TypeError, KeyError):
            continue
        if isinstance(parsed, rsa.RSAPublicKey | ec.EllipticCurvePublicKey):
            key: PublicKey = parsed
        elif isinstance(parsed, ed25519.Ed25519PublicKey):
            key = parsed
        else:
            continue  # a private key published by mistake, or a key type we never verify with
        kid = entry.get("kid")
        keys.append(SigningKey(kid if isinstance(kid, str) else None, key))
    return tuple(keys)


class JwksCache:
    """One provider's keys, fetched through ``fetcher`` and refreshed on rotation."""

    def __init__(
        self,
        fetcher: HttpFetcher,
        jwks_uri: str,
        clock: Clock,
        *,
        max_age_seconds: float = 3600.0,
        min_refetch_seconds: float = 60.0,
    ) -> None:
        self._fetcher = fetcher
        self._uri = jwks_uri
        self._clock = clock
        self._max_age = max_age_seconds
        self._min_refetch = min_refetch_seconds
        self._keys: tuple[SigningKey, ...] = ()
        self._fetched_at: float | None = None
        self.fetches = 0

    def _refetch(self) -> None:
        self._fetched_at = self._clock.monotonic()
        self.fetches += 1
        self._keys = parse_jwks(self._fetcher.send(HttpRequest("GET", self._uri)))

    def _age(self) -> float | None:
        if self._fetched_at is None:
            return None
        return self._clock.monotonic() - self._fetched_at

    def _match(self, kid: str | None, alg: str) -> PublicKey | None:
        fitting = [k for k in self._keys if key_fits_algorithm(k.key, alg)]
        if kid is None:
            # Without a kid the choice must be unambiguous.
            return fitting[0].key if len(fitting) == 1 else None
        for candidate in fitting:
            if candidate.kid == kid:
                return candidate.key
        return None

    def key_for(self, kid: str | None, alg: str) -> PublicKey:
        """The key to verify a token with header ``kid``/``alg``, or ``FederationFailed``."""
        age = self._age()
        if age is None or age > self._max_age:
            self._refetch()
        found = self._match(kid, alg)
        if found is None:
            age = self._age()
            if age is not None and age >= self._min_refetch:
                self._refetch()
                found = self._match(kid, alg)
        if found is None:
            raise FederationFailed(f"id token: no {alg} key with kid {kid!r} at the provider")
        return found
