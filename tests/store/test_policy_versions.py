"""Policy versions and the shadow candidate: numbered per tenant, scoped, revision-bumping."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta

import pytest

from menshen.errors import NotFound
from menshen.store.policy_versions import PolicyCandidateRecord
from menshen.store.records import TenantRecord
from menshen.store.sql import SqlStore, SqlTenantStore

NOW = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)


def _add(tenant: SqlTenantStore, document: str, minutes: int = 0) -> int:
    record = tenant.policy_versions.add(
        created_at=NOW + timedelta(minutes=minutes),
        author="cli:mei",
        source="firm.yaml",
        message=f"change {minutes}",
        document=document,
    )
    return record.version


def test_versions_count_from_one_per_tenant(store: SqlStore) -> None:
    """Each tenant's versions are 1, 2, 3...; another tenant's history starts at 1."""
    for tid in ("t1", "t2"):
        store.add_tenant(TenantRecord(tid, tid, NOW))
    t1, t2 = store.tenant("t1"), store.tenant("t2")
    assert [_add(t1, "a: 1\n"), _add(t1, "a: 2\n", 1), _add(t1, "a: 3\n", 2)] == [1, 2, 3]
    assert _add(t2, "b: 1\n") == 1
    assert [record.version for record in t1.policy_versions.list()] == [1, 2, 3]
    assert [record.document for record in t2.policy_versions.list()] == ["b: 1\n"]
    assert t2.policy_versions.get(2) is None


def test_a_version_keeps_author_time_source_message_and_hash(tenant_store: SqlTenantStore) -> None:
    """Everything given is read back, with the SHA-256 of the document."""
    _add(tenant_store, "kind: Policy\n", 5)
    record = tenant_store.policy_versions.get(1)
    assert record is not None
    assert record.created_at == NOW + timedelta(minutes=5)
    assert (record.author, record.source, record.message) == ("cli:mei", "firm.yaml", "change 5")
    assert record.sha256 == hashlib.sha256(b"kind: Policy\n").hexdigest()
    assert tenant_store.policy_versions.latest() == record


def test_latest_is_none_before_the_first_version(tenant_store: SqlTenantStore) -> None:
    """A tenant with no history has no latest version and an empty list."""
    assert tenant_store.policy_versions.latest() is None
    assert list(tenant_store.policy_versions.list()) == []


def test_version_of_an_unknown_tenant_is_refused(store: SqlStore) -> None:
    """Recording for a tenant that does not exist raises NotFound."""
    with pytest.raises(NotFound):
        _add(store.tenant("ghost"), "x: 1\n")


def test_versions_recorded_in_a_failed_transaction_vanish(tenant_store: SqlTenantStore) -> None:
    """A version recorded inside a transaction that fails is rolled back with it."""

    def record_then_fail() -> None:
        with tenant_store.transaction():
            _add(tenant_store, "x: 1\n")
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        record_then_fail()
    assert tenant_store.policy_versions.latest() is None
    assert _add(tenant_store, "x: 1\n") == 1


def test_candidate_put_replace_and_delete_bump_the_revision(store: SqlStore) -> None:
    """Storing, replacing and removing the candidate each move only this tenant's revision."""
    for tid in ("t1", "t2"):
        store.add_tenant(TenantRecord(tid, tid, NOW))
    t1 = store.tenant("t1")
    seen = [store.revisions()["t1"]]
    first = PolicyCandidateRecord("t1", NOW, "cli:mei", "a.yaml", "a: 1\n", "00" * 32)
    t1.policy_candidate.put(first)
    seen.append(store.revisions()["t1"])
    assert t1.policy_candidate.get() == first
    second = PolicyCandidateRecord("t1", NOW, "cli:mei", "b.yaml", "b: 1\n", "11" * 32)
    t1.policy_candidate.put(second)
    seen.append(store.revisions()["t1"])
    assert t1.policy_candidate.get() == second
    assert store.tenant("t2").policy_candidate.get() is None
    assert t1.policy_candidate.delete() is True
    seen.append(store.revisions()["t1"])
    assert t1.policy_candidate.get() is None
    assert t1.policy_candidate.delete() is False
    assert seen == sorted(set(seen)), seen
    assert store.revisions()["t2"] == 0
