"""`menshen inventory` and `menshen segment`: import/export/validate and the three questions."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from menshen.cli.main import app
from tests.segmentation.cli_world import AT, EXAMPLES, imported, menshen, runner, write_example


@pytest.fixture
def firm(tmp_path: Path) -> Path:
    return write_example(tmp_path)


@pytest.fixture
def data_dir(tmp_path: Path, firm: Path) -> Path:
    return imported(tmp_path, firm)


def test_import_creates_then_is_idempotent(data_dir: Path, firm: Path) -> None:
    """The second import of the same file changes nothing and says so."""
    code, out = menshen(data_dir, "inventory", "import", str(firm))
    assert code == 0, out
    assert "0 created, 0 updated" in out
    audit = menshen(data_dir, "audit", "export")[1]
    assert "inventory.import" in audit


def test_export_imports_back_unchanged(data_dir: Path, tmp_path: Path) -> None:
    """`inventory export` YAML re-imports with no change; CSV exports have headers."""
    code, exported = menshen(data_dir, "inventory", "export")
    assert code == 0
    again = tmp_path / "again.yaml"
    again.write_text(exported, encoding="utf-8")
    code, out = menshen(data_dir, "inventory", "import", str(again), "--json")
    assert code == 0, out
    assert json.loads(out)["changes"] == []
    code, assets = menshen(data_dir, "inventory", "export", "--format", "assets-csv")
    assert assets.startswith("id,kind,name,owner,environment")
    assert "laptop-17,workstation" in assets


def test_a_bad_csv_rejects_every_bad_row_and_imports_nothing(
    data_dir: Path, tmp_path: Path
) -> None:
    """Each bad row is listed with its line; the good rows are not imported either."""
    bad = tmp_path / "assets.csv"
    bad.write_text(
        "id,kind,addresses,ports\nnew-host,host,10.60.0.1,tcp/22\nx,host,,tcp/99999\n"
        "y,router,,\nclash,host,10.40.0.10,\n",
        encoding="utf-8",
    )
    code, out = menshen(data_dir, "inventory", "import", str(bad))
    assert code == 1
    flat = out.replace("\n", " ")
    assert f"{bad}:3: column 'ports': port 99999 is out of range" in flat
    assert f"{bad}:4: column 'kind': unknown asset kind 'router'" in flat
    assert "nothing was changed" in flat
    assert "new-host" not in menshen(data_dir, "inventory", "export")[1]


def test_conflicts_with_stored_assets_are_caught_before_writing(
    data_dir: Path, tmp_path: Path
) -> None:
    """A new asset on the settlement database's address is refused, naming both."""
    clash = tmp_path / "clash.csv"
    clash.write_text("id,kind,addresses\nrogue,host,10.40.0.10\n", encoding="utf-8")
    code, out = menshen(data_dir, "inventory", "import", str(clash), "--json")
    assert code == 1
    problems = json.loads(out)["problems"]
    assert problems[0]["line"] == 2
    assert "overlaps 10.40.0.10 of asset 'settlement-db'" in problems[0]["message"]


def test_dry_run_and_prune(data_dir: Path, tmp_path: Path) -> None:
    """--dry-run shows and writes nothing; --prune makes the store equal to the files."""
    only = tmp_path / "only.csv"
    only.write_text("id,kind\nlonely,host\n", encoding="utf-8")
    code, out = menshen(data_dir, "inventory", "import", str(only), "--prune", "--dry-run")
    assert code == 0, out
    assert "Asset/settlement-db deleted" in out
    assert "dry run" in out
    assert "settlement-db" in menshen(data_dir, "inventory", "export")[1]


def test_validate_lists_problems_with_file_line_and_column(firm: Path, tmp_path: Path) -> None:
    """validate needs no store: a good file shows counts, a bad one every problem."""
    result = runner.invoke(app, ["inventory", "validate", str(firm), "--json"])
    assert result.exit_code == 0
    assert json.loads(result.output)["counts"]["assets"] == 19
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        firm.read_text(encoding="utf-8").replace("to: [settlement-db]", "to: [settlement-dbx]"),
        encoding="utf-8",
    )
    result = runner.invoke(app, ["inventory", "validate", str(bad), "--json"])
    assert result.exit_code == 1
    problems = json.loads(result.output)["problems"]
    assert {p["message"] for p in problems} >= {
        "rule 'SET-001': to names undefined zone 'settlement-dbx'"
    }
    assert all(p["source"] == str(bad) and p["line"] and p["column"] for p in problems)


def test_blast_radius_of_the_contractor_laptop(data_dir: Path, firm: Path) -> None:
    """From the store or from the file: no settlement database, and the path of each store."""
    code, out = menshen(
        data_dir, "segment", "blast-radius", "--compromised", "laptop-17", "--at", AT, "--json"
    )
    assert code == 0, out
    body = json.loads(out)
    assert "settlement-db" not in {a["asset"] for a in body["assets"]}
    assert [s["store"] for s in body["stores"]] == ["merchant-kyc", "wiki-pages"]
    assert [hop["via"]["rule"] for hop in body["stores"][1]["path"]] == ["ACC-002", "ACC-005"]
    from_file = runner.invoke(
        app, ["segment", "blast-radius", "--compromised", "laptop-17", "-f", str(firm), "--at", AT]
    )
    assert from_file.exit_code == 0
    assert "wiki-pages" in from_file.output
    assert "settlement-ledger" not in from_file.output


def test_reach_lists_rules(data_dir: Path) -> None:
    """reach shows each destination with the rule that allows it."""
    code, out = menshen(data_dir, "segment", "reach", "--from", "laptop-ops-01", "--at", AT)
    assert code == 0, out
    assert "EXC-001" in out
    assert "ACC-001" in out
    code, out = menshen(data_dir, "segment", "reach", "--from", "nobody", "--at", AT)
    assert code == 2
    assert "no asset 'nobody'" in out


def test_check_exits_1_on_drift_and_reports_json(data_dir: Path) -> None:
    """Observed flows the policy would drop are drift; the declared gap is listed."""
    observed = str(EXAMPLES.joinpath("formosa-pay-observed.csv"))
    code, out = menshen(data_dir, "segment", "check", "--observed", observed, "--at", AT, "--json")
    assert code == 1
    body = json.loads(out)
    assert body["clean"] is False
    assert {"src": "10.50.0.17", "verdict": "drop"}.items() <= body["drift"][1].items()
    assert [gap["flow"] for gap in body["gaps"]] == ["bo-reads-ledger"]
    code, out = menshen(data_dir, "segment", "check", "--observed", observed, "--at", AT)
    assert code == 1
    assert "1 gap(s)" in out


def test_bad_at_is_a_usage_error(data_dir: Path) -> None:
    """A time without a zone is refused rather than guessed."""
    code, out = menshen(data_dir, "segment", "reach", "--from", "wiki", "--at", "2026-01-05")
    assert code == 2
    assert "time zone" in out
