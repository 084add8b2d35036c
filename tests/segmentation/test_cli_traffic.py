"""`inventory discover`, `inventory risks` and `segment suggest` from the command line."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from menshen.app import Platform
from menshen.cli.main import app
from menshen.demo.firm import demo_manifest
from menshen.events.bus import EventBus
from menshen.events.model import AuditEvent, Kind, Outcome
from menshen.events.writer import AuditWriter
from menshen.settings import load_settings
from menshen.testing import FixedClock
from tests.segmentation.cli_world import AT, EXAMPLES, imported, menshen, runner, write_example


@pytest.fixture
def firm(tmp_path: Path) -> Path:
    return write_example(tmp_path)


@pytest.fixture
def observed(tmp_path: Path) -> Path:
    path = tmp_path / "observed.csv"
    text = EXAMPLES.joinpath("formosa-pay-observed.csv").read_text("utf-8")
    path.write_text(text + "10.50.0.99,10.20.0.11,443,tcp,7\n", encoding="utf-8")
    return path


@pytest.fixture
def data_dir(tmp_path: Path, firm: Path) -> Path:
    return imported(tmp_path, firm)


def test_discover_previews_then_applies_unclassified_assets(data_dir: Path, observed: Path) -> None:
    """Without --apply nothing is stored; with it the host is added, labelled, audited."""
    code, out = menshen(data_dir, "inventory", "discover", str(observed))
    assert code == 0, out
    assert "unclassified-10-50-0-99" in out
    assert "would be added (use --apply)" in out
    assert "unclassified-10-50-0-99" not in menshen(data_dir, "inventory", "export")[1]
    code, out = menshen(data_dir, "inventory", "discover", str(observed), "--apply", "--json")
    assert code == 0, out
    body = json.loads(out)
    assert body["applied"] is True
    assert [a["id"] for a in body["newAssets"]] == ["unclassified-10-50-0-99"]
    assert {"staff-to-gateway", "admin-to-ledger"} <= {
        flow for m in body["matched"] for flow in m["declared"]
    }
    exported = menshen(data_dir, "inventory", "export", "--format", "assets-csv")[1]
    assert "unclassified-10-50-0-99,host" in exported
    assert "review=unclassified" in exported
    assert "inventory.discover" in menshen(data_dir, "audit", "export")[1]


def test_rejected_lines_block_apply_and_are_listed(data_dir: Path, observed: Path) -> None:
    """A junk line: exit 1, the line named, nothing stored unless --skip-rejected."""
    observed.write_text(observed.read_text("utf-8") + "junk-row\n", encoding="utf-8")
    code, out = menshen(data_dir, "inventory", "discover", str(observed), "--apply")
    assert code == 1
    assert f"{observed}:10: row has 1 fields" in out.replace("\n", "")
    assert "nothing was stored" in out
    assert "unclassified-10-50-0-99" not in menshen(data_dir, "inventory", "export")[1]
    code, out = menshen(
        data_dir, "inventory", "discover", str(observed), "--apply", "--skip-rejected"
    )
    assert code == 0, out
    assert "unclassified-10-50-0-99" in menshen(data_dir, "inventory", "export")[1]


def test_discover_reads_the_gateways_own_audit_log(data_dir: Path) -> None:
    """Access events in the store: the unknown client is proposed, the gateway hop matched."""
    settings = load_settings(None, tenant="acme", data_dir=data_dir)
    clock = FixedClock(datetime(2026, 1, 5, 1, tzinfo=UTC))
    platform = Platform.open(settings, clock)
    try:
        events = [
            AuditEvent(
                tenant_id="acme",
                kind=kind,
                outcome=outcome,
                at=clock.now(),
                app="settlement",
                ip=client,
                details={"host": "apps.formosa-pay.example", "method": "GET", "path": "/"},
            )
            for kind, outcome, client in (
                (Kind.ACCESS_ALLOW, Outcome.ALLOW, "10.10.0.12"),
                (Kind.ACCESS_DENY, Outcome.DENY, "10.10.0.77"),
            )
        ]
        AuditWriter(platform.store, EventBus(), clock).write_now(events)
    finally:
        platform.close()
    code, out = menshen(data_dir, "inventory", "discover", "--format", "audit", "--json")
    assert code == 0, out
    body = json.loads(out)
    assert [a["id"] for a in body["newAssets"]] == ["unclassified-10-10-0-77"]
    matched = {(m["srcAsset"], m["dstAsset"], m["port"]) for m in body["matched"]}
    assert ("laptop-fin-02", "gateway", 443) in matched
    assert ("gateway", "settlement-admin", 8080) in matched


def test_risks_from_files_list_the_ledger_first_with_its_next_step(firm: Path) -> None:
    """-f works without a store; the DBA exception is the first thing to fix."""
    result = runner.invoke(app, ["inventory", "risks", "-f", str(firm), "--at", AT, "--top", "3"])
    assert result.exit_code == 0, result.output
    assert " 1. 79.4  asset settlement-db" in result.output
    assert "restrict exception EXC-001" in result.output.replace("\n", " ")
    result = runner.invoke(app, ["inventory", "risks", "-f", str(firm), "--at", AT, "--json"])
    body = json.loads(result.output)
    assert body["mfaRead"] is False
    assert body["items"][0]["impact"]["points"] == 17
    assert len(body["items"]) == 10


def test_risks_read_mfa_from_the_stored_policy(data_dir: Path, tmp_path: Path) -> None:
    """With the demo firm's apps and policies applied, the wiki is told to require MFA."""
    manifest = tmp_path / "apps.yaml"
    manifest.write_text(
        demo_manifest("http://10.30.0.10:8080", "http://10.30.0.12:8080", ("apps.example",)),
        encoding="utf-8",
    )
    code, out = menshen(data_dir, "apply", "-f", str(manifest))
    assert code == 0, out
    code, out = menshen(data_dir, "inventory", "risks", "--at", AT, "--top", "40", "--json")
    assert code == 0, out
    body = json.loads(out)
    assert body["mfaRead"] is True
    wiki = next(item for item in body["items"] if item["id"] == "wiki")
    assert wiki["nextStep"].startswith("require MFA on app wiki")
    admin = next(item for item in body["items"] if item["id"] == "settlement-admin")
    assert not any(f["name"] in ("no-mfa", "mfa-unknown") for f in admin["factors"])


