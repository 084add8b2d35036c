"""The agent's posture report is what the gateway verifies; overrides state facts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from menshen.agent.client import Overrides
from menshen.agent.report import Posture, report_body, sign_report
from menshen.identity.devices import DeviceFailed, TrustRules
from menshen.identity.devices.posture import verify_posture_report
from menshen.jwk import public_jwk
from tests.identity.test_devices_posture import device_key

NOW = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
RULES = TrustRules(max_report_age=timedelta(hours=1))
POSTURE = Posture("linux", "debian 12", disk_encrypted=True, screen_lock=False, firewall=True)


def test_the_signed_report_verifies_with_the_device_key() -> None:
    """The gateway's verifier reads back every field the agent signed."""
    token = sign_report(device_key(1), report_body("dev_1", POSTURE, NOW, "n-1"))
    report = verify_posture_report(
        token,
        device_id="dev_1",
        public_jwk=public_jwk(device_key(1).public_key()),
        rules=RULES,
        now=NOW,
    )
    assert report.attributes() == {
        "os": "linux",
        "osVersion": "debian 12",
        "diskEncrypted": True,
        "screenLock": False,
        "firewall": True,
    }
    assert (report.reported_at, report.report_id) == (NOW, "n-1")


def test_a_report_signed_by_another_key_does_not_verify() -> None:
    """Only the enrolled device's key makes a report the gateway accepts."""
    token = sign_report(device_key(2), report_body("dev_1", POSTURE, NOW, "n-1"))
    with pytest.raises(DeviceFailed):
        verify_posture_report(
            token,
            device_id="dev_1",
            public_jwk=public_jwk(device_key(1).public_key()),
            rules=RULES,
            now=NOW,
        )


def test_overrides_replace_only_the_facts_they_state() -> None:
    """A stated fact wins over detection; unstated ones keep what was detected."""
    stated = Overrides(screen_lock=True, firewall=False).apply(POSTURE)
    assert (stated.disk_encrypted, stated.screen_lock, stated.firewall) == (True, True, False)
    assert Overrides().apply(POSTURE) == POSTURE
