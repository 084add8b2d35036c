"""Groups, TOTP enrolment and verification, recovery codes, through IdentityService."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

import pytest

from menshen.errors import AuthenticationFailed, Conflict, InvalidInput, NotFound
from menshen.identity import totp
from menshen.identity.model import LoginFailed, LoginOk
from menshen.identity.service import IdentityService
from menshen.store.api import CredentialRepository, TenantStore
from menshen.store.records import RecoveryCodeRecord, TotpRecord
from menshen.testing import FixedClock

from .conftest import PASSWORD, CountingHasher, fake_seal, make_service

IP = "203.0.113.7"
ISSUER = "Menshen"


@pytest.fixture
def alice(service: IdentityService) -> str:
    return service.create_user("alice", "alice@example.com", "Alice Chen", PASSWORD).id


def _key(tenant_store: TenantStore, user_id: str) -> bytes:
    record = tenant_store.credentials.get_totp(user_id)
    assert record is not None
    return record.secret_sealed[len(b"sealed:") :][::-1]


def _code(key: bytes, at: datetime) -> str:
    return totp.totp_at(key, at)


def _enrol(service: IdentityService, clock: FixedClock, user_id: str) -> tuple[bytes, list[str]]:
    """Enrol and confirm TOTP; return the key and the recovery codes."""
    enrolment = service.begin_totp_enrolment(user_id, ISSUER)
    key = totp.decode_secret(enrolment.secret)
    codes = service.confirm_totp_enrolment(user_id, _code(key, clock.now()))
    clock.advance(30)  # the confirming code's step is spent; move to a fresh one
    return key, codes


# -- groups ---------------------------------------------------------------------------


def test_groups_and_membership(service: IdentityService, alice: str) -> None:
    """create_group, add_member, groups_of and remove_member work by name."""
    service.create_group("ops", "Operations")
    service.create_group("Settlement-Admins", "Settlement", mfa_required=True)
    service.add_member("ops", "alice")
    service.add_member("settlement-admins", "ALICE")
    service.add_member("ops", "alice")  # idempotent
    assert service.groups_of(alice) == frozenset({"ops", "settlement-admins"})
    service.remove_member("ops", "alice")
    assert service.groups_of(alice) == frozenset({"settlement-admins"})


def test_mfa_is_required_when_any_group_requires_it(service: IdentityService, alice: str) -> None:
    """One group with mfa_required is enough; turning it off lifts the requirement."""
    service.create_group("wiki", "Wiki readers")
    service.create_group("finance", "Finance", mfa_required=False)
    service.add_member("wiki", "alice")
    service.add_member("finance", "alice")
    assert service.mfa_required(alice) is False
    assert service.set_group_mfa("finance", True).mfa_required is True
    assert service.mfa_required(alice) is True
    result = service.authenticate("alice", PASSWORD, IP)
    assert isinstance(result, LoginOk)
    assert result.mfa_required
    assert result.needs_second_factor
    service.set_group_mfa("finance", False)
    assert service.mfa_required(alice) is False


def test_group_errors(service: IdentityService, alice: str) -> None:
    """Duplicate and malformed names, unknown groups and users are refused."""
    service.create_group("ops")
    with pytest.raises(Conflict):
        service.create_group("OPS")
    with pytest.raises(InvalidInput):
        service.create_group("ops team")
    with pytest.raises(NotFound):
        service.set_group_mfa("nope", True)
    with pytest.raises(NotFound):
        service.add_member("nope", "alice")
    with pytest.raises(NotFound):
        service.add_member("ops", "nobody")
    with pytest.raises(NotFound):
        service.remove_member("ops", "nobody")


# -- TOTP enrolment -------------------------------------------------------------------


def test_begin_enrolment_stores_a_sealed_unconfirmed_secret(
    service: IdentityService, tenant_store: TenantStore, clock: FixedClock, alice: str
) -> None:
    """The secret is shown once, stored only sealed, and not yet usable."""
    enrolment = service.begin_totp_enrolment(alice, ISSUER)
    key = totp.decode_secret(enrolment.secret)
    assert len(key) == 20
    assert enrolment.uri.startswith(f"otpauth://totp/{ISSUER}:alice?secret={enrolment.secret}&")
    assert enrolment.qr_svg.startswith("<svg")
    assert enrolment.secret not in repr(enrolment)
    record = tenant_store.credentials.get_totp(alice)
    assert record == TotpRecord("t1", alice, fake_seal(key), False, None, clock.now())
    assert service.has_totp(alice) is False
    assert service.verify_totp(alice, _code(key, clock.now()), IP) is False


def test_beginning_again_replaces_a_pending_secret(service: IdentityService, alice: str) -> None:
    """A second begin (lost QR code) issues a new secret."""
    first = service.begin_totp_enrolment(alice, ISSUER)
    second = service.begin_totp_enrolment(alice, ISSUER)
    assert first.secret != second.secret


def test_begin_enrolment_is_refused_while_a_confirmed_secret_exists(
    service: IdentityService, clock: FixedClock, alice: str
) -> None:
    """Replacing a working second factor needs an admin reset first."""
    _enrol(service, clock, alice)
    with pytest.raises(Conflict):
        service.begin_totp_enrolment(alice, ISSUER)
    service.reset_mfa(alice)
    service.begin_totp_enrolment(alice, ISSUER)


def test_begin_enrolment_for_an_unknown_user_is_not_found(service: IdentityService) -> None:
    """No user, no secret."""
    with pytest.raises(NotFound):
        service.begin_totp_enrolment("no-such-id", ISSUER)


def test_confirm_enrolment_issues_ten_recovery_codes_and_spends_the_step(
    service: IdentityService, tenant_store: TenantStore, clock: FixedClock, alice: str
) -> None:
    """The first code confirms the credential, is used up, and ten codes come back."""
    key = totp.decode_secret(service.begin_totp_enrolment(alice, ISSUER).secret)
    code = _code(key, clock.now())
    codes = service.confirm_totp_enrolment(alice, code)
    assert len(codes) == len(set(codes)) == 10
    record = tenant_store.credentials.get_totp(alice)
    assert record is not None
    assert record.confirmed
    assert record.last_used_step == totp.step_at(clock.now())
    assert service.has_totp(alice) is True
    assert service.recovery_codes_left(alice) == 10
    assert service.verify_totp(alice, code, IP) is False  # the confirming code is spent
    result = service.authenticate("alice", PASSWORD, IP)
    assert isinstance(result, LoginOk)
    assert result.mfa_enrolled
    assert result.needs_second_factor


def test_confirm_enrolment_with_a_wrong_code_fails_and_counts(
    service: IdentityService, tenant_store: TenantStore, clock: FixedClock, alice: str
) -> None:
    """A wrong first code leaves the credential unconfirmed and counts a failure."""
    key = totp.decode_secret(service.begin_totp_enrolment(alice, ISSUER).secret)
    wrong = _code(key, clock.now() + timedelta(minutes=5))
    with pytest.raises(AuthenticationFailed):
        service.confirm_totp_enrolment(alice, wrong)
    assert service.has_totp(alice) is False
    counter = tenant_store.throttle.get(f"user:{alice}")
    assert counter is not None
    assert counter.failures == 1


def test_confirm_enrolment_is_refused_while_the_account_is_locked(
    service: IdentityService, clock: FixedClock, alice: str
) -> None:
    """Five wrong codes lock the account; then even the right code is refused."""
    key = totp.decode_secret(service.begin_totp_enrolment(alice, ISSUER).secret)
    for _ in range(5):
        with pytest.raises(AuthenticationFailed):
            service.confirm_totp_enrolment(
                alice, "000000" if _code(key, clock.now()) != "000000" else "111111"
            )
    with pytest.raises(AuthenticationFailed):
        service.confirm_totp_enrolment(alice, _code(key, clock.now()))
    clock.advance(61)
    assert len(service.confirm_totp_enrolment(alice, _code(key, clock.now()))) == 10


def test_confirm_enrolment_needs_a_pending_enrolment(
    service: IdentityService, clock: FixedClock, alice: str
) -> None:
    """Without a pending secret, or once confirmed, there is nothing to confirm."""
    with pytest.raises(InvalidInput):
        service.confirm_totp_enrolment(alice, "123456")
    key, _ = _enrol(service, clock, alice)
    with pytest.raises(InvalidInput):
        service.confirm_totp_enrolment(alice, _code(key, clock.now()))


# -- TOTP verification ----------------------------------------------------------------


def test_a_current_code_verifies_once(
    service: IdentityService, clock: FixedClock, alice: str
) -> None:
    """The current code is accepted, then refused as a replay; the next step's code works."""
    key, _ = _enrol(service, clock, alice)
    code = _code(key, clock.now())
    assert service.verify_totp(alice, code, IP) is True
    assert service.verify_totp(alice, code, IP) is False
    clock.advance(30)
    assert service.verify_totp(alice, _code(key, clock.now()), IP) is True


