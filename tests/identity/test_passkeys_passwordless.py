"""Passwordless sign-in: discoverable passkeys, kept apart from step-up, throttled per source."""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from datetime import timedelta

import pytest

from menshen.identity.lockout import Lockout
from menshen.identity.passkeys import (
    AttestationPolicy,
    PasskeyFailed,
    PasskeyService,
    PasswordlessSignIn,
)
from menshen.identity.throttle import LimitRule, ThrottlePolicy, account_key, ip_key
from menshen.store.api import TenantStore
from menshen.store.sql import SqlStore
from menshen.testing import FixedClock
from tests.identity.test_passkeys_authenticator import ORIGIN, RP_ID, SoftPasskey
from tests.store.factories import user

COOKIE = "pre-session-cookie"
HOME = "198.51.100.7"
ATTACKER = "203.0.113.9"
POLICY = ThrottlePolicy(
    account=LimitRule(5, timedelta(minutes=15), timedelta(minutes=1), timedelta(hours=1)),
    ip=LimitRule(3, timedelta(minutes=15), timedelta(minutes=15), timedelta(minutes=15)),
)


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock()


@pytest.fixture
def tenant(sqlite_store: SqlStore) -> TenantStore:
    t1 = sqlite_store.tenant("t1")
    t1.users.add(user(id="alice", username="alice"))
    return t1


@pytest.fixture
def service(tenant: TenantStore, clock: FixedClock) -> PasskeyService:
    return PasskeyService(
        tenant,
        clock,
        RP_ID,
        "Example Pay",
        [ORIGIN],
        AttestationPolicy(),
        random.Random(5).randbytes,
    )


@pytest.fixture
def signin(service: PasskeyService, tenant: TenantStore, clock: FixedClock) -> PasswordlessSignIn:
    return PasswordlessSignIn(service, Lockout(tenant.throttle, "t1", POLICY), clock)


@pytest.fixture
def passkey(service: PasskeyService) -> SoftPasskey:
    key = SoftPasskey(credential_id=b"\x31" * 20)
    start = service.begin_registration("alice", "session-1")
    service.finish_registration(start.ceremony_id, "session-1", key.create(start.options_json), "K")
    return key


def _sign_in(signin: PasswordlessSignIn, passkey: SoftPasskey, ip: str = HOME) -> str:
    start = signin.begin(COOKIE, ip)
    return signin.finish(start.ceremony_id, COOKIE, passkey.get(start.options_json), ip).user_id


def _fail_once(signin: PasswordlessSignIn, ip: str) -> None:
    start = signin.begin(COOKIE, ip)
    with pytest.raises(PasskeyFailed):
        signin.finish(start.ceremony_id, "another-browser", {}, ip)


def _reason(call: Callable[..., object], *args: object) -> str:
    """The audit reason of the refusal ``call(*args)`` must end in."""
    with pytest.raises(PasskeyFailed) as caught:
        call(*args)
    return caught.value.reason_for_audit


def test_passwordless_options_name_nobody_and_require_user_verification(
    signin: PasswordlessSignIn,
) -> None:
    """The browser may offer any passkey it holds for this site; UV is required."""
    options = json.loads(signin.begin(COOKIE, HOME).options_json)
    assert options["allowCredentials"] == []
    assert options["userVerification"] == "required"
    assert options["rpId"] == RP_ID


def test_a_passkey_signs_its_user_in_without_a_username(
    signin: PasswordlessSignIn, passkey: SoftPasskey
) -> None:
    """The user handle in the assertion names the user."""
    assert _sign_in(signin, passkey) == "alice"


def test_a_step_up_ceremony_cannot_finish_a_sign_in_or_the_reverse(
    signin: PasswordlessSignIn, service: PasskeyService, passkey: SoftPasskey
) -> None:
    """Ceremonies of the two entry points are kept apart by purpose, not only by binding."""
    step_up = service.begin_authentication(COOKIE, "alice")
    response = passkey.get(step_up.options_json)
    assert _reason(signin.finish, step_up.ceremony_id, COOKIE, response, HOME) == ("wrong_ceremony")
    login = signin.begin(COOKIE, HOME)
    response = passkey.get(login.options_json)
    assert _reason(service.finish_authentication, login.ceremony_id, COOKIE, response) == (
        "wrong_ceremony"
    )


def test_failures_lock_the_source_but_not_other_sources(
    signin: PasswordlessSignIn, passkey: SoftPasskey, tenant: TenantStore, clock: FixedClock
) -> None:
    """Three refused sign-ins lock the source for 15 minutes; others are unaffected."""
    stranger = SoftPasskey(credential_id=b"\x77" * 20, user_handle=b"alice")
    for _ in range(3):
        start = signin.begin(COOKIE, ATTACKER)
        response = stranger.get(start.options_json)
        reason = _reason(signin.finish, start.ceremony_id, COOKIE, response, ATTACKER)
        assert reason == "unknown_credential"
    assert _reason(signin.begin, COOKIE, ATTACKER) == "ip_blocked"
    assert _sign_in(signin, passkey, HOME) == "alice"
    assert tenant.throttle.get(account_key("alice")) is None  # no account was blamed
    clock.advance(15 * 60)
    assert _sign_in(signin, passkey, ATTACKER) == "alice"


def test_a_locked_source_is_refused_even_with_the_right_passkey(
    signin: PasswordlessSignIn, passkey: SoftPasskey, tenant: TenantStore, clock: FixedClock
) -> None:
    """A ceremony begun before the lock is not verified once the source is locked."""
    start = signin.begin(COOKIE, ATTACKER)
    for _ in range(3):
        _fail_once(signin, ATTACKER)
    response = passkey.get(start.options_json)
    assert _reason(signin.finish, start.ceremony_id, COOKIE, response, ATTACKER) == ("ip_blocked")
    record = tenant.throttle.get(ip_key(ATTACKER))
    assert record is not None
    assert record.failures == 3  # refusals while locked are not counted


def test_a_disabled_user_cannot_sign_in_and_the_failure_counts(
    signin: PasswordlessSignIn, passkey: SoftPasskey, tenant: TenantStore
) -> None:
    """Disabling the account stops passwordless sign-in at once."""
    tenant.users.update(user(id="alice", username="alice", disabled=True))
    start = signin.begin(COOKIE, HOME)
    response = passkey.get(start.options_json)
    assert _reason(signin.finish, start.ceremony_id, COOKIE, response, HOME) == ("user_disabled")
    record = tenant.throttle.get(ip_key(HOME))
    assert record is not None
    assert record.failures == 1


def test_a_ceremony_cannot_be_finished_from_another_browser(
    signin: PasswordlessSignIn, passkey: SoftPasskey
) -> None:
    """The challenge is bound to the pre-session cookie of the browser that began it."""
    start = signin.begin(COOKIE, HOME)
    response = passkey.get(start.options_json)
    assert _reason(signin.finish, start.ceremony_id, "another", response, HOME) == (
        "challenge_binding_mismatch"
    )
