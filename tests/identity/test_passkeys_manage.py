"""Listing, renaming and removing passkeys; removal needs a fresh re-authentication."""

from __future__ import annotations

import random
from datetime import timedelta

import pytest

from menshen.errors import InvalidInput, NotFound
from menshen.identity.passkeys import AttestationPolicy, PasskeyFailed, PasskeyService
from menshen.store.api import TenantStore
from menshen.store.records import WebAuthnCredentialRecord
from menshen.store.sql import SqlStore
from menshen.testing import FixedClock
from tests.identity.test_passkeys_authenticator import ORIGIN, RP_ID, SoftPasskey
from tests.store.factories import user

BINDING = "session-xyz"


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock()


@pytest.fixture
def service(sqlite_store: SqlStore, clock: FixedClock) -> PasskeyService:
    tenant: TenantStore = sqlite_store.tenant("t1")
    tenant.users.add(user(id="alice", username="alice"))
    tenant.users.add(user(id="bob", username="bob"))
    return PasskeyService(
        tenant,
        clock,
        RP_ID,
        "Example Pay",
        [ORIGIN],
        AttestationPolicy(),
        random.Random(3).randbytes,
    )


def _register(
    service: PasskeyService, user_id: str, seed: int, name: str
) -> WebAuthnCredentialRecord:
    start = service.begin_registration(user_id, BINDING)
    response = SoftPasskey(credential_id=bytes([seed]) * 24).create(start.options_json)
    return service.finish_registration(start.ceremony_id, BINDING, response, name)


def test_a_user_may_hold_several_named_passkeys(service: PasskeyService, clock: FixedClock) -> None:
    """Passkeys are listed oldest first with their names."""
    _register(service, "alice", 1, "Laptop")
    clock.advance(10)
    _register(service, "alice", 2, "Phone")
    assert [p.name for p in service.list_passkeys("alice")] == ["Laptop", "Phone"]
    assert service.list_passkeys("bob") == []


def test_rename_changes_only_the_users_own_passkey(service: PasskeyService) -> None:
    """A user renames their passkey; another user's passkey is not found for them."""
    mine = _register(service, "alice", 1, "Laptop")
    theirs = _register(service, "bob", 2, "Bob's key")
    service.rename_passkey("alice", mine.credential_id, "Old laptop")
    assert service.list_passkeys("alice")[0].name == "Old laptop"
    with pytest.raises(NotFound):
        service.rename_passkey("alice", theirs.credential_id, "Mine now")
    with pytest.raises(InvalidInput):
        service.rename_passkey("alice", mine.credential_id, "   ")
    assert service.list_passkeys("bob")[0].name == "Bob's key"


def test_removal_without_reauthentication_is_refused(service: PasskeyService) -> None:
    """No recent re-authentication: the passkey stays."""
    record = _register(service, "alice", 1, "Laptop")
    with pytest.raises(PasskeyFailed) as caught:
        service.remove_passkey("alice", record.credential_id, reauthenticated_at=None)
    assert caught.value.reason_for_audit == "reauthentication_required"
    assert len(service.list_passkeys("alice")) == 1


def test_removal_with_a_stale_or_future_reauthentication_is_refused(
    service: PasskeyService, clock: FixedClock
) -> None:
    """A re-authentication older than five minutes, or dated ahead, does not count."""
    record = _register(service, "alice", 1, "Laptop")
    for when in (clock.now() - timedelta(minutes=5, seconds=1), clock.now() + timedelta(seconds=1)):
        with pytest.raises(PasskeyFailed):
            service.remove_passkey("alice", record.credential_id, reauthenticated_at=when)
    assert len(service.list_passkeys("alice")) == 1


def test_removal_after_a_fresh_reauthentication_succeeds(
    service: PasskeyService, clock: FixedClock
) -> None:
    """A re-authentication a minute ago allows removing one's own passkey, not another's."""
    mine = _register(service, "alice", 1, "Laptop")
    theirs = _register(service, "bob", 2, "Key")
    fresh = clock.now() - timedelta(minutes=1)
    with pytest.raises(NotFound):
        service.remove_passkey("alice", theirs.credential_id, reauthenticated_at=fresh)
    service.remove_passkey("alice", mine.credential_id, reauthenticated_at=fresh)
    assert service.list_passkeys("alice") == []
    assert len(service.list_passkeys("bob")) == 1


def test_unfinished_ceremonies_are_purged_once_expired(
    service: PasskeyService, clock: FixedClock
) -> None:
    """Expired, abandoned challenges are dropped; live ones are kept."""
    service.begin_authentication(BINDING)
    clock.advance(6 * 60)
    live = service.begin_authentication(BINDING)
    assert service.purge_expired_ceremonies() == 1
    assert live.expires_at > clock.now()
    assert service.purge_expired_ceremonies() == 0
