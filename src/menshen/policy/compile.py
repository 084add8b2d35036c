"""Compile a tenant's app policies once, so that each decision is dictionary lookups and loops.

Deciding in-process from a pre-compiled policy is the lesson of the identity-aware proxies
surveyed in the reference notes (iap.md, "Published performance"; policy.md: casbin and cedarpy
re-read their rules on every call). Compilation indexes rules by app, splits deny from
allow rules (deny wins, as Cedar's forbid-overrides-permit), turns path prefixes into
``str.startswith`` tuples and networks into integer masks. Semantics: ``menshen.policy.decide``.
"""

from __future__ import annotations

import ipaddress
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from types import MappingProxyType

from menshen.errors import InvalidInput
from menshen.policy.decide import AddressKey, decide, deny_reason, step_up_reason
from menshen.policy.duration import format_duration
from menshen.policy.model import AccessRequest, AppPolicy, Decision, Effect, Rule

MEMO_LIMIT = 4096
"""Distinct (user, groups) pairs remembered per app before the memo starts afresh."""


@dataclass(frozen=True, slots=True)
class CompiledNetwork:
    version: int
    network: int
    mask: int
    text: str

    def contains(self, address: AddressKey) -> bool:
        return address[0] == self.version and (address[1] & self.mask) == self.network


@dataclass(frozen=True, slots=True)
class CompiledRule:
    """A rule ready for matching; ``prefix_texts`` and the network texts are for explain."""

    name: str
    effect: Effect
    any_identity: bool
    users: frozenset[str]
    groups: frozenset[str]
    methods: frozenset[str]
    any_path: bool
    exact_paths: frozenset[str]
    path_starts: tuple[str, ...]
    prefix_texts: tuple[str, ...]
    networks: tuple[CompiledNetwork, ...]
    needs_mfa: bool
    mfa_max_age: timedelta | None
    # Answers are values: built once here instead of on every request.
    verdict: Decision
    step_up_no_mfa: Decision
    step_up_stale_mfa: Decision


@dataclass(frozen=True, slots=True)
class CompiledApp:
    """An app's rules, deny rules first, indexed by the identities they name.

    ``candidates`` narrows the rules to those whose identity condition the subject meets,
    in evaluation order, so a decision only walks the rules that concern its subject.
    """

    app: str
    deny_rules: tuple[CompiledRule, ...]
    allow_rules: tuple[CompiledRule, ...]
    ordered: tuple[CompiledRule, ...]
    for_anyone: tuple[int, ...]
    by_user: Mapping[str, tuple[int, ...]]
    by_group: Mapping[str, tuple[int, ...]]
    group_names: frozenset[str]
    # (username, groups) -> candidates: exactly the inputs of ``candidates``, nothing less.
    memo: dict[tuple[str, frozenset[str]], tuple[CompiledRule, ...]] = field(
        default_factory=dict, compare=False, repr=False
    )

    def candidates(self, username: str, groups: frozenset[str]) -> tuple[CompiledRule, ...]:
        """The rules whose users or groups include the subject, deny rules first."""
        key = (username, groups)
        found = self.memo.get(key)
        if found is not None:
            return found
        positions = set(self.for_anyone)
        named = self.by_user.get(username)
        if named is not None:
            positions.update(named)
        for group in self.group_names.intersection(groups):
            positions.update(self.by_group[group])
        ordered = self.ordered
        found = tuple(ordered[position] for position in sorted(positions))
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


def compile_policies(tenant_id: str, policies: Iterable[AppPolicy]) -> CompiledPolicy:
    """Compile app policies; several policies for one app are concatenated in order.

    Raises ``InvalidInput`` for a rule that cannot be judged (a path prefix without a
    leading ``/``, MFA conditions on a deny rule, duplicate rule names within an app).
    """
    rules_by_app: dict[str, list[Rule]] = {}
    for policy in policies:
        rules_by_app.setdefault(policy.app, []).extend(policy.rules)
    apps: dict[str, CompiledApp] = {}
    for app, rules in rules_by_app.items():
        counts = Counter(rule.name for rule in rules)
        duplicates = sorted(name for name, count in counts.items() if count > 1)
        if duplicates:
            raise InvalidInput(f"app {app!r} has several rules named {', '.join(duplicates)}")
        apps[app] = compile_app(app, [compile_rule(app, rule) for rule in rules])
    return CompiledPolicy(tenant_id, apps)


