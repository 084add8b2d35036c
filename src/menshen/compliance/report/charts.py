"""The report's charts as inline SVG (W3C SVG 1.1), drawn on the server (pure).

No script and no external resource: the same markup prints in a browser and in the PDF.
Every text is escaped. Three charts: controls per outcome (bars), the stage reached per group
or facet (a ladder: one row per group, one cell per stage, filled up to the stage reached),
and the trend against the previous report (paired bars per outcome).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from markupsafe import Markup, escape

from menshen.compliance.model import Framework, Lang, Outcome, StageStanding
from menshen.compliance.report.labels import label, outcome_label

__all__ = ["COLOURS", "outcome_bars", "stage_ladder", "trend_bars"]

COLOURS: Mapping[Outcome, str] = {
    Outcome.PASS: "#2e7d32",
    Outcome.PARTIAL: "#f9a825",
    Outcome.FAIL: "#c62828",
    Outcome.NOT_APPLICABLE: "#9e9e9e",
    Outcome.NOT_ASSESSED: "#5c6bc0",
}
# Named on each text: an SVG renderer may not apply the page's CSS, and a bare "sans-serif"
# can fall back to Japanese glyph forms for the shared Han characters (and WeasyPrint
# takes one family name here, not a list).
_FONT = "Noto Sans CJK TC"
_ROW = 22
_LABEL_W = 150
_BAR_W = 300


def _svg(width: int, height: int, body: list[str], title: str) -> Markup:
    head = (
        f'<svg xmlns="http://www.w3.org/2000/svg" role="img" width="{width}" height="{height}"'
        f' viewBox="0 0 {width} {height}" class="chart"><title>{escape(title)}</title>'
    )
    return Markup(head + "".join(body) + "</svg>")  # noqa: S704 - every text part escaped


def _text(x: int, y: int, text: str, *, anchor: str = "start", size: int = 11) -> str:
    return (
        f'<text x="{x}" y="{y}" font-family="{_FONT}" font-size="{size}"'
        f' text-anchor="{anchor}">{escape(text)}</text>'
    )


def outcome_bars(counts: Mapping[Outcome, int], lang: Lang) -> Markup:
    """Horizontal bars: the number of controls at each outcome."""
    most = max([1, *counts.values()])
    body: list[str] = []
    for i, outcome in enumerate(Outcome):
        n = counts.get(outcome, 0)
        y = i * _ROW
        width = round(_BAR_W * n / most)
        body.append(_text(0, y + 15, outcome_label(outcome, lang)))
        body.append(
            f'<rect x="{_LABEL_W}" y="{y + 4}" width="{width}" height="14"'
            f' fill="{COLOURS[outcome]}"/>'
        )
        body.append(_text(_LABEL_W + width + 6, y + 15, str(n)))
    height = len(Outcome) * _ROW + 4
    return _svg(_LABEL_W + _BAR_W + 40, height, body, label("counts", lang))


def stage_ladder(
    framework: Framework, standings: Sequence[StageStanding], lang: Lang, title_key: str
) -> Markup:
    """One row per group (or facet), one cell per stage, filled up to the stage reached."""
    stages = framework.stages
    cell_w = 90
    body: list[str] = []
    for j, stage in enumerate(stages):
        x = _LABEL_W + j * cell_w + cell_w // 2
        body.append(_text(x, 14, stage.title.get(lang), anchor="middle", size=10))
    for i, standing in enumerate(standings):
        y = 20 + i * _ROW
        body.append(_text(0, y + 15, standing.title.get(lang)))
        reached = _index(framework, standing.stage)
        for j, stage in enumerate(stages):
            if j <= reached:
                fill = "#2e7d32"
            elif stage.id == standing.next_stage:
                fill = "#ffcc80"
            else:
                fill = "#eeeeee"
            body.append(
                f'<rect x="{_LABEL_W + j * cell_w + 2}" y="{y + 3}" width="{cell_w - 4}"'
                f' height="{_ROW - 6}" fill="{fill}" stroke="#757575" stroke-width="0.5"/>'
            )
    height = 24 + len(standings) * _ROW
    return _svg(_LABEL_W + len(stages) * cell_w + 4, height, body, label(title_key, lang))


def _index(framework: Framework, stage_id: str | None) -> int:
    for j, stage in enumerate(framework.stages):
        if stage.id == stage_id:
            return j
    return -1


def trend_bars(previous: Mapping[str, int], current: Mapping[str, int], lang: Lang) -> Markup:
    """Per outcome, the previous report's count (light) above this report's (dark)."""
    most = max([1, *previous.values(), *current.values()])
    body: list[str] = []
    row = 2 * _ROW
    for i, outcome in enumerate(Outcome):
        y = i * row
        body.append(_text(0, y + 20, outcome_label(outcome, lang)))
        for k, (counts, opacity, key) in enumerate(
            ((previous, "0.4", "previous"), (current, "1", "current"))
        ):
            n = counts.get(outcome.value, 0)
            width = round(_BAR_W * n / most)
            top = y + 4 + k * 16
            body.append(
                f'<rect x="{_LABEL_W}" y="{top}" width="{width}" height="13"'
                f' fill="{COLOURS[outcome]}" fill-opacity="{opacity}"/>'
            )
            body.append(_text(_LABEL_W + width + 6, top + 11, f"{label(key, lang)} {n}", size=10))
    height = len(Outcome) * row + 4
    return _svg(_LABEL_W + _BAR_W + 90, height, body, label("trend", lang))
