"""The device registry service: enrolment, approval, posture, certificates, revocation."""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import timedelta

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID

from menshen.crypto import SecretBox
from menshen.errors import Conflict, InvalidInput
from menshen.identity.devices import DeviceFailed, DeviceService, TrustRules
from menshen.identity.devices.ca import create_authority, device_uri
from menshen.jwk import public_jwk
from menshen.store.api import TenantStore
from menshen.store.records import TenantRecord
from menshen.store.sql import SqlStore
from menshen.testing import FixedClock
from tests.identity.test_devices_posture import device_key, report_body, sign_report
from tests.store.factories import T0, user

RULES = TrustRules(max_report_age=timedelta(hours=1))


def _box(seed: int = 1) -> SecretBox:
    return SecretBox(bytes(range(32)), random_bytes=random.Random(seed).randbytes)


def _service(store: TenantStore, clock: FixedClock, seed: int = 1) -> DeviceService:
    return DeviceService(
        store, clock, _box(seed), rules=RULES, random_bytes=random.Random(seed).randbytes
    )


def _csr(key: ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey) -> str:
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "laptop")])
    csr = x509.CertificateSigningRequestBuilder().subject_name(name).sign(key, hashes.SHA256())
    return csr.public_bytes(serialization.Encoding.PEM).decode("ascii")


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(T0)


@pytest.fixture
def people(tenant_store: TenantStore) -> TenantStore:
    tenant_store.users.add(user(id="alice"))
    tenant_store.users.add(user(id="bob"))
    tenant_store.users.add(user(id="gone", disabled=True))
    return tenant_store


@pytest.fixture
def devices(people: TenantStore, clock: FixedClock) -> DeviceService:
    return _service(people, clock)


def _enrol_key(devices: DeviceService, seed: int = 1, owner: str = "alice") -> str:
    jwk = public_jwk(device_key(seed).public_key())
    return devices.enrol(owner, "Work laptop", public_key_jwk=jwk).device.id


def _reason(call: Callable[..., object], *args: object, **kwargs: object) -> str:
    with pytest.raises(DeviceFailed) as caught:
        call(*args, **kwargs)
    return caught.value.reason_for_audit


def test_an_enrolled_device_is_registered_to_its_user(devices: DeviceService) -> None:
    """Enrolment with a key gives a registered device listed for its user only."""
    device_id = _enrol_key(devices)
    assert devices.device_for(device_id).trust == "registered"
    assert [d.id for d in devices.list_for_user("alice")] == [device_id]
    assert devices.list_for_user("bob") == []
    assert [d.id for d in devices.list_all()] == [device_id]


@pytest.mark.parametrize(
    ("name", "jwk", "csr"),
    [
        ("Laptop", None, None),
        ("Laptop", {"kty": "EC"}, "csr"),
        ("", "key", None),
        ("x" * 65, "key", None),
        ("Laptop", {"kty": "RSA", "n": "AQAB", "e": "AQAB"}, None),
        ("Laptop", None, "not a csr"),
    ],
)
def test_bad_enrolments_are_invalid_input(
    devices: DeviceService, name: str, jwk: object, csr: str | None
) -> None:
    """No credential, both, a bad name, a non-P-256 key or a garbage CSR: InvalidInput."""
    key = public_jwk(device_key(1).public_key()) if jwk == "key" else jwk
    with pytest.raises(InvalidInput):
        devices.enrol("alice", name, public_key_jwk=key, csr_pem=csr)  # type: ignore[arg-type]


def test_a_csr_for_an_rsa_key_is_refused(devices: DeviceService) -> None:
    """Device keys are P-256, so posture reports can be verified with them."""
    rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    with pytest.raises(InvalidInput):
        devices.enrol("alice", "Laptop", csr_pem=_csr(rsa_key))


@pytest.mark.parametrize("owner", ["gone", "nobody"])
def test_unknown_or_disabled_users_cannot_enrol(devices: DeviceService, owner: str) -> None:
    """Only an active user of the tenant enrols devices."""
    jwk = public_jwk(device_key(1).public_key())
    assert _reason(devices.enrol, owner, "Laptop", public_key_jwk=jwk) == "unknown_user"


