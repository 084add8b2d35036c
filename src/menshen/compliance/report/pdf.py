"""The report as PDF: the same HTML, laid out by WeasyPrint (CSS Paged Media, PDF 1.7).

The Chinese must print as Traditional Chinese glyphs, never as empty boxes. So before laying
out a page, fontconfig is asked for a font covering ``zh-tw`` (Noto Sans CJK TC from
``fonts-noto-cjk`` on Debian); with none installed the render stops with a clear error
instead of silently printing tofu. WeasyPrint embeds the subset of the font it used.
"""

from __future__ import annotations

import logging
import shutil
import subprocess

from menshen.errors import ConfigError

__all__ = ["CJK_FAMILY", "cjk_font", "render_pdf"]

CJK_FAMILY = "Noto Sans CJK TC"
_FC_TIMEOUT = 20.0

_log = logging.getLogger(__name__)


def cjk_font() -> str:
    """The file of an installed font covering Traditional Chinese, preferring Noto Sans CJK
    TC; ``ConfigError`` if fontconfig is missing or finds none."""
    fc_list = shutil.which("fc-list")
    if fc_list is None:
        raise ConfigError("fontconfig (fc-list) is not installed: cannot find a CJK font for PDF")
    try:
        listed = subprocess.run(  # noqa: S603 - fixed arguments, no shell
            [fc_list, ":lang=zh-tw", "family", "file"],
            capture_output=True,
            text=True,
            timeout=_FC_TIMEOUT,
            check=True,
        ).stdout
    except (OSError, subprocess.SubprocessError) as exc:
        raise ConfigError(f"fc-list failed while looking for a CJK font: {exc}") from None
    fonts = [line for line in listed.splitlines() if ":" in line]
    preferred = [line for line in fonts if CJK_FAMILY in line]
    candidates = preferred or fonts
    if not candidates:
        raise ConfigError(
            "no font covering Traditional Chinese is installed; install Noto Sans CJK"
            " (Debian: apt-get install fonts-noto-cjk) so the PDF does not print empty boxes"
        )
    return candidates[0].split(":", 1)[0]


def render_pdf(html: str) -> bytes:
    """Lay out ``html`` (from ``render_html``) as PDF bytes, with a CJK font embedded."""
    font = cjk_font()
    _log.debug("report PDF uses CJK font %s", font)
    from weasyprint import HTML  # imported here: it loads pango and cairo libraries

    pdf = HTML(string=html, base_url=None).write_pdf()
    if not isinstance(pdf, bytes):
        raise ConfigError("WeasyPrint returned no PDF")
    return pdf
