"""The `menshen` command: apply/export, users, sessions, keys, audit — with clear errors."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
from typer.testing import CliRunner

from menshen.cli.main import app
from menshen.demo.firm import demo_manifest

runner = CliRunner()
FIRM = demo_manifest("http://127.0.0.1:9001", "http://127.0.0.1:9002", ("apps.example",))


def menshen(data_dir: Path, *args: str, stdin: str | None = None) -> tuple[int, str]:
    result = runner.invoke(
        app, ["--data-dir", str(data_dir), "--tenant", "acme", *args], input=stdin
    )
    return result.exit_code, result.output


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    firm = tmp_path / "firm.yaml"
    firm.write_text(FIRM, encoding="utf-8")
    code, out = menshen(tmp_path / "data", "apply", "-f", str(firm))
    assert code == 0, out
    return tmp_path / "data"


def test_apply_is_idempotent(data_dir: Path, tmp_path: Path) -> None:
    """Applying the same file again changes nothing and says so."""
    code, out = menshen(data_dir, "apply", "-f", str(tmp_path / "firm.yaml"))
    assert code == 0
    assert "created" not in out
    assert "updated" not in out
    assert "App/settlement unchanged" in out


def test_bad_file_names_file_and_line_and_changes_nothing(data_dir: Path, tmp_path: Path) -> None:
    """A bad object aborts the whole apply with file:line, before any write."""
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "apiVersion: menshen.dev/v1\nkind: Group\nmetadata: {name: ops}\nspec: {}\n---\n"
        "apiVersion: menshen.dev/v1\nkind: Policy\nmetadata: {name: p}\nspec:\n"
        "  app: settlement\n  rules:\n    - name: r\n      sourceNetworks: [not-a-cidr]\n",
        encoding="utf-8",
    )
    code, out = menshen(data_dir, "apply", "-f", str(bad))
    assert code == 2
    assert f"{bad}:" in out.replace("\n", "")
    _, exported = menshen(data_dir, "export")
    assert "name: ops" not in exported


def test_export_applies_back_unchanged(data_dir: Path, tmp_path: Path) -> None:
    """`menshen export` output re-applies with no change."""
    code, exported = menshen(data_dir, "export")
    assert code == 0
    again = tmp_path / "again.yaml"
    again.write_text(exported, encoding="utf-8")
    code, out = menshen(data_dir, "apply", "-f", str(again))
    assert code == 0, out
    assert "created" not in out
    assert "updated" not in out


def test_user_lifecycle_with_sessions_and_audit(data_dir: Path) -> None:
    """Add, list, reset MFA, disable (revoking sessions); every change is audited."""
    code, out = menshen(
        data_dir,
        "user",
        "add",
        "dana",
        "--email",
        "dana@acme.example",
        "--group",
        "finance-ops",
        "--password-stdin",
        stdin="a-long-enough-password\n",
    )
    assert code == 0, out
    code, out = menshen(data_dir, "user", "list")
    assert "dana" in out
    assert "finance-ops" in out
    code, out = menshen(data_dir, "user", "mfa", "reset", "dana")
    assert code == 0, out
    code, out = menshen(data_dir, "user", "disable", "dana")
    assert code == 0
    assert "disabled" in out
    code, out = menshen(data_dir, "user", "list")
    assert "disabled" in out
    code, out = menshen(data_dir, "audit", "verify")
    assert code == 0
    assert "intact" in out


def test_unknown_things_are_clear_errors(data_dir: Path) -> None:
    """Unknown users, groups and sessions exit 2 with a message, changing nothing."""
    assert menshen(data_dir, "user", "disable", "nobody")[0] == 2
    code, out = menshen(
        data_dir,
        "user",
        "add",
        "erin",
        "--email",
        "erin@acme.example",
        "--group",
        "no-such-group",
        "--password-stdin",
        stdin="a-long-enough-password\n",
    )
    assert code == 2
    assert "no-such-group" in out
    assert "erin" not in menshen(data_dir, "user", "list")[1]
    assert menshen(data_dir, "session", "revoke", "nope")[0] == 2
    assert menshen(data_dir, "session", "revoke")[0] == 2


def test_weak_password_is_refused(data_dir: Path) -> None:
    """A password shorter than 12 characters is refused."""
    code, _ = menshen(
        data_dir,
        "user",
        "add",
        "fred",
        "--email",
        "fred@acme.example",
        "--password-stdin",
        stdin="short\n",
    )
    assert code == 2


def test_keys_rotate_keeps_the_old_key_published(data_dir: Path) -> None:
    """Rotation adds a signing key; the previous one stays listed until its tokens expire."""
    code, out = menshen(data_dir, "keys", "rotate")
    assert code == 0, out
    code, out = menshen(data_dir, "keys", "list")
    rows = [line for line in out.splitlines() if "│" in line and "kid" not in line]
    assert len(rows) == 2


def test_audit_export_and_tamper_detection(data_dir: Path, tmp_path: Path) -> None:
    """Export gives JSON lines with hashes; editing a row makes verify fail with exit 1."""
    menshen(data_dir, "keys", "rotate")
    target = tmp_path / "audit.jsonl"
    code, out = menshen(data_dir, "audit", "export", "--format", "jsonl", "-o", str(target))
    assert code == 0, out
    lines = [json.loads(line) for line in target.read_text(encoding="utf-8").splitlines()]
    assert lines
    assert {"seq", "hash", "prev_hash", "kind"} <= set(lines[0])
    with sqlite3.connect(data_dir / "menshen.db") as db:
        db.execute("UPDATE audit_events SET reason = 'nothing happened' WHERE seq = 1")
    code, out = menshen(data_dir, "audit", "verify")
    assert code == 1
    assert "BROKEN" in out


def test_bad_settings_file_is_a_clear_error(tmp_path: Path) -> None:
    """An unknown key in menshen.yaml stops the command, naming the file."""
    settings = tmp_path / "menshen.yaml"
    settings.write_text("listeners: [{port: 8800}]\nsurprise: 1\n", encoding="utf-8")
    result = runner.invoke(app, ["-c", str(settings), "user", "list"])
    assert result.exit_code == 2
    assert "menshen.yaml" in result.output
    assert "surprise" in result.output
