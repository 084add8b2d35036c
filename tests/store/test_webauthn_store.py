"""The passkey repository on SQLite and PostgreSQL: credentials, counters, challenges."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest
from sqlalchemy import delete

from menshen.errors import Conflict, InvalidInput, NotFound
from menshen.store.records import (
    TenantRecord,
    WebAuthnChallengeRecord,
    WebAuthnCredentialRecord,
)
from menshen.store.schema import users
from menshen.store.sql import SqlStore, SqlTenantStore
from tests.store.factories import T0, user


def _credential(
    credential_id: str = "Y3JlZC0x", user_id: str = "u1", **changes: object
) -> WebAuthnCredentialRecord:
    base = WebAuthnCredentialRecord(
        tenant_id="t1",
        credential_id=credential_id,
        user_id=user_id,
        public_key=b"\xa5\x01\x02\x03\x26",
        sign_count=0,
        transports=("internal", "hybrid"),
        aaguid="fbfc3007-154e-4ecc-8c0b-6e020557d7bd",
        name="Laptop",
        created_at=T0,
        last_used_at=None,
        backup_eligible=True,
        backed_up=False,
    )
    return replace(base, **changes)  # type: ignore[arg-type]


def _challenge(id: str = "c1", **changes: object) -> WebAuthnChallengeRecord:
    base = WebAuthnChallengeRecord(
        tenant_id="t1",
        id=id,
        purpose="authenticate",
        challenge=b"\x00\xff" * 16,
        user_id=None,
        binding_hash="ab" * 32,
        created_at=T0,
        expires_at=T0 + timedelta(minutes=5),
    )
    return replace(base, **changes)  # type: ignore[arg-type]


@pytest.fixture
def t1(tenant_store: SqlTenantStore) -> SqlTenantStore:
    tenant_store.users.add(user(id="u1"))
    tenant_store.users.add(user(id="u2"))
    return tenant_store


def test_credentials_round_trip_and_list_per_user(t1: SqlTenantStore) -> None:
    """Every field comes back as written; each user sees only their credentials."""
    first = _credential()
    second = _credential("Y3JlZC0y", created_at=T0 + timedelta(seconds=1), transports=())
    t1.webauthn.add(first)
    t1.webauthn.add(second)
    t1.webauthn.add(_credential("Y3JlZC0z", user_id="u2"))
    assert t1.webauthn.get(first.credential_id) == first
    assert t1.webauthn.list_for_user("u1") == [first, second]
    assert [c.credential_id for c in t1.webauthn.list_for_user("u2")] == ["Y3JlZC0z"]
    assert t1.webauthn.get("nope") is None


def test_a_credential_id_is_unique_in_a_tenant(t1: SqlTenantStore) -> None:
    """A second credential with the same id is a Conflict, whoever it is for."""
    t1.webauthn.add(_credential())
    with pytest.raises(Conflict):
        t1.webauthn.add(_credential(user_id="u2"))


def test_a_credential_needs_an_existing_user(t1: SqlTenantStore) -> None:
    """The user must exist in the tenant."""
    with pytest.raises(NotFound):
        t1.webauthn.add(_credential(user_id="ghost"))


def test_record_use_is_a_compare_and_set_on_the_counter(t1: SqlTenantStore) -> None:
    """Only the writer that read the current counter moves it."""
    t1.webauthn.add(_credential(sign_count=4))
    at = T0 + timedelta(hours=1)
    assert t1.webauthn.record_use(
        "Y3JlZC0x", expected_sign_count=4, sign_count=5, at=at, backed_up=True
    )
    assert not t1.webauthn.record_use(
        "Y3JlZC0x", expected_sign_count=4, sign_count=6, at=at, backed_up=True
    )
    stored = t1.webauthn.get("Y3JlZC0x")
    assert stored is not None
    assert (stored.sign_count, stored.last_used_at, stored.backed_up) == (5, at, True)


def test_a_flagged_credential_records_no_further_use(t1: SqlTenantStore) -> None:
    """Flagging keeps its first time and stops counter updates."""
    t1.webauthn.add(_credential())
    t1.webauthn.flag_cloned("Y3JlZC0x", T0 + timedelta(minutes=1))
    t1.webauthn.flag_cloned("Y3JlZC0x", T0 + timedelta(minutes=2))
    stored = t1.webauthn.get("Y3JlZC0x")
    assert stored is not None
    assert stored.cloned_at == T0 + timedelta(minutes=1)
    assert not t1.webauthn.record_use(
        "Y3JlZC0x", expected_sign_count=0, sign_count=1, at=T0, backed_up=False
    )


def test_rename_and_delete_need_an_existing_credential(t1: SqlTenantStore) -> None:
    """Rename and delete act on one credential and report a missing one."""
    t1.webauthn.add(_credential())
    t1.webauthn.rename("Y3JlZC0x", "Phone")
    stored = t1.webauthn.get("Y3JlZC0x")
    assert stored is not None
    assert stored.name == "Phone"
    t1.webauthn.delete("Y3JlZC0x")
    assert t1.webauthn.get("Y3JlZC0x") is None
    with pytest.raises(NotFound):
        t1.webauthn.delete("Y3JlZC0x")
    with pytest.raises(NotFound):
        t1.webauthn.rename("Y3JlZC0x", "x")


def test_deleting_a_user_removes_their_credentials(t1: SqlTenantStore, store: SqlStore) -> None:
    """Credentials cascade with their user (the foreign key)."""
    t1.webauthn.add(_credential())
    with store.database.write() as conn:
        conn.execute(delete(users).where(users.c.tenant_id == "t1", users.c.id == "u1"))
    assert t1.webauthn.get("Y3JlZC0x") is None


def test_a_challenge_is_taken_once(t1: SqlTenantStore) -> None:
    """The first take returns the challenge and removes it; the second finds nothing."""
    challenge = _challenge(user_id="u1", purpose="register")
    t1.webauthn.add_challenge(challenge)
    with pytest.raises(Conflict):
        t1.webauthn.add_challenge(challenge)
    assert t1.webauthn.take_challenge("c1") == challenge
    assert t1.webauthn.take_challenge("c1") is None


def test_expired_challenges_are_purged(t1: SqlTenantStore) -> None:
    """Purge drops only challenges that expired before the given time."""
    t1.webauthn.add_challenge(_challenge("old"))
    t1.webauthn.add_challenge(_challenge("new", expires_at=T0 + timedelta(hours=1)))
    assert t1.webauthn.purge_challenges(T0 + timedelta(minutes=10)) == 1
    assert t1.webauthn.take_challenge("old") is None
    assert t1.webauthn.take_challenge("new") is not None


def test_tenants_do_not_see_each_others_passkeys_or_challenges(
    t1: SqlTenantStore, store: SqlStore
) -> None:
    """Another tenant cannot read, use, rename, delete or take tenant t1's rows."""
    store.add_tenant(TenantRecord(id="t2", name="Tenant Two", created_at=T0))
    t2 = store.tenant("t2")
    t2.users.add(user(tenant_id="t2", id="u1"))
    t1.webauthn.add(_credential())
    t1.webauthn.add_challenge(_challenge())
    assert t2.webauthn.get("Y3JlZC0x") is None
    assert t2.webauthn.list_for_user("u1") == []
    assert not t2.webauthn.record_use(
        "Y3JlZC0x", expected_sign_count=0, sign_count=9, at=T0, backed_up=False
    )
    t2.webauthn.flag_cloned("Y3JlZC0x", T0)
    with pytest.raises(NotFound):
        t2.webauthn.rename("Y3JlZC0x", "stolen")
    with pytest.raises(NotFound):
        t2.webauthn.delete("Y3JlZC0x")
    assert t2.webauthn.take_challenge("c1") is None
    assert t2.webauthn.purge_challenges(T0 + timedelta(days=1)) == 0
    with pytest.raises(InvalidInput):
        t2.webauthn.add(_credential())
    assert t1.webauthn.get("Y3JlZC0x") == _credential()
    assert t1.webauthn.take_challenge("c1") is not None
    t2.webauthn.add(_credential(tenant_id="t2"))  # the same credential id is free in t2
