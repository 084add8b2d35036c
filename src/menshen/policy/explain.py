"""An evaluation trace for administrators: every rule of the app, and why it did or did not match.

Users of OPA, Cedar and Casbin keep asking "why was I denied?"; ``Decision.reasons``
answers the end user, ``Decision.considered`` carries the structured trace, and
``explain`` prints it for the administrator (``menshen policy explain``). It ends with
``decide``'s own answer, so the trace cannot disagree with it.
"""

from __future__ import annotations

from menshen.policy.compile import CompiledPolicy
from menshen.policy.model import AccessRequest, RuleTrace
from menshen.policy.trace import trace_app
from menshen.policy.words import mfa_actual


def explain(compiled: CompiledPolicy, request: AccessRequest) -> list[str]:
    """One line per rule of the request's app, then the decision. Never raises."""
    lines = [describe_request(request)]
    try:
        lines.extend(_trace(compiled, request))
    except Exception as exc:
        lines.append(f"evaluation error while tracing: {type(exc).__name__}: {exc}")
    decision = compiled.decide(request)
    rule = f" by rule '{decision.rule}'" if decision.rule else ""
    lines.append(f"decision: {decision.effect.value}{rule}: {' '.join(decision.reasons)}")
    return lines


def considered(compiled: CompiledPolicy, request: AccessRequest) -> tuple[RuleTrace, ...]:
    """The structured trace of every rule of the request's app (empty if there is none)."""
    app = compiled.apps.get(request.app)
    if app is None or request.tenant_id != compiled.tenant_id:
        return ()
    return trace_app(app, request)


def describe_request(request: AccessRequest) -> str:
    subject = request.subject
    who = "anonymous"
    if subject is not None:
        groups = ", ".join(sorted(subject.groups)) or "none"
        kind = "API client " if subject.kind == "client" else ""
        who = f"{kind}{subject.username} (groups: {groups})"
    mfa = "no MFA" if request.mfa_method is None or request.mfa_at is None else mfa_actual(request)
    device = "no device" if request.device is None else f"{request.device.trust} device"
    return (
        f"request: tenant {request.tenant_id}, app {request.app}, {who}, "
        f"{request.method} {request.path} from {request.source_ip}, {mfa}, {device}, "
        f"risk {request.risk:g}"
    )


def _trace(compiled: CompiledPolicy, request: AccessRequest) -> list[str]:
    if request.tenant_id != compiled.tenant_id:
        return [f"policy belongs to tenant {compiled.tenant_id}, not {request.tenant_id}"]
    app = compiled.apps.get(request.app)
    if app is None:
        return [f"no policy for app {request.app}; known apps: {', '.join(sorted(compiled.apps))}"]
    if request.subject is None:
        return ["no subject: anonymous requests are denied before any rule"]
    lines = [str(trace) for trace in trace_app(app, request)]
    return lines or [f"app {app.app} has no rules"]
