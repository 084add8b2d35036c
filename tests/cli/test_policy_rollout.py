"""`menshen policy versions|show|rollback|shadow`: history, exact rollback, shadow mode."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from typer.testing import CliRunner

from menshen.cli.main import app
from menshen.demo.firm import demo_manifest
from menshen.events.bus import EventBus
from menshen.events.model import AuditEvent, Kind
from menshen.events.writer import AuditWriter
from menshen.store.sql import SqlStore
from menshen.testing import FixedClock

runner = CliRunner()
FIRM = demo_manifest("http://127.0.0.1:9001", "http://127.0.0.1:9002", ("apps.example",))
HEAD = "apiVersion: menshen.dev/v1\n"
MONITORING = f"""\
{HEAD}kind: App
metadata: {{name: monitoring}}
spec: {{hosts: [apps.example], pathPrefix: /grafana, upstream: "http://127.0.0.1:9003"}}
---
{HEAD}kind: Policy
metadata: {{name: monitoring-access}}
spec:
  app: monitoring
  rules:
    - name: finance-ops
      groups: [finance-ops]
"""
CANDIDATE = f"""\
{HEAD}kind: Policy
metadata: {{name: wiki-access}}
spec:
  app: wiki
  rules:
    - name: not-bob
      effect: deny
      users: [bob]
    - name: everyone-reads-and-edits
      groups: [finance-ops, contractors, admins]
"""


def menshen(data_dir: Path, *args: str, stdin: str | None = None) -> tuple[int, str]:
    result = runner.invoke(
        app, ["--data-dir", str(data_dir), "--tenant", "acme", *args], input=stdin
    )
    return result.exit_code, result.output


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    """A tenant with the demo firm applied once, as version 1."""
    firm = write(tmp_path, "firm.yaml", FIRM)
    code, out = menshen(tmp_path / "data", "apply", "-f", str(firm), "-m", "initial")
    assert code == 0, out
    assert "recorded as policy version 1" in out
    return tmp_path / "data"


def test_apply_records_versions_with_author_and_message(data_dir: Path, tmp_path: Path) -> None:
    """A changing apply records the next version; an unchanged one records none."""
    extra = write(tmp_path, "monitoring.yaml", MONITORING)
    code, out = menshen(data_dir, "apply", "-f", str(extra), "--author", "mei", "-m", "grafana")
    assert code == 0, out
    assert "recorded as policy version 2" in out
    code, out = menshen(data_dir, "apply", "-f", str(extra))
    assert code == 0, out
    assert "recorded" not in out
    code, out = menshen(data_dir, "policy", "versions")
    assert code == 0, out
    assert "initial" in out
    assert "grafana" in out
    assert "mei" in out
    assert "cli:" in out
    assert "monitoring" in out
    assert "│ 2 " in out
    assert "│ 3 " not in out


def test_failing_apply_records_no_version(data_dir: Path, tmp_path: Path) -> None:
    """A bad file exits 2 and leaves the history at version 1."""
    bad = write(tmp_path, "bad.yaml", MONITORING.replace("[finance-ops]", "[nobody]"))
    code, out = menshen(data_dir, "apply", "-f", str(bad))
    assert code == 2
    assert "nobody" in out
    code, out = menshen(data_dir, "policy", "show", "2")
    assert code == 2
    assert "no policy version 2" in out


def test_show_prints_the_version_as_exported(data_dir: Path) -> None:
    """`policy show 1` prints exactly what `export` printed when version 1 was recorded."""
    _, exported = menshen(data_dir, "export")
    code, shown = menshen(data_dir, "policy", "show", "1")
    assert code == 0
    assert shown == exported


def test_rollback_round_trip_restores_the_export(data_dir: Path, tmp_path: Path) -> None:
    """Apply A, apply B, roll back to 1: export equals A's; history says rollback to 1."""
    _, exported_a = menshen(data_dir, "export")
    menshen(data_dir, "apply", "-f", str(write(tmp_path, "b.yaml", MONITORING)))
    code, out = menshen(data_dir, "policy", "rollback", "1", "-m", "not yet")
    assert code == 0, out
    assert "App/monitoring removed" in out
    assert "Policy/monitoring-access removed" in out
    assert "recorded as version 3" in out
    _, exported = menshen(data_dir, "export")
    assert exported == exported_a
    _, history = menshen(data_dir, "policy", "versions")
    assert "rollback" in history
    _, audit = menshen(data_dir, "audit", "export")
    assert "config.rollback" in audit


