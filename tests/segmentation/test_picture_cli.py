"""`menshen segment picture`: the diagram as a file, from files or from the store."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import datetime
from pathlib import Path

import pytest

from menshen.segmentation.blast import blast_radius
from menshen.segmentation.files import load_example
from menshen.segmentation.picture import draw
from tests.segmentation.cli_world import AT, menshen, write_example


@pytest.fixture
def firm(tmp_path: Path) -> Path:
    return write_example(tmp_path)


def test_picture_from_files_is_the_library_drawing(tmp_path: Path, firm: Path) -> None:
    """-f and --blast-radius write exactly what draw() gives, owner-readable only."""
    out = tmp_path / "report" / "seg.svg"
    out.parent.mkdir()
    args = ("segment", "picture", "-f", str(firm), "--blast-radius", "laptop-17", "--at", AT)
    code, text = menshen(tmp_path / "data", *args, "--out", str(out))
    assert code == 0, text
    assert "blast radius of laptop-17" in text
    seg, at = load_example(), datetime.fromisoformat(AT)
    assert out.read_text("utf-8") == draw(seg, at, blast=blast_radius(seg, "laptop-17", at))
    assert out.stat().st_mode & 0o077 == 0
    assert [p.name for p in out.parent.iterdir()] == ["seg.svg"]


def test_picture_from_the_store_after_import(tmp_path: Path, firm: Path) -> None:
    """Without -f the stored model is drawn; '-' prints the SVG."""
    data = tmp_path / "data"
    assert menshen(data, "inventory", "import", str(firm))[0] == 0
    code, text = menshen(data, "segment", "picture", "--at", AT, "--out", "-")
    assert code == 0, text
    root = ET.fromstring(text)  # noqa: S314 - our own output, parsed to check it
    zones = {g.get("data-zone") for g in root.iter("{http://www.w3.org/2000/svg}g")}
    assert "settlement-db" in zones


def test_picture_of_an_unknown_asset_fails_and_writes_nothing(tmp_path: Path, firm: Path) -> None:
    """An unknown --blast-radius asset is an error (exit 2) and leaves no file."""
    out = tmp_path / "seg.svg"
    args = ("segment", "picture", "-f", str(firm), "--blast-radius", "laptop-99")
    code, text = menshen(tmp_path / "data", *args, "--out", str(out))
    assert code == 2
    assert "laptop-99" in text
    assert not out.exists()


def test_picture_zones_only_past_max_assets(tmp_path: Path, firm: Path) -> None:
    """--max-assets collapses the drawing to zones."""
    args = ("segment", "picture", "-f", str(firm), "--max-assets", "3", "--out", "-")
    code, text = menshen(tmp_path / "data", *args)
    assert code == 0, text
    assert 'class="asset' not in text
    assert "zones only" in text
