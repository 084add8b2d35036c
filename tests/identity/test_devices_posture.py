"""Signed posture reports (every forged-report case) and the posture rules to trust levels."""

from __future__ import annotations

import base64
import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

from menshen.identity.devices import DeviceFailed, TrustRules
from menshen.identity.devices.posture import verify_posture_report
from menshen.identity.devices.rules import trust_level
from menshen.jwk import public_jwk
from menshen.store.records import DeviceRecord

NOW = datetime(2026, 1, 5, 9, 0, 0, tzinfo=UTC)
RULES = TrustRules(max_report_age=timedelta(hours=1), max_clock_skew=timedelta(minutes=2))


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def device_key(seed: int) -> ec.EllipticCurvePrivateKey:
    """A P-256 key fixed by ``seed`` (tests stay exact)."""
    return ec.derive_private_key(seed + 1000, ec.SECP256R1())


def report_body(device_id: str, at: datetime = NOW, **changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "device_id": device_id,
        "os": "macos",
        "os_version": "15.2",
        "disk_encrypted": True,
        "screen_lock": True,
        "firewall": True,
        "reported_at": int(at.timestamp()),
    }
    body.update(changes)
    return body


def sign_report(
    key: ec.EllipticCurvePrivateKey, body: dict[str, Any], header: dict[str, Any] | None = None
) -> str:
    """A compact JWS over ``body`` signed ES256 with ``key``."""
    head = _b64(json.dumps(header or {"alg": "ES256", "typ": "JWT"}).encode())
    payload = _b64(json.dumps(body).encode())
    der = key.sign(f"{head}.{payload}".encode(), ec.ECDSA(hashes.SHA256()))
    r, s = decode_dss_signature(der)
    return f"{head}.{payload}.{_b64(r.to_bytes(32, 'big') + s.to_bytes(32, 'big'))}"


def _verify(token: str, device_id: str = "d1", seed: int = 1) -> object:
    jwk = public_jwk(device_key(seed).public_key())
    return verify_posture_report(token, device_id=device_id, public_jwk=jwk, rules=RULES, now=NOW)


def _reason(token: str, device_id: str = "d1", seed: int = 1) -> str:
    with pytest.raises(DeviceFailed) as caught:
        _verify(token, device_id, seed)
    return caught.value.reason_for_audit


def test_a_report_signed_by_the_device_key_is_read() -> None:
    """A fresh report signed by the registered key yields its posture."""
    report = verify_posture_report(
        sign_report(device_key(1), report_body("d1", nonce="n-1")),
        device_id="d1",
        public_jwk=public_jwk(device_key(1).public_key()),
        rules=RULES,
        now=NOW,
    )
    assert report.reported_at == NOW
    assert report.report_id == "n-1"
    assert report.attributes() == {
        "os": "macos",
        "osVersion": "15.2",
        "diskEncrypted": True,
        "screenLock": True,
        "firewall": True,
    }


def test_an_unsigned_report_is_refused() -> None:
    """``alg: none`` and an empty signature are refused, whatever the body says."""
    head = _b64(json.dumps({"alg": "none"}).encode())
    body = _b64(json.dumps(report_body("d1")).encode())
    assert _reason(f"{head}.{body}.") == "unsigned"
    signed = sign_report(device_key(1), report_body("d1"))
    assert _reason(signed.rsplit(".", 1)[0] + ".") == "unsigned"


def test_a_report_with_another_algorithm_is_refused() -> None:
    """An HS256 header is refused before any signature is looked at."""
    token = sign_report(device_key(1), report_body("d1"), {"alg": "HS256"})
    assert _reason(token) == "bad_algorithm"


def test_a_report_signed_by_a_wrong_key_is_refused() -> None:
    """A key that is not the device's own fails the signature check."""
    assert _reason(sign_report(device_key(7), report_body("d1"))) == "bad_signature"


def test_a_report_signed_with_another_devices_key_is_refused() -> None:
    """d2's key cannot report for d1, nor can d2's own report pass as d1's."""
    other = sign_report(device_key(2), report_body("d1"))
    assert _reason(other, device_id="d1", seed=1) == "bad_signature"
    own = sign_report(device_key(2), report_body("d2"))
    assert _reason(own, device_id="d1", seed=2) == "wrong_device"


def test_a_tampered_report_is_refused() -> None:
    """Changing the body after signing breaks the signature."""
    head, _, sig = sign_report(device_key(1), report_body("d1", disk_encrypted=False)).split(".")
    forged = _b64(json.dumps(report_body("d1")).encode())
    assert _reason(f"{head}.{forged}.{sig}") == "bad_signature"