def test_rollback_to_an_unknown_version_is_a_clear_error(data_dir: Path) -> None:
    """Exit 2, the known range named, nothing changed or recorded."""
    _, before = menshen(data_dir, "export")
    code, out = menshen(data_dir, "policy", "rollback", "9")
    assert code == 2
    assert "no policy version 9" in out
    assert "1 to 1" in out
    assert menshen(data_dir, "export")[1] == before
    assert menshen(data_dir, "policy", "show", "2")[0] == 2


def test_shadow_start_report_stop(data_dir: Path, tmp_path: Path) -> None:
    """Start stores the candidate, report summarises disagreements, stop removes it."""
    candidate = write(tmp_path, "candidate.yaml", CANDIDATE)
    code, out = menshen(data_dir, "policy", "shadow", "start", "-f", str(candidate))
    assert code == 0, out
    assert "shadowing" in out
    assert "wiki" in out
    code, out = menshen(data_dir, "policy", "shadow", "report")
    assert code == 0, out
    assert "candidate.yaml" in out.replace("\n", "")
    assert "0 disagreement(s)" in out
    _disagree(data_dir, "u-bob", "/wiki/")
    _disagree(data_dir, "u-bob", "/wiki/page")
    code, out = menshen(data_dir, "policy", "shadow", "report", "--since", "2026-01-01")
    assert code == 0, out
    assert "2 disagreement(s)" in out
    assert "by rule" in out
    assert "by user" in out
    assert "u-bob" in out
    assert "/wiki/page" in out
    assert "not-bob" in out.replace("\n", "")
    code, out = menshen(data_dir, "policy", "shadow", "stop")
    assert code == 0, out
    code, out = menshen(data_dir, "policy", "shadow", "stop")
    assert code == 2
    assert "no candidate" in out


def test_shadow_start_refuses_a_bad_candidate(data_dir: Path, tmp_path: Path) -> None:
    """A candidate that would not apply exits 2 with file and line; nothing is shadowed."""
    bad = write(tmp_path, "bad.yaml", CANDIDATE.replace("users: [bob]", "groups: [nobody]"))
    code, out = menshen(data_dir, "policy", "shadow", "start", "-f", str(bad))
    assert code == 2
    assert "nobody" in out
    _, report = menshen(data_dir, "policy", "shadow", "report")
    assert "no candidate is being shadowed" in report


def test_shadow_report_rejects_a_bad_since(data_dir: Path) -> None:
    """--since takes a duration or an ISO time."""
    code, out = menshen(data_dir, "policy", "shadow", "report", "--since", "last week")
    assert code == 2
    assert "--since" in out


def _disagree(data_dir: Path, user_id: str, path: str) -> None:
    """Write one disagreement event as a gateway would."""
    store = SqlStore.open(None, data_dir)
    clock = FixedClock(datetime(2026, 6, 1, tzinfo=UTC))
    try:
        AuditWriter(store, EventBus(), clock).write_now(
            [
                AuditEvent(
                    tenant_id="acme",
                    kind=Kind.POLICY_SHADOW_DISAGREEMENT,
                    outcome="allow",
                    at=clock.now(),
                    actor=user_id,
                    app="wiki",
                    reason="active allow, candidate deny",
                    details={
                        "method": "GET",
                        "path": path,
                        "active_rule": "wiki-access/everyone-reads-and-edits",
                        "candidate_effect": "deny",
                        "candidate_rule": "wiki-access/not-bob",
                    },
                )
            ]
        )
    finally:
        store.close()
