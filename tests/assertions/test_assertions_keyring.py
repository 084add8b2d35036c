"""The signing keyring on the real store (SQLite and PostgreSQL)."""

from __future__ import annotations

from dataclasses import replace

import pytest
from cryptography.hazmat.primitives import serialization

from menshen.assertions.keyring import Keyring
from menshen.crypto import SecretBox
from menshen.errors import ConfigError
from menshen.jwk import thumbprint
from menshen.store.sql import SqlTenantStore
from menshen.testing import FixedClock

from .conftest import MASTER_KEY, T0, MemoryTenantKeys


def _ring(tenant_store: SqlTenantStore, clock: FixedClock) -> Keyring:
    return Keyring(tenant_store, SecretBox(MASTER_KEY), clock)


def test_first_start_creates_one_key(tenant_store: SqlTenantStore, clock: FixedClock) -> None:
    """ensure_key makes a key once; a second start (or replica) loads the same one."""
    first = _ring(tenant_store, clock).ensure_key()
    again = _ring(tenant_store, clock).ensure_key()
    assert again.kid == first.kid
    assert len(tenant_store.keys.list()) == 1


def test_key_is_stored_sealed_with_kid_as_thumbprint(
    tenant_store: SqlTenantStore, clock: FixedClock
) -> None:
    """Only the sealed private key and the public JWK reach the store."""
    key = _ring(tenant_store, clock).ensure_key()
    (record,) = tenant_store.keys.list()
    pkcs8 = key.private_key.private_bytes(
        serialization.Encoding.DER,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    assert pkcs8 not in record.private_key_sealed
    assert "d" not in record.public_jwk
    assert record.kid == thumbprint(record.public_jwk) == key.kid
    assert record.created_at == T0


def test_wrong_master_key_fails_closed(tenant_store: SqlTenantStore, clock: FixedClock) -> None:
    """A keyring that cannot open the active key refuses to start."""
    _ring(tenant_store, clock).ensure_key()
    other = Keyring(tenant_store, SecretBox(bytes(32)), clock)
    with pytest.raises(ConfigError):
        other.ensure_key()


def test_a_key_row_moved_to_another_tenant_does_not_open(clock: FixedClock) -> None:
    """The sealed key is bound to its tenant and kid."""
    box = SecretBox(MASTER_KEY)
    source = MemoryTenantKeys("t1")
    Keyring(source, box, clock).ensure_key()
    thief = MemoryTenantKeys("t2")
    thief.keys.rows = [replace(row, tenant_id="t2") for row in source.keys.rows]
    with pytest.raises(ConfigError):
        Keyring(thief, box, clock).ensure_key()


def test_no_key_loaded_means_no_signing(tenant_store: SqlTenantStore, clock: FixedClock) -> None:
    """Before ensure_key there is nothing to sign with (fail closed)."""
    with pytest.raises(ConfigError):
        _ring(tenant_store, clock).active_signing_key()


def test_rotation_publishes_old_and_new_keys(
    tenant_store: SqlTenantStore, clock: FixedClock
) -> None:
    """After rotate the new key signs; the old one is retired but still in the JWKS."""
    ring = _ring(tenant_store, clock)
    old = ring.ensure_key()
    clock.advance(60)
    new = ring.rotate()
    assert new.kid != old.kid
    assert ring.active_signing_key().kid == new.kid
    assert sorted(k["kid"] for k in ring.jwks()["keys"]) == sorted([old.kid, new.kid])
    records = {r.kid: r for r in tenant_store.keys.list()}
    assert records[old.kid].retired_at == clock.now()
    assert records[new.kid].retired_at is None
    assert _ring(tenant_store, clock).ensure_key().kid == new.kid


def test_prune_waits_for_the_last_token_of_a_retired_key(
    tenant_store: SqlTenantStore, clock: FixedClock
) -> None:
    """A retired key stays published for token lifetime + skew, then goes."""
    ring = _ring(tenant_store, clock)
    old = ring.ensure_key()
    new = ring.rotate()
    clock.advance(ring.token_lifetime.total_seconds() + ring.skew.total_seconds() - 1)
    assert ring.prune() == []
    assert old.kid in {k["kid"] for k in ring.jwks()["keys"]}
    clock.advance(1)
    assert ring.prune() == [old.kid]
    assert [k["kid"] for k in ring.jwks()["keys"]] == [new.kid]
    assert [r.kid for r in tenant_store.keys.list()] == [new.kid]


def test_prune_never_removes_the_active_key(
    tenant_store: SqlTenantStore, clock: FixedClock
) -> None:
    """However old, the signing key is kept."""
    ring = _ring(tenant_store, clock)
    key = ring.ensure_key()
    clock.advance(86_400 * 365)
    assert ring.prune() == []
    assert ring.active_signing_key().kid == key.kid


def test_jwks_has_only_public_members(tenant_store: SqlTenantStore, clock: FixedClock) -> None:
    """The published set carries EC public keys for ES256 signatures, nothing private."""
    ring = _ring(tenant_store, clock)
    ring.ensure_key()
    (jwk,) = ring.jwks()["keys"]
    assert set(jwk) == {"kty", "crv", "x", "y", "kid", "use", "alg"}
    assert ring.jwks_json().startswith(b'{"keys":[{')
