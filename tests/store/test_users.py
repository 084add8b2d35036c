"""Users, groups and memberships on both back-ends."""

from __future__ import annotations

from dataclasses import replace

import pytest

from menshen.errors import Conflict, InvalidInput, NotFound
from menshen.store.sql import SqlTenantStore

from . import factories as f


def test_user_round_trips_by_id_and_username(tenant_store: SqlTenantStore) -> None:
    """A stored user reads back equal by id and by username."""
    alice = f.user(id="u1", username="alice", password_hash=None)
    tenant_store.users.add(alice)
    assert tenant_store.users.get("u1") == alice
    assert tenant_store.users.by_username("alice") == alice
    assert tenant_store.users.get("nobody") is None
    assert tenant_store.users.by_username("nobody") is None


def test_duplicate_username_or_id_is_a_conflict(tenant_store: SqlTenantStore) -> None:
    """A second user with a taken username or id is refused with Conflict."""
    tenant_store.users.add(f.user(id="u1", username="alice"))
    with pytest.raises(Conflict):
        tenant_store.users.add(f.user(id="u2", username="alice"))
    with pytest.raises(Conflict):
        tenant_store.users.add(f.user(id="u1", username="bob"))
    assert [u.id for u in tenant_store.users.list()] == ["u1"]


def test_users_list_in_username_order(tenant_store: SqlTenantStore) -> None:
    """list() returns every user, ordered by username."""
    for uid, name in [("u1", "carol"), ("u2", "alice"), ("u3", "bob")]:
        tenant_store.users.add(f.user(id=uid, username=name))
    assert [u.username for u in tenant_store.users.list()] == ["alice", "bob", "carol"]


def test_user_update_changes_mutable_fields(tenant_store: SqlTenantStore) -> None:
    """update() rewrites the user's fields and keeps its creation time."""
    tenant_store.users.add(f.user(id="u1"))
    changed = f.user(
        id="u1",
        username="alice2",
        email="new@example.test",
        disabled=True,
        password_hash=None,
        updated_at=f.T0.replace(hour=10),
    )
    tenant_store.users.update(changed)
    assert tenant_store.users.get("u1") == changed


def test_user_update_to_taken_username_is_a_conflict(tenant_store: SqlTenantStore) -> None:
    """Renaming a user onto another's username is refused and changes nothing."""
    tenant_store.users.add(f.user(id="u1", username="alice"))
    tenant_store.users.add(f.user(id="u2", username="bob"))
    with pytest.raises(Conflict):
        tenant_store.users.update(f.user(id="u2", username="alice"))
    assert tenant_store.users.by_username("bob") is not None


def test_update_of_missing_user_is_not_found(tenant_store: SqlTenantStore) -> None:
    """update() of a user that does not exist raises NotFound."""
    with pytest.raises(NotFound):
        tenant_store.users.update(f.user(id="ghost"))


def test_record_of_another_tenant_is_invalid_input(tenant_store: SqlTenantStore) -> None:
    """A record whose tenant_id is not the store's tenant is refused before any SQL."""
    with pytest.raises(InvalidInput):
        tenant_store.users.add(f.user(tenant_id="t2"))
    with pytest.raises(InvalidInput):
        tenant_store.groups.add(f.group(tenant_id="t2"))


def test_group_round_trip_update_and_conflicts(tenant_store: SqlTenantStore) -> None:
    """Groups read back by id and name; duplicates conflict; update of a missing one is NotFound."""
    ops = f.group(id="g1", name="ops", description="Operations", mfa_required=True)
    tenant_store.groups.add(ops)
    assert tenant_store.groups.get("g1") == ops
    assert tenant_store.groups.by_name("ops") == ops
    with pytest.raises(Conflict):
        tenant_store.groups.add(f.group(id="g2", name="ops"))
    renamed = replace(ops, name="sre", mfa_required=False)
    tenant_store.groups.update(renamed)
    assert tenant_store.groups.by_name("sre") == renamed
    assert tenant_store.groups.by_name("ops") is None
    with pytest.raises(NotFound):
        tenant_store.groups.update(f.group(id="ghost"))


def test_groups_list_in_name_order(tenant_store: SqlTenantStore) -> None:
    """groups.list() returns every group ordered by name."""
    tenant_store.groups.add(f.group(id="g1", name="zeta"))
    tenant_store.groups.add(f.group(id="g2", name="alpha"))
    assert [g.name for g in tenant_store.groups.list()] == ["alpha", "zeta"]


def test_membership_is_idempotent_and_visible_both_ways(tenant_store: SqlTenantStore) -> None:
    """add_member twice makes one membership, seen from the group and from the user."""
    tenant_store.users.add(f.user(id="u1", username="bob"))
    tenant_store.users.add(f.user(id="u2", username="alice"))
    tenant_store.groups.add(f.group(id="g1", name="ops"))
    tenant_store.groups.add(f.group(id="g2", name="finance"))
    tenant_store.groups.add_member("g1", "u1")
    tenant_store.groups.add_member("g1", "u1")
    tenant_store.groups.add_member("g1", "u2")
    tenant_store.groups.add_member("g2", "u1")
    assert [u.username for u in tenant_store.groups.members("g1")] == ["alice", "bob"]
    assert [g.name for g in tenant_store.users.groups_of("u1")] == ["finance", "ops"]
    tenant_store.groups.remove_member("g1", "u1")
    tenant_store.groups.remove_member("g1", "u1")
    assert [u.id for u in tenant_store.groups.members("g1")] == ["u2"]
    assert [g.id for g in tenant_store.users.groups_of("u1")] == ["g2"]


def test_membership_of_unknown_user_or_group_is_not_found(tenant_store: SqlTenantStore) -> None:
    """add_member refuses a group or a user that does not exist."""
    tenant_store.users.add(f.user(id="u1"))
    tenant_store.groups.add(f.group(id="g1"))
    with pytest.raises(NotFound):
        tenant_store.groups.add_member("nope", "u1")
    with pytest.raises(NotFound):
        tenant_store.groups.add_member("g1", "nope")
    assert tenant_store.groups.members("g1") == []


def test_group_delete_drops_memberships(tenant_store: SqlTenantStore) -> None:
    """Deleting a group removes it and its memberships; deleting it again is NotFound."""
    tenant_store.users.add(f.user(id="u1"))
    tenant_store.groups.add(f.group(id="g1"))
    tenant_store.groups.add_member("g1", "u1")
    tenant_store.groups.delete("g1")
    assert tenant_store.groups.get("g1") is None
    assert tenant_store.users.groups_of("u1") == []
    with pytest.raises(NotFound):
        tenant_store.groups.delete("g1")
