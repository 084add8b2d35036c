"""The device registry of one tenant (NIST SP 800-207 §2.1 tenet 5, §3.3.1).

A signed-in user enrols a device with a device-bound key: a P-256 public JWK, or a CSR for
one, which the tenant's CA (``ca.py``) answers with a client certificate naming the tenant,
user and device. The device starts ``registered``; an admin may vouch for more (``approve``),
and posture reports signed with the device's key (``posture.py``) keep an approved device at
that level while they are recent and show the required protections (``rules.py``).
A device's credential works only for the user who enrolled it. Revoking a device is final;
the caller then ends the sessions bound to it. Every refusal is a ``DeviceFailed`` whose
``reason_for_audit`` goes to the audit log; bad admin input is ``InvalidInput``.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping, Sequence
from datetime import timedelta
from typing import Any

from menshen.clock import Clock
from menshen.crypto import RandomBytes, SecretBox
from menshen.errors import InvalidInput
from menshen.identity.devices import ca
from menshen.identity.devices.model import (
    DeviceFailed,
    Enrolment,
    RevokedDevice,
    TrustRules,
    validate_device_name,
    validate_trust,
)
from menshen.identity.devices.posture import verify_posture_report
from menshen.identity.devices.rules import trust_level
from menshen.jwk import public_jwk, public_key_from_jwk
from menshen.policy.model import Device
from menshen.store.api import TenantStore
from menshen.store.records import DeviceAuthorityRecord, DeviceRecord

__all__ = ["DeviceService"]

PostureValue = str | int | float | bool


class DeviceService:
    """Enrol, approve, report on, present and revoke the devices of one tenant."""

    def __init__(
        self,
        tenant_store: TenantStore,
        clock: Clock,
        box: SecretBox,
        *,
        rules: TrustRules | None = None,
        certificate_lifetime: timedelta = timedelta(days=365),
        random_bytes: RandomBytes = secrets.token_bytes,
    ) -> None:
        self._store = tenant_store
        self._clock = clock
        self._box = box
        self._rules = rules or TrustRules()
        self._lifetime = certificate_lifetime
        self._random = random_bytes

    def enrol(
        self,
        user_id: str,
        name: str,
        *,
        public_key_jwk: Mapping[str, Any] | None = None,
        csr_pem: str | None = None,
    ) -> Enrolment:
        """Register a device for ``user_id`` with exactly one of a public JWK or a CSR."""
        if (public_key_jwk is None) == (csr_pem is None):
            raise InvalidInput("enrol a device with either a public key or a CSR")
        name = validate_device_name(name)
        user = self._store.users.get(user_id)
        if user is None or user.disabled:
            raise DeviceFailed("unknown_user")
        now = self._clock.now()
        device_id = "dev_" + self._random(16).hex()
        certificate_pem: str | None = None
        serial: str | None = None
        if public_key_jwk is not None:
            jwk = public_jwk(public_key_from_jwk(public_key_jwk))
            not_after = None
        else:
            issued = ca.issue_certificate(
                self._authority(),
                self._box,
                str(csr_pem),
                user_id=user_id,
                device_id=device_id,
                now=now,
                lifetime=self._lifetime,
                random_bytes=self._random,
            )
            jwk = public_jwk(issued.public_key)
            certificate_pem, serial, not_after = (
                issued.certificate_pem,
                issued.serial,
                issued.not_after,
            )
        record = DeviceRecord(
            tenant_id=self._store.tenant_id,
            id=device_id,
            user_id=user_id,
            name=name,
            key_thumbprint=jwk["kid"],
            public_jwk=dict(jwk),
            certificate_serial=serial,
            certificate_not_after=not_after,
            approved_trust="registered",
            approved_by=None,
            approved_at=None,
            posture={},
            posture_reported_at=None,
            last_report_id=None,
            last_seen_at=None,
            created_at=now,
        )
        self._store.devices.add(record)
        return Enrolment(device=record, certificate_pem=certificate_pem)

    def approve(self, device_id: str, *, by: str, trust: str = "managed") -> DeviceRecord:
        """An admin vouches for ``device_id`` up to ``trust``; InvalidInput if it is gone."""
        trust = validate_trust(trust)
        if not self._store.devices.approve(device_id, trust=trust, by=by, at=self._clock.now()):
            raise InvalidInput(f"no active device {device_id!r}")
        return self._record(device_id)

    def report_posture(self, device_id: str, signed_report: str) -> DeviceRecord:
        """Store a posture report signed by ``device_id``'s own key; DeviceFailed if forged,
        stale, from the future or not newer than the last one (replayed)."""
        device = self._live(device_id)
        now = self._clock.now()
        report = verify_posture_report(
            signed_report,
            device_id=device.id,
            public_jwk=device.public_jwk,
            rules=self._rules,
            now=now,
        )
        last = device.posture_reported_at
        if report.report_id == device.last_report_id or (
            last is not None and report.reported_at <= last
        ):
            raise DeviceFailed("replayed")
        stored = self._store.devices.record_posture(
            device.id,
            expected_reported_at=last,
            posture=report.attributes(),
            reported_at=report.reported_at,
            report_id=report.report_id,
            seen_at=now,
        )
        if not stored:  # another report (or a revocation) landed since we read the device
            raise DeviceFailed("replayed")
        return self._record(device_id)

    def present_certificate(self, user_id: str, certificate_pem: str) -> Device:
        """The device a client certificate proves, for ``user_id``'s session; DeviceFailed
        if the CA did not issue it, it expired, its device is revoked or re-keyed, or it
        belongs to another user."""
        authority = self._store.devices.authority()
        if authority is None:
            raise DeviceFailed("untrusted_certificate")
        named = ca.verify_certificate(authority, certificate_pem, now=self._clock.now())
        device = self._live(named.device_id)
        if device.certificate_serial != named.serial:
            raise DeviceFailed("certificate_revoked")
        return self._for_user(user_id, device)

    def device_of_user(self, user_id: str, device_id: str) -> Device:
        """``device_id`` as the policy sees it, if it is ``user_id``'s and not revoked."""
        return self._for_user(user_id, self._live(device_id))

    def revoke(self, device_id: str, *, by: str, reason: str = "revoked") -> RevokedDevice:
        """Refuse the device (and its certificate) from now on; the caller ends its sessions."""
        device = self._store.devices.get(device_id)
        if device is None:
            raise InvalidInput(f"no device {device_id!r}")
        at = self._clock.now()
        if not self._store.devices.revoke(device_id, at=at, by=by, reason=reason):
            raise InvalidInput(f"device {device_id!r} is revoked already")
        return RevokedDevice(device_id=device_id, user_id=device.user_id, revoked_at=at)

    def device_for(self, device_id: str) -> Device:
        """The policy's view of ``device_id`` now; DeviceFailed if unknown or revoked."""
        return self._policy_device(self._live(device_id))

    def list_for_user(self, user_id: str) -> Sequence[DeviceRecord]:
        return self._store.devices.list_for_user(user_id)

    def list_all(self) -> Sequence[DeviceRecord]:
        return self._store.devices.list()

    def authority_pem(self) -> str:
        """The tenant CA's certificate (for the TLS listener's client-CA list)."""
        return self._authority().certificate_pem

    def _for_user(self, user_id: str, device: DeviceRecord) -> Device:
        if not secrets.compare_digest(device.user_id.encode(), user_id.encode()):
            raise DeviceFailed("wrong_user")
        return self._policy_device(device)

    def _policy_device(self, device: DeviceRecord) -> Device:
        posture: dict[str, PostureValue] = {
            key: value
            for key, value in device.posture.items()
            if isinstance(value, str | int | float | bool)
        }
        if device.posture_reported_at is not None:
            posture["reportedAt"] = int(device.posture_reported_at.timestamp())
        return Device(
            id=device.id,
            trust=trust_level(device, self._rules, self._clock.now()),
            posture=posture,
        )

    def _live(self, device_id: str) -> DeviceRecord:
        device = self._store.devices.get(device_id)
        if device is None:
            raise DeviceFailed("unknown_device")
        if device.revoked_at is not None:
            raise DeviceFailed("revoked")
        return device

    def _record(self, device_id: str) -> DeviceRecord:
        device = self._store.devices.get(device_id)
        if device is None:
            raise InvalidInput(f"no device {device_id!r}")
        return device

    def _authority(self) -> DeviceAuthorityRecord:
        authority = self._store.devices.authority()
        if authority is None:
            created = ca.create_authority(
                self._store.tenant_id, self._box, self._clock.now(), self._random
            )
            self._store.devices.add_authority(created)  # a racing replica's CA may win
            authority = self._store.devices.authority()
        if authority is None:
            raise InvalidInput("the device CA could not be created")
        return authority
