"""The PDF report renders in both languages with Traditional Chinese glyphs: checked by
converting the first page to PNG (pdftoppm) and reading it back with OCR (tesseract)."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from menshen.compliance.model import Lang
from menshen.compliance.report import pdf
from menshen.compliance.report.html import render_html
from menshen.errors import ConfigError
from tests.conftest import require_service

from .conftest import FIRM, make_document

TOOL_TIMEOUT = 90.0


def _tool(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        require_service(
            name, "install poppler-utils and tesseract-ocr (scripts/ensure-system-deps.sh)"
        )
    return found


def _run(*args: str) -> str:
    done = subprocess.run(args, capture_output=True, text=True, timeout=TOOL_TIMEOUT, check=True)
    return done.stdout


def _first_page_text(document: bytes, tmp_path: Path, languages: str) -> str:
    """OCR of page 1 at 150 dpi, whitespace removed (tesseract spaces CJK unevenly)."""
    source = tmp_path / "report.pdf"
    source.write_bytes(document)
    _run(
        _tool("pdftoppm"),
        "-r",
        "150",
        "-png",
        "-f",
        "1",
        "-l",
        "1",
        str(source),
        str(tmp_path / "page"),
    )
    (png,) = sorted(tmp_path.glob("page*.png"))
    tesseract = _tool("tesseract")
    installed = _run(tesseract, "--list-langs")
    for language in languages.split("+"):
        if language not in installed.split():
            require_service(f"tesseract {language}", "install tesseract-ocr-chi-tra / -eng")
    return re.sub(r"\s+", "", _run(tesseract, str(png), "-", "-l", languages))


def _render(lang: Lang) -> bytes:
    try:
        return pdf.render_pdf(render_html(make_document(lang), None))
    except ConfigError as exc:  # no CJK font installed
        require_service("Noto Sans CJK", str(exc))


def test_zh_tw_pdf_prints_traditional_chinese_that_ocr_reads_back(tmp_path: Path) -> None:
    """Page 1 of the zh-TW PDF reads back 零信任 and the firm; only TC CJK faces embedded."""
    document = _render(Lang.ZH_TW)
    text = _first_page_text(document, tmp_path, "chi_tra+eng")
    assert "零信任" in text
    assert FIRM.replace(" ", "") in text
    assert "本報告不是什麼" in text
    fonts = _run(_tool("pdffonts"), str(tmp_path / "report.pdf"))
    cjk = re.findall(r"Noto-Sans(?:-Mono)?-CJK-([A-Z]{2})", fonts)
    assert cjk, fonts
    assert set(cjk) == {"TC"}, fonts  # never Japanese or Simplified glyph forms


def test_english_pdf_prints_its_english_headings(tmp_path: Path) -> None:
    """Page 1 of the English PDF reads back the title, the firm and the not-a-score box."""
    text = _first_page_text(_render(Lang.EN), tmp_path, "eng")
    assert "Zero-trustcompliancereport" in text
    assert FIRM.replace(" ", "") in text
    assert "Whatthisreportisnot" in text


def test_pdf_without_a_cjk_font_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    """With no font covering zh-TW, rendering stops and names the package to install."""

    def nothing(args: list[str], **kwargs: object) -> subprocess.CompletedProcess[str]:
        return subprocess.CompletedProcess(args, 0, stdout="", stderr="")

    monkeypatch.setattr(subprocess, "run", nothing)
    with pytest.raises(ConfigError, match="fonts-noto-cjk"):
        pdf.render_pdf("<p>零信任</p>")


def test_pdf_without_fontconfig_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without fc-list the CJK font cannot be checked, so the render refuses."""
    monkeypatch.setattr(shutil, "which", lambda name: None)
    with pytest.raises(ConfigError, match="fontconfig"):
        pdf.cjk_font()
