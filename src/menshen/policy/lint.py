"""Warnings about rules that do not do what their author meant (ISO/IEC 27001 A.5.15).

Each warning has a kind (docs/policy.md, "Analysis", defines them):

* ``never-matches``: the rule's conditions contradict each other (methods, paths,
  countries, header values, device posture or risk limits that exclude each other, time
  windows in one zone that never overlap, data conditions no path of the app meets);
* ``no-members``: the rule names only groups, and each of them is known to have no member;
* ``shadowed-by-deny``: an allow rule all of whose requests a deny rule refuses;
* ``shadowed-by-allow``: an allow rule that an earlier allow rule always pre-empts;
* ``restricted-without-mfa``: an allow rule for people reaching restricted data without MFA;
* ``wildcard-subject``: an allow rule for every signed-in person reaching restricted data;
* ``wildcard-path``: an allow rule reaching restricted data with no condition but identity.

Coverage is judged syntactically and conservatively: a warning is only given when it is
certain; some redundancy spelled differently goes unnoticed.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass

from menshen.policy.closures import window_table
from menshen.policy.compile import CompiledApp, CompiledPolicy, CompiledRule, MfaNeed
from menshen.policy.conditions import (
    TRUST_LEVELS,
    Condition,
    CountryIn,
    DataIs,
    DevicePosture,
    DeviceTags,
    DeviceTrust,
    HasScopes,
    HeaderIs,
    MethodIn,
    PathUnder,
    RiskAbove,
    RiskBelow,
    SourceIn,
    TimeWindow,
)
from menshen.policy.model import DataLabel, Effect
from menshen.policy.residual import rule_leaves, under

NEVER_MATCHES = "never-matches"
NO_MEMBERS = "no-members"
SHADOWED_BY_DENY = "shadowed-by-deny"
SHADOWED_BY_ALLOW = "shadowed-by-allow"
RESTRICTED_WITHOUT_MFA = "restricted-without-mfa"
WILDCARD_SUBJECT = "wildcard-subject"
WILDCARD_PATH = "wildcard-path"
KINDS = (
    NEVER_MATCHES,
    NO_MEMBERS,
    SHADOWED_BY_DENY,
    SHADOWED_BY_ALLOW,
    RESTRICTED_WITHOUT_MFA,
    WILDCARD_SUBJECT,
    WILDCARD_PATH,
)


@dataclass(frozen=True, slots=True)
class LintWarning:
    kind: str
    app: str
    rule: str
    rule_id: str
    message: str

    def __str__(self) -> str:
        return f"{self.app}: rule '{self.rule}' ({self.kind}): {self.message}"


def lint(
    compiled: CompiledPolicy, members: Mapping[str, frozenset[str]] | None = None
) -> tuple[LintWarning, ...]:
    """Every warning for every app, in app and rule order.

    ``members`` maps group names to their members where known; a group absent from it
    is not judged (a file may not manage membership).
    """
    found: list[LintWarning] = []
    for name in sorted(compiled.apps):
        found.extend(lint_app(compiled.apps[name], members or {}))
    return tuple(found)


def lint_app(app: CompiledApp, members: Mapping[str, frozenset[str]]) -> list[LintWarning]:
    found: list[LintWarning] = []
    allows_before: list[CompiledRule] = []
    denies = [rule for rule in app.rules if rule.effect is Effect.DENY]

    def warn(rule: CompiledRule, kind: str, message: str) -> None:
        found.append(LintWarning(kind, app.app, rule.name, rule.rule_id, message))

    for rule in app.rules:
        literals = rule_leaves(rule)
        reason = contradiction(app, literals)
        if reason is not None:
            warn(rule, NEVER_MATCHES, f"can never match: {reason}")
            continue
        empty = _memberless(rule, members)
        if empty:
            warn(rule, NO_MEMBERS, f"names only groups with no members: {', '.join(empty)}")
        if rule.effect is not Effect.ALLOW:
            continue
        deny = next((d for d in denies if _shadows(d, rule, literals)), None)
        earlier = next((a for a in allows_before if _pre_empts(a, rule, literals)), None)
        if deny is not None:
            warn(rule, SHADOWED_BY_DENY, f"deny rule '{deny.name}' refuses every request it allows")
        elif earlier is not None:
            warn(
                rule,
                SHADOWED_BY_ALLOW,
                f"never decides: the earlier allow rule '{earlier.name}' matches whenever it "
                "does and asks for no more MFA",
            )
        allows_before.append(rule)
        found.extend(_restricted(app, rule, literals))
    return found


def _memberless(rule: CompiledRule, members: Mapping[str, frozenset[str]]) -> list[str]:
    if rule.users or rule.clients or not rule.groups:
        return []
    if all(group in members and not members[group] for group in rule.groups):
        return sorted(rule.groups)
    return []


def _restricted(
    app: CompiledApp, rule: CompiledRule, literals: list[Condition]
) -> list[LintWarning]:
    labels = reachable_labels(app, literals)
    if not any(label.sensitivity == "restricted" for label in labels):
        return []
    found: list[LintWarning] = []

    def warn(kind: str, message: str) -> None:
        found.append(LintWarning(kind, app.app, rule.name, rule.rule_id, message))

    people = rule.any_identity or bool(rule.users or rule.groups)
    if rule.mfa is None and people:
        warn(RESTRICTED_WITHOUT_MFA, "lets people reach restricted data without MFA")
    if rule.any_identity:
        warn(WILDCARD_SUBJECT, "lets every signed-in person reach restricted data")
    if not rule.parts:
        warn(
            WILDCARD_PATH,
            "reaches restricted data on every path and method, on identity alone "
            "(no path, method, network, device or time condition)",
        )
    return found


def reachable_labels(app: CompiledApp, literals: list[Condition]) -> list[DataLabel]:
    """The data labels of the paths a rule's path and data conditions leave reachable."""
    path_sets = [
        [prefix.rstrip("/") or "/" for prefix in literal.prefixes]
        for literal in literals
        if isinstance(literal, PathUnder)
    ]
    labelled = app.labels.prefixes
    found: list[DataLabel] = []
    for region, label in labelled:
        if all(any(under(p, region) or under(region, p) for p in s) for s in path_sets):
            found.append(label)
    everywhere = any(region == "/" for region, _ in labelled)
    inside = any(all(any(under(p, region) for region, _ in labelled) for p in s) for s in path_sets)
    if not everywhere and not inside:
        found.append(app.labels.app_label)
    data = [literal for literal in literals if isinstance(literal, DataIs)]
    return [label for label in found if all(_data_holds(d, label) for d in data)]


