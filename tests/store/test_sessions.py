"""Server-side sessions on both back-ends."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from menshen.errors import Conflict, InvalidInput, NotFound
from menshen.store.sql import SqlTenantStore

from . import factories as f


@pytest.fixture
def users(tenant_store: SqlTenantStore) -> SqlTenantStore:
    """Tenant t1 with users u1 and u2."""
    tenant_store.users.add(f.user(id="u1", username="alice"))
    tenant_store.users.add(f.user(id="u2", username="bob"))
    return tenant_store


def test_session_round_trips_by_id_and_token_hash(users: SqlTenantStore) -> None:
    """A stored session reads back equal by id and by token hash."""
    s1 = f.session(id="s1", mfa_method=None, mfa_at=None, auth_level="password")
    users.sessions.add(s1)
    assert users.sessions.get("s1") == s1
    assert users.sessions.by_token_hash("token-hash-s1") == s1
    assert users.sessions.get("nope") is None
    assert users.sessions.by_token_hash("nope") is None


def test_duplicate_session_id_or_token_is_a_conflict(users: SqlTenantStore) -> None:
    """A second session with a taken id or token hash is refused."""
    users.sessions.add(f.session(id="s1"))
    with pytest.raises(Conflict):
        users.sessions.add(f.session(id="s1", token_hash="other"))
    with pytest.raises(Conflict):
        users.sessions.add(f.session(id="s2", token_hash="token-hash-s1"))


def test_session_for_unknown_user_is_not_found(users: SqlTenantStore) -> None:
    """A session must belong to a user of the tenant."""
    with pytest.raises(NotFound):
        users.sessions.add(f.session(user_id="ghost"))


def test_revoke_is_once_and_hides_from_user_listing(users: SqlTenantStore) -> None:
    """revoke() succeeds once, records who/why, and the session leaves the live list."""
    users.sessions.add(f.session(id="s1"))
    users.sessions.add(f.session(id="s2", created_at=f.T0 + timedelta(seconds=1)))
    at = f.T0 + timedelta(minutes=1)
    assert users.sessions.revoke("s1", at=at, by="admin:carol", reason="lost laptop") is True
    assert users.sessions.revoke("s1", at=at, by="admin:carol", reason="again") is False
    assert users.sessions.revoke("ghost", at=at, by="x", reason="y") is False
    revoked = users.sessions.get("s1")
    assert revoked is not None
    assert (revoked.revoked_at, revoked.revoked_by, revoked.revoke_reason) == (
        at,
        "admin:carol",
        "lost laptop",
    )
    assert [s.id for s in users.sessions.list_for_user("u1")] == ["s2"]
    assert [s.id for s in users.sessions.list_for_user("u1", include_revoked=True)] == [
        "s1",
        "s2",
    ]


def test_revoke_for_user_returns_what_it_revoked(users: SqlTenantStore) -> None:
    """revoke_for_user revokes the user's live sessions only and returns their ids."""
    users.sessions.add(f.session(id="s1"))
    users.sessions.add(f.session(id="s2"))
    users.sessions.add(f.session(id="s3", user_id="u2"))
    at = f.T0 + timedelta(minutes=1)
    users.sessions.revoke("s1", at=at, by="u1", reason="logout")
    later = at + timedelta(minutes=1)
    assert users.sessions.revoke_for_user("u1", at=later, by="monitor", reason="risk") == ["s2"]
    assert users.sessions.revoke_for_user("u1", at=later, by="monitor", reason="risk") == []
    first = users.sessions.get("s1")
    assert first is not None
    assert first.revoke_reason == "logout"
    assert users.sessions.list_for_user("u2")[0].revoked_at is None


def test_revoked_since_lists_recent_revocations_in_order(users: SqlTenantStore) -> None:
    """revoked_since returns sessions revoked at or after the time, oldest first."""
    for sid in ("s1", "s2", "s3"):
        users.sessions.add(f.session(id=sid))
    users.sessions.revoke("s2", at=f.T0 + timedelta(seconds=30), by="a", reason="r")
    users.sessions.revoke("s1", at=f.T0 + timedelta(seconds=10), by="a", reason="r")
    users.sessions.revoke("s3", at=f.T0 + timedelta(seconds=5), by="a", reason="r")
    since = users.sessions.revoked_since(f.T0 + timedelta(seconds=10))
    assert [s.id for s in since] == ["s1", "s2"]


