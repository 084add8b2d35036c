"""The report's fixed wording in English and Traditional Chinese (Taiwan), written by us.

Every label the HTML and PDF print comes from here, so a report in ``zh-TW`` has no English
left in its headings and a report in ``en`` no Chinese. The control titles, summaries and
evidence texts come from the catalogs and collectors, which are bilingual already.
"""

from __future__ import annotations

from collections.abc import Mapping

from menshen.compliance.model import Bilingual, Lang, Outcome

__all__ = ["LABELS", "OUTCOME_LABELS", "label", "outcome_label"]

_B = Bilingual

LABELS: Mapping[str, Bilingual] = {
    "title": _B("Zero-trust compliance report", "零信任合規報告"),
    "firm": _B("Firm", "機構"),
    "tenant": _B("Tenant", "租戶"),
    "framework": _B("Framework", "框架"),
    "publisher": _B("Publisher", "發布機關"),
    "version": _B("Version", "版本"),
    "scope": _B("Scope", "範圍"),
    "scope_none": _B("(no scope stated in the settings)", "（設定中未載明範圍）"),
    "period": _B("Period", "期間"),
    "generated": _B("Generated", "產製時間"),
    "language": _B("Language", "語言"),
    "binding": _B("Is it binding?", "是否具拘束力"),
    "not_box_title": _B("What this report is not", "本報告不是什麼"),
    "not_box": _B(
        "This is menshen's own measurement of the live system. It is not a regulator's"
        " score or an audit opinion: no regulator publishes a percentage for these"
        " documents, so none is printed here. Counts and stages are menshen's own tally.",
        "本報告是 menshen 對運作中系統的自行量測，並非主管機關的評分或查核意見。"
        "主管機關並未就這些文件公布任何百分比分數，因此本報告不列印任何百分比；"
        "所列數量與階段皆為 menshen 自行統計。",
    ),
    "scores": _B("Standing", "現況"),
    "counts": _B(
        "Controls per outcome (menshen's own count)", "各結果的控制項數量（menshen 自行統計）"
    ),
    "passed_of": _B(
        "{passed} of {assessed} assessed controls pass",
        "已評估的 {assessed} 項控制中有 {passed} 項通過",
    ),
    "ladder": _B("Stage reached per group", "各構面達成階段"),
    "facets": _B("Stage reached per scenario or function", "各情境或功能達成階段"),
    "below_first": _B("below the first stage", "未達第一階段"),
    "next_stage": _B("next", "下一階段"),
    "blocking": _B("blocked by", "受阻於"),
    "controls": _B("Controls", "控制項"),
    "control": _B("Control", "控制項"),
    "group": _B("Group", "構面"),
    "stage": _B("Stage", "階段"),
    "outcome": _B("Outcome", "結果"),
    "reason": _B("Reason", "理由"),
    "basis": _B("Basis", "依據"),
    "evidence": _B("Evidence", "證據"),
    "evidence_data": _B("Evidence and the data behind it", "證據與其背後資料"),
    "check": _B("Check", "檢查項目"),
    "value": _B("Value", "數值"),
    "collected": _B("Collected", "收集時間"),
    "affected": _B("Affected", "受影響數"),
    "error": _B("Collector error", "收集器錯誤"),
    "rows_shown": _B(
        "{more} more not shown ({shown} of {total} rows shown)",
        "另有 {more} 列未顯示（共 {total} 列，顯示 {shown} 列）",
    ),
    "no_data": _B("no rows", "無資料列"),
    "declared": _B("Declared, not measured", "自行聲明，未經量測"),
    "declared_intro": _B(
        "The firm states these controls are handled outside menshen. menshen did not measure"
        " them; they are shown as the firm's word.",
        "機構聲明下列控制項於 menshen 之外處理。menshen 未量測這些項目，僅列示機構之聲明。",
    ),
    "justification": _B("Justification", "理由說明"),
    "declared_by": _B("Declared by", "聲明人"),
    "attachment": _B("Attachment", "附件"),
    "gaps": _B("Gaps and next steps", "缺口與下一步"),
    "rank": _B("Rank", "順序"),
    "step": _B("Next step", "下一步"),
    "risk": _B("Risk", "風險"),
    "effort": _B("Effort", "工作量"),
    "no_gaps": _B("No gaps: every applicable control passes.", "無缺口：所有適用的控制項皆通過。"),
    "projected": _B(
        "If the top {top} steps are done: {passed} of {assessed} assessed controls would pass",
        "若完成前 {top} 項步驟：已評估的 {assessed} 項控制中將有 {passed} 項通過",
    ),
    "trend": _B("Trend against the last report", "與上一份報告比較"),
    "trend_none": _B(
        "No earlier report for this framework: this is the first.",
        "此框架尚無先前報告：本報告為第一份。",
    ),
    "previous": _B("previous", "上次"),
    "current": _B("now", "本次"),
    "improved": _B("Improved", "改善"),
    "regressed": _B("Regressed", "退步"),
    "roi": _B(
        "Estimated return (an estimate, with its assumptions)", "投資效益估算（估算值及其假設）"
    ),
    "assumptions": _B("Assumptions", "假設"),
    "roi_breach": _B("Cost of one breach", "單次外洩成本"),
    "roi_without": _B("Expected yearly loss without zero trust", "未導入零信任之年化預期損失"),
    "roi_with": _B("Expected yearly loss with zero trust", "導入零信任後之年化預期損失"),
    "roi_reduction": _B("Expected yearly reduction", "年化預期減少金額"),
    "signature": _B("Signature", "簽章"),
    "content_hash": _B(
        "Content hash (SHA-256 of the canonical JSON)", "內容雜湊（標準化 JSON 的 SHA-256）"
    ),
    "key_id": _B("Signing key id", "簽章金鑰識別碼"),
    "verify_hint": _B(
        "Check with: menshen report verify FILE (the tenant's published key set).",
        "驗證方式：menshen report verify 檔案（以租戶公開的金鑰集驗證）。",
    ),
    "unsigned": _B("not signed yet", "尚未簽章"),
    "basis_measured": _B("measured", "量測"),
    "basis_declared": _B("declared", "聲明"),
    "basis_profile": _B("firm profile", "機構概況"),
    "basis_missing": _B("no evidence", "無證據"),
    "page": _B("Page", "頁"),
}

OUTCOME_LABELS: Mapping[Outcome, Bilingual] = {
    Outcome.PASS: _B("pass", "通過"),
    Outcome.PARTIAL: _B("partial", "部分通過"),
    Outcome.FAIL: _B("fail", "未通過"),
    Outcome.NOT_APPLICABLE: _B("not applicable", "不適用"),
    Outcome.NOT_ASSESSED: _B("not assessed", "未評估"),
}


def label(key: str, lang: Lang, **values: object) -> str:
    """The label ``key`` in ``lang``, with ``{name}`` placeholders filled from ``values``."""
    text = LABELS[key].get(lang)
    return text.format(**values) if values else text


def outcome_label(outcome: Outcome, lang: Lang) -> str:
    return OUTCOME_LABELS[outcome].get(lang)
