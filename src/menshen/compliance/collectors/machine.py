"""Machine identities and third parties: credential expiry and rotation, vendors' remote
access, users from other institutions (PCI DSS v4.0.1 req. 8.3.9, 8.6; FSC zero-trust
guidelines, vendor remote maintenance and external institution users scenarios; the FSC
outsourcing rules; NIST SP 800-53 rev5 IA-5, AC-17, AC-20; ISO/IEC 27001:2022 A.5.19-A.5.22).
"""

from __future__ import annotations

from menshen.compliance.collectors.common import (
    Collector,
    app_share,
    asks_mfa,
    count_outcome,
    make,
    managed,
    names,
    not_applicable,
    not_assessed,
    persons,
    reached_by,
    rows,
    share_outcome,
    texts,
)
from menshen.compliance.model import Bilingual, Evidence
from menshen.compliance.sources import CollectContext, EvidenceSources, RuleFacts


def credentials_expiring(sources: EvidenceSources, ctx: CollectContext) -> Evidence:
    """Live credentials of active machine clients with no expiry, past their expiry, or
    older than the rotation limit."""
    check = "machine.credentials_expiring"
    clients = sources.machine_clients()
    if clients is None:
        return not_assessed(ctx, check, "No machine-client registry.", "沒有機器用戶端登錄。")
    active = [client for client in clients if not client.suspended]
    if not active:
        return not_applicable(
            ctx, check, "No active machine clients are registered.", "沒有啟用中的機器用戶端。"
        )
    limit = ctx.options.rotation_limit
    live = [(c, cred) for c in active for cred in c.credentials if not cred.revoked]
    bad: list[tuple[str, str, str]] = []
    for client, cred in live:
        if cred.expires_at is None:
            bad.append((client.name, cred.id, "no expiry"))
        elif cred.expires_at <= ctx.at:
            bad.append((client.name, cred.id, "expired"))
        elif ctx.at - cred.created_at > limit:
            bad.append((client.name, cred.id, "not rotated"))
    owners = sorted({c for c, _, _ in bad})
    return make(
        ctx,
        check,
        count_outcome(len(bad)),
        Bilingual(
            f"{len(bad)} of {len(live)} live credentials of {len(active)} machine clients have "
            f"no expiry, are expired or older than {limit.days} days",
            f"{len(active)} 個機器用戶端的 {len(live)} 組有效憑證中有 {len(bad)} 組未設到期、"
            f"已過期或超過 {limit.days} 天",
        ),
        value=float(len(bad)),
        data={"credentials": rows({"client": c, "credential": i, "why": w} for c, i, w in bad)},
        remedy=Bilingual(
            f"rotate the credentials of {names(owners)} with an expiry (menshen clients "
            f"rotate) and revoke the old ones: {len(bad)} credentials affected",
            f"輪替 {names(owners)} 的憑證並設定到期日（menshen clients rotate），撤銷舊憑證："
            f"影響 {len(bad)} 組憑證",
        ),
        affected=len(bad),
    )


def _names_group(rule: RuleFacts, groups: frozenset[str]) -> bool:
    return rule.any_identity or not rule.groups.isdisjoint(groups)


def remote_access_controlled(sources: EvidenceSources, ctx: CollectContext) -> Evidence:
    """Share of apps contractors can reach whose every rule that lets them in demands MFA
    and a managed device (every decision is logged by the gateway)."""
    check = "vendor.remote_access_controlled"
    groups = frozenset(ctx.options.contractor_groups)
    group_mfa = {group.name: group.mfa_required for group in sources.groups()}
    users = sources.users()
    members = [u for u in users if u.groups & groups]
    apps = []
    failing = []
    for app in sources.apps():
        theirs = [rule for rule in app.allows() if _names_group(rule, groups)]
        if not theirs or (all(rule.any_identity for rule in theirs) and not members):
            continue
        apps.append(app)
        loose = [
            rule
            for rule in theirs
            if not asks_mfa(rule, group_mfa) or not managed(rule.device_trust)
        ]
        if loose:
            failing.append((app, [rule.name for rule in loose], reached_by(loose, members)))
    if not apps:
        return not_applicable(
            ctx,
            check,
            f"No app is open to contractors or vendors (groups: {names(groups)}).",
            f"沒有開放給外包或廠商（群組：{names(groups)}）的應用程式。",
        )
    return app_share(
        ctx,
        check,
        apps,
        failing,
        ("demand MFA and a managed device of them", "要求其多因子與受管理設備"),
        (
            "require MFA and device trust managed for contractors on",
            "對外包者要求多因子與受管理設備",
        ),
        ("apps open to contractors", "開放外包者的應用程式"),
    )


def external_users_scoped(sources: EvidenceSources, ctx: CollectContext) -> Evidence:
    """Share of users from other institutions whom no any-identity allow rule lets in (they
    reach only apps that name them or their groups)."""
    check = "vendor.external_users_scoped"
    groups = frozenset(ctx.options.external_groups)
    external = [u for u in sources.users() if not u.disabled and u.groups & groups]
    if not external:
        return not_applicable(
            ctx,
            check,
            "No users from other institutions (compliance.external_groups).",
            "沒有來自其他機構的使用者（compliance.external_groups）。",
        )
    open_apps = [
        app.name for app in sources.apps() if any(rule.any_identity for rule in app.allows())
    ]
    unscoped = [u.username for u in external] if open_apps else []
    good = len(external) - len(unscoped)
    return make(
        ctx,
        check,
        share_outcome(good, len(external)),
        Bilingual(
            f"{good} of {len(external)} users from other institutions are limited to named "
            f"apps; {len(open_apps)} apps let any signed-in person in",
            f"{len(external)} 位他機構使用者中有 {good} 位僅能存取指定應用程式；"
            f"{len(open_apps)} 個應用程式允許任何已登入者",
        ),
        value=good / len(external),
        data={
            "open_apps": texts(open_apps),
            "external_users": rows({"user": name} for name in sorted(u.username for u in external)),
        },
        remedy=Bilingual(
            f"replace the any-person rules of {names(open_apps)} with named groups: "
            f"{persons(len(unscoped))} affected",
            f"將 {names(open_apps)} 的任何人規則改為指定群組：影響 {len(unscoped)} 位使用者",
        ),
        affected=len(unscoped),
    )


COLLECTORS: dict[str, Collector] = {
    "machine.credentials_expiring": credentials_expiring,
    "vendor.remote_access_controlled": remote_access_controlled,
    "vendor.external_users_scoped": external_users_scoped,
}