def test_a_key_is_enrolled_once(devices: DeviceService) -> None:
    """The same device key cannot be enrolled again, by anyone."""
    _enrol_key(devices)
    with pytest.raises(Conflict):
        _enrol_key(devices, owner="bob")


def test_approval_and_a_good_report_make_a_device_managed(
    devices: DeviceService, clock: FixedClock
) -> None:
    """Approved plus a recent report with encryption and screen lock: managed, until stale."""
    device_id = _enrol_key(devices)
    devices.approve(device_id, by="admin")
    assert devices.device_for(device_id).trust == "registered"  # no posture yet
    devices.report_posture(device_id, sign_report(device_key(1), report_body(device_id)))
    seen = devices.device_for(device_id)
    assert seen.trust == "managed"
    assert seen.posture["diskEncrypted"] is True
    assert seen.posture["reportedAt"] == int(T0.timestamp())
    clock.advance(RULES.max_report_age.total_seconds() + 1)
    assert devices.device_for(device_id).trust == "registered"


def test_a_good_report_without_approval_stays_registered(devices: DeviceService) -> None:
    """Posture alone never makes a device managed."""
    device_id = _enrol_key(devices)
    devices.report_posture(device_id, sign_report(device_key(1), report_body(device_id)))
    assert devices.device_for(device_id).trust == "registered"


@pytest.mark.parametrize("trust", ["unknown", "root", ""])
def test_approving_an_unknown_trust_is_invalid(devices: DeviceService, trust: str) -> None:
    """Only registered, managed and compliant can be approved."""
    device_id = _enrol_key(devices)
    with pytest.raises(InvalidInput):
        devices.approve(device_id, by="admin", trust=trust)


def test_a_replayed_report_is_refused(devices: DeviceService, clock: FixedClock) -> None:
    """The same report twice, or an older one after a newer, is refused as replayed."""
    device_id = _enrol_key(devices)
    older = sign_report(device_key(1), report_body(device_id, nonce="a"))
    clock.advance(60)
    newer = sign_report(device_key(1), report_body(device_id, at=clock.now(), nonce="b"))
    devices.report_posture(device_id, newer)
    assert _reason(devices.report_posture, device_id, newer) == "replayed"
    assert _reason(devices.report_posture, device_id, older) == "replayed"


def test_a_report_signed_by_another_enrolled_device_is_refused(devices: DeviceService) -> None:
    """Bob's device key cannot vouch for Alice's device."""
    alices = _enrol_key(devices, seed=1)
    _enrol_key(devices, seed=2, owner="bob")
    forged = sign_report(device_key(2), report_body(alices))
    assert _reason(devices.report_posture, alices, forged) == "bad_signature"


def test_reports_for_unknown_or_revoked_devices_are_refused(devices: DeviceService) -> None:
    """Nothing is stored for a device the registry does not know or has revoked."""
    device_id = _enrol_key(devices)
    devices.revoke(device_id, by="admin")
    report = sign_report(device_key(1), report_body(device_id))
    assert _reason(devices.report_posture, device_id, report) == "revoked"
    assert _reason(devices.report_posture, "dev_nope", report) == "unknown_device"


def test_revoking_a_device_refuses_it_and_names_whose_sessions_to_end(
    devices: DeviceService,
) -> None:
    """Revoke returns the owner; the device is refused after, and cannot be revoked twice."""
    device_id = _enrol_key(devices)
    revoked = devices.revoke(device_id, by="admin", reason="lost")
    assert (revoked.device_id, revoked.user_id, revoked.revoked_at) == (device_id, "alice", T0)
    assert _reason(devices.device_for, device_id) == "revoked"
    with pytest.raises(InvalidInput):
        devices.revoke(device_id, by="admin")
    with pytest.raises(InvalidInput):
        devices.approve(device_id, by="admin")
    with pytest.raises(InvalidInput):
        devices.revoke("dev_nope", by="admin")


def test_a_device_of_another_user_is_refused(devices: DeviceService) -> None:
    """A device credential presented in Bob's session is refused."""
    device_id = _enrol_key(devices)
    assert devices.device_of_user("alice", device_id).id == device_id
    assert _reason(devices.device_of_user, "bob", device_id) == "wrong_user"