def _data_holds(condition: DataIs, label: DataLabel) -> bool:
    return (not condition.sensitivity or label.sensitivity in condition.sensitivity) and (
        not condition.tags or not condition.tags.isdisjoint(label.tags)
    )


def contradiction(app: CompiledApp, literals: list[Condition]) -> str | None:
    """Why the conjunction ``literals`` can never hold, or None if it may."""
    methods = [c.methods for c in literals if isinstance(c, MethodIn)]
    if methods and not frozenset.intersection(*methods):
        return "its method conditions exclude each other"
    paths = [c.prefixes for c in literals if isinstance(c, PathUnder)]
    for index, first in enumerate(paths):
        for second in paths[index + 1 :]:
            if not any(under(p, q) or under(q, p) for p in first for q in second):
                return f"paths under {', '.join(first)} are never under {', '.join(second)}"
    above = [c.limit for c in literals if isinstance(c, RiskAbove)]
    below = [c.limit for c in literals if isinstance(c, RiskBelow)]
    if any(limit >= 100 for limit in above) or any(limit <= 0 for limit in below):
        return "its risk limit is outside 0–100"
    if above and below and max(above) >= min(below):
        return f"no risk score is above {max(above):g} and below {min(below):g}"
    countries = [c.countries for c in literals if isinstance(c, CountryIn)]
    if countries and not frozenset.intersection(*countries):
        return "its country conditions exclude each other"
    postures: dict[str, set[tuple[str, object]]] = {}
    for c in literals:
        if isinstance(c, DevicePosture):
            postures.setdefault(c.attribute, set()).add((type(c.value).__name__, c.value))
    clash = sorted(name for name, values in postures.items() if len(values) > 1)
    if clash:
        return f"it asks for two values of device posture {clash[0]}"
    headers: dict[str, list[frozenset[str]]] = {}
    for c in literals:
        if isinstance(c, HeaderIs) and c.values:
            headers.setdefault(c.name, []).append(c.values)
    for name, values in sorted(headers.items()):
        if not frozenset.intersection(*values):
            return f"it asks for two values of header {name}"
    tables: dict[str, bytes] = {}
    for c in literals:
        if isinstance(c, TimeWindow):
            table = window_table(c)
            seen = tables.get(c.zone)
            tables[c.zone] = (
                table if seen is None else bytes(a & b for a, b in zip(seen, table, strict=True))
            )
    if any(not any(table) for table in tables.values()):
        return "its time windows never overlap"
    if any(isinstance(c, DataIs) for c in literals) and not reachable_labels(app, literals):
        return "no path it covers holds the data it asks for"
    return None