def test_list_active_drops_revoked_expired_and_idle(users: SqlTenantStore) -> None:
    """list_active keeps only sessions neither revoked, expired nor idle past their timeout."""
    now = f.T0 + timedelta(hours=1)
    users.sessions.add(f.session(id="live", last_seen_at=now - timedelta(minutes=5)))
    users.sessions.add(f.session(id="idle", last_seen_at=now - timedelta(minutes=31)))
    users.sessions.add(
        f.session(id="expired", last_seen_at=now, absolute_expires_at=now - timedelta(seconds=1))
    )
    users.sessions.add(f.session(id="revoked", last_seen_at=now))
    users.sessions.revoke("revoked", at=now, by="a", reason="r")
    assert [s.id for s in users.sessions.list_active(now)] == ["live"]


def test_replace_rotates_in_one_step(users: SqlTenantStore) -> None:
    """replace revokes the old session as 'rotated' and adds the new one."""
    users.sessions.add(f.session(id="old"))
    new = f.session(id="new", created_at=f.T0 + timedelta(minutes=2))
    users.sessions.replace("old", new)
    old = users.sessions.get("old")
    assert old is not None
    assert old.revoke_reason == "rotated"
    assert old.revoked_at == new.created_at
    assert users.sessions.get("new") == new


def test_replace_of_revoked_session_changes_nothing(users: SqlTenantStore) -> None:
    """Rotating a session twice fails the second time without adding a session."""
    users.sessions.add(f.session(id="old"))
    users.sessions.replace("old", f.session(id="new1"))
    with pytest.raises(Conflict):
        users.sessions.replace("old", f.session(id="new2"))
    assert users.sessions.get("new2") is None


def test_replace_rolls_back_when_the_new_session_is_refused(users: SqlTenantStore) -> None:
    """If the new session cannot be added, the old one stays live (one transaction)."""
    users.sessions.add(f.session(id="old"))
    users.sessions.add(f.session(id="other"))
    with pytest.raises(Conflict):
        users.sessions.replace("old", f.session(id="new", token_hash="token-hash-other"))
    old = users.sessions.get("old")
    assert old is not None
    assert old.revoked_at is None


def test_replace_refuses_missing_session_or_other_user(users: SqlTenantStore) -> None:
    """replace needs an existing old session of the same user."""
    users.sessions.add(f.session(id="old"))
    with pytest.raises(NotFound):
        users.sessions.replace("ghost", f.session(id="new"))
    with pytest.raises(InvalidInput):
        users.sessions.replace("old", f.session(id="new", user_id="u2"))
    old = users.sessions.get("old")
    assert old is not None
    assert old.revoked_at is None


def test_touch_many_moves_last_seen_forward_only(users: SqlTenantStore) -> None:
    """touch_many updates last-seen times, never backwards, and skips unknown ids."""
    users.sessions.add(f.session(id="s1"))
    users.sessions.add(f.session(id="s2", last_seen_at=f.T0 + timedelta(minutes=10)))
    users.sessions.touch_many(
        {
            "s1": f.T0 + timedelta(minutes=3),
            "s2": f.T0 + timedelta(minutes=1),
            "ghost": f.T0,
        }
    )
    users.sessions.touch_many({})
    s1, s2 = users.sessions.get("s1"), users.sessions.get("s2")
    assert s1 is not None
    assert s2 is not None
    assert s1.last_seen_at == f.T0 + timedelta(minutes=3)
    assert s2.last_seen_at == f.T0 + timedelta(minutes=10)


def test_session_record_keeps_every_field(users: SqlTenantStore) -> None:
    """Every field of a session, including revocation fields, survives the store."""
    full = replace(
        f.session(id="s9"),
        revoked_at=f.T0 + timedelta(seconds=1),
        revoked_by="system",
        revoke_reason="test",
    )
    users.sessions.add(full)
    assert users.sessions.get("s9") == full
