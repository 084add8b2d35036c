"""Account hygiene evidence: stale accounts, lockout, password storage, administrators'
MFA, the firm's identity provider and re-authentication (PCI DSS v4.0.1 req. 8.2.6, 8.2.8,
8.3.4, 8.3.6, 8.4.1; NIST SP 800-63B §5.1.1.2, §5.2.2, §7.2; NIST SP 800-53 rev5 AC-2(3),
AC-7, IA-2(1), IA-5(1); ISO/IEC 27001:2022 A.5.16, A.5.17, A.8.5).
"""

from __future__ import annotations

from datetime import timedelta

from menshen.compliance.collectors.common import (
    Collector,
    count_of,
    count_outcome,
    duration_text,
    make,
    names,
    no_sensitive_apps,
    not_applicable,
    not_assessed,
    persons,
    rows,
    sensitive_apps,
    share_outcome,
    texts,
)
from menshen.compliance.model import Bilingual, Evidence, Outcome
from menshen.compliance.sources import CollectContext, EvidenceSources

MAX_STALE_AFTER = timedelta(days=90)
"""The longest idle limit PCI DSS 8.2.6 and the CS Act baseline accept (90 days)."""
MIN_PASSWORD_CHARS = 12
MAX_RECHECK = timedelta(minutes=15)
"""A federated session must be re-checked with the provider at least this often."""
REAUTH_IDLE = timedelta(minutes=15)
"""Re-authentication after this long idle (PCI DSS 8.2.8), or MFA at most this old."""


def _has_accounts(sources: EvidenceSources) -> bool:
    return any(not user.disabled for user in sources.users())


def _no_accounts(ctx: CollectContext, check: str) -> Evidence:
    """A setting that protects accounts protects nothing without them: not a pass."""
    return not_applicable(
        ctx, check, "No active accounts to protect yet.", "尚無需要保護的在職帳號。"
    )


def stale_accounts(sources: EvidenceSources, ctx: CollectContext) -> Evidence:
    """Enabled accounts whose last sign-in (or creation) is older than ``stale_after``; a
    limit over 90 days is at best partial, since PCI DSS 8.2.6 and the CS Act ask for 90."""
    check = "identity.stale_accounts"
    active = [user for user in sources.users() if not user.disabled]
    if not active:
        return not_assessed(ctx, check, "No active users yet.", "尚無在職使用者。")
    limit = ctx.options.stale_after
    stale = [user for user in active if ctx.at - (user.last_sign_in or user.created_at) > limit]
    days = limit.days
    too_long = limit > MAX_STALE_AFTER
    summary = Bilingual(
        f"{len(stale)} of {len(active)} enabled accounts have not signed in for over {days} days",
        f"{len(active)} 個啟用帳號中有 {len(stale)} 個超過 {days} 天未登入",
    )
    remedy = Bilingual(
        f"disable the idle accounts {names(u.username for u in stale)} "
        f"(menshen users disable): {persons(len(stale))} affected",
        f"停用閒置帳號 {names(u.username for u in stale)}（menshen users disable）："
        f"影響 {len(stale)} 位使用者",
    )
    outcome = count_outcome(len(stale))
    if outcome is Outcome.PASS and too_long:
        outcome = Outcome.PARTIAL
        limit_days = MAX_STALE_AFTER.days
        summary = Bilingual(
            f"{summary.en}; but the stale limit of {days} days is longer than the "
            f"{limit_days} days PCI DSS 8.2.6 and the CS Act ask for",
            f"{summary.zh_tw}；但閒置期限 {days} 天超過 PCI DSS 8.2.6 與資通安全管理法要求的 "
            f"{limit_days} 天",
        )
        remedy = Bilingual(
            f"set tenants.<id>.compliance.stale_after_days to {limit_days} or less (now {days})",
            f"將 tenants.<id>.compliance.stale_after_days 設為 {limit_days} 以內（目前 {days}）",
        )
    return make(
        ctx,
        check,
        outcome,
        summary,
        value=float(len(stale)),
        data={
            "stale_after_days": days,
            "max_stale_after_days": MAX_STALE_AFTER.days,
            "limit_too_long": too_long,
            "stale": rows(
                {
                    "user": user.username,
                    "last_sign_in": None
                    if user.last_sign_in is None
                    else user.last_sign_in.isoformat(),
                    "groups": texts(user.groups),
                }
                for user in stale
            ),
        },
        remedy=remedy,
        affected=len(stale),
    )


