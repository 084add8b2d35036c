"""Assess a framework's controls from measured evidence, declarations and the firm's profile
(pure: plain values in, an ``Assessment`` out).

Per control, first rule that applies:

1. its ``applies_if`` flag is off in the firm's profile: **not applicable** (basis
   ``profile``);
2. the firm declared it handled outside menshen, the declaration made by ``at`` and not
   expired: the declared outcome (basis ``declared``; shown as declared, never as measured);
3. it names no checks: **not assessed** (menshen cannot measure it: declare it);
4. any check it needs has no evidence, or evidence that is not assessed (a collector that
   failed) or carries an error: **not assessed** with the error, never a pass (fail closed);
5. otherwise its checks combine: ``all`` takes the worst outcome, ``any`` the best
   (fail < partial < pass); not-applicable checks are ignored, and all of them not
   applicable makes the control not applicable.

This realises issue 7 item 3: each control's outcome comes with its reason and evidence.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from menshen.compliance.checks import CHECKS
from menshen.compliance.model import (
    Assessment,
    Bilingual,
    Combine,
    Control,
    ControlResult,
    Declaration,
    Evidence,
    FirmProfile,
    Framework,
    Outcome,
)
from menshen.compliance.score import score

__all__ = ["OUTCOME_WORDS", "RANK", "assess", "assess_control", "combine", "figure"]

RANK: Mapping[Outcome, int] = {Outcome.FAIL: 0, Outcome.PARTIAL: 1, Outcome.PASS: 2}
"""The order of the measurable outcomes, worst first."""

OUTCOME_WORDS: Mapping[Outcome, Bilingual] = {
    Outcome.PASS: Bilingual("pass", "通過"),
    Outcome.PARTIAL: Bilingual("partial", "部分符合"),
    Outcome.FAIL: Bilingual("fail", "未通過"),
    Outcome.NOT_APPLICABLE: Bilingual("not applicable", "不適用"),
    Outcome.NOT_ASSESSED: Bilingual("not assessed", "未評估"),
}


def assess(
    framework: Framework,
    evidence: Mapping[str, Evidence],
    declarations: Mapping[str, Declaration],
    profile: FirmProfile,
    at: datetime,
) -> Assessment:
    """Every control of ``framework`` assessed at ``at``, and the framework's own score."""
    results = tuple(
        assess_control(control, evidence, declarations.get(control.id), profile, at)
        for control in framework.controls
    )
    return Assessment(
        tenant_id=profile.tenant_id,
        framework=framework,
        at=at,
        results=results,
        score=score(framework, results),
    )


def assess_control(
    control: Control,
    evidence: Mapping[str, Evidence],
    declaration: Declaration | None,
    profile: FirmProfile,
    at: datetime,
) -> ControlResult:
    """One control, by the rules in the module docstring."""
    if control.applies_if is not None and not profile.flag(control.applies_if):
        flag = control.applies_if
        reason = Bilingual(
            f"Not applicable: the firm's profile has {flag} off.",
            f"不適用：機構設定檔的 {flag} 為關閉。",
        )
        return ControlResult(control, Outcome.NOT_APPLICABLE, reason, "profile")
    found = tuple(evidence[c] for c in control.checks if c in evidence)
    expired = Bilingual("", "")
    if declaration is not None:
        if _valid(declaration, at):
            return _declared(control, declaration, found)
        expired = _expired_note(declaration, at)
    if not control.checks:
        reason = Bilingual(
            f"{expired.en}No menshen check measures this control: it is handled outside menshen;"
            " declare it with a justification.",
            f"{expired.zh_tw}menshen 沒有可量測此控制項的檢查：此項由 menshen 以外的方式處理，"
            "請附理由聲明。",
        )
        return ControlResult(control, Outcome.NOT_ASSESSED, reason, "missing")
    unknown = _unknown(control, evidence)
    if unknown:
        return ControlResult(control, Outcome.NOT_ASSESSED, unknown, "missing", found)
    outcome = combine(control.combine, [e.outcome for e in found])
    return ControlResult(
        control, outcome, _measured_reason(control, outcome, found), "measured", found
    )


