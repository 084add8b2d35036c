"""Users and password login through IdentityService, on SQLite and PostgreSQL."""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest

from menshen.errors import Conflict, InvalidInput, NotFound
from menshen.identity.model import LoginFailed, LoginOk
from menshen.identity.passwords import PasswordCheck, PasswordHasher, PasswordParams
from menshen.identity.service import IdentityService
from menshen.store.api import TenantStore
from menshen.testing import FixedClock

from .conftest import CHEAP, PASSWORD, CountingHasher, make_service

IP = "203.0.113.7"


def _alice(service: IdentityService) -> str:
    return service.create_user("alice", "alice@example.com", "Alice Chen", PASSWORD).id


def _ok(result: object) -> LoginOk:
    assert isinstance(result, LoginOk), result
    return result


def _failed(result: object) -> LoginFailed:
    assert isinstance(result, LoginFailed), result
    return result


# -- users ----------------------------------------------------------------------------


def test_create_user_stores_a_normalised_user_with_an_argon2id_hash(
    service: IdentityService, tenant_store: TenantStore, clock: FixedClock
) -> None:
    """Username lower-cased, e-mail trimmed, password hashed, never stored in clear."""
    user = service.create_user("  Alice ", " alice@example.com ", " Alice Chen ", PASSWORD)
    assert (user.username, user.email, user.display_name) == (
        "alice",
        "alice@example.com",
        "Alice Chen",
    )
    assert user.password_hash is not None
    assert user.password_hash.startswith("$argon2id$")
    assert PASSWORD not in user.password_hash
    assert (user.created_at, user.updated_at, user.disabled) == (clock.now(), clock.now(), False)
    assert uuid.UUID(user.id).version == 4
    assert tenant_store.users.get(user.id) == user


def test_a_blank_display_name_falls_back_to_the_username(service: IdentityService) -> None:
    """The console always has something to show."""
    assert service.create_user("bob", "bob@example.com", "  ", PASSWORD).display_name == "bob"


@pytest.mark.parametrize(
    "username", ["", "-alice", ".alice", "al ice", "alice!", "a" * 65, "ålice"]
)
def test_create_user_refuses_malformed_usernames(service: IdentityService, username: str) -> None:
    """Usernames match ^[a-z0-9][a-z0-9._-]{0,63}$ after lower-casing."""
    with pytest.raises(InvalidInput):
        service.create_user(username, "x@example.com", "X", PASSWORD)


@pytest.mark.parametrize(
    "email",
    [
        "",
        "alice",
        "alice@",
        "@example.com",
        "a@b@example.com",
        "a@localhost",
        "a@.com",
        "a@example.",
        "a@exa..mple.com",
        "a b@example.com",
        "a@example.com\n" + "x",
    ],
)
def test_create_user_refuses_malformed_emails(service: IdentityService, email: str) -> None:
    """One '@', a non-empty local part, a dotted domain, no blanks."""
    with pytest.raises(InvalidInput):
        service.create_user("alice", email, "Alice", PASSWORD)


@pytest.mark.parametrize("password", ["", "short", "elevenchars", "x" * 1025])
def test_create_user_refuses_passwords_out_of_bounds(
    service: IdentityService, password: str
) -> None:
    """Passwords have 12 to 1024 characters."""
    with pytest.raises(InvalidInput):
        service.create_user("alice", "alice@example.com", "Alice", password)


def test_create_user_refuses_a_display_name_with_control_characters(
    service: IdentityService,
) -> None:
    """Display names end up in headers and logs: no control characters."""
    with pytest.raises(InvalidInput):
        service.create_user("alice", "alice@example.com", "Alice\r\nX-Evil: 1", PASSWORD)


def test_create_user_refuses_a_taken_username_in_any_case(service: IdentityService) -> None:
    """'ALICE' is the same user as 'alice'."""
    _alice(service)
    with pytest.raises(Conflict):
        service.create_user("ALICE", "other@example.com", "Other", PASSWORD)


def test_set_password_replaces_the_old_one(service: IdentityService, clock: FixedClock) -> None:
    """After set_password only the new password logs in, and updated_at moves."""
    user_id = _alice(service)
    clock.advance(60)
    updated = service.set_password(user_id, "a whole new passphrase")
    assert updated.updated_at == clock.now()
    assert _failed(service.authenticate("alice", PASSWORD, IP)).reason_for_audit == "bad_password"
    assert _ok(service.authenticate("alice", "a whole new passphrase", IP)).user.id == user_id


def test_set_password_validates_and_needs_a_known_user(service: IdentityService) -> None:
    """Short passwords are InvalidInput; an unknown user id is NotFound."""
    user_id = _alice(service)
    with pytest.raises(InvalidInput):
        service.set_password(user_id, "short")
    with pytest.raises(NotFound):
        service.set_password("no-such-id", "long enough password")


