"""A synthetic tenant for the policy benchmark: apps, groups, users, rules and requests.

The policy is menshen's own (``AppPolicy`` of ``Rule``s); ``bench.policy_cedar`` and
``bench.policy_casbin`` render the same rules for the two baselines. Everything is drawn
from a ``random.Random`` seeded with the seed and the rule count, so a run is reproducible
and the three engines always see the same tenant. The shapes follow the reference firm
(DESIGN.md §1): deny rules for contractors on admin areas, for a blocked network and for
offboarded users; allow rules by group or by name, with method sets, path areas, office
networks and MFA (some with a maximum age, which is where step-up comes from).
"""

from __future__ import annotations

import ipaddress
import math
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from menshen.policy import AccessRequest, AppPolicy, Effect, Rule, Subject

NOW = datetime(2025, 3, 4, 10, 0, tzinfo=UTC)
"""The fixed "now" of every request (the benchmark never reads the wall clock for policy)."""

METHODS = ("GET", "HEAD", "POST", "PUT", "DELETE")
METHOD_SETS: tuple[frozenset[str], ...] = (
    frozenset(),
    frozenset(),
    frozenset({"GET", "HEAD"}),
    frozenset({"GET", "HEAD"}),
    frozenset({"POST"}),
    frozenset({"GET", "POST", "PUT"}),
)
AREAS = (
    "/admin",
    "/api/v1/payouts",
    "/api/v1/merchants",
    "/reports",
    "/settings",
    "/exports",
    "/dashboards",
    "/kyc/cases",
    "/ledger/entries",
    "/docs",
    "/search",
    "/audit",
)
SUFFIXES = ("", "/", "/42", "/items/7/edit", "-archive")  # "-archive": not under the area
APP_NAMES = ("settlement", "merchant-admin", "monitoring", "wiki", "partner-api", "kyc", "ledger")
GROUP_NAMES = ("finance-ops", "engineering", "support", "compliance", "contractors", "risk", "sre")
OFFICE = ipaddress.IPv4Network("10.10.0.0/16")
VPN = ipaddress.IPv4Network("10.20.0.0/16")
BLOCKED = ipaddress.IPv4Network("198.51.100.0/24")
SITES = tuple(ipaddress.IPv4Network(f"10.30.{k}.0/24") for k in range(12))
PUBLIC = ipaddress.IPv4Network("203.0.113.0/24")
ADDRESS_POOL = (OFFICE, OFFICE, VPN, BLOCKED, PUBLIC, *SITES[:4])
MFA_AGES = (timedelta(minutes=15), timedelta(hours=1))


@dataclass(frozen=True, slots=True)
class Tenant:
    """One tenant's directory and policy; ``unlisted_app`` has no policy (default deny)."""

    tenant_id: str
    apps: tuple[str, ...]
    unlisted_app: str
    groups: tuple[str, ...]
    memberships: Mapping[str, frozenset[str]]  # username -> groups
    policies: tuple[AppPolicy, ...]

    @property
    def rule_count(self) -> int:
        return sum(len(policy.rules) for policy in self.policies)

    def members(self) -> dict[str, list[str]]:
        """Group -> usernames, in username order."""
        found: dict[str, list[str]] = {group: [] for group in self.groups}
        for user, groups in sorted(self.memberships.items()):
            for group in sorted(groups):
                found.setdefault(group, []).append(user)
        return found


@dataclass(frozen=True, slots=True)
class Probe:
    """One request, engine-neutral. ``mfa_age_seconds`` None: no second factor."""

    user: str
    app: str
    method: str
    path: str
    source_ip: str
    mfa_age_seconds: int | None


