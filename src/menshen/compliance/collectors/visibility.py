"""Visibility and automation evidence: the audit log, monitoring, playbooks, and how fast
incidents were detected and answered (NIST SP 800-207 §2.1 tenet 7; NIST SP 800-92; NIST SP
800-61r2 §3.4.2; CISA ZTMM v2.0 cross-cutting Visibility and Analytics, Automation and
Orchestration; NIST SP 800-53 rev5 AU-2, AU-9, AU-10, IR-4, SI-4).

Medians use the nearest-rank method of ``menshen.monitor.incidents.summary``, so every
figure is one an incident actually had.
"""

from __future__ import annotations

from datetime import timedelta

from menshen.compliance.collectors.common import (
    Collector,
    duration_text,
    make,
    names,
    not_applicable,
    not_assessed,
    rows,
)
from menshen.compliance.model import Bilingual, Evidence, Outcome
from menshen.compliance.sources import CollectContext, EvidenceSources, IncidentFacts
from menshen.monitor.incidents.summary import nearest_rank


def audit_chain_verified(sources: EvidenceSources, ctx: CollectContext) -> Evidence:
    """The tenant's audit log verifies as one unbroken hash chain."""
    check = "visibility.audit_chain_verified"
    chain = sources.audit_chain()
    if chain.rows == 0:
        return not_assessed(ctx, check, "The audit log is empty.", "稽核日誌為空。")
    where = "" if chain.first_bad_seq is None else f" at row {chain.first_bad_seq}"
    return make(
        ctx,
        check,
        Outcome.PASS if chain.ok else Outcome.FAIL,
        Bilingual(
            f"The audit log's {chain.rows} rows verify as one hash chain"
            if chain.ok
            else f"The audit log's hash chain breaks{where}: {chain.reason}",
            f"稽核日誌 {chain.rows} 筆紀錄雜湊鏈驗證通過"
            if chain.ok
            else f"稽核日誌雜湊鏈於第 {chain.first_bad_seq} 筆中斷：{chain.reason}",
        ),
        value=1.0 if chain.ok else 0.0,
        data={"rows": chain.rows, "first_bad_seq": chain.first_bad_seq, "reason": chain.reason},
        remedy=Bilingual(
            f"investigate the change{where} (menshen audit verify) and compare with the "
            "last exported copy",
            f"調查第 {chain.first_bad_seq} 筆的變更（menshen audit verify），"
            "並與最近匯出的副本比對",
        ),
        affected=1,
    )


def access_logged(sources: EvidenceSources, ctx: CollectContext) -> Evidence:
    """Every session used in the period has its access decisions in the audit log."""
    check = "visibility.access_logged"
    facts = sources.access_log(ctx.period_start, ctx.at)
    if not facts.sessions_used:
        return not_applicable(
            ctx, check, "No session was used in the period.", "期間內沒有連線被使用。"
        )
    missing = sorted(facts.sessions_used - facts.sessions_logged)
    used = len(facts.sessions_used)
    return make(
        ctx,
        check,
        Outcome.PASS if not missing else Outcome.FAIL,
        Bilingual(
            f"{used - len(missing)} of {used} sessions used in the period have their access "
            f"decisions in the audit log ({facts.decisions} decisions)",
            f"期間內使用的 {used} 個連線中有 {used - len(missing)} 個的存取決策已記錄於稽核日誌"
            f"（共 {facts.decisions} 筆決策）",
        ),
        value=0.0 if missing else 1.0,
        data={
            "decisions": facts.decisions,
            "sessions_without_events": rows({"session": s} for s in missing),
        },
        remedy=Bilingual(
            "check the audit writer's dropped-event count and the gateway logs for the "
            f"period: {len(missing)} sessions affected",
            f"檢查稽核寫入器的遺失事件數與期間內的閘道日誌：影響 {len(missing)} 個連線",
        ),
        affected=len(missing),
    )


def monitoring_active(sources: EvidenceSources, ctx: CollectContext) -> Evidence:
    """Pass: the monitor engine runs and has learned baselines; partial: runs, none learned."""
    check = "visibility.monitoring_active"
    facts = sources.monitor()
    if not facts.engine:
        outcome = Outcome.FAIL
    else:
        outcome = Outcome.PASS if facts.baselines else Outcome.PARTIAL
    return make(
        ctx,
        check,
        outcome,
        Bilingual(
            f"Monitoring engine {'on' if facts.engine else 'off'}; {facts.baselines} "
            "behavioural baselines learned",
            f"監控引擎{'已啟用' if facts.engine else '未啟用'}；"
            f"已學習 {facts.baselines} 個行為基準",
        ),
        value={Outcome.PASS: 1.0, Outcome.PARTIAL: 0.5}.get(outcome, 0.0),
        data={"engine": facts.engine, "baselines": facts.baselines},
        remedy=Bilingual(
            "set monitor_engine: true and let it learn (menshen monitor baselines rebuild)",
            "設定 monitor_engine: true 並讓其學習（menshen monitor baselines rebuild）",
        ),
    )


