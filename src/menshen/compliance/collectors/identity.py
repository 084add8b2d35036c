"""Identity evidence: who has a second factor, and which apps demand one (NIST SP 800-63B
§4.2 AAL2 and §5.2.5 phishing resistance; PCI DSS v4.0.1 req. 8.4; CISA ZTMM v2.0 Identity
pillar, authentication function; FSC zero-trust guidelines, identity dimension).

An app "demands MFA" when every allow rule people can match asks for it, by itself or by
naming only groups whose members must use MFA at sign-in (``menshen.segmentation.mfa``).
"""

from __future__ import annotations

from menshen.compliance.collectors.common import (
    Collector,
    app_share,
    asks_mfa,
    make,
    names,
    no_sensitive_apps,
    not_applicable,
    not_assessed,
    persons,
    reached_by,
    rows,
    sensitive_apps,
    share_outcome,
    texts,
)
from menshen.compliance.model import Bilingual, Evidence, JsonValue
from menshen.compliance.sources import AppFacts, CollectContext, EvidenceSources, UserFacts

PHISHING_RESISTANT = frozenset({"webauthn"})


def _active(sources: EvidenceSources) -> list[UserFacts]:
    return [user for user in sources.users() if not user.disabled]


def _user_row(user: UserFacts) -> dict[str, JsonValue]:
    return {"user": user.username, "groups": texts(user.groups), "mfa": texts(user.mfa)}


def mfa_enrolled(sources: EvidenceSources, ctx: CollectContext) -> Evidence:
    """Share of active users with any second factor (TOTP, a passkey, or SSO with MFA)."""
    check = "identity.mfa_enrolled"
    active = _active(sources)
    if not active:
        return not_assessed(ctx, check, "No active users yet.", "尚無在職使用者。")
    without = [user for user in active if not user.mfa]
    good = len(active) - len(without)
    groups = sorted({group for user in without for group in user.groups})
    return make(
        ctx,
        check,
        share_outcome(good, len(active)),
        Bilingual(
            f"{good} of {len(active)} active users have MFA",
            f"{len(active)} 位在職使用者中有 {good} 位已啟用多因子驗證",
        ),
        value=good / len(active),
        data={"without_mfa": rows(_user_row(user) for user in without)},
        remedy=Bilingual(
            f"enrol a second factor for {names(u.username for u in without)} and set "
            f"mfaRequired on their groups ({names(groups) or 'none'}): "
            f"{persons(len(without))} affected",
            f"為 {names(u.username for u in without)} 註冊第二因子，並於其群組"
            f"（{names(groups) or '無'}）設定 mfaRequired：影響 {len(without)} 位使用者",
        ),
        affected=len(without),
    )


def phishing_resistant_mfa(sources: EvidenceSources, ctx: CollectContext) -> Evidence:
    """Share of active users with a WebAuthn passkey."""
    check = "identity.phishing_resistant_mfa"
    active = _active(sources)
    if not active:
        return not_assessed(ctx, check, "No active users yet.", "尚無在職使用者。")
    without = [user for user in active if "passkey" not in user.mfa]
    good = len(active) - len(without)
    return make(
        ctx,
        check,
        share_outcome(good, len(active)),
        Bilingual(
            f"{good} of {len(active)} active users have a passkey (phishing-resistant MFA)",
            f"{len(active)} 位在職使用者中有 {good} 位具通行金鑰（抗網路釣魚多因子）",
        ),
        value=good / len(active),
        data={"without_passkey": rows(_user_row(user) for user in without)},
        remedy=Bilingual(
            f"register a passkey (WebAuthn) for {names(u.username for u in without)}: "
            f"{persons(len(without))} affected",
            f"為 {names(u.username for u in without)} 註冊通行金鑰（WebAuthn）："
            f"影響 {len(without)} 位使用者",
        ),
        affected=len(without),
    )


def mfa_required_restricted_apps(sources: EvidenceSources, ctx: CollectContext) -> Evidence:
    """Share of restricted/confidential-data apps whose every people allow rule asks MFA."""
    check = "identity.mfa_required_restricted_apps"
    apps = sensitive_apps(sources.apps())
    if not apps:
        return no_sensitive_apps(ctx, check)
    group_mfa = {group.name: group.mfa_required for group in sources.groups()}
    users = sources.users()
    failing: list[tuple[AppFacts, list[str], list[str]]] = []
    for app in apps:
        loose = [rule for rule in app.allows() if not asks_mfa(rule, group_mfa)]
        if loose:
            failing.append((app, [rule.name for rule in loose], reached_by(loose, users)))
    return app_share(
        ctx,
        check,
        apps,
        failing,
        ("demand MFA", "要求多因子驗證"),
        ("require MFA on", "要求多因子驗證"),
    )


def phishing_resistant_admin(sources: EvidenceSources, ctx: CollectContext) -> Evidence:
    """Share of administrators' apps whose every people allow rule demands a passkey."""
    check = "identity.phishing_resistant_admin"
    admin_groups = frozenset(ctx.options.admin_groups)
    apps = [app for app in sources.apps() if _for_admins(app, admin_groups)]
    if not apps:
        return not_applicable(
            ctx,
            check,
            f"No app is reserved to administrators (groups: {names(admin_groups)}).",
            f"沒有僅限管理者（群組：{names(admin_groups)}）使用的應用程式。",
        )
    users = sources.users()
    failing = []
    for app in apps:
        weak = [
            rule
            for rule in app.allows()
            if not rule.mfa_methods or not rule.mfa_methods <= PHISHING_RESISTANT
        ]
        if weak:
            failing.append((app, [rule.name for rule in weak], reached_by(weak, users)))
    return app_share(
        ctx,
        check,
        apps,
        failing,
        ("demand a passkey", "要求通行金鑰"),
        ("require WebAuthn on", "要求 WebAuthn"),
        ("apps for administrators", "管理類應用程式"),
    )


def _for_admins(app: AppFacts, admin_groups: frozenset[str]) -> bool:
    allows = app.allows()
    return bool(allows) and all(
        rule.groups and not rule.users and rule.groups <= admin_groups for rule in allows
    )


COLLECTORS: dict[str, Collector] = {
    "identity.mfa_enrolled": mfa_enrolled,
    "identity.phishing_resistant_mfa": phishing_resistant_mfa,
    "identity.mfa_required_restricted_apps": mfa_required_restricted_apps,
    "identity.phishing_resistant_admin": phishing_resistant_admin,
}
