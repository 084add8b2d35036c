"""Why each rule of an app did or did not apply to a request, in words (explain data).

Built only for denials and step-ups, and only when read (``Decision.considered``), so
that allowing stays fast. Uses the very closures ``decide`` uses, part by part, so the
trace cannot disagree with the decision.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from menshen.policy.closures import Node
from menshen.policy.conditions import AllOf, AnyOf, Not, Use
from menshen.policy.model import AccessRequest, Outcome, RuleTrace
from menshen.policy.words import (
    LabelOf,
    actual,
    identity_shortfall,
    mfa_actual,
    mfa_requirement,
    requirement,
)

if TYPE_CHECKING:
    from menshen.policy.compile import CompiledApp, CompiledRule


CONSIDERED_LIMIT = 64
"""Rules for other subjects listed in a decision's trace, at most (explain lists them all)."""


def trace_app(
    app: CompiledApp, request: AccessRequest, limit: int | None = None
) -> tuple[RuleTrace, ...]:
    """The rules of ``app`` in evaluation order (deny, step-up, allow) against ``request``.

    Every rule that concerns the subject is traced; with ``limit``, only that many of the
    rules naming other subjects are (a denial page needs the nearest, not two thousand).
    """
    label_of = app.labels.label_of
    subject = request.subject
    traces: list[RuleTrace] = []
    others = 0
    for rule in app.rules:
        if limit is not None and subject is not None and not rule.identity_matches(subject):
            others += 1
            if others > limit:
                continue
        traces.append(trace_rule(rule, request, label_of))
    return tuple(traces)


def considered_for(app: CompiledApp, request: AccessRequest) -> tuple[RuleTrace, ...]:
    """The trace a decision carries: ``trace_app`` with ``CONSIDERED_LIMIT``."""
    return trace_app(app, request, CONSIDERED_LIMIT)


def trace_rule(rule: CompiledRule, request: AccessRequest, label_of: LabelOf) -> RuleTrace:
    subject = request.subject
    failed: str | None = None
    outcome = Outcome.NOT_MATCHED
    try:
        if subject is None:
            failed = "requires a signed-in subject; you are not signed in"
        elif not rule.identity_matches(subject):
            failed = identity_shortfall(rule.users, rule.groups, rule.clients, subject)
        else:
            for part in rule.parts:
                if not part.check(request):
                    failed = why_not(part, request, label_of)
                    break
            else:
                outcome = Outcome.MATCHED
                if rule.mfa is not None and rule.mfa.unmet(request):
                    outcome = Outcome.NEEDS_STEP_UP
                    wanted = mfa_requirement(rule.mfa.methods, rule.mfa.max_age)
                    failed = f"requires {wanted}; {mfa_actual(request)}"
    except Exception as exc:
        failed = f"evaluation error: {exc}"
        outcome = Outcome.NOT_MATCHED
    return RuleTrace(
        rule=rule.name,
        rule_id=rule.rule_id,
        effect=rule.effect,
        outcome=outcome,
        failed=failed,
        description=rule.description,
        owner=rule.owner,
    )


def why_not(node: Node, request: AccessRequest, label_of: LabelOf) -> str:
    """The failing condition under ``node`` in words: 'requires …; you …'."""
    condition = node.condition
    if isinstance(condition, AllOf):
        for child in node.children:
            if not child.check(request):
                return why_not(child, request, label_of)
    if isinstance(condition, Use):
        return f"{condition.name}: {why_not(node.children[0], request, label_of)}"
    if isinstance(condition, AnyOf):
        reasons = [why_not(child, request, label_of) for child in node.children]
        return "requires one of these, and none holds: " + " | ".join(reasons)
    if isinstance(condition, Not):
        inner = node.children[0].condition
        return f"requires not {requirement(inner)}; {actual(inner, request, label_of)}"
    return f"requires {requirement(condition)}; {actual(condition, request, label_of)}"
