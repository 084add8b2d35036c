"""`menshen compliance` on the demo firm (SQLite): collect, evidence, declare / declarations /
undeclare, gaps, catalog check, and the firm's own catalogs from ``catalog_dirs``."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from typer.testing import CliRunner

from menshen.app import Platform
from menshen.cli.context import console
from menshen.cli.main import app
from menshen.compliance.catalog import CatalogError
from menshen.compliance.service import COLLECTED, DECLARED, WITHDRAWN
from menshen.console.compliance_desk import compliance_desk_for
from menshen.demo.firm import TENANT, seed, seed_inventory
from menshen.settings import load_settings
from menshen.store.compliance import MAX_ATTACHMENT_BYTES
from menshen.testing import FixedClock

runner = CliRunner()
AT = datetime(2026, 11, 2, 8, 30, tzinfo=UTC)
SETTINGS = """\
tenant: formosa-pay
tenant_name: Formosa Pay
tenants:
  formosa-pay:
    compliance:
      scope: Settlement admin and merchant back office
"""
OWN_FRAMEWORK = """\
id: firm-own
kind: checklist
publisher: Formosa Pay
version: "2026"
title: {en: "Formosa Pay access rules", zh-TW: "Formosa Pay 存取規則"}
binding: {en: "The firm's own rules.", zh-TW: "本公司自訂規則。"}
groups:
  - id: access
    title: {en: "Access", zh-TW: "存取"}
controls:
  - id: firm-own/mfa
    group: access
    title: {en: "Everyone uses MFA", zh-TW: "全員使用多因子"}
    summary: {en: "Every user has a second factor.", zh-TW: "所有使用者皆具第二因子。"}
    checks: [identity.mfa_enrolled]
  - id: firm-own/badges
    group: access
    title: {en: "Office badges", zh-TW: "門禁卡"}
    summary: {en: "Doors open with a badge.", zh-TW: "以門禁卡進出。"}
"""
BROKEN_MAPPING = (
    "mappings:\n  - {source: firm-own/mfa, target: iso-27001/A.99, relation: related}\n"
)


def _seeded(tmp_path: Path, settings: str = SETTINGS) -> Path:
    path = tmp_path / "menshen.yaml"
    path.write_text(settings, encoding="utf-8")
    loaded = load_settings(path, environ={}, data_dir=tmp_path / "data")
    platform = Platform.open(loaded, FixedClock(AT))
    try:
        seed(platform, settlement_url="http://127.0.0.1:9001", wiki_url="http://127.0.0.1:9002")
        seed_inventory(platform)
    finally:
        platform.close()
    return path


@pytest.fixture(autouse=True)
def wide_console(monkeypatch: pytest.MonkeyPatch) -> None:
    """Rich wraps at 80 columns without a terminal; the assertions read whole phrases."""
    monkeypatch.setattr(console, "width", 240)


@pytest.fixture
def config(tmp_path: Path) -> Path:
    """Settings of the demo firm, seeded with its people, apps, policies and inventory."""
    return _seeded(tmp_path)


def menshen(config: Path, *args: str) -> tuple[int, str]:
    data_dir = config.parent / "data"
    result = runner.invoke(app, ["--config", str(config), "--data-dir", str(data_dir), *args])
    return result.exit_code, " ".join(result.output.split())


def _audit(config: Path, kind: str) -> list[dict[str, object]]:
    settings = load_settings(config, environ={}, data_dir=config.parent / "data")
    platform = Platform.open(settings, FixedClock(AT))
    try:
        rows = platform.store.tenant(TENANT).audit.iterate()
        return [dict(row.details) | {"actor": row.actor} for row in rows if row.kind == kind]
    finally:
        platform.close()


def _own_catalog(directory: Path) -> Path:
    directory.mkdir()
    (directory / "firm-own.yaml").write_text(OWN_FRAMEWORK, encoding="utf-8")
    return directory


def test_collect_prints_each_check_and_audits_the_period(config: Path) -> None:
    """collect measures every check, prints its outcome, and the audit keeps the period."""
    code, out = menshen(config, "compliance", "collect", "--period-days", "7")
    assert code == 0, out
    assert "identity.mfa_enrolled" in out
    assert "partial" in out  # bob, the contractor, has no second factor
    assert "over the last 7 days" in out
    (event,) = _audit(config, COLLECTED)
    assert event["period_days"] == 7
    assert str(event["actor"]).startswith("cli:")


def test_collect_refuses_a_period_under_a_day(config: Path) -> None:
    """--period-days 0 is refused and nothing is measured."""
    code, _ = menshen(config, "compliance", "collect", "--period-days", "0")
    assert code == 2
    assert _audit(config, COLLECTED) == []


def test_evidence_shows_latest_history_and_json(config: Path) -> None:
    """evidence lists the latest of every check; one check's history comes as JSON too."""
    code, out = menshen(config, "compliance", "evidence")
    assert "no evidence yet" in out
    menshen(config, "compliance", "collect")
    menshen(config, "compliance", "collect")
    code, out = menshen(config, "compliance", "evidence")
    assert code == 0, out
    assert "identity.phishing_resistant_mfa" in out
    code, out = menshen(config, "compliance", "evidence", "identity.phishing_resistant_mfa")
    assert code == 0, out
    assert "without_passkey" in out
    assert "admins, finance-ops" in out  # a real table
    result = runner.invoke(
        app,
        [
            "--config",
            str(config),
            "--data-dir",
            str(config.parent / "data"),
            "compliance",
            "evidence",
            "identity.mfa_enrolled",
            "--history",
            "5",
            "--json",
        ],
    )
    items = json.loads(result.stdout)
    assert len(items) == 2
    assert items[0]["outcome"] == "partial"
    assert items[0]["data"]["without_mfa"]["rows"][0]["user"] == "bob"


