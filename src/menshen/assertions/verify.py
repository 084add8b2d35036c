"""Verifying an identity assertion, as an upstream app does (RFC 7519 §7.2, RFC 8725 §3).

Only ES256 is accepted, whatever the token's header claims (RFC 8725 §3.1): ``none``, HMAC
keyed with the public key and RSA are refused before any key is used. The key comes from the
JWKS by ``kid`` alone; an unknown ``kid`` is refused. ``iss`` and ``aud`` must match, and
``exp``, ``nbf`` and ``iat`` are checked against the injected clock with a small leeway.
Every failure raises the same ``AuthenticationFailed``; the reason is only logged at debug
level.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Mapping
from datetime import timedelta
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import ec

from menshen.clock import Clock
from menshen.errors import AuthenticationFailed, InvalidInput
from menshen.jwk import public_key_from_jwk

_log = logging.getLogger(__name__)

ALGORITHM = "ES256"
_REQUIRED = ("iss", "aud", "sub", "iat", "nbf", "exp")
_SKIP_CLAIM_CHECKS = {
    "verify_signature": True,
    "verify_exp": False,
    "verify_nbf": False,
    "verify_iat": False,
    "verify_aud": False,
    "verify_iss": False,
    "verify_sub": False,
    "verify_jti": False,
}


class _Rejected(Exception):
    pass


class AssertionVerifier:
    """Checks ``X-Menshen-Assertion`` tokens against a JWKS for one issuer and audience."""

    def __init__(
        self,
        jwks_provider: Callable[[], Mapping[str, Any]],
        issuer: str,
        audience: str,
        clock: Clock,
        leeway: timedelta = timedelta(seconds=30),
    ) -> None:
        self._jwks = jwks_provider
        self._issuer = issuer
        self._audience = audience
        self._clock = clock
        self._leeway = leeway.total_seconds()
        self._keys: dict[tuple[str, str, str], ec.EllipticCurvePublicKey] = {}

    def verify(self, token: str) -> dict[str, Any]:
        """The token's claims if it is valid now; ``AuthenticationFailed`` otherwise."""
        try:
            return self._verify(token)
        except (_Rejected, jwt.PyJWTError, InvalidInput, ValueError, TypeError) as error:
            _log.debug("assertion rejected: %s", error)
            raise AuthenticationFailed() from None

    def _verify(self, token: str) -> dict[str, Any]:
        header = jwt.get_unverified_header(token)
        if header.get("alg") != ALGORITHM:
            raise _Rejected(f"algorithm {header.get('alg')!r} is not accepted")
        if "crit" in header:
            raise _Rejected("critical header parameters are not supported")
        kid = header.get("kid")
        if not isinstance(kid, str):
            raise _Rejected("no kid")
        key = self._key_for(kid)
        claims: dict[str, Any] = jwt.decode(
            token,
            key,
            algorithms=[ALGORITHM],
            options=_SKIP_CLAIM_CHECKS,  # type: ignore[arg-type]
        )
        self._check_claims(claims)
        return claims

    def _key_for(self, kid: str) -> ec.EllipticCurvePublicKey:
        keys = self._jwks().get("keys")
        if not isinstance(keys, list):
            raise _Rejected("JWKS has no key list")
        matches = [jwk for jwk in keys if isinstance(jwk, dict) and jwk.get("kid") == kid]
        if len(matches) != 1:
            raise _Rejected(f"kid {kid!r} is unknown or ambiguous")
        jwk = matches[0]
        cache_key = (kid, str(jwk.get("x")), str(jwk.get("y")))
        key = self._keys.get(cache_key)
        if key is None:
            key = public_key_from_jwk(jwk)
            if len(self._keys) > 64:
                self._keys.clear()
            self._keys[cache_key] = key
        return key

    def _check_claims(self, claims: dict[str, Any]) -> None:
        for name in _REQUIRED:
            if name not in claims:
                raise _Rejected(f"claim {name} is missing")
        if claims["iss"] != self._issuer:
            raise _Rejected("wrong issuer")
        audience = claims["aud"]
        if isinstance(audience, str):
            audience_ok = audience == self._audience
        elif isinstance(audience, list):
            audience_ok = self._audience in audience and all(isinstance(a, str) for a in audience)
        else:
            audience_ok = False
        if not audience_ok:
            raise _Rejected("wrong audience")
        if not isinstance(claims["sub"], str) or not claims["sub"]:
            raise _Rejected("sub must be a non-empty string")
        now = self._clock.now().timestamp()
        exp, nbf, iat = (_number(claims, name) for name in ("exp", "nbf", "iat"))
        if now >= exp + self._leeway:
            raise _Rejected("expired")
        if nbf > now + self._leeway:
            raise _Rejected("not yet valid")
        if iat > now + self._leeway:
            raise _Rejected("issued in the future")


def _number(claims: Mapping[str, Any], name: str) -> float:
    value = claims[name]
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise _Rejected(f"claim {name} is not a number")
    return float(value)
