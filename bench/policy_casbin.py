"""The benchmark tenant's policy as a Casbin model and policy lines (https://casbin.org).

RBAC (``g`` = user -> group) with deny-override and one matcher. A menshen rule becomes one
policy line per (principal, method, path prefix, network) combination, since a Casbin policy
line holds one value per field:

* principal: the username, ``group:<name>`` (matched through ``g``), or ``*`` for any
  signed-in user (Casbin's role manager links a name to itself, so a named user matches);
* method: the method or ``*``; path: ``<prefix>/*`` with ``keyMatch``, or ``*`` for any path.
  The request path is given with a ``/`` appended, which makes ``keyMatch`` segment-wise
  like menshen (``/a`` -> ``/a/`` matches ``/a/*``; ``/ab`` -> ``/ab/`` does not);
* network: a CIDR for ``ipMatch``, or ``*``;
* MFA: ``-`` (none), ``any`` (a second factor of any age) or the maximum age in seconds,
  checked by ``mfaOk`` (a matcher function registered with the enforcer: Casbin's
  expressions have no integer conversion). Casbin has no step-up effect either: a failed
  MFA condition means the line does not apply, so menshen's ``step_up`` is "not allowed".

The matcher compares the app first, the cheapest and most selective test, so Casbin's
per-line evaluation stops early for the lines of other apps.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

from bench.policy_tenant import Probe, Tenant, covers_every_path, mfa_limit_seconds, prefix_of
from menshen.policy import Effect, Rule

MODEL = """\
[request_definition]
r = sub, app, method, path, ip, mfa

[policy_definition]
p = sub, app, method, path, ip, mfa, eft

[role_definition]
g = _, _

[policy_effect]
e = some(where (p.eft == allow)) && !some(where (p.eft == deny))

[matchers]
m = r.app == p.app && (p.sub == "*" || g(r.sub, p.sub)) \
&& (p.method == "*" || r.method == p.method) && keyMatch(r.path, p.path) \
&& (p.ip == "*" || ipMatch(r.ip, p.ip)) && mfaOk(r.mfa, p.mfa)
"""

GROUP_PREFIX = "group:"
CasbinRequest = tuple[str, str, str, str, str, int]


@dataclass(frozen=True, slots=True)
class CasbinTenant:
    """Policy lines (``p``) and group memberships (``g``) for ``MODEL``."""

    lines: tuple[tuple[str, ...], ...]
    memberships: tuple[tuple[str, str], ...]


def render_tenant(tenant: Tenant) -> CasbinTenant:
    lines = [
        line
        for policy in tenant.policies
        for rule in policy.rules
        for line in render_rule(policy.app, rule)
    ]
    memberships = tuple(
        (user, GROUP_PREFIX + group)
        for user, groups in sorted(tenant.memberships.items())
        for group in sorted(groups)
    )
    return CasbinTenant(tuple(lines), memberships)


def render_rule(app: str, rule: Rule) -> list[tuple[str, ...]]:
    """The policy lines of one menshen rule (their union is the rule)."""
    principals = sorted(rule.users) + [GROUP_PREFIX + group for group in sorted(rule.groups)]
    methods = sorted(rule.methods) or ["*"]
    paths = ["*"]
    if not covers_every_path(rule):
        paths = sorted({_pattern(prefix) for prefix in rule.path_prefixes})
    networks = [str(network) for network in rule.source_networks] or ["*"]
    limit = mfa_limit_seconds(rule)
    mfa = "-"
    if limit is not None:
        mfa = str(limit)
    elif rule.mfa_required:
        mfa = "any"
    effect = "deny" if rule.effect is Effect.DENY else "allow"
    return [
        (who, app, method, path, network, mfa, effect)
        for who, method, path, network in itertools.product(
            principals or ["*"], methods, paths, networks
        )
    ]


def request(probe: Probe) -> CasbinRequest:
    """The probe as ``enforce`` arguments; no second factor is an MFA age of -1."""
    age = -1 if probe.mfa_age_seconds is None else probe.mfa_age_seconds
    return (probe.user, probe.app, probe.method, probe.path + "/", probe.source_ip, age)


def mfa_ok(age: int, wanted: str) -> bool:
    """``mfaOk(r.mfa, p.mfa)``: does the request's second factor meet the line's demand?"""
    if wanted == "-":
        return True
    if age < 0:
        return False
    return wanted == "any" or age <= int(wanted)


def _pattern(prefix: str) -> str:
    if "*" in prefix:
        raise ValueError(f"a '*' in a path prefix would be a keyMatch wildcard: {prefix!r}")
    return prefix_of(prefix) + "/*"
