"""Application evidence from the active access policy: coverage, least privilege, dynamic
and risk-aware rules, tests (NIST SP 800-207 §2.1 tenets 3, 4 and 6; CISA ZTMM v2.0
Applications and Workloads pillar; FSC zero-trust guidelines, application dimension; NIST SP
800-53 rev5 AC-3, AC-6; ISO/IEC 27001:2022 A.5.15, A.8.3).
"""

from __future__ import annotations

from menshen.compliance.collectors.common import (
    Collector,
    app_share,
    count_of,
    count_outcome,
    make,
    names,
    no_sensitive_apps,
    not_assessed,
    persons,
    reached_by,
    rows,
    sensitive_apps,
    share_outcome,
    texts,
)
from menshen.compliance.model import Bilingual, Evidence, Outcome
from menshen.compliance.sources import AppFacts, CollectContext, EvidenceSources

DYNAMIC = frozenset({"device", "time", "place"})
"""Per-request attributes beyond identity (NIST SP 800-207 §3.3.1): device, time, place."""

_NO_APPS = ("No app is behind the gateway yet.", "閘道後方尚無應用程式。")


def policy_coverage(sources: EvidenceSources, ctx: CollectContext) -> Evidence:
    """Share of apps that have at least one rule (an app without one refuses everyone, but
    nobody decided who should reach it)."""
    check = "app.policy_coverage"
    apps = sources.apps()
    if not apps:
        return not_assessed(ctx, check, *_NO_APPS)
    bare = [app.name for app in apps if not app.has_policy]
    good = len(apps) - len(bare)
    return make(
        ctx,
        check,
        share_outcome(good, len(apps)),
        Bilingual(
            f"{good} of {len(apps)} apps behind the gateway have an access policy",
            f"閘道後方 {len(apps)} 個應用程式中有 {good} 個已設定存取政策",
        ),
        value=good / len(apps),
        data={"without_policy": rows({"app": name} for name in bare)},
        remedy=Bilingual(
            f"write a Policy for {names(bare)} (menshen apply -f): "
            f"{count_of(len(bare), 'app')} affected",
            f"為 {names(bare)} 撰寫 Policy（menshen apply -f）：影響 {len(bare)} 個應用程式",
        ),
        affected=len(bare),
    )


def least_privilege(sources: EvidenceSources, ctx: CollectContext) -> Evidence:
    """Restricted-data apps with an allow rule for any signed-in person."""
    check = "app.least_privilege"
    apps = sensitive_apps(sources.apps())
    if not apps:
        return no_sensitive_apps(ctx, check)
    users = sources.users()
    broad = [
        (app, [rule.name for rule in app.allows() if rule.any_identity])
        for app in apps
        if any(rule.any_identity for rule in app.allows())
    ]
    everyone = reached_by([r for app, _ in broad for r in app.allows() if r.any_identity], users)
    first = broad[0] if broad else None
    return make(
        ctx,
        check,
        count_outcome(len(broad)),
        Bilingual(
            f"{len(broad)} of {len(apps)} restricted-data apps let any signed-in person in",
            f"{len(apps)} 個機敏資料應用程式中有 {len(broad)} 個允許任何已登入者存取",
        ),
        value=float(len(broad)),
        data={
            "open_to_anyone": rows({"app": app.name, "rules": texts(rules)} for app, rules in broad)
        },
        remedy=None
        if first is None
        else Bilingual(
            f"name the groups allowed on {first[0].name} (rules {', '.join(first[1])}) instead "
            f"of anyone: {persons(len(everyone))} affected",
            f"於 {first[0].name}（規則 {', '.join(first[1])}）改為指定允許的群組，不再開放任何人："
            f"影響 {len(everyone)} 位使用者",
        ),
        affected=len(everyone),
    )