def password_policy(sources: EvidenceSources, ctx: CollectContext) -> Evidence:
    """At least 12 characters, Argon2id hashes, and no stored hash of another kind."""
    check = "identity.password_policy"
    if not _has_accounts(sources):
        return _no_accounts(ctx, check)
    facts = sources.passwords()
    other = [user.username for user in sources.users() if user.hashing == "other"]
    ok = facts.min_chars >= MIN_PASSWORD_CHARS and facts.algorithm == "argon2id" and not other
    return make(
        ctx,
        check,
        Outcome.PASS if ok else Outcome.FAIL,
        Bilingual(
            f"Passwords: at least {facts.min_chars} characters, {facts.algorithm} hashes; "
            f"{len(other)} accounts with another kind of stored password",
            f"密碼至少 {facts.min_chars} 字元、以 {facts.algorithm} 雜湊；"
            f"{len(other)} 個帳號以其他方式保存密碼",
        ),
        value=1.0 if ok else 0.0,
        data={
            "min_chars": facts.min_chars,
            "algorithm": facts.algorithm,
            "memory_kib": facts.memory_kib,
            "time_cost": facts.time_cost,
            "other_hashes": rows({"user": name} for name in other),
        },
        remedy=Bilingual(
            f"reset the passwords of {names(other) or 'no one'} so they are stored as "
            f"Argon2id, and keep the minimum at {MIN_PASSWORD_CHARS}: "
            f"{persons(len(other))} affected",
            f"重設 {names(other) or '無'} 的密碼以 Argon2id 保存，並維持至少 "
            f"{MIN_PASSWORD_CHARS} 字元：影響 {len(other)} 位使用者",
        ),
        affected=len(other),
    )


def admin_actions_with_mfa(sources: EvidenceSources, ctx: CollectContext) -> Evidence:
    """Administrative changes in the period made from a session without MFA.

    Changes from the server's command line are listed apart: they need host access, which
    is outside menshen's sign-in (PCI DSS 8.4.1 treats console access separately).
    """
    check = "identity.admin_actions_with_mfa"
    actions = sources.admin_actions(ctx.period_start, ctx.at)
    if not actions:
        return not_applicable(
            ctx,
            check,
            "No administrative actions in the period.",
            "期間內沒有管理操作。",
        )
    without = [a for a in actions if a.via != "cli" and a.mfa is not True]
    cli = sum(1 for a in actions if a.via == "cli")
    actors = sorted({a.actor for a in without})
    return make(
        ctx,
        check,
        count_outcome(len(without)),
        Bilingual(
            f"{len(without)} of {len(actions)} administrative actions in the period were "
            f"taken without MFA ({cli} from the server's command line)",
            f"期間內 {len(actions)} 次管理操作中有 {len(without)} 次未經多因子驗證"
            f"（{cli} 次來自伺服器命令列）",
        ),
        value=float(len(without)),
        data={
            "actions": len(actions),
            "from_cli": cli,
            "without_mfa": rows(
                {"at": a.at.isoformat(), "actor": a.actor, "kind": a.kind, "detail": a.detail}
                for a in without
            ),
        },
        remedy=Bilingual(
            f"require fresh MFA on the console for {names(actors)} (mfa: required on the "
            f"console app's rule): {persons(len(actors))} affected",
            f"於管理主控台要求 {names(actors)} 近期多因子驗證（console 規則設定 mfa: required）："
            f"影響 {len(actors)} 位使用者",
        ),
        affected=len(actors),
    )