def shape(rule_count: int) -> tuple[int, int, int]:
    """(apps, groups, users) of a tenant with ``rule_count`` rules: all grow with it."""
    apps = max(3, round(math.sqrt(rule_count) * 1.2))
    groups = max(5, rule_count // 10)
    users = max(30, rule_count * 3 // 2)
    return apps, groups, users


def generate_tenant(rule_count: int, seed: int) -> Tenant:
    """A tenant of exactly ``rule_count`` rules (about one in eight a deny rule)."""
    if rule_count < 1:
        raise ValueError("a tenant needs at least one rule")
    rng = random.Random(f"tenant:{seed}:{rule_count}")
    app_count, group_count, user_count = shape(rule_count)
    apps = tuple(_name(APP_NAMES, index) for index in range(app_count))
    groups = tuple(_name(GROUP_NAMES, index) for index in range(group_count))
    users = tuple(f"u{index:05d}" for index in range(user_count))
    memberships = {
        user: frozenset(rng.sample(groups, k=rng.choice((1, 1, 2, 3)))) for user in users
    }
    rules: dict[str, list[Rule]] = {app: [] for app in apps}
    for index in range(rule_count):
        app = apps[index % app_count]
        areas = _areas(app, apps)
        name = f"r{index:05d}"
        if rng.random() < 0.125:
            rules[app].append(_deny_rule(rng, name, groups, users, areas))
        else:
            rules[app].append(_allow_rule(rng, name, groups, users, areas))
    policies = tuple(AppPolicy(app, tuple(found)) for app, found in rules.items())
    return Tenant(f"bench-{rule_count}", apps, "unlisted", groups, memberships, policies)


def _name(base: Sequence[str], index: int) -> str:
    return base[index] if index < len(base) else f"{base[index % len(base)]}-{index:03d}"


def _areas(app: str, apps: Sequence[str]) -> tuple[str, ...]:
    """Six path areas per app, a different selection for each app."""
    start = apps.index(app) % len(AREAS)
    return tuple(AREAS[(start + step) % len(AREAS)] for step in range(0, 12, 2))


def _deny_rule(
    rng: random.Random, name: str, groups: Sequence[str], users: Sequence[str], areas: Sequence[str]
) -> Rule:
    kind = rng.randrange(4)
    if kind == 0:  # contractors (or another group) kept out of an admin area
        group = "contractors" if rng.random() < 0.5 else rng.choice(groups)
        return Rule(name, Effect.DENY, groups=frozenset({group}), path_prefixes=(areas[0],))
    if kind == 1:  # an offboarded user
        return Rule(name, Effect.DENY, users=frozenset({rng.choice(users)}))
    if kind == 2:  # a blocked network, for everyone
        return Rule(name, Effect.DENY, source_networks=(BLOCKED,))
    return Rule(  # no deletions for a group in one area
        name,
        Effect.DENY,
        groups=frozenset({rng.choice(groups)}),
        methods=frozenset({"DELETE"}),
        path_prefixes=(rng.choice(areas),),
    )


def _allow_rule(
    rng: random.Random, name: str, groups: Sequence[str], users: Sequence[str], areas: Sequence[str]
) -> Rule:
    who = rng.random()
    named_groups: frozenset[str] = frozenset()
    named_users: frozenset[str] = frozenset()
    if who < 0.7:
        named_groups = frozenset(rng.sample(groups, k=rng.choice((1, 1, 2))))
    elif who < 0.9:
        named_users = frozenset(rng.sample(users, k=rng.choice((1, 2))))
        if rng.random() < 0.5:
            named_groups = frozenset({rng.choice(groups)})
    where = rng.random()
    prefixes: tuple[str, ...] = ()
    if where < 0.15:
        prefixes = ("/",)
    elif where >= 0.3:
        prefixes = tuple(rng.sample(areas, k=rng.choice((1, 1, 2))))
    networks: tuple[ipaddress.IPv4Network, ...] = ()
    place = rng.random()
    if place < 0.25:
        networks = (OFFICE,)
    elif place < 0.35:
        networks = (OFFICE, VPN)
    elif place < 0.4:
        networks = (rng.choice(SITES),)
    mfa = rng.random()
    return Rule(
        name,
        Effect.ALLOW,
        users=named_users,
        groups=named_groups,
        methods=rng.choice(METHOD_SETS),
        path_prefixes=prefixes,
        source_networks=networks,
        mfa_required=mfa < 0.5,
        mfa_max_age=rng.choice(MFA_AGES) if mfa < 0.25 else None,
    )


def generate_probes(tenant: Tenant, count: int, seed: int) -> tuple[Probe, ...]:
    """``count`` requests: aimed at allow rules, aimed at deny rules, and random ones."""
    rng = random.Random(f"probes:{seed}:{tenant.tenant_id}")
    members = tenant.members()
    users = sorted(tenant.memberships)
    by_app = {policy.app: policy for policy in tenant.policies}
    probes = []
    for _ in range(count):
        pick = rng.random()
        app = rng.choice(tenant.apps)
        allow = [rule for rule in by_app[app].rules if rule.effect is Effect.ALLOW]
        deny = [rule for rule in by_app[app].rules if rule.effect is Effect.DENY]
        if pick < 0.5 and allow:
            probes.append(_aimed(rng, app, rng.choice(allow), members, users, tenant))
        elif pick < 0.65 and deny:
            probes.append(_aimed(rng, app, rng.choice(deny), members, users, tenant))
        else:
            apps = (*tenant.apps, tenant.unlisted_app)
            probes.append(_random(rng, rng.choice(apps), users, tenant))
    return tuple(probes)


def _aimed(
    rng: random.Random,
    app: str,
    rule: Rule,
    members: Mapping[str, Sequence[str]],
    users: Sequence[str],
    tenant: Tenant,
) -> Probe:
    """A request that meets the rule's identity, method, path and network (MFA varies)."""
    candidates = sorted(rule.users)
    for group in sorted(rule.groups):
        candidates.extend(members.get(group, ()))
    user = rng.choice(candidates or users)
    method = rng.choice(sorted(rule.methods) or METHODS)
    prefixes = [prefix for prefix in rule.path_prefixes if prefix != "/"]
    area = rng.choice(prefixes) if prefixes else rng.choice(_areas(app, tenant.apps))
    suffix = rng.choice(SUFFIXES[:4]) if prefixes else rng.choice(SUFFIXES)
    network = rng.choice(rule.source_networks) if rule.source_networks else rng.choice(ADDRESS_POOL)
    return Probe(user, app, method, area + suffix, _host(rng, network), _mfa_age(rng))


def _random(rng: random.Random, app: str, users: Sequence[str], tenant: Tenant) -> Probe:
    areas = _areas(app, tenant.apps) if app in tenant.apps else AREAS
    path = rng.choice((*areas, "/")) + rng.choice(SUFFIXES)
    return Probe(
        rng.choice(users),
        app,
        rng.choice(METHODS),
        path.replace("//", "/"),
        _host(rng, rng.choice(ADDRESS_POOL)),
        _mfa_age(rng),
    )


def _host(rng: random.Random, network: ipaddress.IPv4Network | ipaddress.IPv6Network) -> str:
    return str(network.network_address + rng.randrange(1, network.num_addresses - 1))


def _mfa_age(rng: random.Random) -> int | None:
    """Fresh (under 10 minutes), stale (2 hours) or absent."""
    roll = rng.random()
    if roll < 0.6:
        return rng.randrange(5, 600)
    return 7200 if roll < 0.8 else None


def access_request(tenant: Tenant, probe: Probe) -> AccessRequest:
    """The probe as the gateway would hand it to menshen's policy engine."""
    mfa_at = (
        None if probe.mfa_age_seconds is None else NOW - timedelta(seconds=probe.mfa_age_seconds)
    )
    return AccessRequest(
        tenant_id=tenant.tenant_id,
        app=probe.app,
        method=probe.method,
        path=probe.path,
        source_ip=probe.source_ip,
        now=NOW,
        subject=Subject(
            user_id=probe.user,
            username=probe.user,
            email=f"{probe.user}@example.com",
            groups=tenant.memberships[probe.user],
        ),
        mfa_method=None if mfa_at is None else "webauthn",
        mfa_at=mfa_at,
    )


def prefix_of(prefix: str) -> str:
    """A path prefix as menshen compares it: without trailing ``/``; ``/`` stays ``/``."""
    return prefix.rstrip("/") or "/"


def covers_every_path(rule: Rule) -> bool:
    return not rule.path_prefixes or any(prefix_of(p) == "/" for p in rule.path_prefixes)


def mfa_limit_seconds(rule: Rule) -> int | None:
    """The MFA maximum age in whole seconds, if the rule has one."""
    if rule.mfa_max_age is None:
        return None
    return int(rule.mfa_max_age.total_seconds())
