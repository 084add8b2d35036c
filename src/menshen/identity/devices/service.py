"""The device registry of one tenant (NIST SP 800-207 §2.1 tenet 5, §3.3.1).

A signed-in user enrols a device with a device-bound key: a P-256 public JWK, or a CSR for
one, which the tenant's CA (``ca.py``) answers with a client certificate naming the tenant,
user and device. The device starts ``registered``; an admin may vouch for more (``approve``),
and posture reports signed with the device's key (``posture.py``) keep an approved device at
that level while they are recent and show the required protections (``rules.py``).
A device's credential works only for the user who enrolled it. The device agent enrols
with a single-use code the user got from the devices page (``codes.py``), redeemed in the
same transaction that stores the device. Revoking a device is final; the caller then ends
the sessions bound to it. Every refusal is a ``DeviceFailed`` whose
``reason_for_audit`` goes to the audit log; bad admin input is ``InvalidInput``.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from menshen.clock import Clock
from menshen.crypto import RandomBytes, SecretBox
from menshen.errors import InvalidInput
from menshen.identity.devices import ca
from menshen.identity.devices.codes import code_hash, new_code, normalise_code
from menshen.identity.devices.model import (
    DeviceFailed,
    Enrolment,
    RevokedDevice,
    TrustRules,
    validate_device_name,
    validate_trust,
)
from menshen.identity.devices.posture import verify_posture_report
from menshen.identity.devices.rules import policy_device
from menshen.jwk import public_jwk, public_key_from_jwk
from menshen.policy.model import Device
from menshen.store.api import TenantStore
from menshen.store.records import DeviceAuthorityRecord, DeviceEnrolmentRecord, DeviceRecord

__all__ = ["DeviceService", "IssuedCode"]

CODE_RETENTION = timedelta(days=1)


@dataclass(frozen=True, slots=True)
class IssuedCode:
    """An enrolment code as shown to its user once; the store keeps only its hash."""

    code: str
    expires_at: datetime


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
        code_lifetime: timedelta = timedelta(minutes=10),
        random_bytes: RandomBytes = secrets.token_bytes,
    ) -> None:
        self._store = tenant_store
        self._clock = clock
        self._box = box
        self._rules = rules or TrustRules()
        self._lifetime = certificate_lifetime
        self._code_lifetime = code_lifetime
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

    @property
    def rules(self) -> TrustRules:
        return self._rules

    def issue_code(self, user_id: str) -> IssuedCode:
        """A single-use enrolment code for ``user_id``, valid for the code lifetime."""
        now = self._clock.now()
        code = new_code(self._random)
        normalised = normalise_code(code)
        assert normalised is not None  # new_code writes only what normalise_code reads
        expires_at = now + self._code_lifetime
        # Spent and expired codes are kept a day for the audit trail, then dropped here.
        self._store.device_enrolments.purge(now - CODE_RETENTION)
        self._store.device_enrolments.add(
            DeviceEnrolmentRecord(
                tenant_id=self._store.tenant_id,
                code_hash=code_hash(normalised),
                user_id=user_id,
                created_at=now,
                expires_at=expires_at,
            )
        )
        return IssuedCode(code=code, expires_at=expires_at)

    def enrol_with_code(self, code: str, name: str, csr_pem: str) -> Enrolment:
        """Enrol a device for the user ``code`` was issued to, spending the code.

        DeviceFailed (``malformed_code``, ``unknown_code``, ``code_reused``,
        ``code_expired``, ``unknown_user``) or InvalidInput (a bad name or CSR); either
        way nothing is stored and an unspent code stays unspent.
        """
        normalised = normalise_code(code)
        if normalised is None:
            raise DeviceFailed("malformed_code")
        hashed = code_hash(normalised)
        codes = self._store.device_enrolments
        with self._store.transaction():
            record = codes.get(hashed)
            now = self._clock.now()
            if record is None:
                raise DeviceFailed("unknown_code")
            if record.used_at is not None:
                raise DeviceFailed("code_reused")
            if record.expires_at <= now:
                raise DeviceFailed("code_expired")
            enrolment = self.enrol(record.user_id, name, csr_pem=csr_pem)
            if not codes.redeem(hashed, at=now, device_id=enrolment.device.id):
                raise DeviceFailed("code_reused")  # another agent spent it meanwhile
        return enrolment

    def rename(self, user_id: str, device_id: str, name: str) -> DeviceRecord:
        """Rename one of ``user_id``'s live devices; DeviceFailed if it is not theirs."""
        name = validate_device_name(name)
        device = self._live(device_id)
        self._owned(user_id, device)
        if not self._store.devices.rename(device_id, name):
            raise DeviceFailed("revoked")
        return self._record(device_id)

    def remove(self, user_id: str, device_id: str) -> RevokedDevice:
        """``user_id`` revokes one of their own devices; DeviceFailed if it is not theirs."""
        device = self._live(device_id)
        self._owned(user_id, device)
        return self.revoke(device_id, by=user_id, reason="removed by its user")

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
        self._owned(user_id, device)
        return self._policy_device(device)

    @staticmethod
    def _owned(user_id: str, device: DeviceRecord) -> None:
        if not secrets.compare_digest(device.user_id.encode(), user_id.encode()):
            raise DeviceFailed("wrong_user")

    def _policy_device(self, device: DeviceRecord) -> Device:
        return policy_device(device, self._rules, self._clock.now())

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
