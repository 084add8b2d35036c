"""Server-side sessions: timeouts, binding, rotation, revocation on the next request."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest

from menshen.errors import Conflict, InvalidInput
from menshen.sessions.service import SessionService, SessionTimeouts
from menshen.store.records import FederatedSessionRecord, SessionRecord, UserRecord
from menshen.store.sql import SqlStore
from menshen.testing import FixedClock

UA = "Chrome/Linux"


def _service(store: SqlStore, clock: FixedClock) -> SessionService:
    tenant = store.tenant("t1")
    if tenant.users.get("u1") is None:
        now = clock.now()
        tenant.users.add(UserRecord("t1", "u1", "alice", "a@x.example", "A", None, False, now, now))
    return SessionService(
        store, clock, SessionTimeouts(idle=timedelta(minutes=30), absolute=timedelta(hours=8))
    )


def _create(
    service: SessionService, replaces: str | None = None, level: str = "password"
) -> tuple[str, SessionRecord]:
    made = asyncio.run(
        service.create(
            "t1", "u1", user_agent_family=UA, ip="127.0.0.1", auth_level=level, replaces=replaces
        )
    )
    return made.token, made.record


def test_new_session_is_found_by_its_token(both_store: SqlStore) -> None:
    """A fresh session is looked up from memory by its cookie token."""
    service = _service(both_store, FixedClock())
    token, record = _create(service)
    assert service.lookup("t1", token, UA).session == record
    assert both_store.tenant("t1").sessions.by_token_hash(record.token_hash) is not None


def test_other_tenant_cannot_use_the_token(both_store: SqlStore) -> None:
    """A token is only valid in the tenant that issued it."""
    service = _service(both_store, FixedClock())
    token, _ = _create(service)
    assert service.lookup("t2", token, UA).session is None


def test_idle_and_absolute_timeouts(both_store: SqlStore) -> None:
    """Idle for longer than the idle timeout, or past the absolute lifetime: refused."""
    clock = FixedClock()
    service = _service(both_store, clock)
    token, _ = _create(service)
    clock.advance(29 * 60)
    assert service.lookup("t1", token, UA).session is not None
    clock.advance(31 * 60)
    assert service.lookup("t1", token, UA).problem == "session idle too long"
    token, _ = _create(service)
    for _ in range(17):
        clock.advance(29 * 60)
        found = service.lookup("t1", token, UA)
    assert found.problem == "session expired"


def test_session_is_bound_to_the_user_agent_family(both_store: SqlStore) -> None:
    """A cookie replayed from another browser family is refused."""
    service = _service(both_store, FixedClock())
    token, _ = _create(service)
    assert service.lookup("t1", token, "Firefox/Windows").session is None
    assert service.lookup("t1", token, UA).session is not None


def test_rotation_revokes_the_old_session(both_store: SqlStore) -> None:
    """After MFA the new session works and the old token is refused at once."""
    service = _service(both_store, FixedClock())
    old_token, old = _create(service)
    new_token, new = _create(service, replaces=old.id, level="mfa")
    assert new.id != old.id
    assert new_token != old_token
    assert service.lookup("t1", old_token, UA).session is None
    assert service.lookup("t1", new_token, UA).session == new
    stored = both_store.tenant("t1").sessions.get(old.id)
    assert stored is not None
    assert stored.revoked_at is not None


def _federated(session_id: str, clock: FixedClock) -> FederatedSessionRecord:
    now = clock.now()
    return FederatedSessionRecord(
        "t1", session_id, "u1", "corp", "sub-1", b"\x01refresh", b"\x01id", now, now, now
    )


def test_a_rotation_of_the_same_login_hands_the_provider_login_over(both_store: SqlStore) -> None:
    """same_login moves the provider login to the new session; a new sign-in ends it."""
    clock = FixedClock()
    service = _service(both_store, clock)
    repo = both_store.tenant("t1").federated_sessions
    _, first = _create(service)
    repo.add(_federated(first.id, clock))
    elevated = asyncio.run(
        service.create(
            "t1", "u1", user_agent_family=UA, ip="127.0.0.1", auth_level="mfa",
            replaces=first.id, same_login=True,
        )
    ).record  # fmt: skip
    assert repo.get(first.id) is None
    assert repo.get(elevated.id) == _federated(elevated.id, clock)
    _, signed_in = _create(service, replaces=elevated.id)
    assert repo.get(elevated.id) is None
    assert repo.get(signed_in.id) is None


def test_the_same_login_cannot_continue_from_an_ended_session(both_store: SqlStore) -> None:
    """same_login needs the session it continues, still live; otherwise no session is issued."""
    service = _service(both_store, FixedClock())
    _, first = _create(service)
    asyncio.run(service.revoke("t1", first.id, by="u1", reason="logout"))
    for replaces, error in ((first.id, Conflict), (None, InvalidInput)):
        with pytest.raises(error):
            asyncio.run(
                service.create(
                    "t1", "u1", user_agent_family=UA, ip="127.0.0.1", auth_level="mfa",
                    replaces=replaces, same_login=True,
                )
            )  # fmt: skip
    assert service.sessions_of("t1", "u1") == []


def test_revoked_session_is_refused_on_the_next_lookup(both_store: SqlStore) -> None:
    """Revocation removes the session from memory before it returns, and tells listeners."""
    service = _service(both_store, FixedClock())
    told: list[str] = []
    service.on_revoke(lambda record: told.append(record.id))
    token, record = _create(service)
    assert asyncio.run(service.revoke("t1", record.id, by="u1", reason="logout"))
    assert service.lookup("t1", token, UA).session is None
    assert told == [record.id]


def test_revocation_made_elsewhere_is_picked_up(both_store: SqlStore) -> None:
    """A revocation written by another process (the CLI) reaches this one on refresh."""
    clock = FixedClock()
    service = _service(both_store, clock)
    token, record = _create(service)
    clock.advance(1)
    both_store.tenant("t1").sessions.revoke(record.id, at=clock.now(), by="cli", reason="admin")
    assert service.apply_revocations(service.fetch_revocations(["t1"])) == 1
    assert service.lookup("t1", token, UA).session is None


def test_sessions_survive_a_restart(both_store: SqlStore) -> None:
    """A new process loads active sessions from the store; revoked ones stay out."""
    clock = FixedClock()
    service = _service(both_store, clock)
    token, _ = _create(service)
    gone_token, gone = _create(service)
    asyncio.run(service.revoke("t1", gone.id, by="u1", reason="logout"))
    restarted = _service(both_store, clock)
    assert restarted.load(["t1"]) == 1
    assert restarted.lookup("t1", token, UA).session is not None
    assert restarted.lookup("t1", gone_token, UA).session is None


def test_last_seen_is_flushed_in_batches(both_store: SqlStore) -> None:
    """Lookups update last-seen in memory; a flush writes them to the store."""
    clock = FixedClock()
    service = _service(both_store, clock)
    token, record = _create(service)
    clock.advance(60)
    service.lookup("t1", token, UA)
    assert service.flush_last_seen() == 1
    stored = both_store.tenant("t1").sessions.get(record.id)
    assert stored is not None
    assert stored.last_seen_at == clock.now()
