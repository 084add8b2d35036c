"""The report as one printable HTML page (HTML Living Standard; CSS Paged Media for print).

Rendered with Jinja2 (autoescape on) from the ``ReportDocument``: every fixed label in the
report's language, the charts as inline SVG, the evidence data as bounded tables, and the
content hash, signature and key id at the end. The CSS names Noto Sans CJK TC first so the
Chinese prints with Traditional Chinese glyphs, in the browser and in the PDF alike.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from markupsafe import Markup

from menshen.compliance.model import Bilingual, ControlResult, Lang, Outcome
from menshen.compliance.report.charts import COLOURS, outcome_bars, stage_ladder, trend_bars
from menshen.compliance.report.document import ReportDocument
from menshen.compliance.report.labels import label, outcome_label
from menshen.compliance.report.sign import Signature
from menshen.compliance.report.tables import data_tables
from menshen.compliance.roi import Range, RoiEstimate

__all__ = ["render_html", "value_text"]


def _environment() -> Environment:
    env = Environment(
        loader=PackageLoader("menshen.compliance.report", "templates"),
        autoescape=select_autoescape(default=True, default_for_string=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    return env


def render_html(doc: ReportDocument, signature: Signature | None) -> str:
    """The report in ``doc.lang``, with its signature block (or "not signed yet")."""
    lang = doc.lang
    framework = doc.framework
    score = doc.assessment.score

    def text(value: Bilingual | None) -> str:
        return "" if value is None else value.get(lang)

    def when(at: datetime | None) -> str:
        return "-" if at is None else at.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")

    def when_text(value: str | None) -> str:
        try:
            return when(datetime.fromisoformat(value)) if value else "-"
        except ValueError:
            return value or "-"

    def L(key: str, **values: object) -> str:
        return label(key, lang, **values)

    charts: dict[str, Markup] = {"counts": outcome_bars(score.counts, lang)}
    if framework.kind == "staged" and framework.stages:
        if score.groups:
            charts["groups"] = stage_ladder(framework, score.groups, lang, "ladder")
        if score.facets:
            charts["facets"] = stage_ladder(framework, score.facets, lang, "facets")
    trend = doc.trend
    if not trend.first:
        charts["trend"] = trend_bars(trend.counts_before or {}, trend.counts_after or {}, lang)
    template = _environment().get_template("report.html")
    return template.render(
        doc=doc,
        lang=lang,
        html_lang="zh-Hant-TW" if lang is Lang.ZH_TW else "en",
        framework=framework,
        score=score,
        charts=charts,
        L=L,
        text=text,
        when=when,
        when_text=when_text,
        outcome=lambda o: outcome_label(o, lang),
        colour=lambda o: COLOURS[o],
        basis=lambda r: label(f"basis_{r.basis}", lang),
        stage_title=lambda s: _stage_title(doc, s),
        groups=_by_group(doc),
        tables=data_tables,
        value=value_text,
        roi_lines=_roi_lines(doc.roi, lang) if doc.roi is not None else [],
        signature=signature,
        Outcome=Outcome,
    )


def _stage_title(doc: ReportDocument, stage_id: str | None) -> str:
    if stage_id is None:
        return label("below_first", doc.lang)
    for stage in doc.framework.stages:
        if stage.id == stage_id:
            return stage.title.get(doc.lang)
    return stage_id


def _by_group(doc: ReportDocument) -> list[tuple[str, list[ControlResult]]]:
    """The results under their group's title, in catalog order."""
    titles: Mapping[str, Bilingual] = {g.id: g.title for g in doc.framework.groups}
    grouped: dict[str, list[ControlResult]] = {}
    for result in doc.assessment.results:
        grouped.setdefault(result.control.group, []).append(result)
    return [
        (titles[g].get(doc.lang) if g in titles else g, results) for g, results in grouped.items()
    ]


def value_text(value: float | None, unit: str) -> str:
    """A measured figure in its unit, as the report and the console print it."""
    if value is None:
        return "-"
    if unit == "share":
        return f"{value:.0%}"
    if unit == "seconds":
        return f"{value:.0f} s"
    if unit == "bool":
        return "yes" if value else "no"
    return f"{value:g}"


def _roi_lines(roi: RoiEstimate, lang: Lang) -> list[tuple[str, str]]:
    def money(r: Range | None) -> str:
        if r is None:
            return "-"
        return f"{roi.currency} {r.low:,.0f} – {r.high:,.0f}"

    rows = [
        (label("roi_breach", lang), money(roi.breach_cost)),
        (label("roi_without", lang), money(roi.expected_without)),
        (label("roi_with", lang), money(roi.expected_with)),
        (label("roi_reduction", lang), money(roi.reduction)),
    ]
    return rows if roi.enough else []
