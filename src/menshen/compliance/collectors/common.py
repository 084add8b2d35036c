"""What every collector shares: thresholds, bounded data, bilingual wording, and who a rule
lets in.

Thresholds (docs/compliance.md, "Evidence"): a **share** passes at 1.0 (every item), is
partial from ``PARTIAL_SHARE`` (half) and fails below; a **count** of bad items passes at 0
and fails above. A collector with nothing to measure says so: ``not_applicable`` when the
thing does not exist at the firm (no restricted-data app, no machine client), with the
reason — never ``pass``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import timedelta

from menshen.compliance.model import Bilingual, Evidence, JsonValue, Outcome
from menshen.compliance.sources import (
    AppFacts,
    CollectContext,
    EvidenceSources,
    RuleFacts,
    UserFacts,
)
from menshen.policy.conditions import TRUST_LEVELS

__all__ = [
    "MAX_ROWS",
    "PARTIAL_SHARE",
    "Collector",
    "app_share",
    "asks_mfa",
    "count_of",
    "count_outcome",
    "duration_text",
    "make",
    "managed",
    "no_sensitive_apps",
    "not_applicable",
    "not_assessed",
    "persons",
    "reached_by",
    "rows",
    "share_outcome",
    "texts",
]

MAX_ROWS = 50
"""At most this many rows of data behind a figure (the ``count`` gives the full number)."""
PARTIAL_SHARE = 0.5

Collector = Callable[[EvidenceSources, CollectContext], Evidence]


def share_outcome(good: int, total: int) -> Outcome:
    """Pass at every item, partial from half, fail below (``total`` must be positive)."""
    if good >= total:
        return Outcome.PASS
    return Outcome.PARTIAL if good / total >= PARTIAL_SHARE else Outcome.FAIL


def count_outcome(bad: int) -> Outcome:
    return Outcome.PASS if bad == 0 else Outcome.FAIL


def rows(items: Iterable[Mapping[str, JsonValue]], limit: int = MAX_ROWS) -> dict[str, JsonValue]:
    """At most ``limit`` rows and the full count."""
    listed: list[JsonValue] = []
    count = 0
    for item in items:
        count += 1
        if len(listed) < limit:
            listed.append(dict(item))
    return {"rows": listed, "count": count, "truncated": count > limit}


def make(
    ctx: CollectContext,
    check_id: str,
    outcome: Outcome,
    summary: Bilingual,
    *,
    value: float | None = None,
    data: Mapping[str, JsonValue] | None = None,
    remedy: Bilingual | None = None,
    affected: int = 0,
) -> Evidence:
    """Evidence at ``ctx.at``; a remedy is kept only when the outcome is not a pass."""
    keep = outcome not in (Outcome.PASS, Outcome.NOT_APPLICABLE)
    return Evidence(
        check_id=check_id,
        collected_at=ctx.at,
        outcome=outcome,
        summary=summary,
        value=value,
        data=dict(data or {}),
        remedy=remedy if keep else None,
        affected=affected if keep else 0,
    )


def not_applicable(ctx: CollectContext, check_id: str, en: str, zh: str) -> Evidence:
    return make(ctx, check_id, Outcome.NOT_APPLICABLE, Bilingual(en, zh))


def not_assessed(
    ctx: CollectContext, check_id: str, en: str, zh: str, remedy: Bilingual | None = None
) -> Evidence:
    return make(ctx, check_id, Outcome.NOT_ASSESSED, Bilingual(en, zh), remedy=remedy)


def asks_mfa(rule: RuleFacts, group_mfa: Mapping[str, bool]) -> bool:
    """A rule demands MFA itself, or names only groups whose members must use MFA at sign-in
    (as ``menshen.segmentation.mfa``); any-identity and named-user rules need their own."""
    if rule.mfa:
        return True
    if rule.any_identity or rule.users:
        return False
    return all(group_mfa.get(group, False) for group in rule.groups)


def reached_by(rules: Sequence[RuleFacts], users: Sequence[UserFacts]) -> list[str]:
    """The active users some of ``rules`` names (directly, by group, or as anyone)."""
    found: list[str] = []
    for user in users:
        if user.disabled:
            continue
        for rule in rules:
            if rule.any_identity or user.username in rule.users or user.groups & rule.groups:
                found.append(user.username)
                break
    return found


MANAGED = TRUST_LEVELS.index("managed")


def managed(trust: str | None) -> bool:
    """Device trust ``managed`` or ``compliant`` (what "a managed device" means here)."""
    return trust in TRUST_LEVELS and TRUST_LEVELS.index(trust) >= MANAGED


def sensitive_apps(apps: Sequence[AppFacts]) -> list[AppFacts]:
    return [app for app in apps if app.sensitive]


def duration_text(value: timedelta) -> str:
    """``90s``, ``15m``, ``12h``, ``30d`` — the largest whole unit."""
    seconds = int(value.total_seconds())
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size and seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def count_of(n: int, noun: str) -> str:
    """``1 app``, ``3 apps`` (English only; Chinese needs no plural)."""
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def persons(n: int) -> str:
    return count_of(n, "user")


def texts(items: Iterable[str]) -> list[JsonValue]:
    """Sorted strings as a JSON list."""
    found: list[JsonValue] = [*sorted(items)]
    return found


def names(items: Iterable[str], limit: int = 5) -> str:
    """A short list for a sentence: ``a, b, c`` or ``a, b, c (+4)``."""
    listed = sorted(items)
    shown = ", ".join(listed[:limit])
    return shown if len(listed) <= limit else f"{shown} (+{len(listed) - limit})"


def no_sensitive_apps(ctx: CollectContext, check: str) -> Evidence:
    return not_applicable(
        ctx,
        check,
        "No app holds confidential or restricted data (by its label or the inventory).",
        "沒有存放機密或機敏資料的應用程式（依其標示或資產清冊）。",
    )


def app_share(
    ctx: CollectContext,
    check: str,
    apps: list[AppFacts],
    failing: list[tuple[AppFacts, list[str], list[str]]],
    what: tuple[str, str],
    step: tuple[str, str],
    noun: tuple[str, str] = ("restricted-data apps", "機敏資料應用程式"),
) -> Evidence:
    """Evidence for "share of apps whose rules do X": the failing apps, their rules, who.
    The remedy names up to three failing apps with their rules."""
    good = len(apps) - len(failing)
    affected = sorted({user for _, _, users in failing for user in users})
    data: dict[str, JsonValue] = {
        "apps": texts(app.name for app in apps),
        "failing": rows(
            {
                "app": app.name,
                "sensitivity": app.sensitivity,
                "rules": texts(rules),
                "users": texts(users),
            }
            for app, rules, users in failing
        ),
    }
    remedy = None
    if failing:
        shown = failing[:3]
        en = ", ".join(f"{app.name} (rules {', '.join(rules)})" for app, rules, _ in shown)
        zh = "、".join(f"{app.name}（規則 {', '.join(rules)}）" for app, rules, _ in shown)
        left = len(failing) - len(shown)
        more_en = f" and {count_of(left, 'more app')}" if left else ""
        more_zh = f"及另外 {left} 個應用程式" if left else ""
        remedy = Bilingual(
            f"{step[0]} {en}{more_en}: {persons(len(affected))} affected",
            f"於 {zh}{more_zh}{step[1]}：影響 {len(affected)} 位使用者",
        )
    return make(
        ctx,
        check,
        share_outcome(good, len(apps)),
        Bilingual(
            f"{good} of {len(apps)} {noun[0]} {what[0]}",
            f"{len(apps)} 個{noun[1]}中有 {good} 個{what[1]}",
        ),
        value=good / len(apps),
        data=data,
        remedy=remedy,
        affected=len(affected),
    )