def _rules_share(
    sources: EvidenceSources,
    ctx: CollectContext,
    check: str,
    good_app: dict[str, bool],
    what: tuple[str, str],
    step: tuple[str, str],
    apps: list[AppFacts],
) -> Evidence:
    users = sources.users()
    failing = [
        (app, [rule.name for rule in app.allows()], reached_by(app.allows(), users))
        for app in apps
        if not good_app[app.name]
    ]
    return app_share(ctx, check, apps, failing, what, step)


def dynamic_conditions(sources: EvidenceSources, ctx: CollectContext) -> Evidence:
    """Share of restricted-data apps whose every people allow rule tests device, time or place."""
    check = "app.dynamic_conditions"
    apps = sensitive_apps(sources.apps())
    if not apps:
        return no_sensitive_apps(ctx, check)
    good = {app.name: all(rule.attributes & DYNAMIC for rule in app.allows()) for app in apps}
    return _rules_share(
        sources,
        ctx,
        check,
        good,
        (
            "test device, time or place in every allow rule",
            "於每條允許規則使用設備、時間或地點條件",
        ),
        ("add a device, time or place condition (when:) on", "加入設備、時間或地點條件（when:）"),
        apps,
    )


def risk_aware_policy(sources: EvidenceSources, ctx: CollectContext) -> Evidence:
    """Share of restricted-data apps that refuse or step up on high risk: a deny or step-up
    rule on risk above a limit, or every allow rule limited to risk below one."""
    check = "app.risk_aware_policy"
    apps = sensitive_apps(sources.apps())
    if not apps:
        return no_sensitive_apps(ctx, check)
    good = {
        app.name: any(r.refuses_risk and r.effect != "allow" for r in app.rules)
        or (bool(app.allows()) and all(r.refuses_risk for r in app.allows()))
        for app in apps
    }
    return _rules_share(
        sources,
        ctx,
        check,
        good,
        ("refuse or step up on high risk", "於高風險時拒絕或要求加強驗證"),
        (
            "add a deny or step-up rule when risk is above 70 on",
            "加入風險高於 70 時拒絕或加強驗證的規則",
        ),
        apps,
    )


def policy_tested(sources: EvidenceSources, ctx: CollectContext) -> Evidence:
    """The PolicyTest cases stored with the policy all pass; none stored: not assessed."""
    check = "app.policy_tested"
    facts = sources.policy_tests(ctx.at)
    if facts.cases == 0:
        return not_assessed(
            ctx,
            check,
            "No PolicyTest cases are stored with the policy (tests kept in files are not "
            "visible here).",
            "政策未儲存 PolicyTest 測試案例（存於檔案中的測試此處無法得知）。",
            Bilingual(
                "write PolicyTest cases (docs/policy.md) and run menshen policy test in CI; "
                "declare the control with the CI record",
                "撰寫 PolicyTest 測試案例（docs/policy.md）並於 CI 執行 menshen policy test；"
                "以 CI 紀錄申報此控制項",
            ),
        )
    failed = facts.failed
    return make(
        ctx,
        check,
        Outcome.PASS if not failed else Outcome.FAIL,
        Bilingual(
            f"{facts.cases - len(failed)} of {facts.cases} policy test cases pass",
            f"{facts.cases} 個政策測試案例中有 {facts.cases - len(failed)} 個通過",
        ),
        value=1.0 if not failed else 0.0,
        data={"cases": facts.cases, "failed": rows({"case": name} for name in failed)},
        remedy=Bilingual(
            f"fix the policy or the cases {names(failed)} (menshen policy test shows why): "
            f"{len(failed)} cases affected",
            f"修正政策或測試案例 {names(failed)}（menshen policy test 會說明原因）："
            f"影響 {len(failed)} 個案例",
        ),
        affected=len(failed),
    )


COLLECTORS: dict[str, Collector] = {
    "app.policy_coverage": policy_coverage,
    "app.least_privilege": least_privilege,
    "app.dynamic_conditions": dynamic_conditions,
    "app.risk_aware_policy": risk_aware_policy,
    "app.policy_tested": policy_tested,
}
