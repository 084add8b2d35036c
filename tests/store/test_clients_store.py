"""The machine-client repository on SQLite and PostgreSQL."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from menshen.errors import Conflict, NotFound
from menshen.store.clients import ClientCredentialRecord, MachineClientRecord
from menshen.store.records import TenantRecord
from menshen.store.sql import SqlStore, SqlTenantStore
from tests.store.factories import T0


def _client(name: str = "bank-a", **changes: object) -> MachineClientRecord:
    base = MachineClientRecord(
        tenant_id="t1",
        name=name,
        description="Partner bank A",
        owner="payments team",
        scopes="reports:read",
        created_at=T0,
        created_by="cli",
    )
    return replace(base, **changes)  # type: ignore[arg-type]


def _credential(
    id: str = "c1", client: str = "bank-a", **changes: object
) -> ClientCredentialRecord:
    base = ClientCredentialRecord(
        tenant_id="t1",
        id=id,
        client_name=client,
        kind="secret",
        secret_hash="ab" * 32,
        created_at=T0,
        expires_at=T0 + timedelta(days=90),
    )
    return replace(base, **changes)  # type: ignore[arg-type]


def test_clients_and_credentials_round_trip(tenant_store: SqlTenantStore) -> None:
    """Every field comes back as written; lists are by name and oldest first."""
    repo = tenant_store.machine_clients
    first = _client(expires_at=T0 + timedelta(days=365))
    repo.add(first)
    repo.add(_client("bank-0"))
    cred = _credential()
    later = _credential("c2", kind="api_key", created_at=T0 + timedelta(seconds=1))
    repo.add_credential(cred)
    repo.add_credential(later)
    assert repo.get("bank-a") == first
    assert [c.name for c in repo.list()] == ["bank-0", "bank-a"]
    assert repo.credentials("bank-a") == [cred, later]
    assert repo.credential("c2") == later
    assert repo.credentials("bank-0") == []
    assert repo.get("nope") is None
    assert repo.credential("nope") is None


def test_duplicates_conflict_and_orphans_are_refused(tenant_store: SqlTenantStore) -> None:
    """A name is taken once; a credential needs its client."""
    repo = tenant_store.machine_clients
    repo.add(_client())
    with pytest.raises(Conflict):
        repo.add(_client())
    with pytest.raises(NotFound):
        repo.add_credential(_credential(client="ghost"))


def test_suspend_and_resume_are_compare_and_set(tenant_store: SqlTenantStore) -> None:
    """Suspend once (tokens_not_before set); resume once; tokens_not_before stays."""
    repo = tenant_store.machine_clients
    repo.add(_client())
    at = T0 + timedelta(hours=1)
    assert repo.suspend("bank-a", at=at, by="soc", reason="leak") is True
    assert repo.suspend("bank-a", at=at, by="soc", reason="again") is False
    record = repo.get("bank-a")
    assert record is not None
    assert (record.suspended_at, record.suspended_by, record.suspend_reason) == (at, "soc", "leak")
    assert repo.resume("bank-a") is True
    assert repo.resume("bank-a") is False
    record = repo.get("bank-a")
    assert record is not None
    assert record.suspended_at is None
    assert record.tokens_not_before == at
    assert repo.suspend("ghost", at=at, by="soc", reason="x") is False


def test_rotation_shortens_only_the_other_live_credentials(tenant_store: SqlTenantStore) -> None:
    """expire_credentials caps the other live ones of the kind, never lengthens, keeps ``keep``."""
    repo = tenant_store.machine_clients
    repo.add(_client())
    repo.add_credential(_credential("old"))
    repo.add_credential(_credential("soon", expires_at=T0 + timedelta(minutes=5)))
    repo.add_credential(_credential("key", kind="api_key"))
    repo.add_credential(_credential("new"))
    cap = T0 + timedelta(hours=24)
    assert repo.expire_credentials("bank-a", kind="secret", by=cap, keep="new") == 1
    by_id = {c.id: c for c in repo.credentials("bank-a")}
    assert by_id["old"].expires_at == cap
    assert by_id["soon"].expires_at == T0 + timedelta(minutes=5)
    assert by_id["new"].expires_at == T0 + timedelta(days=90)
    assert by_id["key"].expires_at == T0 + timedelta(days=90)


def test_revoke_credential_once_and_delete_takes_credentials(tenant_store: SqlTenantStore) -> None:
    """Revocation is a row state; deleting a client removes its credentials too."""
    repo = tenant_store.machine_clients
    repo.add(_client())
    repo.add_credential(_credential())
    assert repo.revoke_credential("c1", T0) is True
    assert repo.revoke_credential("c1", T0) is False
    found = repo.credential("c1")
    assert found is not None
    assert found.revoked_at == T0
    assert repo.delete("bank-a") is True
    assert repo.delete("bank-a") is False
    assert repo.credentials() == []


def test_touch_many_moves_last_use_forward_only(tenant_store: SqlTenantStore) -> None:
    """Last use is kept as the latest time seen, and does not bump the tenant revision."""
    repo = tenant_store.machine_clients
    repo.add(_client())
    repo.add(_client("bank-b"))
    later = T0 + timedelta(hours=2)
    repo.touch_many({"bank-a": later, "bank-b": T0})
    repo.touch_many({"bank-a": T0 + timedelta(hours=1), "ghost": later})
    a, b = repo.get("bank-a"), repo.get("bank-b")
    assert a is not None
    assert a.last_used_at == later
    assert b is not None
    assert b.last_used_at == T0


def test_changes_bump_the_revision_but_last_use_does_not(store: SqlStore) -> None:
    """Gateways reload on a suspension; bookkeeping writes do not make them reload."""
    store.add_tenant(TenantRecord(id="t1", name="T", created_at=T0))
    repo = store.tenant("t1").machine_clients
    repo.add(_client())
    before = store.revisions()["t1"]
    repo.touch_many({"bank-a": T0 + timedelta(hours=1)})
    assert store.revisions()["t1"] == before
    repo.suspend("bank-a", at=T0, by="soc", reason="x")
    assert store.revisions()["t1"] == before + 1


def test_tenants_never_see_each_others_clients(store: SqlStore) -> None:
    """The same name in two tenants is two clients; reads and writes stay in their tenant."""
    for tenant_id in ("t1", "t2"):
        store.add_tenant(TenantRecord(id=tenant_id, name=tenant_id, created_at=T0))
    one, two = store.tenant("t1").machine_clients, store.tenant("t2").machine_clients
    one.add(_client())
    two.add(_client(tenant_id="t2", description="other firm"))
    one.add_credential(_credential())
    assert two.credentials() == []
    assert two.credential("c1") is None
    assert two.revoke_credential("c1", T0) is False
    assert two.suspend("bank-a", at=T0, by="x", reason="y") is True
    record = one.get("bank-a")
    assert record is not None
    assert record.suspended_at is None


def test_a_client_and_its_first_credential_are_added_together(
    tenant_store: SqlTenantStore,
) -> None:
    """If the credential cannot be stored, neither is the client."""
    repo = tenant_store.machine_clients
    repo.add(_client("bank-z"), _credential("taken", client="bank-z"))
    with pytest.raises(Conflict):
        repo.add(_client(), _credential("taken"))
    assert repo.get("bank-a") is None
    assert [c.id for c in repo.credentials()] == ["taken"]