def compile_app(app: str, rules: list[CompiledRule]) -> CompiledApp:
    """Order an app's rules (deny first, each kind in written order) and index them."""
    deny_rules = tuple(rule for rule in rules if rule.effect is Effect.DENY)
    allow_rules = tuple(rule for rule in rules if rule.effect is Effect.ALLOW)
    ordered = deny_rules + allow_rules
    for_anyone: list[int] = []
    by_user: dict[str, list[int]] = {}
    by_group: dict[str, list[int]] = {}
    for position, rule in enumerate(ordered):
        if rule.any_identity:
            for_anyone.append(position)
        for user in rule.users:
            by_user.setdefault(user, []).append(position)
        for group in rule.groups:
            by_group.setdefault(group, []).append(position)
    return CompiledApp(
        app=app,
        deny_rules=deny_rules,
        allow_rules=allow_rules,
        ordered=ordered,
        for_anyone=tuple(for_anyone),
        by_user=MappingProxyType({user: tuple(found) for user, found in by_user.items()}),
        by_group=MappingProxyType({group: tuple(found) for group, found in by_group.items()}),
        group_names=frozenset(by_group),
    )


def compile_rule(app: str, rule: Rule) -> CompiledRule:
    """Pre-compute everything a rule match needs."""
    effect = Effect(rule.effect)
    if effect is Effect.STEP_UP:
        raise InvalidInput(f"rule {rule.name!r}: effect must be allow or deny")
    needs_mfa = rule.mfa_required or rule.mfa_max_age is not None
    if effect is Effect.DENY and needs_mfa:
        raise InvalidInput(f"rule {rule.name!r}: a deny rule cannot carry MFA conditions")
    if rule.mfa_max_age is not None and rule.mfa_max_age <= timedelta(0):
        raise InvalidInput(f"rule {rule.name!r}: MFA max age must be positive")
    prefixes = tuple(normalize_prefix(rule.name, prefix) for prefix in rule.path_prefixes)
    any_path = not prefixes or "/" in prefixes
    if effect is Effect.DENY:
        verdict = Decision(Effect.DENY, rule.name, (deny_reason(app, rule.name),))
    else:
        verdict = Decision(Effect.ALLOW, rule.name, (f"Allowed by rule '{rule.name}'.",))
    no_mfa = Decision(Effect.STEP_UP, rule.name, (step_up_reason(app, rule.name, "MFA required"),))
    stale_mfa = no_mfa
    if rule.mfa_max_age is not None:
        stale = f"MFA older than {format_duration(rule.mfa_max_age)}"
        stale_mfa = Decision(Effect.STEP_UP, rule.name, (step_up_reason(app, rule.name, stale),))
    return CompiledRule(
        name=rule.name,
        effect=effect,
        any_identity=not rule.users and not rule.groups,
        users=frozenset(rule.users),
        groups=frozenset(rule.groups),
        methods=frozenset(method.upper() for method in rule.methods),
        any_path=any_path,
        exact_paths=frozenset(prefixes),
        path_starts=tuple(f"{prefix}/" for prefix in prefixes if prefix != "/"),
        prefix_texts=prefixes,
        networks=tuple(_compile_network(network) for network in rule.source_networks),
        needs_mfa=needs_mfa,
        mfa_max_age=rule.mfa_max_age,
        verdict=verdict,
        step_up_no_mfa=no_mfa,
        step_up_stale_mfa=stale_mfa,
    )


def normalize_prefix(rule_name: str, prefix: str) -> str:
    """``/admin/`` and ``/admin`` are the same segment-wise prefix; ``/`` matches all."""
    if not prefix.startswith("/"):
        raise InvalidInput(f"rule {rule_name!r}: path prefix {prefix!r} must start with '/'")
    return prefix.rstrip("/") or "/"


def _compile_network(network: ipaddress.IPv4Network | ipaddress.IPv6Network) -> CompiledNetwork:
    if isinstance(network, ipaddress.IPv6Network) and network.prefixlen >= 96:
        mapped = ipaddress.IPv6Address(int(network.network_address)).ipv4_mapped
        if mapped is not None:
            # ::ffff:10.0.0.0/104 names IPv4 addresses; compare it as 10.0.0.0/8.
            network = ipaddress.IPv4Network((int(mapped), network.prefixlen - 96))
    return CompiledNetwork(
        version=network.version,
        network=int(network.network_address),
        mask=int(network.netmask),
        text=str(network),
    )
