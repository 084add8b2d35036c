"""Machine clients: credential formats, keyed hashes, the service and the roster."""

from __future__ import annotations

from datetime import timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from menshen.errors import ConfigError, Conflict, InvalidInput, NotFound
from menshen.identity.clients import (
    API_KEY,
    Accepted,
    MachineClientService,
    Refused,
    SecretHasher,
    load_roster,
)
from menshen.identity.clients.secrets import new_api_key, parse_api_key
from menshen.store.sql import SqlStore, SqlTenantStore
from menshen.testing import FixedClock

HASHER = SecretHasher(b"q" * 32)


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock()


@pytest.fixture
def service(sqlite_store: SqlStore, clock: FixedClock) -> MachineClientService:
    return MachineClientService(sqlite_store.tenant("t1").machine_clients, "t1", HASHER, clock)


def test_the_store_keeps_only_a_keyed_hash(service: MachineClientService) -> None:
    """The secret is not in the row; the hash depends on the key, tenant and credential id."""
    _, issued = service.create("bank-a", by="test")
    record = issued.record
    assert issued.value.startswith("mcs_")
    assert len(issued.value) == 47
    assert issued.value not in record.secret_hash
    assert HASHER.matches(record.secret_hash, "t1", "secret", record.id, issued.value)
    assert not HASHER.matches(record.secret_hash, "t2", "secret", record.id, issued.value)
    other_key = SecretHasher(b"z" * 32)
    assert not other_key.matches(record.secret_hash, "t1", "secret", record.id, issued.value)


def test_short_hash_keys_are_refused() -> None:
    """A key under 256 bits is a configuration error."""
    with pytest.raises(ConfigError):
        SecretHasher(b"short")


def test_api_keys_parse_back_and_garbage_does_not() -> None:
    """mk_<12 hex>_<43 url-safe> only; anything else is None."""
    key = new_api_key()
    assert parse_api_key(str(key)) == key
    for bad in (
        "",
        "mk_",
        "mk_xyz_abc",
        f"mk_{key.key_id}",
        f"mk_{key.key_id.upper()}_{key.secret}",
        f"mk_{key.key_id}_{key.secret}x",
        "x" * 300,
        f"MK_{key.key_id}_{key.secret}",
    ):
        assert parse_api_key(bad) is None


@given(st.text(max_size=80))
def test_parse_api_key_never_raises(text: str) -> None:
    """Any input is either a key or None."""
    found = parse_api_key(text)
    assert found is None or str(found) == text


def test_names_and_scopes_are_checked_before_anything_is_stored(
    service: MachineClientService, sqlite_store: SqlStore
) -> None:
    """Bad names, bad scopes, past expiry: InvalidInput and no row."""
    for name in ("Bank-A", "-bank", "a" * 64, "bank a", ""):
        with pytest.raises(InvalidInput):
            service.create(name, by="test")
    with pytest.raises(InvalidInput):
        service.create("bank-a", by="test", scopes=("bad scope",))
    with pytest.raises(InvalidInput):
        service.create("bank-a", by="test", expires_at=FixedClock().now())
    with pytest.raises(InvalidInput):
        service.create("bank-a", by="test", kind="password")
    with pytest.raises(NotFound):
        service.get("bank-a")
    service.create("bank-a", by="test")
    with pytest.raises(Conflict):
        service.create("bank-a", by="test")


def test_authenticate_secret_gives_a_reason_for_each_failure(
    service: MachineClientService, clock: FixedClock
) -> None:
    """Malformed, unknown client, wrong secret, expired secret: each named for the audit log."""
    _, issued = service.create("bank-a", by="test", credential_lifetime=timedelta(hours=1))
    good = service.authenticate_secret("bank-a", issued.value)
    assert isinstance(good, Accepted)
    assert good.credential_id == issued.record.id
    cases = [
        ("bank-a", "not-a-secret", "malformed client secret"),
        ("Nobody!", issued.value, "unknown client"),
        ("ghost", issued.value, "unknown client"),
        ("bank-a", "mcs_" + "A" * 43, "wrong client secret"),
    ]
    for name, secret, reason in cases:
        refused = service.authenticate_secret(name, secret)
        assert isinstance(refused, Refused)
        assert refused.reason == reason
    clock.advance(3600)
    expired = service.authenticate_secret("bank-a", issued.value)
    assert isinstance(expired, Refused)
    assert expired.reason == "credential expired"


def test_rotation_is_bounded_and_revocation_checks_the_owner(service: MachineClientService) -> None:
    """At most four live credentials of a kind; a credential is revoked through its client."""
    _, first = service.create("bank-a", by="test")
    service.create("bank-b", by="test")
    for _ in range(3):
        service.rotate("bank-a", grace=timedelta(days=1))
    with pytest.raises(InvalidInput):
        service.rotate("bank-a")
    with pytest.raises(NotFound):
        service.revoke_credential("bank-b", first.record.id)
    service.revoke_credential("bank-a", first.record.id)
    with pytest.raises(InvalidInput):
        service.revoke_credential("bank-a", first.record.id)
    service.rotate("bank-a")


def test_roster_checks_api_keys_in_memory(
    service: MachineClientService, sqlite_store: SqlStore, clock: FixedClock
) -> None:
    """A roster built from the store authenticates API keys and applies suspension."""
    service.create("bank-a", by="test")
    key = service.rotate("bank-a", kind=API_KEY)
    repo = sqlite_store.tenant("t1").machine_clients
    roster = load_roster(repo, "t1")
    assert isinstance(roster.api_key(key.value, HASHER, clock.now()), Accepted)
    service.suspend("bank-a", by="soc", reason="x")
    stale = roster.api_key(key.value, HASHER, clock.now())
    assert isinstance(stale, Accepted)  # a snapshot is a snapshot: the next one refuses
    fresh = load_roster(repo, "t1").api_key(key.value, HASHER, clock.now())
    assert isinstance(fresh, Refused)
    assert fresh.reason == "client suspended"


def test_the_service_works_on_both_back_ends(tenant_store: SqlTenantStore) -> None:
    """The service works on any tenant's repository (both back-ends)."""
    service = MachineClientService(tenant_store.machine_clients, "t1", HASHER, FixedClock())
    _, issued = service.create("bank-a", by="test", scopes=("b", "a", "a"))
    assert service.get("bank-a").scopes == "a b"
    assert isinstance(service.authenticate_secret("bank-a", issued.value), Accepted)
