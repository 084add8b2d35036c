"""Device trust: the device registry, posture reports, trust levels and the device CA
(NIST SP 800-207 §2.1 tenet 5)."""

from menshen.identity.devices.model import (
    DeviceEvents,
    DeviceFailed,
    Enrolment,
    PostureReport,
    RevokedDevice,
    TrustRules,
)
from menshen.identity.devices.service import DeviceService, IssuedCode

__all__ = [
    "DeviceEvents",
    "DeviceFailed",
    "DeviceService",
    "Enrolment",
    "IssuedCode",
    "PostureReport",
    "RevokedDevice",
    "TrustRules",
]