def test_a_stale_report_is_refused() -> None:
    """A report older than the allowed age is refused."""
    old = NOW - RULES.max_report_age - timedelta(seconds=1)
    assert _reason(sign_report(device_key(1), report_body("d1", at=old))) == "stale"


def test_a_report_from_the_future_is_refused() -> None:
    """A report dated beyond the clock-skew allowance is refused."""
    ahead = NOW + RULES.max_clock_skew + timedelta(seconds=1)
    assert _reason(sign_report(device_key(1), report_body("d1", at=ahead))) == "future"


@pytest.mark.parametrize(
    "token",
    [
        "",
        "a.b",
        "a.b.c.d",
        "!!.e30.AA",
        "e30.e30." + "A" * 86,
        _b64(b"[1]") + ".e30." + "A" * 86,
        "x" * 9000,
    ],
)
def test_malformed_reports_are_refused(token: str) -> None:
    """Anything that is not a compact ES256 JWS is refused."""
    with pytest.raises(DeviceFailed):
        _verify(token)


@pytest.mark.parametrize(
    "changes",
    [
        {"disk_encrypted": "yes"},
        {"screen_lock": 1},
        {"reported_at": "2026-01-05"},
        {"reported_at": True},
        {"reported_at": 1.5},
        {"os": ""},
        {"os_version": None},
        {"nonce": 7},
    ],
)
def test_reports_with_ill_typed_fields_are_refused(changes: dict[str, Any]) -> None:
    """A signed body whose fields have the wrong types is refused as malformed."""
    token = sign_report(device_key(1), report_body("d1", **changes))
    assert _reason(token) == "malformed"


def _device(**changes: Any) -> DeviceRecord:
    base = DeviceRecord(
        tenant_id="t1",
        id="d1",
        user_id="u1",
        name="Laptop",
        key_thumbprint="k",
        public_jwk={},
        certificate_serial=None,
        certificate_not_after=None,
        approved_trust="managed",
        approved_by="admin",
        approved_at=NOW,
        posture={"diskEncrypted": True, "screenLock": True, "firewall": False},
        posture_reported_at=NOW - timedelta(minutes=10),
        last_report_id="r",
        last_seen_at=NOW,
        created_at=NOW,
    )
    return replace(base, **changes)


def test_an_approved_device_with_recent_good_posture_is_managed() -> None:
    """Admin approval plus disk encryption, screen lock and a recent report: managed."""
    assert trust_level(_device(), RULES, NOW) == "managed"


@pytest.mark.parametrize(
    "changes",
    [
        {"posture": {"diskEncrypted": False, "screenLock": True}},
        {"posture": {"diskEncrypted": True}},
        {"posture": {"diskEncrypted": "true", "screenLock": True}},
        {"posture_reported_at": None},
        {"posture_reported_at": NOW - timedelta(hours=2)},
        {"posture_reported_at": NOW + timedelta(hours=1)},
    ],
)
def test_an_approved_device_without_good_recent_posture_is_only_registered(
    changes: dict[str, Any],
) -> None:
    """Missing protections, no report, an old or a future report: registered, not managed."""
    assert trust_level(_device(**changes), RULES, NOW) == "registered"


def test_an_unapproved_device_is_registered_whatever_its_posture() -> None:
    """Good posture alone does not make a device managed: an admin must approve it."""
    assert trust_level(_device(approved_trust="registered"), RULES, NOW) == "registered"


def test_compliant_needs_the_firewall_too() -> None:
    """An approval as compliant gives compliant only with the firewall on, else managed."""
    device = _device(approved_trust="compliant")
    assert trust_level(device, RULES, NOW) == "managed"
    on = replace(device, posture={**device.posture, "firewall": True})
    assert trust_level(on, RULES, NOW) == "compliant"


@pytest.mark.parametrize("changes", [{"revoked_at": NOW}, {"approved_trust": "root"}])
def test_revoked_or_odd_devices_are_unknown(changes: dict[str, Any]) -> None:
    """A revoked device, or one with a trust value the policy does not know, is unknown."""
    assert trust_level(_device(**changes), RULES, NOW) == "unknown"


def test_the_rules_can_drop_a_requirement() -> None:
    """A tenant that does not require a screen lock gets managed without one."""
    device = _device(posture={"diskEncrypted": True})
    assert trust_level(device, replace(RULES, require_screen_lock=False), NOW) == "managed"
