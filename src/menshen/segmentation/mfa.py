"""Is there MFA in front of an asset? Read from the gateway apps' compiled access policy.

NIST SP 800-63B §4.2 / AAL2 and PCI DSS v4.0 req. 8.4.2 (MFA for all access into the
cardholder data environment): an asset fronted by a gateway app is protected by MFA only
if **every** allow rule of that app asks for it. An allow rule asks for it when it carries
its own MFA requirement, or when it names only groups that require MFA at sign-in (a
group's ``mfaRequired``). Rules for machine clients only are not people's access and are
left out. The reading over-approximates the way in: a deny or step-up rule that would stop
some people first is not credited, so "not required" means "some allow rule lets someone
in without MFA", and the rule is named.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from enum import StrEnum

from menshen.policy.compile import CompiledPolicy, CompiledRule
from menshen.policy.model import Effect


class MfaState(StrEnum):
    REQUIRED = "required"
    NOT_REQUIRED = "not-required"
    NO_ACCESS = "no-access"
    UNKNOWN = "unknown"


@dataclass(frozen=True, slots=True)
class AppMfa:
    """Whether people reach ``app`` only with MFA; ``rule`` names an allow rule without it."""

    app: str
    state: MfaState
    rule: str = ""
    detail: str = ""


def app_mfa(
    policy: CompiledPolicy, apps: Collection[str], group_mfa: Mapping[str, bool]
) -> dict[str, AppMfa]:
    """The MFA state of every app in ``apps`` (the defined apps) and every app with rules.

    ``group_mfa`` maps group names to whether the group requires MFA at sign-in.
    """
    found: dict[str, AppMfa] = {}
    for app in sorted(set(apps) | set(policy.apps)):
        compiled = policy.apps.get(app)
        people = [
            rule
            for rule in (compiled.rules if compiled is not None else ())
            if rule.effect is Effect.ALLOW and not _machines_only(rule)
        ]
        if not people:
            found[app] = AppMfa(app, MfaState.NO_ACCESS, detail="no allow rule for people")
            continue
        without = next((rule for rule in people if not _asks_mfa(rule, group_mfa)), None)
        if without is None:
            found[app] = AppMfa(app, MfaState.REQUIRED)
        else:
            found[app] = AppMfa(app, MfaState.NOT_REQUIRED, without.name, _who(without))
    return found


def unknown(app: str, why: str) -> AppMfa:
    return AppMfa(app, MfaState.UNKNOWN, detail=why)


def _machines_only(rule: CompiledRule) -> bool:
    return bool(rule.clients) and not rule.users and not rule.groups


def _asks_mfa(rule: CompiledRule, group_mfa: Mapping[str, bool]) -> bool:
    if rule.mfa is not None:
        return True
    if rule.any_identity or rule.users:
        return False
    return all(group_mfa.get(group, False) for group in rule.groups)


def _who(rule: CompiledRule) -> str:
    if rule.any_identity:
        return "any signed-in person"
    names = [f"group {g}" for g in sorted(rule.groups)] + [f"user {u}" for u in sorted(rule.users)]
    return ", ".join(names)