def response_playbooks(sources: EvidenceSources, ctx: CollectContext) -> Evidence:
    """Pass: a playbook acts (not observe-only) and one notifies a person; partial: some
    playbook exists but only observes or tells no one; fail: none."""
    check = "automation.response_playbooks"
    facts = sources.monitor()
    acting = [p.name for p in facts.playbooks if p.actions]
    notifying = [p.name for p in facts.playbooks if p.notify]
    if not facts.playbooks:
        outcome = Outcome.FAIL
    elif acting and notifying and not facts.observe_only:
        outcome = Outcome.PASS
    else:
        outcome = Outcome.PARTIAL
    return make(
        ctx,
        check,
        outcome,
        Bilingual(
            f"{len(facts.playbooks)} response playbooks, {len(acting)} act, {len(notifying)} "
            f"notify; observe-only {'on' if facts.observe_only else 'off'}",
            f"{len(facts.playbooks)} 個回應劇本，{len(acting)} 個會執行動作、"
            f"{len(notifying)} 個會通知；"
            f"僅觀察模式{'開啟' if facts.observe_only else '關閉'}",
        ),
        value={Outcome.PASS: 1.0, Outcome.PARTIAL: 0.5}.get(outcome, 0.0),
        data={
            "playbooks": rows(
                {"name": p.name, "actions": list(p.actions), "notify": list(p.notify)}
                for p in facts.playbooks
            ),
            "observe_only": facts.observe_only,
            "notifiers": list(facts.notifiers),
        },
        remedy=Bilingual(
            "add a monitor playbook that revokes sessions on high risk and notifies the "
            "on-call notifier, and turn observe_only off",
            "新增於高風險時撤銷連線並通知值班人員的監控劇本，並關閉 observe_only",
        ),
    )


def _timed(
    ctx: CollectContext,
    check: str,
    incidents: list[IncidentFacts],
    times: list[timedelta | None],
    target: timedelta,
    what: tuple[str, str],
) -> Evidence:
    median = _median(times)
    slow = [i.id for i, t in zip(incidents, times, strict=True) if t is None or t > target]
    ok = median is not None and median <= target
    said = "not reached" if median is None else duration_text(median)
    said_zh = "未達成" if median is None else duration_text(median)
    return make(
        ctx,
        check,
        Outcome.PASS if ok else Outcome.FAIL,
        Bilingual(
            f"Median time to {what[0]} of {len(times)} incidents in the period: {said} "
            f"(target {duration_text(target)})",
            f"期間內 {len(times)} 件事件的{what[1]}時間中位數：{said_zh}"
            f"（目標 {duration_text(target)}）",
        ),
        value=None if median is None else median.total_seconds(),
        data={
            "target_seconds": int(target.total_seconds()),
            "incidents": rows(
                {"id": i.id, "seconds": None if t is None else int(t.total_seconds())}
                for i, t in zip(incidents, times, strict=True)
            ),
        },
        remedy=Bilingual(
            f"add playbooks for the detectors behind {names(slow)} so they act at once: "
            f"{len(slow)} incidents over the target",
            f"為 {names(slow)} 背後的偵測器加入自動劇本以即時處置：{len(slow)} 件事件超過目標",
        ),
        affected=len(slow),
    )


def _median(times: list[timedelta | None]) -> timedelta | None:
    """Nearest-rank median with "never" (None) ranked last: None when half never happened."""
    known = [t for t in times if t is not None]
    middle = nearest_rank([*known, *([timedelta.max] * (len(times) - len(known)))], 50)
    return None if middle is None or middle == timedelta.max else middle


def _incidents(
    sources: EvidenceSources, ctx: CollectContext, check: str
) -> list[IncidentFacts] | Evidence:
    if not sources.monitor().engine:
        return not_assessed(ctx, check, "The monitoring engine is off.", "監控引擎未啟用。")
    found = list(sources.incidents(ctx.period_start, ctx.at))
    if not found:
        return not_applicable(ctx, check, "No incidents in the period.", "期間內沒有事件。")
    return found


def time_to_detect(sources: EvidenceSources, ctx: CollectContext) -> Evidence:
    """Median first event → detection of the period's incidents, against the firm's target."""
    check = "automation.time_to_detect"
    found = _incidents(sources, ctx, check)
    if isinstance(found, Evidence):
        return found
    times: list[timedelta | None] = [i.detected_at - i.first_event_at for i in found]
    return _timed(ctx, check, found, times, ctx.options.detect_target, ("detect", "偵測"))


def time_to_respond(sources: EvidenceSources, ctx: CollectContext) -> Evidence:
    """Median detection → first response; an incident never responded to counts as slow."""
    check = "automation.time_to_respond"
    found = _incidents(sources, ctx, check)
    if isinstance(found, Evidence):
        return found
    times: list[timedelta | None] = [
        None if i.responded_at is None else i.responded_at - i.detected_at for i in found
    ]
    return _timed(ctx, check, found, times, ctx.options.respond_target, ("respond", "回應"))


COLLECTORS: dict[str, Collector] = {
    "visibility.audit_chain_verified": audit_chain_verified,
    "visibility.access_logged": access_logged,
    "visibility.monitoring_active": monitoring_active,
    "automation.response_playbooks": response_playbooks,
    "automation.time_to_detect": time_to_detect,
    "automation.time_to_respond": time_to_respond,
}
