"""`menshen report` end to end on the demo firm (SQLite): signed HTML, JSON, PDF and OSCAL
files that `menshen report verify` accepts, a trend on the second report, clear errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from menshen.app import Platform
from menshen.cli.main import app
from menshen.demo.firm import FIRM_NAME, TENANT, seed, seed_inventory
from menshen.settings import load_settings
from menshen.testing import FixedClock

from .conftest import AT

runner = CliRunner()

SETTINGS = """\
tenant: formosa-pay
tenant_name: Formosa Pay
tenants:
  formosa-pay:
    compliance:
      scope: Settlement admin, merchant back office and the settlement database
      records_held: 120000
      staff: 40
"""


@pytest.fixture
def config(tmp_path: Path) -> Path:
    """Settings of the demo firm, seeded with its people, apps, policies and inventory."""
    path = tmp_path / "menshen.yaml"
    path.write_text(SETTINGS, encoding="utf-8")
    settings = load_settings(path, environ={}, data_dir=tmp_path / "data")
    platform = Platform.open(settings, FixedClock(AT))
    try:
        seed(platform, settlement_url="http://127.0.0.1:9001", wiki_url="http://127.0.0.1:9002")
        seed_inventory(platform)
    finally:
        platform.close()
    return path


def menshen(config: Path, *args: str) -> tuple[int, str]:
    data_dir = config.parent / "data"
    result = runner.invoke(app, ["--config", str(config), "--data-dir", str(data_dir), *args])
    return result.exit_code, " ".join(result.output.split())  # undo rich's line wrapping


def report(config: Path, fmt: str, out: Path, *extra: str) -> tuple[int, str]:
    return menshen(
        config, "report", "--framework", "fsc-zta", "--format", fmt, "--out", str(out), *extra
    )


def test_report_writes_signed_json_that_verifies_and_records_a_trend(
    config: Path, tmp_path: Path
) -> None:
    """Two JSON reports: both verify, the second compares with the first."""
    first, second = tmp_path / "first.json", tmp_path / "second.json"
    code, out = report(config, "json", first, "--lang", "zh-TW")
    assert code == 0, out
    assert "not a regulator's score" in out
    code, out = report(config, "json", second)
    assert code == 0, out
    content = json.loads(second.read_bytes())["content"]
    assert content["firm"] == FIRM_NAME
    assert content["tenant"] == TENANT
    assert content["framework"]["id"] == "fsc-zta"
    assert content["trend"]["first"] is False
    assert json.loads(first.read_bytes())["content"]["trend"]["first"] is True
    assert content["roi"]["enough"] is True
    assert content["controls"]
    assert content["evidence"]
    for path in (first, second):
        code, out = menshen(config, "report", "verify", str(path))
        assert code == 0, out
        assert "report verified" in out


def test_report_writes_html_and_pdf_with_detached_signatures(config: Path, tmp_path: Path) -> None:
    """HTML and PDF come with a .sig that verifies; one changed byte of the HTML fails."""
    html, pdf = tmp_path / "report.html", tmp_path / "report.pdf"
    code, out = report(config, "html", html, "--lang", "zh-TW")
    assert code == 0, out
    text = html.read_text(encoding="utf-8")
    assert "Formosa Pay" in text
    assert "零信任" in text
    code, out = report(config, "pdf", pdf, "--lang", "en")
    assert code == 0, out
    assert pdf.read_bytes().startswith(b"%PDF-")
    for path in (html, pdf):
        assert Path(f"{path}.sig").is_file()
        code, out = menshen(config, "report", "verify", str(path))
        assert code == 0, out
    html.write_text(text.replace("零信任", "零信忍", 1), encoding="utf-8")
    code, out = menshen(config, "report", "verify", str(html))
    assert code == 1
    assert "NOT verified" in out


def test_report_writes_oscal_assessment_results(config: Path, tmp_path: Path) -> None:
    """The OSCAL export of the demo firm parses with trestle and has findings."""
    from trestle.oscal.assessment_results import AssessmentResults

    out_file = tmp_path / "ar.json"
    code, out = report(config, "oscal", out_file)
    assert code == 0, out
    doc = json.loads(out_file.read_bytes())["assessment-results"]
    model = AssessmentResults.model_validate(doc)
    assert model.results[0].findings
    code, out = menshen(config, "report", "verify", str(out_file))
    assert code == 0, out


def test_unknown_framework_is_refused_listing_the_known_ones(config: Path, tmp_path: Path) -> None:
    """A misspelt framework names the ones that exist and writes nothing."""
    out_file = tmp_path / "r.html"
    code, out = menshen(config, "report", "--framework", "fsc", "--out", str(out_file))
    assert code == 2
    assert "unknown framework 'fsc'" in out
    assert "fsc-zta" in out
    assert "cisa-ztmm" in out
    assert not out_file.exists()


def test_empty_tenant_is_refused_with_the_reason(config: Path, tmp_path: Path) -> None:
    """A tenant with no users and no apps gets a clear error, not an empty report."""
    out_file = tmp_path / "r.json"
    code, out = menshen(config, "--tenant", "nobody", "report", "--framework", "fsc-zta",
                        "--format", "json", "--out", str(out_file))  # fmt: skip
    assert code == 2
    assert "no users and no apps" in out
    assert not out_file.exists()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--lang", "fr"), "unknown language 'fr'"),
        (("--format", "docx"), "unknown format 'docx'"),
        (("--period-days", "0"), "period must be 1 to"),
    ],
)
def test_bad_options_are_clear_errors(
    config: Path, tmp_path: Path, args: tuple[str, ...], message: str
) -> None:
    """Unknown language or format, or an empty period, is refused with what is allowed."""
    code, out = report(config, "json", tmp_path / "r.json", *args)
    if args[0] == "--format":
        code, out = menshen(config, "report", "--framework", "fsc-zta", *args, "--out", "x")
    assert code == 2
    assert message in out


def test_output_path_problems_are_clear_errors(config: Path, tmp_path: Path) -> None:
    """A missing folder, a directory as the file, or no --out at all are refused."""
    code, out = report(config, "json", tmp_path / "missing" / "r.json")
    assert code == 2
    assert "does not exist" in out
    code, out = report(config, "json", tmp_path)
    assert code == 2
    assert "is a directory" in out
    code, out = menshen(config, "report", "--framework", "fsc-zta")
    assert code == 2
    assert "--out" in out


def test_verify_refuses_a_file_that_is_not_a_report(config: Path, tmp_path: Path) -> None:
    """A random JSON file fails verification with exit status 1."""
    other = tmp_path / "other.json"
    other.write_text('{"content": {"tenant": "formosa-pay"}}', encoding="utf-8")
    code, out = menshen(config, "report", "verify", str(other))
    assert code == 1
    assert "NOT verified" in out
    page = tmp_path / "page.html"
    page.write_text("<!DOCTYPE html><p>report</p>", encoding="utf-8")
    code, out = menshen(config, "report", "verify", str(page))
    assert code == 2
    assert "page.html.sig" in out