def central_idp(sources: EvidenceSources, ctx: CollectContext) -> Evidence:
    """Sign-in federated from the firm's provider, re-checked at least every 15 minutes."""
    check = "identity.central_idp"
    providers = sources.providers()
    slow = [p for p in providers if p.recheck_interval > MAX_RECHECK]
    outcome = Outcome.PARTIAL if slow else Outcome.PASS
    if not providers:
        outcome = Outcome.FAIL
    return make(
        ctx,
        check,
        outcome,
        Bilingual(
            f"{len(providers)} identity providers; {len(slow)} re-check sessions less often "
            f"than every {duration_text(MAX_RECHECK)}",
            f"{len(providers)} 個身分提供者；其中 {len(slow)} 個重新確認間隔長於 "
            f"{duration_text(MAX_RECHECK)}",
        ),
        value=1.0 if outcome is Outcome.PASS else 0.0,
        data={
            "providers": rows(
                {"name": p.name, "recheck": duration_text(p.recheck_interval)} for p in providers
            )
        },
        remedy=Bilingual(
            "federate sign-in from the firm's identity provider (identity_providers in "
            f"menshen.yaml) with recheck_minutes at most {MAX_RECHECK.seconds // 60}",
            "於 menshen.yaml 的 identity_providers 設定公司身分提供者聯合登入，"
            f"recheck_minutes 不超過 {MAX_RECHECK.seconds // 60}",
        ),
    )


def session_reauthentication(sources: EvidenceSources, ctx: CollectContext) -> Evidence:
    """Restricted-data apps reached only after re-authentication within 15 minutes idle, or
    only with MFA at most 15 minutes old."""
    check = "identity.session_reauthentication"
    apps = sensitive_apps(sources.apps())
    if not apps:
        return no_sensitive_apps(ctx, check)
    idle = sources.sessions().idle_timeout
    short = idle <= REAUTH_IDLE
    failing = [
        app
        for app in apps
        if not short
        and any(rule.mfa_max_age is None or rule.mfa_max_age > REAUTH_IDLE for rule in app.allows())
    ]
    good = len(apps) - len(failing)
    return make(
        ctx,
        check,
        share_outcome(good, len(apps)),
        Bilingual(
            f"{good} of {len(apps)} restricted-data apps re-authenticate within "
            f"{duration_text(REAUTH_IDLE)} (session idle limit {duration_text(idle)})",
            f"{len(apps)} 個機敏資料應用程式中有 {good} 個於 {duration_text(REAUTH_IDLE)} 內"
            f"重新驗證（連線閒置上限 {duration_text(idle)}）",
        ),
        value=good / len(apps),
        data={
            "idle_timeout": duration_text(idle),
            "failing": rows({"app": app.name} for app in failing),
        },
        remedy=Bilingual(
            f"set mfa maxAge {duration_text(REAUTH_IDLE)} on {names(a.name for a in failing)}, "
            f"or sessions.idle_timeout_minutes {REAUTH_IDLE.seconds // 60}: "
            f"{count_of(len(failing), 'app')} affected",
            f"於 {names(a.name for a in failing)} 設定 mfa maxAge {duration_text(REAUTH_IDLE)}，"
            f"或將 sessions.idle_timeout_minutes 設為 {REAUTH_IDLE.seconds // 60}："
            f"影響 {len(failing)} 個應用程式",
        ),
        affected=len(failing),
    )


COLLECTORS: dict[str, Collector] = {
    "identity.stale_accounts": stale_accounts,
    "identity.password_policy": password_policy,
    "identity.admin_actions_with_mfa": admin_actions_with_mfa,
    "identity.central_idp": central_idp,
    "identity.session_reauthentication": session_reauthentication,
}