def test_a_csr_enrolment_gets_a_client_certificate_naming_user_and_device(
    devices: DeviceService, people: TenantStore
) -> None:
    """The CA issues a clientAuth certificate whose URI names tenant, user and device."""
    enrolment = devices.enrol("alice", "Laptop", csr_pem=_csr(device_key(3)))
    assert enrolment.certificate_pem is not None
    cert = x509.load_pem_x509_certificate(enrolment.certificate_pem.encode())
    uris = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    device = enrolment.device
    assert uris.get_values_for_type(x509.UniformResourceIdentifier) == [
        device_uri("t1", "alice", device.id)
    ]
    assert device.certificate_serial == format(cert.serial_number, "x")
    assert device.public_jwk == public_jwk(device_key(3).public_key())
    ca = x509.load_pem_x509_certificate(devices.authority_pem().encode())
    cert.verify_directly_issued_by(ca)
    authority = people.devices.authority()
    assert authority is not None
    assert b"PRIVATE KEY" not in authority.private_key_sealed


def test_a_certificate_proves_its_device_for_its_user_only(devices: DeviceService) -> None:
    """Alice's certificate gives her device; in Bob's session it is refused."""
    enrolment = devices.enrol("alice", "Laptop", csr_pem=_csr(device_key(3)))
    pem = str(enrolment.certificate_pem)
    assert devices.present_certificate("alice", pem).id == enrolment.device.id
    assert _reason(devices.present_certificate, "bob", pem) == "wrong_user"


def test_a_revoked_devices_certificate_is_refused(devices: DeviceService) -> None:
    """After revocation the still-unexpired certificate is refused at once."""
    enrolment = devices.enrol("alice", "Laptop", csr_pem=_csr(device_key(3)))
    devices.revoke(enrolment.device.id, by="admin")
    pem = str(enrolment.certificate_pem)
    assert _reason(devices.present_certificate, "alice", pem) == "revoked"


def test_an_expired_certificate_is_refused(devices: DeviceService, clock: FixedClock) -> None:
    """A certificate past its not-after date is refused."""
    enrolment = devices.enrol("alice", "Laptop", csr_pem=_csr(device_key(3)))
    clock.advance(timedelta(days=366).total_seconds())
    pem = str(enrolment.certificate_pem)
    assert _reason(devices.present_certificate, "alice", pem) == "certificate_expired"


def test_a_certificate_from_another_ca_is_refused(
    devices: DeviceService, people: TenantStore, store: SqlStore, clock: FixedClock
) -> None:
    """A look-alike certificate from another tenant's CA, naming the same device, is refused."""
    enrolment = devices.enrol("alice", "Laptop", csr_pem=_csr(device_key(3)))
    assert devices.present_certificate("alice", str(enrolment.certificate_pem))
    store.add_tenant(TenantRecord(id="t2", name="Two", created_at=T0))
    other = _service(store.tenant("t2"), clock, seed=2)
    store.tenant("t2").users.add(user(tenant_id="t2", id="alice"))
    foreign = other.enrol("alice", "Laptop", csr_pem=_csr(device_key(4)))
    pem = str(foreign.certificate_pem)
    assert _reason(devices.present_certificate, "alice", pem) == "untrusted_certificate"
    assert _reason(devices.present_certificate, "alice", "garbage") == "malformed_certificate"


def test_without_a_ca_no_certificate_is_trusted(devices: DeviceService) -> None:
    """A tenant that never issued a certificate trusts none."""
    pem = create_authority("t1", _box(), T0, random.Random(5).randbytes).certificate_pem
    assert _reason(devices.present_certificate, "alice", pem) == "untrusted_certificate"


def test_the_ca_key_is_bound_to_its_tenant() -> None:
    """The sealed CA key opens only under its own tenant's binding."""
    record = create_authority("t1", _box(), T0, random.Random(5).randbytes)
    assert _box().open(record.private_key_sealed, b"device-ca:t1")
    with pytest.raises(InvalidInput):
        _box().open(record.private_key_sealed, b"device-ca:t2")
