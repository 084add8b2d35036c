"""The benchmark tenant's policy in Cedar (https://docs.cedarpolicy.com), for ``cedarpy``.

Mapping, rule by rule (menshen semantics: ``menshen.policy.decide``):

* allow / deny -> ``permit`` / ``forbid`` (Cedar's forbid overrides permit, as menshen's
  deny rules win; no matching permit is Cedar's default deny, as menshen's);
* app -> ``resource == App::"<app>"``; methods -> ``action in [Action::"GET", ...]``;
* users and groups -> ``principal in [User::"u", Group::"g"]`` (users are children of their
  groups in the entity store; ``in`` is reflexive, so a named user matches itself); no
  users and no groups -> ``principal is User`` (any signed-in user);
* path prefix ``/a`` -> ``context.path == "/a" || context.path like "/a/*"`` (segment-wise,
  as menshen: ``/a``, ``/a/`` and ``/a/x``, never ``/ab``);
* source networks -> ``context.ip.isInRange(ip("10.10.0.0/16"))`` (the ipaddr extension);
* MFA -> ``context.mfa`` and ``context.mfa_age <= <seconds>``. Cedar has no step-up
  effect: a permit whose MFA condition fails does not apply, so the request is denied;
  menshen's ``step_up`` is compared as "not allowed".

Rule ids become ``@id("<app>/<rule>")`` annotations, so a Cedar answer names the rule.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from bench.policy_tenant import Probe, Tenant, covers_every_path, mfa_limit_seconds, prefix_of
from menshen.policy import Effect, Rule


@dataclass(frozen=True, slots=True)
class CedarTenant:
    """Cedar policy text (one policy per menshen rule) and the entity store as JSON."""

    policies: str
    entities: str
    policy_count: int


def render_tenant(tenant: Tenant) -> CedarTenant:
    texts = [render_rule(policy.app, rule) for policy in tenant.policies for rule in policy.rules]
    return CedarTenant("\n".join(texts), json.dumps(entities(tenant)), len(texts))


def render_rule(app: str, rule: Rule) -> str:
    """One Cedar policy equivalent to one menshen rule."""
    verb = "forbid" if rule.effect is Effect.DENY else "permit"
    action = "action"
    if rule.methods:
        listed = ", ".join(_uid("Action", method) for method in sorted(rule.methods))
        action = f"action in [{listed}]"
    principal = "principal is User"
    conditions = []
    if rule.users or rule.groups:
        named = [_uid("User", user) for user in sorted(rule.users)]
        named += [_uid("Group", group) for group in sorted(rule.groups)]
        conditions.append(f"principal in [{', '.join(named)}]")
    if not covers_every_path(rule):
        paths = []
        for prefix in rule.path_prefixes:
            exact = prefix_of(prefix)
            paths.append(f"context.path == {_string(exact)}")
            paths.append(f"context.path like {_pattern(exact)}")
        conditions.append(_any(paths))
    if rule.source_networks:
        ranges = [f"context.ip.isInRange(ip({_string(str(net))}))" for net in rule.source_networks]
        conditions.append(_any(ranges))
    if rule.mfa_required or rule.mfa_max_age is not None:
        conditions.append("context.mfa")
        limit = mfa_limit_seconds(rule)
        if limit is not None:
            conditions.append(f"context.mfa_age <= {limit}")
    when = f"\nwhen {{ {' && '.join(conditions)} }}" if conditions else ""
    return (
        f"@id({_string(f'{app}/{rule.name}')})\n"
        f"{verb} ({principal}, {action}, resource == {_uid('App', app)}){when};"
    )


def entities(tenant: Tenant) -> list[dict[str, Any]]:
    """Users (children of their groups), groups and apps, in Cedar's entity JSON."""
    found: list[dict[str, Any]] = [
        {
            "uid": {"type": "User", "id": user},
            "attrs": {},
            "parents": [{"type": "Group", "id": group} for group in sorted(groups)],
        }
        for user, groups in sorted(tenant.memberships.items())
    ]
    found += [
        {"uid": {"type": "Group", "id": g}, "attrs": {}, "parents": []} for g in tenant.groups
    ]
    apps = (*tenant.apps, tenant.unlisted_app)
    found += [{"uid": {"type": "App", "id": app}, "attrs": {}, "parents": []} for app in apps]
    return found


def request(probe: Probe) -> dict[str, Any]:
    """The probe as a cedarpy request: principal, action (the method), resource (the app)."""
    return {
        "principal": _uid("User", probe.user),
        "action": _uid("Action", probe.method),
        "resource": _uid("App", probe.app),
        "context": {
            "path": probe.path,
            "ip": {"__extn": {"fn": "ip", "arg": probe.source_ip}},
            "mfa": probe.mfa_age_seconds is not None,
            "mfa_age": -1 if probe.mfa_age_seconds is None else probe.mfa_age_seconds,
        },
    }


def _any(alternatives: list[str]) -> str:
    return alternatives[0] if len(alternatives) == 1 else f"({' || '.join(alternatives)})"


def _uid(kind: str, name: str) -> str:
    return f"{kind}::{_string(name)}"


def _string(text: str) -> str:
    """A Cedar string literal; the generator only makes printable ASCII names and paths."""
    if not text.isascii() or not text.isprintable():
        raise ValueError(f"not a plain ASCII literal: {text!r}")
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _pattern(prefix: str) -> str:
    """The ``like`` pattern of everything under ``prefix``; ``*`` is its only wildcard."""
    if "*" in prefix:
        raise ValueError(f"a '*' in a path prefix would be a Cedar wildcard: {prefix!r}")
    return _string(prefix.rstrip("/") + "/*")