def test_codes_with_blanks_are_accepted(
    service: IdentityService, clock: FixedClock, alice: str
) -> None:
    """'123 456' as apps display it is the same code."""
    key, _ = _enrol(service, clock, alice)
    code = _code(key, clock.now())
    assert service.verify_totp(alice, f" {code[:3]} {code[3:]} ", IP) is True


def test_codes_one_step_off_are_accepted_and_two_steps_off_are_not(
    service: IdentityService, clock: FixedClock, alice: str
) -> None:
    """Clock skew of one step is tolerated; two steps is not."""
    key, _ = _enrol(service, clock, alice)
    clock.advance(60)
    assert service.verify_totp(alice, _code(key, clock.now() - timedelta(seconds=60)), IP) is False
    assert service.verify_totp(alice, _code(key, clock.now() - timedelta(seconds=30)), IP) is True


class _StaleCredentials:
    """A credential repository whose reads lag behind: another process's view."""

    def __init__(self, real: CredentialRepository, snapshot: TotpRecord) -> None:
        self._real = real
        self._snapshot = snapshot

    def get_totp(self, user_id: str) -> TotpRecord | None:
        return self._snapshot

    def put_totp(self, record: TotpRecord) -> None:
        self._real.put_totp(record)

    def delete_totp(self, user_id: str) -> None:
        self._real.delete_totp(user_id)

    def advance_totp_step(self, user_id: str, step: int) -> bool:
        return self._real.advance_totp_step(user_id, step)

    def replace_recovery_codes(self, user_id: str, codes: Sequence[RecoveryCodeRecord]) -> None:
        self._real.replace_recovery_codes(user_id, codes)

    def recovery_codes(self, user_id: str) -> Sequence[RecoveryCodeRecord]:
        return self._real.recovery_codes(user_id)

    def use_recovery_code(self, user_id: str, code_hash: str, at: datetime) -> bool:
        return self._real.use_recovery_code(user_id, code_hash, at)


