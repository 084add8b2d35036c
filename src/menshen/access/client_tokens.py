"""Access tokens of machine clients: JWTs (RFC 9068 profile, RFC 7519, ES256 per RFC 7518).

Issued by the token endpoint (client credentials grant) and signed with the tenant's
assertion keys (``menshen.assertions.keyring``), so a replica that can mint assertions can
verify tokens, and key rotation covers both. The header carries ``typ: at+jwt`` and the
``kid``; the claims are ``iss``, ``aud`` (this tenant's gateway, ``<issuer>:gateway:<tenant>``),
``sub`` (``client:<name>``), ``client_id``, ``cid`` (the credential used), ``scope``, ``iat``,
``nbf``, ``exp`` and a random ``jti``.

Verification fails closed (RFC 8725 §3): only ES256, whatever the header claims (``none``
and HMAC keyed with the public key are refused before any key is used); ``typ`` must be
``at+jwt``, so an identity assertion an upstream received cannot be replayed as a token;
the key must be one of *this* tenant's published keys; ``iss``, ``aud``, ``sub`` and the
times must match. The signature check is cached per token (bounded), the time and the
client's live state are checked on every request by the caller.
"""

from __future__ import annotations

import math
import secrets
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import ec

from menshen.assertions.keyring import Keyring, SigningKey
from menshen.clock import Clock
from menshen.errors import ConfigError, InvalidInput
from menshen.jwk import public_key_from_jwk

__all__ = ["TOKEN_TYPE", "AccessTokens", "TokenClaims", "gateway_audience"]

TOKEN_TYPE = "at+jwt"  # noqa: S105 (RFC 9068 media type)
ALGORITHM = "ES256"
MAX_TOKEN = 4096
SUBJECT_PREFIX = "client:"
_NO_CLAIM_CHECKS = {
    "verify_signature": True,
    "verify_exp": False,
    "verify_nbf": False,
    "verify_iat": False,
    "verify_aud": False,
    "verify_iss": False,
    "verify_sub": False,
    "verify_jti": False,
}


def gateway_audience(issuer: str, tenant_id: str) -> str:
    """The ``aud`` of tokens for one tenant's gateway (RFC 7519 §4.1.3)."""
    return f"{issuer}:gateway:{tenant_id}"


@dataclass(frozen=True, slots=True)
class TokenClaims:
    client_name: str
    credential_id: str
    scopes: frozenset[str]
    issued_at: datetime
    not_before: float
    expires: float
    kid: str = ""


class _Rejected(Exception):
    pass


class _Keys:
    """A keyring's published keys by ``kid``, rebuilt when the keyring reloads."""

    __slots__ = ("keys", "source")

    def __init__(self, source: bytes, keys: dict[str, ec.EllipticCurvePublicKey]) -> None:
        self.source = source
        self.keys = keys


