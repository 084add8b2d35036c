"""The compliance pages' content, made from the report's own document and charts (pure).

The console shows what the signed report shows (issue 7 item 5): it builds the same
``ReportDocument`` (``menshen.compliance.report.document``) and draws the same inline SVG
charts (``report.charts``), with the report's bilingual labels (``report.labels``), so the page
and the PDF cannot disagree. Nothing is scored here. Each framework keeps its own scale: counts
per outcome, and for staged frameworks the stage per group and per facet; no regulator
percentage exists and none is printed. Declared controls are marked as declared, never as
measured. The charts are the only markup marked safe: they escape every text themselves.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from markupsafe import Markup

from menshen.compliance.checks import CHECKS
from menshen.compliance.model import (
    Bilingual,
    Catalog,
    ControlResult,
    Evidence,
    Framework,
    FrameworkScore,
    Lang,
    Outcome,
    StageStanding,
)
from menshen.compliance.report.charts import COLOURS, outcome_bars, stage_ladder, trend_bars
from menshen.compliance.report.document import ReportDocument
from menshen.compliance.report.html import value_text
from menshen.compliance.report.labels import label, outcome_label
from menshen.compliance.report.tables import data_tables

__all__ = ["CONSOLE_LABELS", "control_context", "overview_context", "swatch", "text_of"]

_B = Bilingual
CONSOLE_LABELS: Mapping[str, Bilingual] = {
    "heading": _B("Compliance", "合規"),
    "show": _B("Show", "顯示"),
    "collect": _B("Collect evidence now", "立即收集證據"),
    "collect_hint": _B(
        "Measures every check on the live system and keeps the result as history.",
        "量測運作中系統的每一項檢查，並保存結果作為歷史紀錄。",
    ),
    "download": _B("Download the signed report", "下載已簽章報告"),
    "download_hint": _B(
        "Measures the evidence now, signs the report with the tenant's key and records it for"
        " the next report's trend. HTML and PDF come with their detached .sig in a zip.",
        "立即量測證據，以租戶金鑰簽章並記錄，作為下一份報告的趨勢基準。"
        "HTML 與 PDF 連同分離式 .sig 簽章檔一併以 zip 提供。",
    ),
    "no_evidence": _B(
        "No evidence has been collected for this tenant yet: every control is not assessed"
        " until it is.",
        "此租戶尚未收集任何證據：收集之前，所有控制項皆為未評估。",
    ),
    "projected_groups": _B("Projected stage per group", "預計各構面階段"),
    "history": _B("Evidence history", "證據歷史"),
    "history_none": _B("No measurement stored for this check yet.", "此檢查尚無已儲存的量測。"),
    "mapped": _B("Mapped to other frameworks", "對應至其他框架"),
    "summary": _B("Summary", "摘要"),
    "checks": _B("Checks", "檢查項目"),
    "all_controls": _B("All controls", "所有控制項"),
    "unknown_check": _B("(not in menshen's list of checks)", "（不在 menshen 的檢查清單中）"),
}


def text_of(key: str, lang: Lang, **values: object) -> str:
    """A console label, or the report's own label of that name."""
    found = CONSOLE_LABELS.get(key)
    if found is None:
        return label(key, lang, **values)
    text = found.get(lang)
    return text.format(**values) if values else text


def swatch(outcome: Outcome) -> Markup:
    """A small coloured square for an outcome (SVG attributes, so the CSP needs no style)."""
    return Markup(  # noqa: S704 - a fixed shape and a colour from a constant table
        '<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10" aria-hidden="true">'
        f'<rect width="10" height="10" fill="{COLOURS[outcome]}"/></svg>'
    )


def when(at: datetime | None) -> str:
    return "-" if at is None else at.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def _stage_title(framework: Framework, stage_id: str | None, lang: Lang) -> str:
    if stage_id is None:
        return label("below_first", lang)
    for stage in framework.stages:
        if stage.id == stage_id:
            return stage.title.get(lang)
    return stage_id


def _standing_rows(
    framework: Framework, standings: Sequence[StageStanding], lang: Lang
) -> list[dict[str, Any]]:
    return [
        {
            "key": item.key,
            "title": item.title.get(lang),
            "stage": _stage_title(framework, item.stage, lang),
            "next": _stage_title(framework, item.next_stage, lang) if item.next_stage else "-",
            "blocking": list(item.blocking),
            "declared": list(item.declared),
        }
        for item in standings
    ]


def _result_row(result: ControlResult, framework: Framework, lang: Lang) -> dict[str, Any]:
    declared = result.basis == "declared"
    return {
        "id": result.control.id,
        "title": result.control.title.get(lang),
        "stage": _stage_title(framework, result.control.stage, lang)
        if result.control.stage
        else "-",
        "outcome": result.outcome.value,
        "outcome_text": outcome_label(result.outcome, lang),
        "swatch": swatch(result.outcome),
        "declared": declared,
        "basis": label("declared", lang) if declared else label(f"basis_{result.basis}", lang),
        "reason": result.reason.get(lang),
        "checks": [item.check_id for item in result.evidence],
    }


