"""An evaluation trace for administrators: every rule of the app, and why it did or did not match.

Users of OPA, Cedar and Casbin keep asking "why was I denied?" (reference notes, policy.md);
``Decision.reasons`` answers the end user without revealing other rules, and ``explain``
answers the administrator with all of them. It uses the same matching functions as
``decide`` and ends with ``decide``'s own answer, so the trace cannot disagree with it.
"""

from __future__ import annotations

from menshen.policy.compile import CompiledPolicy, CompiledRule
from menshen.policy.decide import (
    AddressKey,
    address_key,
    decide,
    identity_matches,
    method_matches,
    mfa_step_up,
    path_matches,
    source_matches,
)
from menshen.policy.model import AccessRequest, Subject


def explain(compiled: CompiledPolicy, request: AccessRequest) -> list[str]:
    """One line per rule of the request's app, then the decision. Never raises."""
    lines = [_describe_request(request)]
    try:
        lines.extend(_trace(compiled, request))
    except Exception as exc:
        lines.append(f"evaluation error while tracing: {type(exc).__name__}: {exc}")
    decision = decide(compiled, request)
    rule = f" by rule '{decision.rule}'" if decision.rule else ""
    lines.append(f"decision: {decision.effect.value}{rule}: {' '.join(decision.reasons)}")
    return lines


def _describe_request(request: AccessRequest) -> str:
    subject = request.subject
    who = "anonymous"
    if subject is not None:
        groups = ", ".join(sorted(subject.groups)) or "none"
        who = f"{subject.username} (groups: {groups})"
    mfa = "no MFA"
    if request.mfa_method is not None and request.mfa_at is not None:
        age = request.now - request.mfa_at
        mfa = f"MFA {request.mfa_method} {int(age.total_seconds())}s ago"
    return (
        f"request: tenant {request.tenant_id}, app {request.app}, {who}, "
        f"{request.method} {request.path} from {request.source_ip}, {mfa}, risk {request.risk}"
    )


def _trace(compiled: CompiledPolicy, request: AccessRequest) -> list[str]:
    if request.tenant_id != compiled.tenant_id:
        return [f"policy belongs to tenant {compiled.tenant_id}, not {request.tenant_id}"]
    app = compiled.apps.get(request.app)
    if app is None:
        return [f"no policy for app {request.app}; known apps: {', '.join(sorted(compiled.apps))}"]
    subject = request.subject
    if subject is None:
        return ["no subject: anonymous requests are denied before any rule"]
    lines: list[str] = []
    address: list[AddressKey | None] = []
    for rule in (*app.deny_rules, *app.allow_rules):
        miss = _first_miss(rule, subject, request, address)
        label = f"{rule.effect.value} rule '{rule.name}'"
        if miss is not None:
            lines.append(f"{label}: no match: {miss}")
            continue
        step_up = mfa_step_up(rule, request)
        if step_up is None:
            lines.append(f"{label}: matches")
        else:
            lines.append(f"{label}: matches, but step-up: {' '.join(step_up.reasons)}")
    if not lines:
        lines.append(f"app {app.app} has no rules")
    return lines


def _first_miss(
    rule: CompiledRule,
    subject: Subject,
    request: AccessRequest,
    address: list[AddressKey | None],
) -> str | None:
    if not identity_matches(rule, subject):
        wanted = sorted(rule.users) + [f"group {group}" for group in sorted(rule.groups)]
        return f"{subject.username} is none of: {', '.join(wanted)}"
    if not method_matches(rule, request.method):
        return f"method {request.method} not in {', '.join(sorted(rule.methods))}"
    if not path_matches(rule, request.path):
        return f"path {request.path} not under {', '.join(rule.prefix_texts)}"
    if rule.networks:
        if not address:
            try:
                address.append(address_key(request.source_ip))
            except ValueError:
                address.append(None)
        key = address[0]
        if key is None:
            return f"source {request.source_ip!r} is not an IP address"
        if not source_matches(rule, key):
            networks = ", ".join(network.text for network in rule.networks)
            return f"source {request.source_ip} not in {networks}"
    return None