def test_disable_and_enable_user(service: IdentityService) -> None:
    """A disabled user cannot log in even with the right password; enabling restores it."""
    user_id = _alice(service)
    assert service.disable_user(user_id).disabled
    assert _failed(service.authenticate("alice", PASSWORD, IP)).reason_for_audit == "user_disabled"
    assert not service.enable_user(user_id).disabled
    _ok(service.authenticate("alice", PASSWORD, IP))
    with pytest.raises(NotFound):
        service.disable_user("no-such-id")


# -- password login -------------------------------------------------------------------


def test_the_right_password_logs_in(service: IdentityService) -> None:
    """LoginOk with no MFA required or enrolled for a plain user; username case ignored."""
    user_id = _alice(service)
    result = _ok(service.authenticate(" Alice", PASSWORD, IP))
    assert (result.user.id, result.mfa_required, result.mfa_enrolled) == (user_id, False, False)
    assert result.needs_second_factor is False


def test_a_wrong_password_fails(service: IdentityService, hasher: CountingHasher) -> None:
    """A wrong password is LoginFailed('bad_password') after a real verification."""
    _alice(service)
    result = _failed(service.authenticate("alice", "not the password", IP))
    assert result == LoginFailed("bad_password", None)
    assert (hasher.verified, hasher.dummies) == (1, 0)


def test_an_unknown_user_costs_a_dummy_verification(
    service: IdentityService, hasher: CountingHasher
) -> None:
    """Unknown usernames spend an Argon2 verification so timing does not tell."""
    assert _failed(service.authenticate("mallory", PASSWORD, IP)).reason_for_audit == "unknown_user"
    assert (
        _failed(service.authenticate("NOT VALID!", PASSWORD, IP)).reason_for_audit == "unknown_user"
    )
    assert hasher.dummies == 2


def test_a_user_without_password_cannot_log_in_with_one(
    service: IdentityService, hasher: CountingHasher
) -> None:
    """A federated-only user fails as 'no_password' after a dummy verification."""
    service.create_user("fed", "fed@example.com", "Fed", None)
    assert _failed(service.authenticate("fed", "", IP)).reason_for_audit == "no_password"
    assert _failed(service.authenticate("fed", PASSWORD, IP)).reason_for_audit == "no_password"
    assert (hasher.verified, hasher.dummies) == (0, 2)


def test_an_overlong_password_is_refused_without_hashing_it(
    service: IdentityService, hasher: CountingHasher
) -> None:
    """A megabyte 'password' costs one dummy verification, not a megabyte of Argon2 input."""
    _alice(service)
    result = _failed(service.authenticate("alice", "x" * 1_000_000, IP))
    assert result.reason_for_audit == "bad_password"
    assert (hasher.verified, hasher.dummies) == (0, 1)


def test_a_disabled_user_with_a_wrong_password_fails_as_a_bad_password(
    service: IdentityService,
) -> None:
    """Without the right password, a disabled account looks like any other."""
    service.disable_user(_alice(service))
    assert (
        _failed(service.authenticate("alice", "wrong password", IP)).reason_for_audit
        == "bad_password"
    )


def test_five_failures_lock_the_account_even_against_the_right_password(
    service: IdentityService, clock: FixedClock, hasher: CountingHasher
) -> None:
    """The fifth failure locks for a minute; during it the right password is refused."""
    _alice(service)
    results = [_failed(service.authenticate("alice", f"guess number {i}", IP)) for i in range(5)]
    assert [r.locked_until for r in results[:4]] == [None] * 4
    assert results[4].locked_until == clock.now() + timedelta(minutes=1)
    verified = hasher.verified
    locked = _failed(service.authenticate("alice", PASSWORD, IP))
    assert locked == LoginFailed("account_locked", clock.now() + timedelta(minutes=1))
    assert hasher.verified == verified  # the lock is checked before the password
    assert hasher.dummies == 1


def test_after_the_lock_the_right_password_works_and_clears_the_counter(
    service: IdentityService, tenant_store: TenantStore, clock: FixedClock
) -> None:
    """Once the minute has passed, a success logs in and forgets the account's failures."""
    user_id = _alice(service)
    for i in range(5):
        service.authenticate("alice", f"guess number {i}", IP)
    clock.advance(60)
    _ok(service.authenticate("alice", PASSWORD, IP))
    assert tenant_store.throttle.get(f"user:{user_id}") is None
    source = tenant_store.throttle.get(f"ip:{IP}")
    assert source is not None
    assert source.failures == 5


def test_failures_from_anywhere_lock_the_account(service: IdentityService) -> None:
    """Rotating source addresses does not help against one account."""
    _alice(service)
    for i in range(5):
        service.authenticate("alice", "wrong password", f"198.51.100.{i}")
    assert (
        _failed(service.authenticate("alice", PASSWORD, "192.0.2.1")).reason_for_audit
        == "account_locked"
    )


def test_unlock_user_lifts_the_lock(service: IdentityService) -> None:
    """An admin unlock lets the user in at once."""
    user_id = _alice(service)
    for _ in range(5):
        service.authenticate("alice", "wrong password", IP)
    service.unlock_user(user_id)
    _ok(service.authenticate("alice", PASSWORD, IP))