def test_risks_read_mfa_from_policy_files_and_refuse_bad_labels(firm: Path, tmp_path: Path) -> None:
    """--policy reads manifests next to -f; --contractor must be KEY=VALUE."""
    manifest = tmp_path / "apps.yaml"
    manifest.write_text(demo_manifest("http://a:1", "http://b:2", ("x.example",)), "utf-8")
    args = ["inventory", "risks", "-f", str(firm), "--policy", str(manifest), "--at", AT]
    result = runner.invoke(app, [*args, "--json", "--top", "40"])
    assert json.loads(result.output)["mfaRead"] is True
    result = runner.invoke(app, [*args, "--contractor", "nonsense"])
    assert result.exit_code == 2


def test_suggest_writes_a_document_that_validates_with_the_model(
    firm: Path, observed: Path, tmp_path: Path
) -> None:
    """stdout is the YAML alone; -o writes it and summarises; the file validates."""
    args = ["segment", "suggest", "--observed", str(observed), "-f", str(firm), "--at", AT]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert result.output.startswith("# Suggested by `menshen segment suggest`")
    assert "FLAGGED, disabled" in result.output
    target = tmp_path / "suggested.yaml"
    result = runner.invoke(app, [*args, "-o", str(target), "--mode", "enforce"])
    assert result.exit_code == 0, result.output
    assert "flagged" in result.output
    result = runner.invoke(app, ["inventory", "validate", str(firm), str(target)])
    assert result.exit_code == 0, result.output
    result = runner.invoke(app, [*args, "--json"])
    body = json.loads(result.output)
    assert any(rule["flag"] for rule in body["rules"])


def test_suggest_refuses_an_unknown_mode(firm: Path, observed: Path) -> None:
    """Only monitor and enforce exist."""
    result = runner.invoke(
        app, ["segment", "suggest", "--observed", str(observed), "-f", str(firm), "--mode", "x"]
    )
    assert result.exit_code == 2
