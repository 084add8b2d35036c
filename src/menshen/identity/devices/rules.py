"""Posture rules to a trust level (NIST SP 800-207 §3.3.1, the trust algorithm's device input).

Pure: the registry record, the tenant's rules and the time in, a level of
``menshen.policy.conditions.TRUST_LEVELS`` out. An admin's approval is a ceiling, never a
floor: a device approved as ``managed`` is only ``managed`` while its last posture report is
recent and shows the required protections; otherwise it falls back to ``registered``. A
revoked device is ``unknown``. Anything unexpected in the stored posture fails closed.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from menshen.identity.devices.model import TrustRules
from menshen.policy.conditions import TRUST_LEVELS
from menshen.policy.model import Device
from menshen.store.records import DeviceRecord

__all__ = ["policy_device", "trust_changes_at", "trust_level"]

PostureValue = str | int | float | bool


def trust_level(device: DeviceRecord, rules: TrustRules, now: datetime) -> str:
    """The trust the policy should see for ``device`` at ``now``."""
    if device.revoked_at is not None:
        return "unknown"
    ceiling = device.approved_trust
    if ceiling not in TRUST_LEVELS or ceiling == "unknown":
        return "unknown"
    if ceiling == "registered":
        return "registered"
    if not _recent(device, rules, now) or not _protected(device.posture, rules):
        return "registered"
    if ceiling == "compliant" and device.posture.get("firewall") is not True:
        return "managed"
    return ceiling


def _recent(device: DeviceRecord, rules: TrustRules, now: datetime) -> bool:
    reported = device.posture_reported_at
    if reported is None:
        return False
    return reported <= now + rules.max_clock_skew and now - reported <= rules.max_report_age


def _protected(posture: Mapping[str, Any], rules: TrustRules) -> bool:
    if rules.require_disk_encryption and posture.get("diskEncrypted") is not True:
        return False
    return not (rules.require_screen_lock and posture.get("screenLock") is not True)


def policy_device(device: DeviceRecord, rules: TrustRules, now: datetime) -> Device:
    """``device`` as the policy sees it at ``now``: its trust and its reported posture
    (plain values only; ``reportedAt`` in seconds since the epoch)."""
    posture: dict[str, PostureValue] = {
        key: value
        for key, value in device.posture.items()
        if isinstance(value, str | int | float | bool)
    }
    if device.posture_reported_at is not None:
        posture["reportedAt"] = int(device.posture_reported_at.timestamp())
    return Device(id=device.id, trust=trust_level(device, rules, now), posture=posture)


def trust_changes_at(device: DeviceRecord, rules: TrustRules) -> datetime | None:
    """The moment ``trust_level`` may next give another answer for an unchanged record
    (its last report grows too old), or None if time alone never changes it."""
    if device.revoked_at is not None or device.posture_reported_at is None:
        return None
    return device.posture_reported_at + rules.max_report_age