def _covers_identity(wide: CompiledRule, narrow: CompiledRule) -> bool:
    if wide.any_identity:
        return wide.effect is not Effect.ALLOW or not narrow.clients
    if narrow.any_identity:
        return False
    return (
        narrow.users <= wide.users
        and narrow.groups <= wide.groups
        and narrow.clients <= wide.clients
    )


def _implied(wide: list[Condition], narrow: list[Condition]) -> bool:
    """Every condition of ``wide`` holds whenever all of ``narrow`` do."""
    return all(any(implies(n, w) for n in narrow) for w in wide)


def _shadows(deny: CompiledRule, allow: CompiledRule, literals: list[Condition]) -> bool:
    return _covers_identity(deny, allow) and _implied(rule_leaves(deny), literals)


def _pre_empts(earlier: CompiledRule, later: CompiledRule, literals: list[Condition]) -> bool:
    return (
        _covers_identity(earlier, later)
        and _implied(rule_leaves(earlier), literals)
        and _weaker_mfa(earlier.mfa, later.mfa)
    )


def _weaker_mfa(wide: MfaNeed | None, narrow: MfaNeed | None) -> bool:
    """Whenever ``narrow`` is satisfied, so is ``wide``."""
    if wide is None:
        return True
    if narrow is None:
        return False
    methods = not wide.methods or (bool(narrow.methods) and narrow.methods <= wide.methods)
    age = wide.max_age is None or (narrow.max_age is not None and narrow.max_age <= wide.max_age)
    return methods and age


def implies(narrow: Condition, wide: Condition) -> bool:
    """Whether ``narrow`` holding means ``wide`` holds (judged from the two alone)."""
    if narrow == wide:
        return True
    if isinstance(narrow, MethodIn) and isinstance(wide, MethodIn):
        return narrow.methods <= wide.methods
    if isinstance(narrow, PathUnder) and isinstance(wide, PathUnder):
        return all(any(under(p, q) for q in wide.prefixes) for p in narrow.prefixes)
    if isinstance(narrow, SourceIn) and isinstance(wide, SourceIn):
        return set(narrow.lists) <= set(wide.lists) and all(
            any(_subnet(n, w) for w in wide.networks) for n in narrow.networks
        )
    if isinstance(narrow, CountryIn) and isinstance(wide, CountryIn):
        return narrow.countries <= wide.countries
    if isinstance(narrow, DeviceTrust) and isinstance(wide, DeviceTrust):
        return TRUST_LEVELS.index(narrow.minimum) >= TRUST_LEVELS.index(wide.minimum)
    if isinstance(narrow, DeviceTags) and isinstance(wide, DeviceTags):
        return narrow.tags >= wide.tags
    if isinstance(narrow, RiskBelow) and isinstance(wide, RiskBelow):
        return narrow.limit <= wide.limit
    if isinstance(narrow, RiskAbove) and isinstance(wide, RiskAbove):
        return narrow.limit >= wide.limit
    if isinstance(narrow, HasScopes) and isinstance(wide, HasScopes):
        return narrow.scopes >= wide.scopes
    if isinstance(narrow, HeaderIs) and isinstance(wide, HeaderIs):
        return narrow.name == wide.name and (
            not wide.values or (bool(narrow.values) and narrow.values <= wide.values)
        )
    if isinstance(narrow, TimeWindow) and isinstance(wide, TimeWindow):
        if narrow.zone != wide.zone:
            return False
        inner, outer = window_table(narrow), window_table(wide)
        return all(b >= a for a, b in zip(inner, outer, strict=True))
    return False


def _subnet(
    narrow: ipaddress.IPv4Network | ipaddress.IPv6Network,
    wide: ipaddress.IPv4Network | ipaddress.IPv6Network,
) -> bool:
    if isinstance(narrow, ipaddress.IPv4Network) and isinstance(wide, ipaddress.IPv4Network):
        return narrow.subnet_of(wide)
    if isinstance(narrow, ipaddress.IPv6Network) and isinstance(wide, ipaddress.IPv6Network):
        return narrow.subnet_of(wide)
    return False
