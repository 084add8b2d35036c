"""The decision: allow, deny or step up, with reasons (NIST SP 800-207 §3.3, the policy engine).

Semantics (docs/policy.md explains them for policy authors):

1. **Default deny.** A request of another tenant, an anonymous request (no subject), an app
   without any policy, and a request no rule allows are all denied, each with a reason.
2. **Deny rules win.** Deny rules are evaluated first; the first one that matches denies
   and is named in the decision (Cedar's "forbid overrides permit").
3. **Matching.** A rule matches when the subject is one it names (users, groups, API
   clients; none named: any person, or for deny and step-up rules any subject) and every
   condition it states holds (method, path, source, scopes, ``when``).
4. **Allow or step up.** The first matching allow rule whose MFA need is met allows. A
   matching allow rule whose MFA need is not met makes the answer ``step_up`` if no other
   allow rule allows. A matching **step-up rule** whose MFA need is not met turns an
   allow into ``step_up``; it never turns a denial into one.
5. **Fail closed.** Any exception while deciding is a denial with reason "evaluation
   error"; ``decide`` never raises.

Reasons are sentences the end user may see on the "why was I denied" page: they name the
deciding rule and the user's own request; ``Decision.considered`` holds every rule's
trace with its first unmet condition in words, computed only when read.
"""

from __future__ import annotations

from datetime import timedelta
from functools import partial
from typing import TYPE_CHECKING, Final

from menshen.policy.duration import format_duration
from menshen.policy.model import AccessRequest, Decision, Effect
from menshen.policy.trace import considered_for
from menshen.policy.words import mfa_actual, mfa_requirement

if TYPE_CHECKING:
    from menshen.policy.compile import CompiledApp, CompiledPolicy, CompiledRule

EVALUATION_ERROR: Final = "Access could not be evaluated (evaluation error), so it is denied."


def decide(compiled: CompiledPolicy, request: AccessRequest) -> Decision:
    """Decide one request against a tenant's compiled policy. Never raises."""
    try:
        return _decide(compiled, request)
    except Exception:
        return Decision(Effect.DENY, None, (EVALUATION_ERROR,))


def _decide(compiled: CompiledPolicy, request: AccessRequest) -> Decision:
    if request.tenant_id != compiled.tenant_id:
        return _deny("This request was checked against another organisation's policy.")
    subject = request.subject
    if subject is None:
        return _deny("You are not signed in.")
    app = compiled.apps.get(request.app)
    if app is None:
        return _deny(f"No access policy is defined for app '{request.app}'.")
    denies, step_ups, allows = app.candidates(subject)
    for rule in denies:
        if rule.match(request):
            verdict = rule.verdict
            trace = partial(considered_for, app, request)
            return Decision(verdict.effect, verdict.rule, verdict.reasons, verdict.rule_id, trace)
    allowed: CompiledRule | None = None
    wanting: CompiledRule | None = None
    for rule in allows:
        if rule.match(request):
            mfa = rule.mfa
            if mfa is None or not mfa.unmet(request):
                allowed = rule
                break
            if wanting is None:
                wanting = rule
    if allowed is None and wanting is None:
        return _default_deny(app, request, allows)
    for rule in step_ups:
        mfa = rule.mfa
        if mfa is not None and rule.match(request) and mfa.unmet(request):
            return _step_up(app, rule, request)
    if allowed is not None:
        return allowed.verdict
    assert wanting is not None
    return _step_up(app, wanting, request)


def _step_up(app: CompiledApp, rule: CompiledRule, request: AccessRequest) -> Decision:
    mfa = rule.mfa
    assert mfa is not None
    if mfa.methods:
        wanted = mfa_requirement(mfa.methods, mfa.max_age)
        shortfall = f"Requires {wanted}; {mfa_actual(request)}"
    elif request.mfa_method is None or request.mfa_at is None:
        shortfall = "MFA required"
    else:
        shortfall = f"MFA older than {format_duration(mfa.max_age or timedelta(0))}"
    return Decision(
        Effect.STEP_UP,
        rule.name,
        (step_up_reason(app.app, rule.name, shortfall),),
        rule.rule_id,
        partial(considered_for, app, request),
    )


def _default_deny(
    app: CompiledApp, request: AccessRequest, allows: tuple[CompiledRule, ...]
) -> Decision:
    """No rule allows. The per-rule shortfalls are in ``considered``, built when read."""
    subject = request.subject
    assert subject is not None
    if allows:
        reason = (
            f"No rule of app '{app.app}' allows {subject.username} to {request.method} "
            f"{request.path} from {request.source_ip}."
        )
    else:
        reason = (
            f"No rule of app '{app.app}' allows {subject.username}, by user name or by group "
            "membership."
        )
    return Decision(Effect.DENY, None, (reason,), None, partial(considered_for, app, request))


def step_up_reason(app: str, rule: str, shortfall: str) -> str:
    return f"{shortfall}: rule '{rule}' of app '{app}' asks for a fresh second factor."


def _deny(reason: str) -> Decision:
    return Decision(Effect.DENY, None, (reason,))
