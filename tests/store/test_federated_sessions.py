"""Sessions opened through single sign-on, on SQLite and PostgreSQL."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

import pytest

from menshen.errors import Conflict, InvalidInput, NotFound
from menshen.store.records import FederatedSessionRecord, TenantRecord
from menshen.store.sql import SqlStore, SqlTenantStore
from tests.store import factories as f
from tests.store.factories import T0

LATER = T0 + timedelta(minutes=5)


def _record(session_id: str = "s1", **changes: object) -> FederatedSessionRecord:
    base = FederatedSessionRecord(
        tenant_id="t1",
        session_id=session_id,
        user_id="u1",
        provider="corp",
        subject="sub-1",
        refresh_token_sealed=b"\x01sealed-refresh",
        id_token_sealed=b"\x01sealed-id",
        created_at=T0,
        checked_at=T0,
        next_check_at=LATER,
    )
    return replace(base, **changes)  # type: ignore[arg-type]


@pytest.fixture
def t1(tenant_store: SqlTenantStore) -> SqlTenantStore:
    """Tenant t1 with user u1 and sessions s1, s2, s3."""
    tenant_store.users.add(f.user(id="u1"))
    for sid in ("s1", "s2", "s3"):
        tenant_store.sessions.add(f.session(id=sid))
    return tenant_store


def _ids(records: object) -> list[str]:
    return [r.session_id for r in records]  # type: ignore[attr-defined]


def test_record_round_trips_and_is_one_per_session(t1: SqlTenantStore) -> None:
    """Every field reads back as written; a second record for a session is a Conflict."""
    record = _record(refresh_token_sealed=None)
    t1.federated_sessions.add(record)
    assert t1.federated_sessions.get("s1") == record
    assert t1.federated_sessions.get("s2") is None
    with pytest.raises(Conflict):
        t1.federated_sessions.add(_record(subject="other"))


def test_a_record_needs_a_session_of_its_tenant(t1: SqlTenantStore) -> None:
    """No session, no record; another tenant's record is refused outright."""
    with pytest.raises(NotFound):
        t1.federated_sessions.add(_record("ghost"))
    with pytest.raises(InvalidInput):
        t1.federated_sessions.add(_record(tenant_id="t2"))


def test_due_lists_overdue_records_of_live_sessions_only(t1: SqlTenantStore) -> None:
    """Due means next_check_at reached and a session neither revoked nor expired."""
    t1.federated_sessions.add(_record("s1", next_check_at=LATER))
    t1.federated_sessions.add(_record("s2", next_check_at=LATER - timedelta(minutes=1)))
    t1.federated_sessions.add(_record("s3", next_check_at=LATER + timedelta(minutes=1)))
    assert _ids(t1.federated_sessions.due(LATER, 10)) == ["s2", "s1"]
    assert _ids(t1.federated_sessions.due(LATER, 1)) == ["s2"]
    assert t1.federated_sessions.due(T0, 10) == []
    t1.sessions.revoke("s2", at=LATER, by="u1", reason="logout")
    assert _ids(t1.federated_sessions.due(LATER, 10)) == ["s1"]
    expiry = T0 + timedelta(hours=12)
    assert t1.federated_sessions.due(expiry, 10) == []


def test_purge_ended_deletes_records_of_expired_sessions(t1: SqlTenantStore) -> None:
    """Records of sessions past their absolute expiry are deleted; live ones stay."""
    t1.federated_sessions.add(_record("s1"))
    t1.sessions.add(f.session(id="s4", absolute_expires_at=LATER))
    t1.federated_sessions.add(_record("s4"))
    assert t1.federated_sessions.purge_ended(LATER - timedelta(seconds=1)) == 0
    assert t1.federated_sessions.purge_ended(LATER) == 1
    assert t1.federated_sessions.get("s4") is None
    assert t1.federated_sessions.get("s1") == _record("s1")


def test_claim_lets_one_process_take_a_recheck(t1: SqlTenantStore) -> None:
    """Two claims of the same due record: the first moves next_check_at, the second loses."""
    t1.federated_sessions.add(_record())
    lease = LATER + timedelta(minutes=1)
    assert t1.federated_sessions.claim("s1", expected_next_check_at=LATER, until=lease)
    assert not t1.federated_sessions.claim("s1", expected_next_check_at=LATER, until=lease)
    claimed = t1.federated_sessions.get("s1")
    assert claimed is not None
    assert claimed.next_check_at == lease
    assert not t1.federated_sessions.claim("ghost", expected_next_check_at=LATER, until=lease)


def test_checked_stores_new_tokens_only_while_the_claim_holds(t1: SqlTenantStore) -> None:
    """The outcome of a re-check is written if next_check_at is still the claimed value."""
    t1.federated_sessions.add(_record())
    lease = LATER + timedelta(minutes=1)
    t1.federated_sessions.claim("s1", expected_next_check_at=LATER, until=lease)
    changes: dict[str, Any] = {
        "refresh_token_sealed": b"\x01new-refresh",
        "id_token_sealed": b"\x01new-id",
        "checked_at": LATER,
        "next_check_at": LATER + timedelta(minutes=5),
    }
    assert not t1.federated_sessions.checked("s1", expected_next_check_at=LATER, **changes)
    assert t1.federated_sessions.checked("s1", expected_next_check_at=lease, **changes)
    assert t1.federated_sessions.get("s1") == _record(**changes)


