"""The single sign-on re-check: refresh at the provider, follow the session, fail closed."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import timedelta

import pytest

from menshen.access.sso_recheck import RECHECK_EVENT, retry_delay
from menshen.access.sso_sessions import TokenOwner
from menshen.errors import InvalidInput
from menshen.events.model import Outcome
from menshen.identity.oidc.discovery import parse_discovery
from menshen.identity.oidc.flow import parse_token_response
from menshen.identity.oidc.jwks import parse_jwks
from menshen.identity.oidc.model import FederationFailed, HttpResponse
from menshen.store.records import FederatedSessionRecord
from menshen.store.sql import SqlStore
from tests.access.sso_kit import SsoWorld, provider_settings
from tests.identity.oidc import kit

INTERVAL = timedelta(minutes=5)


@pytest.fixture
def world(sqlite_store: SqlStore) -> SsoWorld:
    """Tenant t1 with one JIT provider re-checked every five minutes."""
    return SsoWorld(sqlite_store)


def _record(world: SsoWorld, token: str) -> FederatedSessionRecord:
    session = world.session_of(token)
    assert session is not None
    record = world.store.tenant("t1").federated_sessions.get(session.id)
    assert record is not None
    return record


def _token_requests(world: SsoWorld) -> int:
    return sum(1 for r in world.idp.requests if r.url.endswith("/token"))


def test_sign_in_keeps_the_provider_login_sealed_to_its_owner(world: SsoWorld) -> None:
    """The refresh and ID tokens are stored sealed to tenant, user, provider and kind, and
    the login is due in one interval."""
    token = world.sign_in("alice")
    record = _record(world, token)
    vault = world.federated.vault
    refresh = vault.open_record(record, "refresh")
    assert refresh in world.idp.refresh_tokens
    assert refresh is not None
    assert refresh.encode() not in (record.refresh_token_sealed or b"")
    assert record.subject == "alice"
    assert record.next_check_at == world.clock.now() + INTERVAL
    owner = TokenOwner.of(record)
    for other in (
        replace(owner, tenant_id="t2"),
        replace(owner, user_id="another-user"),
        replace(owner, provider="partner"),
    ):
        with pytest.raises(InvalidInput):
            vault.open(other, "refresh", record.refresh_token_sealed)
    with pytest.raises(InvalidInput):
        vault.open(owner, "id", record.refresh_token_sealed)


def test_nothing_is_asked_of_the_provider_before_the_interval(world: SsoWorld) -> None:
    """A round before the session is due spends no refresh token."""
    world.sign_in("alice")
    before = _token_requests(world)
    world.clock.advance(INTERVAL.total_seconds() - 1)
    done = world.recheck_round()
    assert done.confirmed == 0
    assert _token_requests(world) == before


def test_a_due_session_is_confirmed_and_its_refresh_token_rotated(world: SsoWorld) -> None:
    """The provider confirms the login: new tokens stored, next check one interval later."""
    token = world.sign_in("alice")
    first = _record(world, token)
    world.clock.advance(INTERVAL.total_seconds())
    assert world.recheck_round().confirmed == 1
    after = _record(world, token)
    assert after.checked_at == world.clock.now()
    assert after.next_check_at == world.clock.now() + INTERVAL
    assert after.refresh_token_sealed != first.refresh_token_sealed
    world.clock.advance(INTERVAL.total_seconds())
    assert world.recheck_round().confirmed == 1  # the rotated token works
    assert world.session_of(token) is not None


def test_mapped_groups_follow_the_refreshed_id_token(world: SsoWorld) -> None:
    """A group removed at the provider is removed in menshen at the next re-check."""
    world.idp.groups["alice"] = ["idp-ops"]
    token = world.sign_in("alice")
    user_id = _record(world, token).user_id
    assert world.identity("t1").groups_of(user_id) == {"ops"}
    world.idp.groups["alice"] = []
    world.clock.advance(INTERVAL.total_seconds())
    world.recheck_round()
    assert world.identity("t1").groups_of(user_id) == set()


def test_a_user_disabled_at_the_provider_loses_the_session(world: SsoWorld) -> None:
    """invalid_grant revokes the session at once, by the provider, with its reason audited."""
    token = world.sign_in("alice")
    session_id = _record(world, token).session_id
    world.idp.refresh = "refuse"
    world.clock.advance(INTERVAL.total_seconds())
    assert world.recheck_round().revoked == 1
    assert world.session_of(token) is None
    stored = world.store.tenant("t1").sessions.get(session_id)
    assert stored is not None
    assert stored.revoked_by == "idp:corp"
    assert "invalid_grant" in (stored.revoke_reason or "")
    assert world.store.tenant("t1").federated_sessions.get(session_id) is None
    (event,) = [e for e in world.events if e.kind == RECHECK_EVENT]
    assert event.outcome == Outcome.DENY
    assert event.session_id == session_id
    assert "invalid_grant" in (event.reason or "")


def test_without_a_refresh_token_the_session_ends_when_due(world: SsoWorld) -> None:
    """A provider that issued no refresh token cannot be asked: re-authenticate (fail closed)."""
    world.idp.issue_refresh_tokens = False
    token = world.sign_in("alice")
    assert _record(world, token).refresh_token_sealed is None
    world.clock.advance(INTERVAL.total_seconds())
    assert world.recheck_round().revoked == 1
    assert world.session_of(token) is None
    (event,) = [e for e in world.events if e.kind == RECHECK_EVENT]
    assert "re-authentication" in (event.reason or "")


@pytest.mark.parametrize("trouble", ["unreachable", "error5xx"])
def test_an_unreachable_provider_is_retried_then_the_session_fails_closed(
    world: SsoWorld, trouble: str
) -> None:
    """Transient failures defer the check; past one more interval the session is revoked."""
    token = world.sign_in("alice")
    confirmed_at = _record(world, token).checked_at
    world.idp.refresh = trouble
    world.clock.advance(INTERVAL.total_seconds())
    deferrals = 0
    for _ in range(100):
        done = world.recheck_round()
        deferrals += done.deferred
        if done.revoked:
            break
        assert world.session_of(token) is not None
        world.clock.advance(retry_delay(INTERVAL).total_seconds())
    assert world.session_of(token) is None
    assert world.clock.now() >= confirmed_at + 2 * INTERVAL
    assert deferrals >= 2
    outcomes = [e.outcome for e in world.events if e.kind == RECHECK_EVENT]
    assert outcomes[-1] == Outcome.DENY
    assert set(outcomes[:-1]) == {Outcome.FAILURE}


def test_a_provider_back_in_time_keeps_the_session(world: SsoWorld) -> None:
    """A provider that answers again before the deadline confirms the login as usual."""
    token = world.sign_in("alice")
    world.idp.refresh = "unreachable"
    world.clock.advance(INTERVAL.total_seconds())
    assert world.recheck_round().deferred == 1
    world.idp.refresh = "ok"
    world.clock.advance(retry_delay(INTERVAL).total_seconds())
    assert world.recheck_round().confirmed == 1
    assert _record(world, token).checked_at == world.clock.now()


def test_the_login_follows_the_session_through_a_second_factor(world: SsoWorld) -> None:
    """A TOTP code after SSO rotates the session id; the provider login is on the new
    session at once, is confirmed there, and a refusal still ends it."""
    token = world.sign_in("alice")
    first = _record(world, token)
    elevated = world.second_factor(token)
    moved = _record(world, elevated)
    assert world.store.tenant("t1").federated_sessions.get(first.session_id) is None
    assert world.federated.vault.open_record(moved, "refresh") in world.idp.refresh_tokens
    world.clock.advance(INTERVAL.total_seconds())
    assert world.recheck_round().confirmed == 1
    world.idp.refresh = "refuse"
    world.clock.advance(INTERVAL.total_seconds())
    assert world.recheck_round().revoked == 1
    assert world.session_of(elevated) is None


def test_an_idle_session_spends_no_refresh_token(world: SsoWorld) -> None:
    """A session dead of inactivity is forgotten without asking the provider."""
    token = world.sign_in("alice")
    session_id = _record(world, token).session_id
    before = _token_requests(world)
    world.clock.advance(timedelta(hours=1, seconds=1).total_seconds())
    world.recheck_round()
    assert _token_requests(world) == before
    assert world.store.tenant("t1").federated_sessions.get(session_id) is None


def test_the_login_of_an_expired_session_is_deleted_by_the_next_round(world: SsoWorld) -> None:
    """Past the session's absolute lifetime, the round deletes its sealed tokens unspent."""
    token = world.sign_in("alice")
    session_id = _record(world, token).session_id
    before = _token_requests(world)
    world.clock.advance(timedelta(hours=12).total_seconds())
    assert world.recheck_round().purged == 1
    assert world.store.tenant("t1").federated_sessions.get(session_id) is None
    assert _token_requests(world) == before