def combine(how: Combine, outcomes: list[Outcome]) -> Outcome:
    """Checks' outcomes combined: ``all`` the worst, ``any`` the best; not-applicable ones
    ignored (all of them: not applicable). Anything not measurable: not assessed."""
    if any(o is Outcome.NOT_ASSESSED for o in outcomes):
        return Outcome.NOT_ASSESSED
    measured = [o for o in outcomes if o in RANK]
    if not measured:
        return Outcome.NOT_APPLICABLE
    pick = max if how == "any" else min
    return pick(measured, key=lambda o: RANK[o])


def figure(item: Evidence) -> str:
    """The evidence's figure in its check's unit (a share stays a fraction, never a %)."""
    value = item.value
    if value is None:
        return "-"
    spec = CHECKS.get(item.check_id)
    unit = spec.unit if spec is not None else "count"
    if unit == "share":
        return f"{value:.2f}"
    if unit == "seconds":
        return f"{value:.0f} s"
    if unit == "bool":
        return "yes" if value else "no"
    return f"{value:g}"


def _valid(declaration: Declaration, at: datetime) -> bool:
    if declaration.at > at:
        return False
    return declaration.expires_at is None or at < declaration.expires_at


def _expired_note(declaration: Declaration, at: datetime) -> Bilingual:
    """Why a declaration on file does not count at ``at`` (prefixed to the reason)."""
    if declaration.at > at:
        return Bilingual(
            f"The declaration is dated after {at.date().isoformat()} and does not count yet. ",
            f"聲明日期晚於 {at.date().isoformat()}，尚未計入。",
        )
    until = declaration.expires_at.date().isoformat() if declaration.expires_at else "-"
    return Bilingual(f"The declaration expired on {until}. ", f"聲明已於 {until} 到期。")


def _declared(
    control: Control, declaration: Declaration, found: tuple[Evidence, ...]
) -> ControlResult:
    words = OUTCOME_WORDS[declaration.outcome]
    reason = Bilingual(
        f"Declared {words.en} by {declaration.by} on {declaration.at.date().isoformat()}"
        f" (handled outside menshen, not measured): \u201c{declaration.justification}\u201d",
        f"由 {declaration.by} 於 {declaration.at.date().isoformat()} 聲明為{words.zh_tw}"
        f"（由 menshen 以外方式處理，非量測結果）：「{declaration.justification}」",
    )
    return ControlResult(control, declaration.outcome, reason, "declared", found, declaration)


def _unknown(control: Control, evidence: Mapping[str, Evidence]) -> Bilingual | None:
    """Why the control cannot be measured (missing or failed evidence), or ``None``."""
    en: list[str] = []
    zh: list[str] = []
    for check_id in control.checks:
        item = evidence.get(check_id)
        if item is None:
            en.append(f"{check_id}: no evidence collected")
            zh.append(f"{check_id}：尚未收集證據")
        elif item.outcome is Outcome.NOT_ASSESSED or item.error is not None:
            error = item.error or "not assessed"
            en.append(f"{check_id}: not assessed ({error})")
            zh.append(f"{check_id}：未評估（{error}）")
    if not en:
        return None
    return Bilingual(
        "Not assessed, not a pass: " + "; ".join(en) + ".",
        "未評估（不視為通過）：" + "；".join(zh) + "。",
    )


def _measured_reason(control: Control, outcome: Outcome, found: tuple[Evidence, ...]) -> Bilingual:
    words = OUTCOME_WORDS[outcome]
    if control.combine == "any":
        rule = Bilingual("any one check passing suffices", "任一檢查通過即可")
    else:
        rule = Bilingual("every check must pass", "所有檢查皆須通過")
    en = [
        f"{e.check_id} {OUTCOME_WORDS[e.outcome].en} ({figure(e)}): {e.summary.en}" for e in found
    ]
    zh = [
        f"{e.check_id} {OUTCOME_WORDS[e.outcome].zh_tw}（{figure(e)}）：{e.summary.zh_tw}"
        for e in found
    ]
    return Bilingual(
        f"Measured {words.en} ({rule.en}). " + "; ".join(en),
        f"量測結果：{words.zh_tw}（{rule.zh_tw}）。" + "；".join(zh),
    )
