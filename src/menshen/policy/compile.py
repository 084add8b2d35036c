"""Compile a tenant's app policies once, so that each decision is dictionary lookups and closures.

Deciding in-process from a pre-compiled policy is the lesson of the identity-aware proxies
surveyed in the reference notes (casbin and cedarpy re-read their rules on every call).
Compilation indexes rules by app and by the users, groups and API clients they name,
orders deny before step-up before allow (deny wins, as Cedar's forbid-overrides-permit),
and turns every condition into a closure (``menshen.policy.closures``). Semantics:
``menshen.policy.decide``.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from types import MappingProxyType

from menshen.errors import InvalidInput
from menshen.policy.closures import AddressCache, Check, Compiler, Node, all_of, always
from menshen.policy.conditions import Condition, HasScopes, MethodIn, PathUnder, SourceIn
from menshen.policy.decide import decide
from menshen.policy.labels import LabelIndex
from menshen.policy.model import (
    AccessRequest,
    AppPolicy,
    DataLabel,
    Decision,
    Effect,
    Network,
    Rule,
    Subject,
)

MEMO_LIMIT = 4096
"""Distinct subjects remembered per app before the candidate memo starts afresh."""

Candidates = tuple[
    tuple["CompiledRule", ...], tuple["CompiledRule", ...], tuple["CompiledRule", ...]
]


@dataclass(frozen=True, slots=True)
class MfaNeed:
    """The second factor a rule asks for: any (empty ``methods``) or one of ``methods``."""

    methods: frozenset[str]
    max_age: timedelta | None

    def unmet(self, request: AccessRequest) -> bool:
        """True when the session's MFA does not satisfy this need (a future time is fresh)."""
        method, at = request.mfa_method, request.mfa_at
        if method is None or at is None:
            return True
        if self.methods and method not in self.methods:
            return True
        return self.max_age is not None and request.now - at > self.max_age


@dataclass(frozen=True, slots=True)
class CompiledRule:
    """A rule ready for matching: identity sets for the index, parts for explain, one closure."""

    name: str
    rule_id: str
    effect: Effect
    description: str
    owner: str
    users: frozenset[str]
    groups: frozenset[str]
    clients: frozenset[str]
    parts: tuple[Node, ...]
    match: Check
    mfa: MfaNeed | None
    verdict: Decision

    @property
    def any_identity(self) -> bool:
        return not (self.users or self.groups or self.clients)

    def identity_matches(self, subject: Subject) -> bool:
        """Any-identity allow rules are for people only; machine clients are always named."""
        if self.any_identity:
            return subject.kind == "user" or self.effect is not Effect.ALLOW
        if subject.kind == "user" and subject.username in self.users:
            return True
        if subject.kind == "client" and subject.username in self.clients:
            return True
        return not self.groups.isdisjoint(subject.groups)


@dataclass(frozen=True, slots=True)
class CompiledApp:
    """An app's rules in evaluation order, indexed by the identities they name."""

    app: str
    rules: tuple[CompiledRule, ...]
    labels: LabelIndex
    for_everyone: tuple[int, ...]
    for_people: tuple[int, ...]
    by_user: Mapping[str, tuple[int, ...]]
    by_client: Mapping[str, tuple[int, ...]]
    by_group: Mapping[str, tuple[int, ...]]
    group_names: frozenset[str]
    memo: dict[tuple[str, str, frozenset[str]], Candidates] = field(
        default_factory=dict, compare=False, repr=False
    )

    def candidates(self, subject: Subject) -> Candidates:
        """(deny, step-up, allow) rules whose identity condition ``subject`` meets, in order."""
        key = (subject.kind, subject.username, subject.groups)
        found = self.memo.get(key)
        if found is not None:
            return found
        positions = set(self.for_everyone)
        if subject.kind == "user":
            positions.update(self.for_people)
            positions.update(self.by_user.get(subject.username, ()))
        else:
            positions.update(self.by_client.get(subject.username, ()))
        for group in self.group_names.intersection(subject.groups):
            positions.update(self.by_group[group])
        rules = [self.rules[position] for position in sorted(positions)]
        found = (
            tuple(rule for rule in rules if rule.effect is Effect.DENY),
            tuple(rule for rule in rules if rule.effect is Effect.STEP_UP),
            tuple(rule for rule in rules if rule.effect is Effect.ALLOW),
        )
        if len(self.memo) >= MEMO_LIMIT:
            self.memo.clear()
        self.memo[key] = found
        return found


class CompiledPolicy:
    """Every app policy of one tenant, ready to answer ``decide`` in a few microseconds."""

    __slots__ = ("apps", "tenant_id")

    def __init__(self, tenant_id: str, apps: Mapping[str, CompiledApp]) -> None:
        self.tenant_id = tenant_id
        self.apps: Mapping[str, CompiledApp] = MappingProxyType(dict(apps))

    def decide(self, request: AccessRequest) -> Decision:
        """Allow, deny or step up; never raises (an evaluation error is a denial)."""
        return decide(self, request)

    def __repr__(self) -> str:
        return f"CompiledPolicy(tenant_id={self.tenant_id!r}, apps={sorted(self.apps)!r})"