def test_a_provider_removed_from_the_configuration_ends_its_sessions(world: SsoWorld) -> None:
    """Sessions of a provider no longer configured are revoked when due."""
    token = world.sign_in("alice")
    record = _record(world, token)
    recheck = world.recheck_with(provider_settings("other"))
    world.clock.advance(INTERVAL.total_seconds())
    assert asyncio.run(recheck.run_once()).revoked == 1
    stored = world.store.tenant("t1").sessions.get(record.session_id)
    assert stored is not None
    assert "no longer configured" in (stored.revoke_reason or "")


@pytest.mark.parametrize(
    ("status", "transient"), [(400, False), (401, False), (429, True), (503, True)]
)
def test_only_server_trouble_counts_as_transient(status: int, transient: bool) -> None:
    """A 4xx answer is the provider's verdict; 5xx and 429 say nothing about the login."""
    answer = HttpResponse(status, b'{"error": "x"}')
    for parse in (
        lambda: parse_token_response(answer, id_token_required=False),
        lambda: parse_discovery(kit.ISSUER, answer),
        lambda: parse_jwks(answer),
    ):
        with pytest.raises(FederationFailed) as caught:
            parse()
        assert caught.value.transient is transient


def test_a_login_whose_tokens_do_not_open_ends_its_session(world: SsoWorld) -> None:
    """Altered sealed tokens move with a rotation unopened, and the re-check revokes (fail
    closed)."""
    token = world.sign_in("alice")
    record = _record(world, token)
    repo = world.store.tenant("t1").federated_sessions
    lease = record.next_check_at + timedelta(seconds=1)
    assert repo.claim(record.session_id, expected_next_check_at=record.next_check_at, until=lease)
    assert repo.checked(
        record.session_id,
        expected_next_check_at=lease,
        refresh_token_sealed=b"\x01" + bytes(40),
        id_token_sealed=record.id_token_sealed,
        checked_at=record.checked_at,
        next_check_at=record.next_check_at,
    )
    elevated = world.second_factor(token)
    world.clock.advance(INTERVAL.total_seconds())
    assert world.recheck_round().revoked == 1
    assert world.session_of(elevated) is None
    assert any("failed to open" in (e.reason or "") for e in world.events)