def test_the_source_limit_stops_a_spray_across_many_accounts(
    service: IdentityService, hasher: CountingHasher
) -> None:
    """Twenty failures from one address over many accounts block it, even for a right password."""
    _alice(service)
    for i in range(10):
        service.create_user(f"staff{i}", f"staff{i}@example.com", f"Staff {i}", None)
    targets = [f"staff{i}" for i in range(10)] + [f"ghost{i}" for i in range(10)]
    results = [_failed(service.authenticate(name, "Winter2026!!", IP)) for name in targets]
    assert results[-1].locked_until is not None
    calls = (hasher.verified, hasher.dummies)
    blocked = _failed(service.authenticate("alice", PASSWORD, IP))
    assert blocked.reason_for_audit == "ip_blocked"
    assert (hasher.verified, hasher.dummies) == calls  # a blocked source costs no hashing
    _ok(service.authenticate("alice", PASSWORD, "192.0.2.99"))


def test_the_failure_that_locks_reports_when_the_lock_ends(
    service: IdentityService, clock: FixedClock
) -> None:
    """The twentieth failure from a source reports its fifteen-minute block."""
    for i in range(19):
        service.authenticate(f"ghost{i}", PASSWORD, IP)
    last = _failed(service.authenticate("ghost19", PASSWORD, IP))
    assert last.locked_until == clock.now() + timedelta(minutes=15)


def test_login_rehashes_a_password_hashed_with_weaker_parameters(
    tenant_store: TenantStore, clock: FixedClock
) -> None:
    """Stronger service parameters upgrade the stored hash on the next successful login."""
    weak = make_service(tenant_store, clock, PasswordHasher(CHEAP))
    user_id = _alice(weak)
    stronger = PasswordHasher(PasswordParams(memory_kib=128, time_cost=2))
    strong = make_service(tenant_store, clock, stronger, seed=7)
    clock.advance(5)
    result = _ok(strong.authenticate("alice", PASSWORD, IP))
    stored = tenant_store.users.get(user_id)
    assert stored is not None
    assert stored.password_hash is not None
    assert stored.password_hash.startswith("$argon2id$v=19$m=128,t=2,p=1$")
    assert stored == result.user
    assert stored.updated_at == clock.now()
    assert stronger.verify(stored.password_hash, PASSWORD) == PasswordCheck(ok=True)


def test_login_without_parameter_change_does_not_rewrite_the_hash(
    service: IdentityService, tenant_store: TenantStore, clock: FixedClock
) -> None:
    """No needless writes: the stored hash is untouched when parameters match."""
    user = service.create_user("alice", "alice@example.com", "Alice", PASSWORD)
    clock.advance(5)
    service.authenticate("alice", PASSWORD, IP)
    assert tenant_store.users.get(user.id) == user


class _ChangingHasher(PasswordHasher):
    """Sets another password (as an admin would) while a login is verifying."""

    def __init__(self, service_box: list[IdentityService], user_box: list[str]) -> None:
        super().__init__(PasswordParams(memory_kib=128, time_cost=2))
        self._service_box = service_box
        self._user_box = user_box

    def verify(self, stored_hash: str, password: str) -> PasswordCheck:
        check = super().verify(stored_hash, password)
        self._service_box[0].set_password(self._user_box[0], "set by the admin meanwhile")
        return check


def test_rehash_never_overwrites_a_password_changed_during_login(
    tenant_store: TenantStore, clock: FixedClock
) -> None:
    """If the password changed while we verified, the rehash is skipped."""
    user_id = _alice(make_service(tenant_store, clock, PasswordHasher(CHEAP)))
    admin = make_service(tenant_store, clock, PasswordHasher(CHEAP), seed=3)
    changing = make_service(tenant_store, clock, _ChangingHasher([admin], [user_id]), seed=5)
    _ok(changing.authenticate("alice", PASSWORD, IP))
    _ok(admin.authenticate("alice", "set by the admin meanwhile", IP))
    assert _failed(admin.authenticate("alice", PASSWORD, IP)).reason_for_audit == "bad_password"


def test_concurrent_logins_from_a_thread_pool(
    service: IdentityService, tenant_store: TenantStore
) -> None:
    """One service instance serves several threads at once (the gateway's login pool)."""
    names = [f"user{i}" for i in range(6)]
    for name in names:
        service.create_user(name, f"{name}@example.com", name, PASSWORD)
    with ThreadPoolExecutor(max_workers=3) as pool:
        results = list(pool.map(lambda n: service.authenticate(n, PASSWORD, IP), names))
    assert [_ok(r).user.username for r in results] == names


def test_parallel_guesses_cannot_outrun_the_lock(
    service: IdentityService, hasher: CountingHasher
) -> None:
    """Twenty guesses at once: at most five passwords are checked before the lock bites."""
    from concurrent.futures import ThreadPoolExecutor

    _alice(service)
    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(
            pool.map(
                lambda i: service.authenticate("alice", f"guess {i:02d} xxxxx", f"10.0.0.{i}"),
                range(20),
            )
        )
    reasons = [_failed(r).reason_for_audit for r in results]
    assert hasher.verified <= 5
    assert reasons.count("account_locked") >= 15