def test_evidence_of_an_unknown_check_names_near_ones(config: Path) -> None:
    """A misspelt check id is refused with the closest real ones."""
    code, out = menshen(config, "compliance", "evidence", "identity.mfa_enroled")
    assert code == 2
    assert "identity.mfa_enrolled" in out


def test_declare_with_attachment_is_listed_audited_and_withdrawn(
    config: Path, tmp_path: Path
) -> None:
    """A declaration keeps its attachment's hash, shows as declared, and is audited both ways."""
    evidence = tmp_path / "badge-audit.csv"
    evidence.write_bytes(b"door,badge\nfront,ok\n")
    code, out = menshen(
        config,
        "compliance",
        "declare",
        "iso-27001/A.5.12",
        "--outcome",
        "pass",
        "--justification",
        "Classified by the records policy, signed off by the board",
        "--attach",
        str(evidence),
        "--expires",
        "2999-12-31",
        "--by",
        "ciso@formosa-pay.example",
    )
    assert code == 0, out
    assert "sha256" in out
    code, out = menshen(config, "compliance", "declarations")
    assert "iso-27001/A.5.12" in out
    assert "badge-audit.csv" in out
    assert "2999-12-31" in out
    assert "not measured" in out
    (declared,) = _audit(config, DECLARED)
    assert declared["control"] == "iso-27001/A.5.12"
    assert declared["actor"] == "ciso@formosa-pay.example"
    assert "attachment_sha256" in declared
    code, out = menshen(config, "compliance", "undeclare", "iso-27001/A.5.12")
    assert code == 0, out
    assert len(_audit(config, WITHDRAWN)) == 1
    code, out = menshen(config, "compliance", "declarations")
    assert "no declarations" in out
    code, out = menshen(config, "compliance", "undeclare", "iso-27001/A.5.12")
    assert code == 1


def test_declare_an_unknown_control_lists_near_matches(config: Path) -> None:
    """A control id not in the catalog is refused with the closest ones; nothing is stored."""
    code, out = menshen(
        config, "compliance", "declare", "iso-27001/A.5.120", "--outcome", "pass",
        "--justification", "x", "--by", "ciso",
    )  # fmt: skip
    assert code == 2
    assert "iso-27001/A.5.12" in out
    assert _audit(config, DECLARED) == []


@pytest.mark.parametrize(
    ("extra", "said"),
    [
        (["--justification", "   "], "justification"),
        (["--justification", "ok", "--expires", "2001-01-01"], "past"),
        (["--justification", "ok", "--expires", "31/12/2030"], "YYYY-MM-DD"),
        (["--justification", "ok", "--outcome", "not_assessed"], "not_assessed"),
    ],
)
def test_declare_refuses_bad_input_and_stores_nothing(
    config: Path, extra: list[str], said: str
) -> None:
    """Empty justification, a past or malformed expiry, an undeclarable outcome: refused."""
    args = ["compliance", "declare", "iso-27001/A.5.12", "--by", "ciso", *extra]
    if "--outcome" not in extra:
        args += ["--outcome", "pass"]
    code, out = menshen(config, *args)
    assert code == 2
    assert said in out
    assert _audit(config, DECLARED) == []