def _projected_rows(
    framework: Framework, now: FrameworkScore, then: FrameworkScore | None, lang: Lang
) -> list[dict[str, str]]:
    if then is None:
        return []
    before = {item.key: item.stage for item in now.groups}
    return [
        {
            "title": item.title.get(lang),
            "now": _stage_title(framework, before.get(item.key), lang),
            "then": _stage_title(framework, item.stage, lang),
        }
        for item in then.groups
        if before.get(item.key) != item.stage
    ]


def overview_context(doc: ReportDocument) -> dict[str, Any]:
    """What ``compliance.html`` shows of one framework for one firm."""
    lang, framework = doc.lang, doc.framework
    score = doc.assessment.score
    charts: dict[str, Markup] = {"counts": outcome_bars(score.counts, lang)}
    if framework.kind == "staged" and framework.stages:
        if score.groups:
            charts["groups"] = stage_ladder(framework, score.groups, lang, "ladder")
        if score.facets:
            charts["facets"] = stage_ladder(framework, score.facets, lang, "facets")
    trend = doc.trend
    if trend is not None and not trend.first:
        charts["trend"] = trend_bars(trend.counts_before or {}, trend.counts_after or {}, lang)
    grouped: dict[str, list[dict[str, Any]]] = {}
    for result in doc.assessment.results:
        grouped.setdefault(result.control.group, []).append(_result_row(result, framework, lang))
    titles = {item.id: item.title.get(lang) for item in framework.groups}
    return {
        "doc": doc,
        "framework_title": framework.title.get(lang),
        "binding": framework.binding.get(lang),
        "note": framework.note.get(lang) if framework.note is not None else "",
        "period": f"{when(doc.period_start)} – {when(doc.period_end)}",
        "generated": when(doc.generated_at),
        "counts": [
            {
                "outcome": outcome.value,
                "text": outcome_label(outcome, lang),
                "n": score.counts.get(outcome, 0),
                "swatch": swatch(outcome),
            }
            for outcome in Outcome
        ],
        "passed_of": label("passed_of", lang, passed=score.passed, assessed=score.assessed),
        "charts": charts,
        "groups": _standing_rows(framework, score.groups, lang),
        "facets": _standing_rows(framework, score.facets, lang),
        "gaps": [
            {
                "rank": gap.rank,
                "control": gap.control_id,
                "step": gap.step.get(lang),
                "affected": gap.affected,
                "risk": gap.risk,
                "effort": gap.effort,
            }
            for gap in doc.gaps
        ],
        "projected": None
        if doc.projected is None
        else label(
            "projected",
            lang,
            top=doc.projected_top,
            passed=doc.projected.passed,
            assessed=doc.projected.assessed,
        ),
        "projected_groups": _projected_rows(framework, score, doc.projected, lang),
        "trend": trend,
        "trend_first": trend is None or trend.first,
        "results": [(titles.get(key, key), rows) for key, rows in grouped.items()],
        "declared": [
            {
                "id": result.control.id,
                "outcome": outcome_label(result.outcome, lang),
                "justification": result.declaration.justification if result.declaration else "",
                "by": result.declaration.by if result.declaration else "",
                "at": when(result.declaration.at if result.declaration else None),
                "attachment": result.declaration.attachment_name if result.declaration else None,
                "sha256": result.declaration.attachment_sha256 if result.declaration else None,
            }
            for result in doc.declared
        ],
    }


def evidence_row(item: Evidence, lang: Lang) -> dict[str, Any]:
    """One measurement: its outcome, figure, summary, next step and the data behind it."""
    spec = CHECKS.get(item.check_id)
    return {
        "check": item.check_id,
        "title": spec.title.get(lang) if spec is not None else text_of("unknown_check", lang),
        "outcome": item.outcome.value,
        "outcome_text": outcome_label(item.outcome, lang),
        "swatch": swatch(item.outcome),
        "value": value_text(item.value, spec.unit if spec is not None else ""),
        "collected": when(item.collected_at),
        "summary": item.summary.get(lang),
        "remedy": item.remedy.get(lang) if item.remedy is not None else "",
        "affected": item.affected,
        "error": item.error or "",
        "tables": data_tables(item.data),
    }


def control_context(
    doc: ReportDocument,
    result: ControlResult,
    history: Mapping[str, Sequence[Evidence]],
    catalog: Catalog,
) -> dict[str, Any]:
    """What ``compliance_control.html`` shows of one control of ``doc``'s framework."""
    lang, control = doc.lang, result.control
    mapped = sorted(
        {m.target for m in catalog.mappings if m.source == control.id}
        | {m.source for m in catalog.mappings if m.target == control.id}
    )
    return {
        "control": control,
        "title": control.title.get(lang),
        "summary": control.summary.get(lang),
        "result": _result_row(result, doc.framework, lang),
        "declaration": result.declaration,
        "declared_at": when(result.declaration.at) if result.declaration else "",
        "evidence": [evidence_row(item, lang) for item in result.evidence],
        "history": [
            {
                "check": check_id,
                "rows": [
                    {
                        "at": when(item.collected_at),
                        "outcome": outcome_label(item.outcome, lang),
                        "swatch": swatch(item.outcome),
                        "value": value_text(
                            item.value, CHECKS[check_id].unit if check_id in CHECKS else ""
                        ),
                        "affected": item.affected,
                        "error": item.error or "",
                    }
                    for item in history.get(check_id, ())
                ],
            }
            for check_id in control.checks
        ],
        "checks": list(control.checks),
        "mapped": mapped,
    }
