"""Enrolment codes and self-service: single-use codes, the agent's enrolment, rename, remove."""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import timedelta

import pytest
from cryptography import x509

from menshen.crypto import SecretBox
from menshen.errors import InvalidInput
from menshen.identity.devices import DeviceFailed, DeviceService
from menshen.identity.devices.codes import CODE_LENGTH, code_hash, new_code, normalise_code
from menshen.identity.devices.service import IssuedCode
from menshen.store.api import TenantStore
from menshen.testing import FixedClock
from tests.identity.test_devices_posture import device_key
from tests.identity.test_devices_service import _csr
from tests.store.factories import T0, user


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(T0)


@pytest.fixture
def devices(tenant_store: TenantStore, clock: FixedClock) -> DeviceService:
    tenant_store.users.add(user(id="alice"))
    tenant_store.users.add(user(id="bob"))
    box = SecretBox(bytes(range(32)), random_bytes=random.Random(1).randbytes)
    return DeviceService(
        tenant_store,
        clock,
        box,
        code_lifetime=timedelta(minutes=10),
        random_bytes=random.Random(7).randbytes,
    )


def _reason(call: object, *args: object) -> str:
    assert callable(call)
    with pytest.raises(DeviceFailed) as caught:
        call(*args)
    return caught.value.reason_for_audit


def test_codes_are_grouped_base32_and_read_forgivingly() -> None:
    """16 Crockford characters in groups of four; case, dashes and look-alikes do not matter."""
    code = new_code(random.Random(3).randbytes)
    assert len(code) == CODE_LENGTH + 3
    assert code.count("-") == 3
    plain = code.replace("-", "")
    assert normalise_code(code) == plain
    assert normalise_code(f" {plain.lower()} ") == plain
    assert normalise_code(plain.replace("0", "O").replace("1", "I")) == plain
    assert code_hash(plain) != code_hash(plain[::-1])


@pytest.mark.parametrize("typed", ["", "ABCD", "U" * 16, "A" * 17, "A" * 65, "ABCD-EFGH-JKMN-PQR!"])
def test_malformed_codes_are_not_codes(typed: str) -> None:
    """Wrong length or characters outside the alphabet read as no code at all."""
    assert normalise_code(typed) is None


def test_an_issued_code_enrols_one_device_for_its_user(
    devices: DeviceService, tenant_store: TenantStore
) -> None:
    """The code's user gets the device and a certificate; only the code's hash is stored."""
    issued = devices.issue_code("alice")
    assert issued.expires_at == T0 + timedelta(minutes=10)
    enrolment = devices.enrol_with_code(issued.code.lower(), "Laptop", _csr(device_key(4)))
    assert enrolment.device.user_id == "alice"
    assert enrolment.certificate_pem is not None
    x509.load_pem_x509_certificate(enrolment.certificate_pem.encode())
    plain = normalise_code(issued.code)
    assert plain is not None
    stored = tenant_store.device_enrolments.get(code_hash(plain))
    assert stored is not None
    assert (stored.used_at, stored.device_id) == (T0, enrolment.device.id)


def test_a_code_is_refused_the_second_time(devices: DeviceService) -> None:
    """A spent code enrols nothing more."""
    issued = devices.issue_code("alice")
    devices.enrol_with_code(issued.code, "Laptop", _csr(device_key(4)))
    reason = _reason(devices.enrol_with_code, issued.code, "Other", _csr(device_key(5)))
    assert reason == "code_reused"
    assert len(devices.list_for_user("alice")) == 1


def test_an_expired_code_is_refused(devices: DeviceService, clock: FixedClock) -> None:
    """At the end of its lifetime a code enrols nothing."""
    issued = devices.issue_code("alice")
    clock.advance(600)
    reason = _reason(devices.enrol_with_code, issued.code, "Laptop", _csr(device_key(4)))
    assert reason == "code_expired"
    assert devices.list_for_user("alice") == []


def test_unknown_and_malformed_codes_are_refused(devices: DeviceService) -> None:
    """A well-formed code never issued, and garbage, are refused with their own reasons."""
    never = new_code(random.Random(99).randbytes)
    assert _reason(devices.enrol_with_code, never, "L", _csr(device_key(4))) == "unknown_code"
    assert _reason(devices.enrol_with_code, "nope", "L", _csr(device_key(4))) == "malformed_code"


def test_a_bad_request_leaves_the_code_unspent(devices: DeviceService) -> None:
    """A CSR the CA refuses, or a bad name, rolls the enrolment back: the code still works."""
    issued = devices.issue_code("alice")
    with pytest.raises(InvalidInput):
        devices.enrol_with_code(issued.code, "Laptop", "not a csr")
    with pytest.raises(InvalidInput):
        devices.enrol_with_code(issued.code, "", _csr(device_key(4)))
    assert devices.list_for_user("alice") == []
    devices.enrol_with_code(issued.code, "Laptop", _csr(device_key(4)))
    assert len(devices.list_for_user("alice")) == 1


def test_a_code_of_a_user_disabled_since_enrols_nothing(
    devices: DeviceService, tenant_store: TenantStore
) -> None:
    """The user is checked when the code is redeemed, not only when it was issued."""
    issued: IssuedCode = devices.issue_code("alice")
    alice = tenant_store.users.get("alice")
    assert alice is not None
    tenant_store.users.update(replace(alice, disabled=True))
    reason = _reason(devices.enrol_with_code, issued.code, "Laptop", _csr(device_key(4)))
    assert reason == "unknown_user"


def test_users_rename_and_remove_only_their_own_devices(devices: DeviceService) -> None:
    """Bob cannot touch Alice's device; Alice renames it, then removes it for good."""
    device_id = devices.enrol("alice", "Laptop", csr_pem=_csr(device_key(4))).device.id
    assert _reason(devices.rename, "bob", device_id, "Mine now") == "wrong_user"
    assert _reason(devices.remove, "bob", device_id) == "wrong_user"
    assert devices.rename("alice", device_id, "  Work laptop ").name == "Work laptop"
    with pytest.raises(InvalidInput):
        devices.rename("alice", device_id, "")
    removed = devices.remove("alice", device_id)
    assert (removed.device_id, removed.user_id) == (device_id, "alice")
    assert _reason(devices.rename, "alice", device_id, "Again") == "revoked"
    assert _reason(devices.remove, "alice", device_id) == "revoked"


def test_issuing_a_code_drops_codes_expired_a_day_ago(
    devices: DeviceService, tenant_store: TenantStore, clock: FixedClock
) -> None:
    """Old codes do not pile up: a new code purges those expired more than a day before."""
    old = devices.issue_code("alice")
    plain = normalise_code(old.code)
    assert plain is not None
    clock.advance(timedelta(days=1, minutes=11).total_seconds())
    devices.issue_code("alice")
    assert tenant_store.device_enrolments.get(code_hash(plain)) is None
