"""The tenant revision moves with every change the gateway's directory depends on."""

from __future__ import annotations

from datetime import UTC, datetime

from menshen.store.records import ConfigObjectRecord, GroupRecord, TenantRecord, UserRecord
from menshen.store.sql import SqlStore

NOW = datetime(2026, 3, 1, tzinfo=UTC)


def test_directory_changes_bump_only_their_tenant(store: SqlStore) -> None:
    """Users, groups, memberships and config bump t1's revision; t2 stays where it was."""
    for tid in ("t1", "t2"):
        store.add_tenant(TenantRecord(tid, tid, NOW))
    t1 = store.tenant("t1")
    seen = [store.revisions()["t1"]]
    t1.users.add(UserRecord("t1", "u1", "ann", "a@x.example", "Ann", None, False, NOW, NOW))
    seen.append(store.revisions()["t1"])
    t1.groups.add(GroupRecord("t1", "g1", "ops", "", False))
    seen.append(store.revisions()["t1"])
    t1.groups.add_member("g1", "u1")
    seen.append(store.revisions()["t1"])
    t1.config.put(ConfigObjectRecord("t1", "App", "wiki", {"a": 1}, NOW))
    seen.append(store.revisions()["t1"])
    assert seen == sorted(set(seen)), seen
    assert store.revisions()["t2"] == 0


def test_hot_path_writes_do_not_bump(store: SqlStore) -> None:
    """Session last-seen updates and audit appends leave the revision alone."""
    store.add_tenant(TenantRecord("t1", "t1", NOW))
    t1 = store.tenant("t1")
    t1.users.add(UserRecord("t1", "u1", "ann", "a@x.example", "Ann", None, False, NOW, NOW))
    before = store.revisions()["t1"]
    t1.sessions.touch_many({"nope": NOW})
    t1.throttle.clear("user:u1")
    assert store.revisions()["t1"] == before