class _View:
    """The same tenant store with a lagging credential repository."""

    def __init__(self, real: TenantStore, credentials: CredentialRepository) -> None:
        self.tenant_id = real.tenant_id
        self.users = real.users
        self.groups = real.groups
        self.credentials = credentials
        self.throttle = real.throttle
        self.sessions = real.sessions
        self.keys = real.keys
        self.audit = real.audit
        self.config = real.config
        self.transaction = real.transaction
        self.policy_versions = real.policy_versions
        self.policy_candidate = real.policy_candidate
        self.webauthn = real.webauthn
        self.devices = real.devices
        self.device_enrolments = real.device_enrolments
        self.federated_sessions = real.federated_sessions
        self.baselines = real.baselines
        self.bad_networks = real.bad_networks
        self.risk_scores = real.risk_scores
        self.response_actions = real.response_actions
        self.incidents = real.incidents
        self.monitor_sources = real.monitor_sources
        self.monitor_quarantine = real.monitor_quarantine
        self.monitor_cursors = real.monitor_cursors
        self.machine_clients = real.machine_clients
        self.compliance_evidence = real.compliance_evidence
        self.compliance_declarations = real.compliance_declarations
        self.compliance_reports = real.compliance_reports


def test_a_replay_is_refused_even_when_another_process_read_before_the_first_use(
    service: IdentityService, tenant_store: TenantStore, clock: FixedClock, alice: str
) -> None:
    """Two processes read the same last step; the store's compare-and-set lets one win."""
    key, _ = _enrol(service, clock, alice)
    before = tenant_store.credentials.get_totp(alice)
    assert before is not None
    other = make_service(
        _View(tenant_store, _StaleCredentials(tenant_store.credentials, before)),
        clock,
        CountingHasher(),
        seed=9,
    )
    code = _code(key, clock.now())
    assert service.verify_totp(alice, code, IP) is True
    assert other.verify_totp(alice, code, "198.51.100.1") is False


def test_wrong_codes_count_and_lock_the_account(
    service: IdentityService, tenant_store: TenantStore, clock: FixedClock, alice: str
) -> None:
    """Five wrong codes lock the account: the right code is then refused, also for login."""
    key, _ = _enrol(service, clock, alice)
    right = _code(key, clock.now())
    wrong = "000000" if right != "000000" else "111111"
    for _ in range(5):
        assert service.verify_totp(alice, wrong, IP) is False
    assert service.verify_totp(alice, right, IP) is False
    assert isinstance(service.authenticate("alice", PASSWORD, IP), LoginFailed)
    clock.advance(60)
    assert service.verify_totp(alice, _code(key, clock.now()), IP) is True
    assert tenant_store.throttle.get(f"user:{alice}") is None


@pytest.mark.parametrize("code", ["", "12345", "abcdef", "1234567", "１２３４５６"])
def test_malformed_codes_are_refused_and_counted(
    service: IdentityService, tenant_store: TenantStore, clock: FixedClock, alice: str, code: str
) -> None:
    """Malformed codes fail like wrong ones and count toward the lock."""
    _enrol(service, clock, alice)
    assert service.verify_totp(alice, code, IP) is False
    counter = tenant_store.throttle.get(f"user:{alice}")
    assert counter is not None
    assert counter.failures == 1


