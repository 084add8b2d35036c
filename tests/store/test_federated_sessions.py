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


def test_ended_lists_records_of_revoked_or_expired_sessions(t1: SqlTenantStore) -> None:
    """A revoked (or rotated) or expired session's record is found for clean-up."""
    t1.federated_sessions.add(_record("s1"))
    t1.federated_sessions.add(_record("s2"))
    assert t1.federated_sessions.ended(LATER, 10) == []
    t1.sessions.revoke("s2", at=LATER, by="system", reason="rotated")
    assert _ids(t1.federated_sessions.ended(LATER, 10)) == ["s2"]
    assert _ids(t1.federated_sessions.ended(T0 + timedelta(hours=12), 10)) == ["s1", "s2"]


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


def test_replace_moves_a_login_to_the_rotated_session(t1: SqlTenantStore) -> None:
    """A rotation moves the record in one step; a second move of the same record fails."""
    t1.federated_sessions.add(_record("s1"))
    moved = _record("s2", refresh_token_sealed=b"\x01resealed")
    assert t1.federated_sessions.replace("s1", moved)
    assert t1.federated_sessions.get("s1") is None
    assert t1.federated_sessions.get("s2") == moved
    assert not t1.federated_sessions.replace("s1", _record("s3"))
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
