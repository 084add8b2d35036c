"""What this device can tell about itself: OS and version, disk encryption, screen lock,
firewall (NIST SP 800-207 §2.1 tenet 5; CIS Controls v8 safeguards 3.6, 4.3 and 4.5).

Best effort and honest about it: a protection the agent cannot see is reported off, never
on. Linux: the root file system on a dm-crypt device (``lsblk``), GNOME's screen lock
setting (``gsettings``), an active ufw, firewalld or nftables service (``systemctl``).
macOS: FileVault (``fdesetup``) and the application firewall. Managed set-ups that know
better (an MDM) state the facts with the agent's override flags. The parsers are pure; the
commands run through an injected ``run`` so tests need no such machine.
"""

from __future__ import annotations

import json
import platform
import shutil
import subprocess
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from menshen.agent.report import Posture

__all__ = [
    "detect_posture",
    "firewall_active",
    "lock_enabled",
    "os_release",
    "root_encrypted",
    "run_command",
]

Run = Callable[[Sequence[str]], str | None]
Read = Callable[[str], str | None]
_TIMEOUT_SECONDS = 5.0


def os_release(text: str) -> dict[str, str]:
    """``/etc/os-release`` (freedesktop.org os-release(5)) as a mapping."""
    fields: dict[str, str] = {}
    for line in text.splitlines():
        name, sep, value = line.strip().partition("=")
        if not sep or not name or name.startswith("#"):
            continue
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
            value = value[1:-1]
        fields[name] = value
    return fields


def root_encrypted(lsblk_json: str) -> bool:
    """Whether ``lsblk --json -o NAME,TYPE,MOUNTPOINTS`` shows ``/`` on or above a ``crypt``
    device (a LUKS volume, possibly with LVM on top)."""
    try:
        data = json.loads(lsblk_json)
    except ValueError:
        return False
    devices = data.get("blockdevices") if isinstance(data, dict) else None
    return isinstance(devices, list) and _root_under_crypt(devices, False)


def _root_under_crypt(devices: list[Any], encrypted: bool) -> bool:
    for device in devices:
        if not isinstance(device, dict):
            continue
        here = encrypted or device.get("type") == "crypt"
        mounts = device.get("mountpoints", device.get("mountpoint"))
        if here and (mounts == "/" or (isinstance(mounts, list) and "/" in mounts)):
            return True
        children = device.get("children")
        if isinstance(children, list) and _root_under_crypt(children, here):
            return True
    return False


def lock_enabled(gsettings_output: str | None) -> bool:
    """``gsettings get org.gnome.desktop.screensaver lock-enabled`` says ``true``."""
    return gsettings_output is not None and gsettings_output.strip() == "true"


def firewall_active(systemctl_output: str | None) -> bool:
    """``systemctl is-active ufw firewalld nftables`` names at least one ``active`` unit."""
    if systemctl_output is None:
        return False
    return any(line.strip() == "active" for line in systemctl_output.splitlines())


def detect_posture(
    run: Run, read: Read, *, system: str | None = None, release: str | None = None
) -> Posture:
    """This machine's posture, as far as it can be seen."""
    system = system or platform.system()
    if system == "Linux":
        info = os_release(read("/etc/os-release") or "")
        version = " ".join(v for v in (info.get("ID"), info.get("VERSION_ID")) if v)
        return Posture(
            os="linux",
            os_version=version or release or platform.release(),
            disk_encrypted=_linux_disk_encrypted(run),
            screen_lock=lock_enabled(
                run(["gsettings", "get", "org.gnome.desktop.screensaver", "lock-enabled"])
            ),
            firewall=firewall_active(
                run(["systemctl", "is-active", "ufw", "firewalld", "nftables"])
            ),
        )
    if system == "Darwin":
        filevault = run(["fdesetup", "status"]) or ""
        firewall = run(["/usr/libexec/ApplicationFirewall/socketfilterfw", "--getglobalstate"])
        return Posture(
            os="macos",
            os_version=release or platform.mac_ver()[0] or "unknown",
            disk_encrypted="FileVault is On" in filevault,
            screen_lock=False,  # not readable without a profile: state it with --screen-lock
            firewall=firewall is not None and "enabled" in firewall,
        )
    return Posture(
        os=system.lower() or "unknown",
        os_version=release or platform.release() or "unknown",
        disk_encrypted=False,
        screen_lock=False,
        firewall=False,
    )


def _linux_disk_encrypted(run: Run) -> bool:
    # MOUNTPOINTS (every mount of a device) needs util-linux 2.37; older lsblk has MOUNTPOINT.
    for columns in ("NAME,TYPE,MOUNTPOINTS", "NAME,TYPE,MOUNTPOINT"):
        output = run(["lsblk", "--json", "-o", columns])
        if output and output.lstrip().startswith("{"):
            return root_encrypted(output)
    return False


def run_command(command: Sequence[str]) -> str | None:
    """The standard output of ``command`` (whatever its exit status), or None if it is not
    installed or does not finish in time."""
    path = shutil.which(command[0])
    if path is None:
        return None
    try:
        done = subprocess.run(  # noqa: S603 - fixed commands, no shell, no user input
            [path, *command[1:]],
            capture_output=True,
            text=True,
            timeout=_TIMEOUT_SECONDS,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout


def read_text(path: str) -> str | None:
    try:
        return Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None