def test_declare_refuses_an_attachment_over_the_limit(config: Path, tmp_path: Path) -> None:
    """An attachment over the store's limit is refused before anything is written."""
    big = tmp_path / "big.bin"
    with big.open("wb") as handle:
        handle.truncate(MAX_ATTACHMENT_BYTES + 1)
    code, out = menshen(
        config, "compliance", "declare", "iso-27001/A.5.12", "--outcome", "pass",
        "--justification", "scan", "--attach", str(big), "--by", "ciso",
    )  # fmt: skip
    assert code == 2
    assert "larger than 5 MiB" in out
    assert _audit(config, DECLARED) == []


def test_gaps_rank_next_steps_and_project_the_standing(config: Path) -> None:
    """gaps needs evidence first, then ranks steps and projects standings, no percentage."""
    code, out = menshen(config, "compliance", "gaps", "--framework", "fsc-zta")
    assert code == 2
    assert "compliance collect" in out
    menshen(config, "compliance", "collect")
    code, out = menshen(config, "compliance", "gaps", "--framework", "fsc-zta", "--top", "3")
    assert code == 0, out
    assert "fsc-zta/identity.traditional" in out
    assert "enrol a second factor for bob" in out
    assert "gap(s) 1. fsc-zta/" in out  # one readable block per gap, ranked
    assert "if the top 3 are done" in out
    assert "%" not in out
    code, out = menshen(config, "compliance", "gaps", "--framework", "fsc-zta", "--lang", "zh-TW")
    assert code == 0, out
    assert "身分" in out
    code, out = menshen(config, "compliance", "gaps", "--framework", "nope")
    assert code == 2
    assert "unknown framework" in out
    assert "fsc-zta" in out


def test_catalog_check_accepts_good_files_and_lists_every_problem(tmp_path: Path) -> None:
    """catalog check: exit 0 for a valid firm catalog, 1 naming the file of a broken mapping."""
    own = _own_catalog(tmp_path / "own")
    result = runner.invoke(app, ["compliance", "catalog", "check", str(own)])
    assert result.exit_code == 0, result.output
    assert "adds 1 framework(s), 2 control(s)" in " ".join(result.output.split())
    (own / "firm.mappings.yaml").write_text(BROKEN_MAPPING, encoding="utf-8")
    result = runner.invoke(app, ["compliance", "catalog", "check", str(own)])
    assert result.exit_code == 1
    said = " ".join(result.output.split())
    assert "firm.mappings.yaml" in said
    assert "iso-27001/A.99" in said
    assert "no such control" in said


def test_catalog_dirs_add_the_firms_own_framework(tmp_path: Path) -> None:
    """A relative catalog_dirs entry is loaded for the tenant: its controls can be declared
    and its framework has gaps."""
    _own_catalog(tmp_path / "catalogs")
    config = _seeded(tmp_path, SETTINGS + "      catalog_dirs: [catalogs]\n")
    settings = load_settings(config, environ={}, data_dir=tmp_path / "data")
    assert settings.options(TENANT).compliance.catalog_dirs == (tmp_path / "catalogs",)
    code, out = menshen(
        config, "compliance", "declare", "firm-own/badges", "--outcome", "pass",
        "--justification", "badge log reviewed monthly", "--by", "ciso",
    )  # fmt: skip
    assert code == 0, out
    menshen(config, "compliance", "collect")
    code, out = menshen(config, "compliance", "gaps", "--framework", "firm-own")
    assert code == 0, out
    assert "firm-own/mfa" in out
    platform = Platform.open(settings, FixedClock(AT))
    try:
        assert "firm-own" in compliance_desk_for(platform, TENANT).catalog.frameworks
    finally:
        platform.close()


def test_a_bad_file_in_catalog_dirs_stops_with_the_catalog_error(tmp_path: Path) -> None:
    """A broken mapping in the firm's catalog stops the command with the catalog's error."""
    own = _own_catalog(tmp_path / "catalogs")
    (own / "mappings.yaml").write_text(BROKEN_MAPPING, encoding="utf-8")
    config = _seeded(tmp_path, SETTINGS + "      catalog_dirs: [catalogs]\n")
    code, out = menshen(config, "compliance", "gaps", "--framework", "fsc-zta")
    assert code == 2
    assert "mappings.yaml" in out
    assert "no such control" in out
    report = tmp_path / "r.json"
    code, out = menshen(config, "report", "--framework", "fsc-zta", "--format", "json",
                        "--out", str(report))  # fmt: skip
    assert code == 2
    assert "no such control" in out
    assert not report.exists()
    settings = load_settings(config, environ={}, data_dir=tmp_path / "data")
    platform = Platform.open(settings, FixedClock(AT))
    try:
        with pytest.raises(CatalogError, match="no such control"):
            compliance_desk_for(platform, TENANT)  # the console's desk stops too
    finally:
        platform.close()
