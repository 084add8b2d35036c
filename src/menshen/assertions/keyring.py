"""The tenant's assertion signing keys: ES256 (RFC 7518 §3.4) on P-256, sealed at rest.

One key is active (it signs); rotated keys are retired: they sign nothing more but stay
published in the JWKS (RFC 7517 §5) until every token they signed has expired, so upstreams
never see a valid assertion they cannot verify. Pruning removes them; one that signed a
compliance report keeps its public half in the store for ``menshen report verify`` (see
``menshen.store.keys``) and is no longer published here. The private half is stored as
PKCS #8 sealed with the ``SecretBox`` and bound to its tenant and ``kid``; the ``kid`` is the
RFC 7638 thumbprint of the public key.

Keys are held in memory: signing and serving the JWKS touch no store. ``reload()`` refreshes
them (other replicas call it after a rotation, within ``skew``).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from menshen.clock import Clock
from menshen.crypto import SecretBox
from menshen.errors import ConfigError, InvalidInput
from menshen.jwk import public_jwk
from menshen.store.api import KeyRepository
from menshen.store.keys import is_public_only
from menshen.store.records import SigningKeyRecord

_PUBLIC_MEMBERS = ("kty", "crv", "x", "y", "kid", "use", "alg")


class TenantKeys(Protocol):
    """The part of a ``TenantStore`` the keyring needs."""

    @property
    def tenant_id(self) -> str: ...

    @property
    def keys(self) -> KeyRepository: ...


@dataclass(frozen=True, slots=True)
class SigningKey:
    """The active key: what the minter signs with."""

    kid: str
    private_key: ec.EllipticCurvePrivateKey
    created_at: datetime


@dataclass(frozen=True, slots=True)
class _Loaded:
    active: SigningKey | None
    records: tuple[SigningKeyRecord, ...]
    jwks: Mapping[str, Any]
    jwks_json: bytes


class Keyring:
    """Create, rotate, prune and publish one tenant's assertion signing keys."""

    def __init__(
        self,
        tenant_store: TenantKeys,
        box: SecretBox,
        clock: Clock,
        token_lifetime: timedelta = timedelta(minutes=5),
        *,
        skew: timedelta = timedelta(seconds=60),
    ) -> None:
        if token_lifetime <= timedelta(0) or skew < timedelta(0):
            raise ConfigError("token lifetime must be positive and skew not negative")
        self._store = tenant_store
        self._box = box
        self._clock = clock
        self.token_lifetime = token_lifetime
        self.skew = skew
        self._loaded = _Loaded(None, (), {"keys": []}, b'{"keys":[]}')

    @property
    def tenant_id(self) -> str:
        return self._store.tenant_id

    def reload(self) -> None:
        """Read the keys from the store and open the active one."""
        # a key kept only to verify old compliance reports is no assertion key any more
        records = tuple(r for r in self._store.keys.list() if not is_public_only(r))
        active_record: SigningKeyRecord | None = None
        for record in records:
            if record.retired_at is None:
                active_record = record  # the newest active key wins (list is oldest first)
        active = self._open(active_record) if active_record is not None else None
        keys = [_public_only(record.public_jwk) for record in records]
        jwks = {"keys": keys}
        encoded = json.dumps(jwks, separators=(",", ":"), sort_keys=True).encode("ascii")
        self._loaded = _Loaded(active, records, jwks, encoded)

    def ensure_key(self) -> SigningKey:
        """Load the keys, creating the first one if the tenant has no active key."""
        self.reload()
        active = self._loaded.active
        if active is None:
            self._add_new_key()
            self.reload()
            active = self.active_signing_key()
        return active

    def rotate(self) -> SigningKey:
        """Make a new active key and retire the previous ones (they stay published)."""
        self.reload()
        previous = [r.kid for r in self._loaded.records if r.retired_at is None]
        new_kid = self._add_new_key()
        now = self._clock.now()
        for kid in previous:
            self._store.keys.retire(kid, now)
        self.reload()
        active = self.active_signing_key()
        if active.kid != new_kid:
            raise ConfigError("another writer rotated the keys at the same time; retry")
        return active

    def prune(self) -> list[str]:
        """Delete retired keys whose last token has expired (lifetime + skew); returns kids."""
        self.reload()
        cutoff = self._clock.now() - self.token_lifetime - self.skew
        pruned = [
            r.kid
            for r in self._loaded.records
            if r.retired_at is not None and r.retired_at <= cutoff
        ]
        for kid in pruned:
            self._store.keys.delete(kid)
        if pruned:
            self.reload()
        return pruned

    def active_signing_key(self) -> SigningKey:
        """The key that signs now; ``ConfigError`` if none is loaded (fail closed)."""
        active = self._loaded.active
        if active is None:
            raise ConfigError("no active assertion signing key; call ensure_key() first")
        return active

    def jwks(self) -> dict[str, Any]:
        """The published key set: every key not yet pruned (a fresh copy)."""
        decoded: dict[str, Any] = json.loads(self._loaded.jwks_json)
        return decoded

    def jwks_json(self) -> bytes:
        """The published key set, encoded once per reload (for the JWKS endpoint)."""
        return self._loaded.jwks_json

    def published_kids(self) -> Sequence[str]:
        return [record.kid for record in self._loaded.records]

    def _add_new_key(self) -> str:
        private_key = ec.generate_private_key(ec.SECP256R1())
        jwk = public_jwk(private_key.public_key())
        kid = jwk["kid"]
        pkcs8 = private_key.private_bytes(
            serialization.Encoding.DER,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        record = SigningKeyRecord(
            tenant_id=self.tenant_id,
            kid=kid,
            private_key_sealed=self._box.seal(pkcs8, _binding(self.tenant_id, kid)),
            public_jwk=dict(jwk),
            created_at=self._clock.now(),
            retired_at=None,
        )
        self._store.keys.add(record)
        return kid

    def _open(self, record: SigningKeyRecord) -> SigningKey:
        try:
            pkcs8 = self._box.open(
                record.private_key_sealed, _binding(record.tenant_id, record.kid)
            )
        except InvalidInput:
            raise ConfigError(
                f"signing key {record.kid} cannot be opened (wrong master key or altered row)"
            ) from None
        private_key = serialization.load_der_private_key(pkcs8, password=None)
        if not isinstance(private_key, ec.EllipticCurvePrivateKey) or not isinstance(
            private_key.curve, ec.SECP256R1
        ):
            raise ConfigError(f"signing key {record.kid} is not a P-256 key")
        if public_jwk(private_key.public_key())["kid"] != record.kid:
            raise ConfigError(f"signing key {record.kid} does not match its kid")
        return SigningKey(kid=record.kid, private_key=private_key, created_at=record.created_at)


def _binding(tenant_id: str, kid: str) -> bytes:
    return f"menshen/assertion-key/v1\x00{tenant_id}\x00{kid}".encode()


def _public_only(jwk: Mapping[str, Any]) -> dict[str, Any]:
    return {name: jwk[name] for name in _PUBLIC_MEMBERS if name in jwk}