def _rotate(t1: SqlTenantStore, old: str, new: str, *, same_login: bool) -> None:
    t1.sessions.replace(old, f.session(id=new, created_at=LATER), same_login=same_login)


def test_a_rotation_of_the_same_login_moves_it_in_the_same_transaction(
    t1: SqlTenantStore,
) -> None:
    """same_login: the old session is revoked and its login, unchanged, is on the new one."""
    t1.federated_sessions.add(_record("s1"))
    _rotate(t1, "s1", "s4", same_login=True)
    assert t1.federated_sessions.get("s1") is None
    assert t1.federated_sessions.get("s4") == _record("s4")
    old = t1.sessions.get("s1")
    assert old is not None
    assert old.revoke_reason == "rotated"
    assert _ids(t1.federated_sessions.due(LATER, 10)) == ["s4"]


def test_a_new_sign_in_over_a_session_ends_its_login(t1: SqlTenantStore) -> None:
    """Without same_login the new session inherits nothing and the old login is deleted."""
    t1.federated_sessions.add(_record("s1"))
    _rotate(t1, "s1", "s4", same_login=False)
    assert t1.federated_sessions.get("s1") is None
    assert t1.federated_sessions.get("s4") is None
    assert t1.federated_sessions.due(LATER, 10) == []


def test_a_failed_rotation_moves_no_login(t1: SqlTenantStore) -> None:
    """A rotation refused half-way (new id taken, or the old session already ended) leaves
    the old session and its login as they were: revoke, insert and move are one transaction."""
    t1.federated_sessions.add(_record("s1"))
    with pytest.raises(Conflict):
        _rotate(t1, "s1", "s2", same_login=True)  # s2 exists: the insert fails last
    live = t1.sessions.get("s1")
    assert live is not None
    assert live.revoked_at is None
    assert t1.federated_sessions.get("s1") == _record("s1")
    t1.sessions.revoke("s3", at=LATER, by="u1", reason="logout")
    with pytest.raises(Conflict):
        _rotate(t1, "s3", "s4", same_login=True)
    assert t1.sessions.get("s4") is None


def test_a_login_cannot_move_to_another_users_session(t1: SqlTenantStore) -> None:
    """A rotation to another user's session is refused and the login stays where it was."""
    t1.users.add(f.user(id="u2"))
    t1.federated_sessions.add(_record("s1"))
    with pytest.raises(InvalidInput):
        t1.sessions.replace("s1", f.session(id="s4", user_id="u2"), same_login=True)
    assert t1.federated_sessions.get("s1") == _record("s1")


def test_revoking_a_session_deletes_its_login(t1: SqlTenantStore) -> None:
    """Every kind of revocation takes the provider login with it, in the same statement's
    transaction: one session, all of a user's, all bound to a device."""
    for sid in ("s1", "s2", "s3"):
        t1.federated_sessions.add(_record(sid))
    assert t1.sessions.revoke("s1", at=LATER, by="u1", reason="logout")
    assert t1.federated_sessions.get("s1") is None
    assert t1.federated_sessions.get("s2") is not None
    t1.sessions.bind_devices({"s2": "d1"})
    assert t1.sessions.revoke_for_device("d1", at=LATER, by="admin", reason="lost") == ["s2"]
    assert t1.federated_sessions.get("s2") is None
    assert t1.federated_sessions.get("s3") is not None
    assert t1.sessions.revoke_for_user("u1", at=LATER, by="admin", reason="left") == ["s3"]
    assert t1.federated_sessions.get("s3") is None


def test_delete_forgets_the_record(t1: SqlTenantStore) -> None:
    """Deleting reports whether there was a record."""
    t1.federated_sessions.add(_record())
    assert t1.federated_sessions.delete("s1")
    assert not t1.federated_sessions.delete("s1")
    assert t1.federated_sessions.get("s1") is None


def test_records_stay_in_their_tenant_and_do_not_move_its_revision(
    store: SqlStore, t1: SqlTenantStore
) -> None:
    """Tenant t2 sees none of t1's records; writing them leaves the directory revision."""
    store.add_tenant(
        TenantRecord(id="t2", name="Two", created_at=datetime(2026, 1, 1, tzinfo=T0.tzinfo))
    )
    before = store.revisions()["t1"]
    t1.federated_sessions.add(_record())
    t1.federated_sessions.claim("s1", expected_next_check_at=LATER, until=LATER)
    other = store.tenant("t2").federated_sessions
    assert other.get("s1") is None
    assert other.due(LATER, 10) == []
    assert not other.delete("s1")
    assert store.revisions()["t1"] == before