def test_verify_totp_without_a_credential_fails(
    service: IdentityService, tenant_store: TenantStore, alice: str
) -> None:
    """No TOTP credential, no success; the attempt still counts."""
    assert service.has_totp(alice) is False
    assert service.verify_totp(alice, "123456", IP) is False
    assert service.verify_totp("no-such-id", "123456", IP) is False
    counter = tenant_store.throttle.get(f"ip:{IP}")
    assert counter is not None
    assert counter.failures == 2


def test_verify_totp_from_a_blocked_source_fails(
    service: IdentityService, clock: FixedClock, alice: str
) -> None:
    """A blocked source address cannot use even a right code."""
    key, _ = _enrol(service, clock, alice)
    for i in range(20):
        service.authenticate(f"ghost{i}", PASSWORD, IP)
    assert service.verify_totp(alice, _code(key, clock.now()), IP) is False
    assert service.verify_totp(alice, _code(key, clock.now()), "192.0.2.5") is True


# -- recovery codes -------------------------------------------------------------------


def test_a_recovery_code_works_once(
    service: IdentityService, clock: FixedClock, alice: str
) -> None:
    """Each code is accepted once, in any typing; the count of codes left drops."""
    _, codes = _enrol(service, clock, alice)
    assert service.verify_recovery_code(alice, codes[3].upper().replace("-", " "), IP) is True
    assert service.verify_recovery_code(alice, codes[3], IP) is False
    assert service.recovery_codes_left(alice) == 9


@pytest.mark.parametrize("code", ["", "not-a-code", "aaaa-aaaa-aaaa-aaaa", "abcd-efgh-ijkl-mnop-q"])
def test_wrong_or_malformed_recovery_codes_fail_and_count(
    service: IdentityService, tenant_store: TenantStore, clock: FixedClock, alice: str, code: str
) -> None:
    """Codes that were never issued fail and count toward the lock."""
    _enrol(service, clock, alice)
    assert service.verify_recovery_code(alice, code, IP) is False
    counter = tenant_store.throttle.get(f"user:{alice}")
    assert counter is not None
    assert counter.failures == 1


def test_another_users_recovery_code_fails(
    service: IdentityService, clock: FixedClock, alice: str
) -> None:
    """Codes belong to one user."""
    bob = service.create_user("bob", "bob@example.com", "Bob", PASSWORD).id
    _, alice_codes = _enrol(service, clock, alice)
    _enrol(service, clock, bob)
    assert service.verify_recovery_code(bob, alice_codes[0], IP) is False
    assert service.verify_recovery_code(alice, alice_codes[0], IP) is True


def test_recovery_codes_are_refused_while_locked(
    service: IdentityService, clock: FixedClock, alice: str
) -> None:
    """After five failures, even a valid recovery code waits for the lock to end."""
    _, codes = _enrol(service, clock, alice)
    for _ in range(5):
        service.verify_recovery_code(alice, "aaaa-aaaa-aaaa-aaaa", IP)
    assert service.verify_recovery_code(alice, codes[0], IP) is False
    clock.advance(60)
    assert service.verify_recovery_code(alice, codes[0], IP) is True


def test_regenerating_recovery_codes_voids_the_old_ones(
    service: IdentityService, clock: FixedClock, alice: str
) -> None:
    """New codes work, old ones no longer do; without TOTP there is nothing to regenerate."""
    _, old = _enrol(service, clock, alice)
    new = service.regenerate_recovery_codes(alice)
    assert set(new).isdisjoint(old)
    assert service.verify_recovery_code(alice, old[0], IP) is False
    assert service.verify_recovery_code(alice, new[0], IP) is True
    service.reset_mfa(alice)
    with pytest.raises(InvalidInput):
        service.regenerate_recovery_codes(alice)


def test_reset_mfa_removes_totp_and_recovery_codes(
    service: IdentityService, tenant_store: TenantStore, clock: FixedClock, alice: str
) -> None:
    """After an admin reset, neither the old TOTP key nor any recovery code works."""
    key, codes = _enrol(service, clock, alice)
    service.reset_mfa(alice)
    assert service.has_totp(alice) is False
    assert tenant_store.credentials.get_totp(alice) is None
    assert service.recovery_codes_left(alice) == 0
    assert service.verify_totp(alice, _code(key, clock.now()), IP) is False
    assert service.verify_recovery_code(alice, codes[0], IP) is False
    with pytest.raises(NotFound):
        service.reset_mfa("no-such-id")
