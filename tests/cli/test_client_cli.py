"""``menshen client``: machine clients from the command line, every change audited."""

from __future__ import annotations

import re
from pathlib import Path

from typer.testing import CliRunner

from menshen.app import Platform
from menshen.cli.main import app
from menshen.clock import SystemClock
from menshen.identity.clients import Accepted, Refused
from menshen.settings import load_settings

runner = CliRunner()
SECRET = re.compile(r"mcs_[A-Za-z0-9_-]{43}")
API_KEY = re.compile(r"mk_[0-9a-f]{12}_[A-Za-z0-9_-]{43}")
CREDENTIAL = re.compile(r"credential:\s+(\S+)")


def menshen(data_dir: Path, *args: str) -> tuple[int, str]:
    result = runner.invoke(app, ["--data-dir", str(data_dir), "--tenant", "acme", *args])
    return result.exit_code, result.output


def _platform(data_dir: Path) -> Platform:
    return Platform.open(load_settings(None, tenant="acme", data_dir=data_dir), SystemClock())


def _authenticates(data_dir: Path, name: str, secret: str) -> Accepted | Refused:
    platform = _platform(data_dir)
    try:
        return platform.machine_clients("acme").authenticate_secret(name, secret)
    finally:
        platform.close()


def test_create_prints_the_secret_once_and_it_works(tmp_path: Path) -> None:
    """The secret printed at creation authenticates; list and show never print it."""
    data = tmp_path / "data"
    code, out = menshen(
        data, "client", "create", "bank-a", "--owner", "Bank A", "--scope", "reports:read"
    )
    assert code == 0, out
    found = SECRET.search(out)
    assert found is not None
    secret = found.group(0)
    assert isinstance(_authenticates(data, "bank-a", secret), Accepted)
    for args in (("list",), ("show", "bank-a")):
        code, out = menshen(data, "client", *args)
        assert code == 0, out
        assert "bank-a" in out
        assert secret not in out
        assert SECRET.search(out) is None


def test_rotate_revoke_suspend_resume_delete_are_audited(tmp_path: Path) -> None:
    """The whole life cycle from the CLI, each step an admin.change in the audit log."""
    data = tmp_path / "data"
    code, out = menshen(data, "client", "create", "bank-a")
    assert code == 0, out
    first = SECRET.search(out)
    assert first is not None
    code, out = menshen(data, "client", "rotate", "bank-a", "--grace", "1h")
    assert code == 0, out
    second = SECRET.search(out)
    assert second is not None
    assert isinstance(_authenticates(data, "bank-a", first.group(0)), Accepted)  # in grace
    code, out = menshen(data, "client", "rotate", "bank-a", "--kind", "api_key")
    assert code == 0, out
    assert API_KEY.search(out) is not None
    credential = CREDENTIAL.search(out)
    assert credential is not None
    code, out = menshen(data, "client", "revoke-secret", "bank-a", credential.group(1))
    assert code == 0, out
    code, out = menshen(data, "client", "suspend", "bank-a", "--reason", "leaked")
    assert code == 0, out
    refused = _authenticates(data, "bank-a", second.group(0))
    assert isinstance(refused, Refused)
    assert refused.reason == "client suspended"
    code, out = menshen(data, "client", "show", "bank-a")
    assert "suspended" in out
    assert "leaked" in out
    code, out = menshen(data, "client", "resume", "bank-a")
    assert code == 0, out
    assert isinstance(_authenticates(data, "bank-a", second.group(0)), Accepted)
    code, out = menshen(data, "client", "delete", "bank-a")
    assert code == 0, out
    platform = _platform(data)
    try:
        reasons = [r.reason for r in platform.store.tenant("acme").audit.iterate()]
    finally:
        platform.close()
    assert reasons == [
        "client.create",
        "client.rotate",
        "client.rotate",
        "client.revoke_secret",
        "client.suspend",
        "client.resume",
        "client.delete",
    ]
    code, out = menshen(data, "audit", "verify")
    assert code == 0, out


def test_bad_input_is_a_clear_error_and_changes_nothing(tmp_path: Path) -> None:
    """A bad name, duration, unknown client: exit 2 with a message, no client made."""
    data = tmp_path / "data"
    for args in (
        ("create", "Bank A"),
        ("create", "bank-a", "--expires-in", "forever"),
        ("show", "ghost"),
        ("suspend", "ghost"),
        ("revoke-secret", "ghost", "c1"),
    ):
        code, out = menshen(data, "client", *args)
        assert code == 2, (args, out)
        assert "error" in out
    code, out = menshen(data, "client", "list")
    assert "bank-a" not in out