class AccessTokens:
    """Mint and verify machine-client access tokens for every tenant of one gateway."""

    def __init__(
        self,
        issuer: str,
        clock: Clock,
        *,
        lifetime: timedelta = timedelta(minutes=5),
        leeway: timedelta = timedelta(seconds=10),
        cache_size: int = 10_000,
        jti: Callable[[], str] = lambda: secrets.token_urlsafe(16),
    ) -> None:
        if lifetime <= timedelta(0) or leeway < timedelta(0) or cache_size < 1:
            raise ConfigError("token lifetime and cache size must be positive")
        self._issuer = issuer
        self._clock = clock
        self.lifetime = lifetime
        self._leeway = leeway.total_seconds()
        self._jti = jti
        self._cache_size = cache_size
        self._verified: OrderedDict[tuple[str, str], TokenClaims] = OrderedDict()
        self._keys: dict[str, _Keys] = {}

    # -- minting ------------------------------------------------------------------------
    def mint(
        self,
        key: SigningKey,
        tenant_id: str,
        client_name: str,
        credential_id: str,
        scopes: frozenset[str],
        lifetime: timedelta | None = None,
    ) -> tuple[str, int]:
        """A signed token and its lifetime in seconds."""
        seconds = int((lifetime or self.lifetime).total_seconds())
        issued = int(self._clock.now().timestamp())
        claims: dict[str, object] = {
            "iss": self._issuer,
            "aud": gateway_audience(self._issuer, tenant_id),
            "sub": SUBJECT_PREFIX + client_name,
            "client_id": client_name,
            "cid": credential_id,
            "scope": " ".join(sorted(scopes)),
            "iat": issued,
            "nbf": issued,
            "exp": issued + seconds,
            "jti": self._jti(),
        }
        token = jwt.encode(
            claims,
            key.private_key,
            algorithm=ALGORITHM,
            headers={"kid": key.kid, "typ": TOKEN_TYPE},
        )
        return token, seconds

    # -- verification -------------------------------------------------------------------
    def verify(self, token: str, tenant_id: str, keyring: Keyring | None) -> TokenClaims | str:
        """The token's claims if valid for ``tenant_id`` now, else the precise reason (for
        the audit log; the caller answers every failure alike)."""
        try:
            claims = self._verified_claims(token, tenant_id, keyring)
        except _Rejected as error:
            return str(error)
        except (jwt.PyJWTError, InvalidInput, ValueError, TypeError) as error:
            return f"malformed token ({type(error).__name__})"
        now = self._clock.now().timestamp()
        if now >= claims.expires + self._leeway:
            return "token expired"
        if claims.not_before > now + self._leeway:
            return "token not yet valid"
        return claims

    def _verified_claims(self, token: str, tenant_id: str, keyring: Keyring | None) -> TokenClaims:
        keys = self._keys_of(tenant_id, keyring)
        cache_key = (tenant_id, token)
        cached = self._verified.get(cache_key)
        if cached is not None:
            # Performance: a token seen before skips parsing and the signature check (most
            # of a machine request's cost); its key must still be published.
            if cached.kid not in keys:
                raise _Rejected("signed by a key this tenant does not publish")
            self._verified.move_to_end(cache_key)
            return cached
        if len(token) > MAX_TOKEN or token.count(".") != 2:
            raise _Rejected("not a JWT")
        header = jwt.get_unverified_header(token)
        if header.get("alg") != ALGORITHM:
            raise _Rejected(f"algorithm {str(header.get('alg'))[:16]!r} refused")
        if header.get("typ") != TOKEN_TYPE:
            raise _Rejected("not an access token (typ)")
        if "crit" in header:
            raise _Rejected("critical header parameters are not supported")
        kid = header.get("kid")
        key = keys.get(kid) if isinstance(kid, str) else None
        if key is None or not isinstance(kid, str):
            raise _Rejected("signed by a key this tenant does not publish")
        try:
            decoded: dict[str, Any] = jwt.decode(
                token,
                key,
                algorithms=[ALGORITHM],
                options=_NO_CLAIM_CHECKS,  # type: ignore[arg-type]
            )
        except jwt.InvalidSignatureError:
            raise _Rejected("bad signature") from None
        claims = self._check_claims(decoded, tenant_id, kid)
        self._verified[cache_key] = claims
        if len(self._verified) > self._cache_size:
            self._verified.popitem(last=False)
        return claims

    def _check_claims(self, claims: Mapping[str, Any], tenant_id: str, kid: str) -> TokenClaims:
        if claims.get("iss") != self._issuer:
            raise _Rejected("wrong issuer")
        if claims.get("aud") != gateway_audience(self._issuer, tenant_id):
            raise _Rejected("wrong audience")
        client = claims.get("client_id")
        credential = claims.get("cid")
        if not isinstance(client, str) or not isinstance(credential, str) or not client:
            raise _Rejected("client_id or cid missing")
        if claims.get("sub") != SUBJECT_PREFIX + client:
            raise _Rejected("sub does not name the client")
        scope = claims.get("scope", "")
        if not isinstance(scope, str):
            raise _Rejected("scope is not a string")
        issued, not_before, expires = (_number(claims, n) for n in ("iat", "nbf", "exp"))
        if expires - issued > self.lifetime.total_seconds() + self._leeway:
            raise _Rejected("lifetime longer than this gateway issues")
        return TokenClaims(
            client_name=client,
            credential_id=credential,
            scopes=frozenset(scope.split()),
            issued_at=datetime.fromtimestamp(issued, UTC),
            not_before=not_before,
            expires=expires,
            kid=kid,
        )

    def _keys_of(
        self, tenant_id: str, keyring: Keyring | None
    ) -> dict[str, ec.EllipticCurvePublicKey]:
        if keyring is None or keyring.tenant_id != tenant_id:
            return {}
        source = keyring.jwks_json()
        loaded = self._keys.get(tenant_id)
        if loaded is None or loaded.source is not source:
            keys = {
                str(jwk["kid"]): public_key_from_jwk(jwk)
                for jwk in keyring.jwks().get("keys", [])
                if isinstance(jwk, dict) and isinstance(jwk.get("kid"), str)
            }
            loaded = self._keys[tenant_id] = _Keys(source, keys)
        return loaded.keys


def _number(claims: Mapping[str, Any], name: str) -> float:
    value = claims.get(name)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise _Rejected(f"claim {name} is missing or not a number")
    return float(value)
