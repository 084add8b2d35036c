"""``menshen device`` for admins and ``menshen agent`` errors a person can act on."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from menshen.agent.credentials import certificate_request, new_device_key
from menshen.app import Platform
from menshen.cli.main import app
from menshen.clock import SystemClock
from menshen.settings import load_settings
from menshen.store.records import SessionRecord

runner = CliRunner()


def menshen(data_dir: Path, *args: str) -> tuple[int, str]:
    result = runner.invoke(app, ["--data-dir", str(data_dir), "--tenant", "acme", *args])
    return result.exit_code, result.output


@pytest.fixture
def enrolled(tmp_path: Path) -> tuple[Path, str]:
    """A data directory where alice has one enrolled device and a session bound to it."""
    data_dir = tmp_path / "data"
    platform = Platform.open(load_settings(None, tenant="acme", data_dir=data_dir), SystemClock())
    try:
        user = platform.identity("acme").create_user(
            "alice", "alice@acme.example", "Alice", "correct horse battery"
        )
        csr = certificate_request(new_device_key(), "Laptop")
        device = platform.devices("acme").enrol(user.id, "Laptop", csr_pem=csr).device
        now = platform.clock.now()
        sessions = platform.store.tenant("acme").sessions
        sessions.add(
            SessionRecord(
                "acme", "s1", "hash-s1", user.id, now, now, now.replace(year=now.year + 1),
                3600, "Chrome", "127.0.0.1", "mfa", "totp", now,
            )
        )  # fmt: skip
        sessions.bind_devices({"s1": device.id})
    finally:
        platform.close()
    return data_dir, device.id


def test_list_show_approve_and_revoke(enrolled: tuple[Path, str]) -> None:
    """An admin sees the device, vouches for it, and revokes it with its session."""
    data_dir, device_id = enrolled
    code, out = menshen(data_dir, "device", "list", "--user", "alice")
    assert code == 0, out
    assert "registered" in out
    code, out = menshen(data_dir, "device", "approve", device_id, "--trust", "managed")
    assert code == 0, out
    code, out = menshen(data_dir, "device", "show", device_id)
    assert code == 0, out
    assert "managed" in out
    assert "Laptop" in out
    code, out = menshen(data_dir, "device", "revoke", device_id)
    assert code == 0, out
    assert "ended 1 session" in out
    code, out = menshen(data_dir, "device", "revoke", device_id)
    assert code == 2
    assert "revoked already" in out
    code, out = menshen(data_dir, "audit", "verify")
    assert code == 0, out


@pytest.mark.parametrize(
    "args", [["show", "dev_nope"], ["approve", "dev_nope"], ["list", "--user", "nobody"]]
)
def test_unknown_devices_and_users_are_clear_errors(
    enrolled: tuple[Path, str], args: list[str]
) -> None:
    """A wrong id or user name exits 2 with a message, not a traceback."""
    code, out = menshen(enrolled[0], "device", *args)
    assert code == 2
    assert "error" in out


def test_approving_a_made_up_trust_level_is_refused(enrolled: tuple[Path, str]) -> None:
    """Only registered, managed and compliant can be vouched for."""
    code, out = menshen(enrolled[0], "device", "approve", enrolled[1], "--trust", "root")
    assert code == 2
    assert "trust must be one of" in out


def test_the_agent_says_when_it_is_not_enrolled_or_cannot_reach_the_gateway(
    tmp_path: Path,
) -> None:
    """Reporting before enrolment, or enrolling against nothing, explains itself."""
    result = runner.invoke(app, ["agent", "report", "--dir", str(tmp_path / "agent")])
    assert result.exit_code == 2
    assert "menshen agent enrol" in result.output
    result = runner.invoke(
        app,
        ["agent", "enrol", "--gateway", "http://127.0.0.1:9", "--code", "X", "--name", "L",
         "--dir", str(tmp_path / "agent")],
    )  # fmt: skip
    assert result.exit_code == 2
    assert "cannot reach the gateway" in result.output
