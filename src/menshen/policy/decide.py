"""The decision: allow, deny or step up, with reasons (NIST SP 800-207 §3.3, the policy engine).

Semantics (docs/policy.md explains them for policy authors):

1. **Default deny.** A request of another tenant, an anonymous request (no subject), an app
   without any policy, and a request no rule allows are all denied, each with a reason.
2. **Deny rules win.** Deny rules are evaluated first; the first one that matches denies
   and is named in the decision (Cedar's "forbid overrides permit", reference notes, policy.md).
3. **Matching.** A rule matches when all of these hold:
   identity — the username is in ``users`` or one of the subject's groups is in ``groups``
   (both empty: any signed-in user); method — in ``methods`` (empty: any; methods are
   case-sensitive, RFC 9110 §9.1); path — under one of ``path_prefixes`` *segment-wise*
   (``/admin`` covers ``/admin``, ``/admin/`` and ``/admin/x``, never ``/administrator``;
   ``/`` covers every path; empty: any); source — the client address is in one of
   ``source_networks`` (empty: any; IPv4-mapped IPv6 addresses count as IPv4).
4. **Step-up.** An allow rule that matches but whose MFA condition is not met (no second
   factor in this session, or one older than ``mfa_max_age``) does not allow; if no other
   allow rule allows, the answer is ``step_up`` naming the first such rule, so the gateway
   can ask for a fresh second factor instead of refusing.
5. **Fail closed.** Any exception while deciding is a denial with reason "evaluation
   error"; ``decide`` never raises. An unparsable client address is such an error as soon
   as a rule needs it.

Reasons are sentences the end user may see on the "why was I denied" page: they name the
deciding rule and the user's own request, never the content of other rules.
"""

from __future__ import annotations

import ipaddress
from typing import TYPE_CHECKING, Final

from menshen.policy.model import AccessRequest, Decision, Effect, Subject

if TYPE_CHECKING:
    from menshen.policy.compile import CompiledPolicy, CompiledRule

AddressKey = tuple[int, int]
"""An IP address as (version, integer value); IPv4-mapped IPv6 addresses count as IPv4."""

EVALUATION_ERROR: Final = "Access could not be evaluated (evaluation error), so it is denied."


def decide(compiled: CompiledPolicy, request: AccessRequest) -> Decision:
    """Decide one request against a tenant's compiled policy. Never raises."""
    try:
        return _decide(compiled, request)
    except Exception:
        return Decision(Effect.DENY, None, (EVALUATION_ERROR,))


def address_key(text: str) -> AddressKey:
    """Parse an IP address; ``ValueError`` if it is not one."""
    address = ipaddress.ip_address(text)
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        # ::ffff:10.0.0.1 is 10.0.0.1 on a dual-stack socket; a deny rule must see it so.
        return (4, int(address.ipv4_mapped))
    return (address.version, int(address))


def identity_matches(rule: CompiledRule, subject: Subject) -> bool:
    return (
        rule.any_identity
        or subject.username in rule.users
        or not rule.groups.isdisjoint(subject.groups)
    )


def method_matches(rule: CompiledRule, method: str) -> bool:
    return not rule.methods or method in rule.methods


def path_matches(rule: CompiledRule, path: str) -> bool:
    return rule.any_path or path in rule.exact_paths or path.startswith(rule.path_starts)


def source_matches(rule: CompiledRule, address: AddressKey) -> bool:
    return any(network.contains(address) for network in rule.networks)


def mfa_step_up(rule: CompiledRule, request: AccessRequest) -> Decision | None:
    """The step-up answer if the request's second factor does not satisfy ``rule``, else None.

    A session without both an MFA method and an MFA time has no second factor; an MFA time
    in the future (clock skew between replicas) counts as fresh.
    """
    if not rule.needs_mfa:
        return None
    if request.mfa_method is None or request.mfa_at is None:
        return rule.step_up_no_mfa
    max_age = rule.mfa_max_age
    if max_age is not None and request.now - request.mfa_at > max_age:
        return rule.step_up_stale_mfa
    return None


def deny_reason(app: str, rule: str) -> str:
    return f"Rule '{rule}' of app '{app}' denies this request."


def step_up_reason(app: str, rule: str, shortfall: str) -> str:
    return f"{shortfall}: rule '{rule}' of app '{app}' asks for a fresh second factor."


def _decide(compiled: CompiledPolicy, request: AccessRequest) -> Decision:
    if request.tenant_id != compiled.tenant_id:
        return _deny(None, "This request was checked against another organisation's policy.")
    subject = request.subject
    if subject is None:
        return _deny(None, "You are not signed in.")
    app = compiled.apps.get(request.app)
    if app is None:
        return _deny(None, f"No access policy is defined for app '{request.app}'.")
    method = request.method
    path = request.path
    address: AddressKey | None = None
    identity_seen = False
    step_up: Decision | None = None
    # Candidates already meet the identity condition; deny rules come first.
    for rule in app.candidates(subject.username, subject.groups):
        is_allow = rule.effect is Effect.ALLOW
        identity_seen = identity_seen or is_allow
        if not (method_matches(rule, method) and path_matches(rule, path)):
            continue
        if rule.networks:
            if address is None:
                address = address_key(request.source_ip)
            if not source_matches(rule, address):
                continue
        if not is_allow:
            return rule.verdict
        wanted = mfa_step_up(rule, request)
        if wanted is None:
            return rule.verdict
        if step_up is None:
            step_up = wanted

    if step_up is not None:
        return step_up
    if identity_seen:
        return _deny(
            None,
            f"No rule of app '{app.app}' allows {subject.username} to {method} {path} "
            f"from {request.source_ip}.",
        )
    return _deny(
        None,
        f"No rule of app '{app.app}' allows {subject.username}, by user name or by group "
        "membership.",
    )


def _deny(rule: str | None, reason: str) -> Decision:
    return Decision(Effect.DENY, rule, (reason,))
