"""The command line over a fresh data directory holding the worked example (tenant acme)."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from typer.testing import CliRunner

from menshen.cli.main import app

runner = CliRunner()
AT = "2026-01-05T09:00:00+08:00"
EXAMPLES = resources.files("menshen.segmentation").joinpath("examples")


def menshen(data_dir: Path, *args: str) -> tuple[int, str]:
    """Run ``menshen --data-dir DATA --tenant acme ARGS``: (exit code, output)."""
    result = runner.invoke(app, ["--data-dir", str(data_dir), "--tenant", "acme", *args])
    return result.exit_code, result.output


def write_example(tmp_path: Path) -> Path:
    """The Formosa Pay worked example, copied where a test may change it."""
    path = tmp_path / "formosa-pay.yaml"
    path.write_text(EXAMPLES.joinpath("formosa-pay.yaml").read_text("utf-8"), encoding="utf-8")
    return path


def imported(tmp_path: Path, firm: Path) -> Path:
    """A data directory into which ``firm`` was imported."""
    data = tmp_path / "data"
    code, out = menshen(data, "inventory", "import", str(firm))
    assert code == 0, out
    return data
