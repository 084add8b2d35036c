"""Posture detection: the parsers over real command outputs, and honest defaults."""

from __future__ import annotations

import json
from collections.abc import Sequence

import pytest

from menshen.agent.posture import (
    detect_posture,
    firewall_active,
    lock_enabled,
    os_release,
    root_encrypted,
)

LUKS_LVM = {
    "blockdevices": [
        {
            "name": "nvme0n1",
            "type": "disk",
            "mountpoints": [None],
            "children": [
                {"name": "nvme0n1p1", "type": "part", "mountpoints": ["/boot/efi"]},
                {
                    "name": "nvme0n1p3",
                    "type": "part",
                    "mountpoints": [None],
                    "children": [
                        {
                            "name": "nvme0n1p3_crypt",
                            "type": "crypt",
                            "mountpoints": [None],
                            "children": [
                                {"name": "vg-root", "type": "lvm", "mountpoints": ["/"]},
                                {"name": "vg-swap", "type": "lvm", "mountpoints": ["[SWAP]"]},
                            ],
                        }
                    ],
                },
            ],
        }
    ]
}
PLAIN = {
    "blockdevices": [
        {
            "name": "sda",
            "type": "disk",
            "mountpoint": None,
            "children": [{"name": "sda1", "type": "part", "mountpoint": "/"}],
        },
        {"name": "sdb", "type": "crypt", "mountpoint": "/srv/data"},
    ]
}


def test_root_on_luks_under_lvm_is_encrypted() -> None:
    """``/`` on an LVM volume inside a dm-crypt device counts as encrypted."""
    assert root_encrypted(json.dumps(LUKS_LVM)) is True


def test_root_on_a_plain_partition_is_not_encrypted() -> None:
    """An encrypted data disk does not make a plain root encrypted (old lsblk columns too)."""
    assert root_encrypted(json.dumps(PLAIN)) is False


@pytest.mark.parametrize("output", ["", "not json", "[]", '{"blockdevices": 3}'])
def test_unreadable_lsblk_output_is_not_encrypted(output: str) -> None:
    """Anything unexpected reads as no encryption (never claim a protection unseen)."""
    assert root_encrypted(output) is False


def test_os_release_fields_are_read_with_or_without_quotes() -> None:
    """KEY=value and KEY="value" lines are read; comments and junk are skipped."""
    text = "# comment\nID=debian\nVERSION_ID=\"12\"\nPRETTY_NAME='Debian 12'\njunk\n"
    assert os_release(text) == {"ID": "debian", "VERSION_ID": "12", "PRETTY_NAME": "Debian 12"}


def test_screen_lock_and_firewall_outputs() -> None:
    """gsettings ``true`` is a lock; any active firewall unit is a firewall."""
    assert lock_enabled("true\n") is True
    assert lock_enabled("false\n") is False
    assert lock_enabled(None) is False
    assert firewall_active("inactive\nactive\ninactive\n") is True
    assert firewall_active("inactive\ninactive\n") is False
    assert firewall_active(None) is False


def test_linux_detection_uses_the_commands_it_can_run() -> None:
    """On Linux the parsers see the commands' outputs; a missing command is 'off'."""
    outputs = {
        "lsblk": json.dumps(LUKS_LVM),
        "gsettings": None,
        "systemctl": "active\ninactive\ninactive\n",
    }

    def run(command: Sequence[str]) -> str | None:
        return outputs[command[0]]

    posture = detect_posture(
        run, lambda path: "ID=debian\nVERSION_ID=12\n", system="Linux", release="6.1"
    )
    assert (posture.os, posture.os_version) == ("linux", "debian 12")
    assert (posture.disk_encrypted, posture.screen_lock, posture.firewall) == (True, False, True)


def test_an_unknown_system_reports_nothing_on() -> None:
    """Where the agent cannot look, every protection is reported off."""
    posture = detect_posture(lambda command: None, lambda path: None, system="Plan9", release="4")
    assert (posture.os, posture.os_version) == ("plan9", "4")
    assert not (posture.disk_encrypted)
    assert not (posture.screen_lock)
    assert not (posture.firewall)
