"""Values of device trust: posture reports, trust rules, enrolments and refusals.

NIST SP 800-207 §2.1 tenet 5 (device integrity and posture feed the access decision) and
§3.3.1 (device identity and trust as inputs to the trust algorithm). The trust levels are the
policy's own (``menshen.policy.conditions.TRUST_LEVELS``), weakest first.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final

from menshen.errors import AuthenticationFailed, InvalidInput
from menshen.policy.conditions import TRUST_LEVELS
from menshen.store.records import DeviceRecord

__all__ = [
    "APPROVABLE_TRUST",
    "DeviceEvents",
    "DeviceFailed",
    "Enrolment",
    "PostureReport",
    "RevokedDevice",
    "TrustRules",
    "validate_device_name",
]

APPROVABLE_TRUST = ("registered", "managed", "compliant")
"""What an admin may vouch for; ``unknown`` is what no one vouches for."""

MAX_DEVICE_NAME = 64


class DeviceEvents:
    """Audit event kinds of device trust (outcome ``success`` or ``failure``)."""

    CODE_ISSUED: Final = "device.code_issued"
    ENROLLED: Final = "device.enrolled"
    ENROL_REFUSED: Final = "device.enrol_refused"
    APPROVED: Final = "device.approved"
    POSTURE_ACCEPTED: Final = "device.posture_accepted"
    POSTURE_REFUSED: Final = "device.posture_refused"
    RENAMED: Final = "device.renamed"
    REVOKED: Final = "device.revoked"


class DeviceFailed(AuthenticationFailed):
    """A device credential or posture report was refused. Its message says nothing;
    ``reason_for_audit`` is for the audit log only (``unsigned``, ``bad_signature``,
    ``wrong_device``, ``stale``, ``future``, ``replayed``, ``wrong_user``, ``revoked``...)."""

    def __init__(self, reason_for_audit: str) -> None:
        super().__init__()
        self.reason_for_audit = reason_for_audit


@dataclass(frozen=True, slots=True)
class PostureReport:
    """A verified posture report: what the device says about itself, and when it said it.

    ``report_id`` is the report's ``nonce`` when it has one, else a hash of the report.
    """

    device_id: str
    os: str
    os_version: str
    disk_encrypted: bool
    screen_lock: bool
    firewall: bool
    reported_at: datetime
    report_id: str

    def attributes(self) -> dict[str, str | bool]:
        """The report as policy posture attributes (camelCase, as in policy files)."""
        return {
            "os": self.os,
            "osVersion": self.os_version,
            "diskEncrypted": self.disk_encrypted,
            "screenLock": self.screen_lock,
            "firewall": self.firewall,
        }


@dataclass(frozen=True, slots=True)
class TrustRules:
    """One tenant's posture rules.

    ``max_report_age`` bounds both how old a report may be when it arrives and how long a
    stored report keeps a device ``managed``; ``max_clock_skew`` is how far in the future a
    report's time may lie. ``compliant`` additionally needs the firewall on.
    """

    max_report_age: timedelta = timedelta(hours=24)
    max_clock_skew: timedelta = timedelta(minutes=2)
    require_disk_encryption: bool = True
    require_screen_lock: bool = True

    def __post_init__(self) -> None:
        if self.max_report_age <= timedelta(0) or self.max_clock_skew < timedelta(0):
            raise InvalidInput("posture rule windows must be positive")


@dataclass(frozen=True, slots=True)
class Enrolment:
    """A newly enrolled device; ``certificate_pem`` is set when it enrolled with a CSR."""

    device: DeviceRecord
    certificate_pem: str | None


@dataclass(frozen=True, slots=True)
class RevokedDevice:
    """A device just revoked: the caller kills ``user_id``'s sessions on ``device_id``."""

    device_id: str
    user_id: str
    revoked_at: datetime


def validate_device_name(name: str) -> str:
    """A device name as given, stripped; InvalidInput if empty, too long or not printable."""
    cleaned = name.strip() if isinstance(name, str) else ""
    if not cleaned or len(cleaned) > MAX_DEVICE_NAME or not cleaned.isprintable():
        raise InvalidInput(f"a device name is 1-{MAX_DEVICE_NAME} printable characters")
    return cleaned


def validate_trust(trust: str) -> str:
    """``trust`` if an admin may set it; InvalidInput otherwise."""
    if trust not in APPROVABLE_TRUST or trust not in TRUST_LEVELS:
        raise InvalidInput(f"trust must be one of {', '.join(APPROVABLE_TRUST)}")
    return trust