def compile_policies(
    tenant_id: str,
    policies: Iterable[AppPolicy],
    *,
    app_labels: Mapping[str, DataLabel] | None = None,
    ip_lists: Mapping[str, tuple[Network, ...]] | None = None,
) -> CompiledPolicy:
    """Compile app policies; several policies for one app are concatenated in order.

    ``app_labels`` gives each app's data label (from its App object or, later, the
    inventory); ``ip_lists`` are the tenant's named IP lists. Raises ``InvalidInput`` for
    a rule that cannot be judged (see ``compile_rule``), duplicate rule names or ids
    within an app, an unknown or cyclic named condition, an unknown IP list.
    """
    listed = list(policies)
    tenant_lists = dict(ip_lists or {})
    addresses = AddressCache()
    by_app: dict[str, list[AppPolicy]] = {}
    for policy in listed:
        by_app.setdefault(policy.app, []).append(policy)
    apps: dict[str, CompiledApp] = {}
    for app, app_policies in by_app.items():
        labels = LabelIndex.build(app, (app_labels or {}).get(app), app_policies)
        rules: list[CompiledRule] = []
        for policy in app_policies:
            clash = sorted(set(policy.ip_lists) & set(tenant_lists))
            if clash:
                raise InvalidInput(f"IP list {clash[0]!r} is defined twice")
            compiler = Compiler(
                blocks=policy.conditions,
                ip_lists={**tenant_lists, **policy.ip_lists},
                addresses=addresses,
                label_of=labels.label_of,
            )
            for name in policy.conditions:
                compiler.use(name)  # every block compiles, even an unused one
            rules.extend(compile_rule(app, rule, compiler) for rule in policy.rules)
        _refuse_duplicates(app, [rule.name for rule in rules], "rules named")
        _refuse_duplicates(app, [rule.rule_id for rule in rules], "rules with id")
        apps[app] = compile_app(app, rules, labels)
    return CompiledPolicy(tenant_id, apps)


def _refuse_duplicates(app: str, names: list[str], what: str) -> None:
    duplicates = sorted(name for name, count in Counter(names).items() if count > 1)
    if duplicates:
        raise InvalidInput(f"app {app!r} has several {what} {', '.join(duplicates)}")


EFFECT_ORDER = {Effect.DENY: 0, Effect.STEP_UP: 1, Effect.ALLOW: 2}


def compile_app(app: str, rules: list[CompiledRule], labels: LabelIndex) -> CompiledApp:
    """Order an app's rules (deny, step-up, allow; each in written order) and index them."""
    ordered = tuple(sorted(rules, key=lambda rule: EFFECT_ORDER[rule.effect]))
    for_everyone: list[int] = []
    for_people: list[int] = []
    by_user: dict[str, list[int]] = {}
    by_client: dict[str, list[int]] = {}
    by_group: dict[str, list[int]] = {}
    for position, rule in enumerate(ordered):
        if rule.any_identity:
            (for_people if rule.effect is Effect.ALLOW else for_everyone).append(position)
        for index, names in (
            (by_user, rule.users),
            (by_client, rule.clients),
            (by_group, rule.groups),
        ):
            for name in names:
                index.setdefault(name, []).append(position)
    return CompiledApp(
        app=app,
        rules=ordered,
        labels=labels,
        for_everyone=tuple(for_everyone),
        for_people=tuple(for_people),
        by_user=_frozen(by_user),
        by_client=_frozen(by_client),
        by_group=_frozen(by_group),
        group_names=frozenset(by_group),
    )


def _frozen(index: dict[str, list[int]]) -> Mapping[str, tuple[int, ...]]:
    return MappingProxyType({name: tuple(found) for name, found in index.items()})


def compile_rule(app: str, rule: Rule, compiler: Compiler) -> CompiledRule:
    """Pre-compute everything a rule match needs.

    Refuses MFA conditions on a deny rule, a step-up rule without them, a non-positive
    max age, and anything the condition compiler refuses.
    """
    effect = Effect(rule.effect)
    needs_mfa = rule.mfa_required or rule.mfa_max_age is not None or bool(rule.mfa_methods)
    if effect is Effect.DENY and needs_mfa:
        raise InvalidInput(f"rule {rule.name!r}: a deny rule cannot carry MFA conditions")
    if effect is Effect.STEP_UP and not needs_mfa:
        raise InvalidInput(f"rule {rule.name!r}: a step-up rule must say which MFA it wants")
    if rule.mfa_max_age is not None and rule.mfa_max_age <= timedelta(0):
        raise InvalidInput(f"rule {rule.name!r}: MFA max age must be positive")
    try:
        parts = tuple(compiler.compile(condition) for condition in _conditions(rule))
    except InvalidInput as exc:
        raise InvalidInput(f"rule {rule.name!r}: {exc}") from None
    mfa = MfaNeed(frozenset(rule.mfa_methods), rule.mfa_max_age) if needs_mfa else None
    if effect is Effect.DENY:
        verdict = Decision(Effect.DENY, rule.name, (deny_reason(app, rule.name),), rule.id)
    else:
        verdict = Decision(effect, rule.name, (f"Allowed by rule '{rule.name}'.",), rule.id)
    return CompiledRule(
        name=rule.name,
        rule_id=rule.id,
        effect=effect,
        description=rule.description,
        owner=rule.owner,
        users=frozenset(rule.users),
        groups=frozenset(rule.groups),
        clients=frozenset(rule.clients),
        parts=parts,
        match=all_of(tuple(part.check for part in parts)) if parts else always,
        mfa=mfa,
        verdict=verdict,
    )


def _conditions(rule: Rule) -> list[Condition]:
    found: list[Condition] = []
    if rule.methods:
        found.append(MethodIn(frozenset(method.upper() for method in rule.methods)))
    if rule.path_prefixes:
        found.append(PathUnder(rule.path_prefixes))
    if rule.source_networks:
        found.append(SourceIn(rule.source_networks))
    if rule.scopes:
        found.append(HasScopes(frozenset(rule.scopes)))
    if rule.when is not None:
        found.append(rule.when)
    return found


def deny_reason(app: str, rule: str) -> str:
    return f"Rule '{rule}' of app '{app}' denies this request."
