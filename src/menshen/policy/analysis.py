"""Who can reach an app, and on what conditions (NIST SP 800-207 §3.3; ISO 27001 A.5.18).

``who_can`` answers the auditor's question "who can reach the settlement database, and
why": for every allow rule that could apply to a (partly known) request, the subjects it
names, the conditions still to meet, any step-up asked on top, and the deny rules that
would override it for them. It reads the compiled policy, so the answer follows the same
semantics as ``decide`` (deny first; any-identity allow rules are for people only).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from menshen.policy.compile import CompiledApp, CompiledPolicy, CompiledRule
from menshen.policy.conditions import Condition
from menshen.policy.model import Effect
from menshen.policy.residual import Probe, rule_residual
from menshen.policy.words import mfa_requirement, requirement

RefKind = Literal["user", "group", "client", "anyone"]
Directory = Mapping[str, frozenset[str]]
"""User name → the groups the user is in."""

ANYONE_TEXT = "any signed-in person"


@dataclass(frozen=True, slots=True, order=True)
class SubjectRef:
    """A subject as analysis sees it: a user (with groups), a hypothetical member of one
    group, a machine client, or any signed-in person (in no particular group)."""

    kind: RefKind
    name: str = ""
    groups: frozenset[str] = frozenset()

    def __str__(self) -> str:
        return ANYONE_TEXT if self.kind == "anyone" else f"{self.kind} {self.name}"


ANYONE = SubjectRef("anyone")


def concerns(rule: CompiledRule, ref: SubjectRef) -> bool:
    """Whether ``rule``'s identity condition holds for ``ref`` (as ``identity_matches``)."""
    if rule.any_identity:
        return ref.kind != "client" or rule.effect is not Effect.ALLOW
    if ref.kind == "user":
        return ref.name in rule.users or not rule.groups.isdisjoint(ref.groups)
    if ref.kind == "group":
        return ref.name in rule.groups
    if ref.kind == "client":
        return ref.name in rule.clients
    return False


@dataclass(frozen=True, slots=True)
class Access:
    """One way ``subject`` could be allowed: by ``rule``, once ``conditions`` hold.

    ``denied_by`` names deny rules that refuse the subject at this resource whatever the
    conditions (the access is then only on paper); ``denied_when`` are deny rules that
    refuse under further conditions; ``step_ups`` ask for more MFA on top. ``via`` says
    how a directory user got here ("group finance-ops").
    """

    subject: SubjectRef
    rule: str
    rule_id: str
    conditions: tuple[str, ...]
    denied_by: tuple[str, ...] = ()
    denied_when: tuple[str, ...] = ()
    step_ups: tuple[str, ...] = ()
    via: str = ""

    @property
    def blocked(self) -> bool:
        return bool(self.denied_by)


def conditions_text(rule: CompiledRule, left: tuple[Condition, ...]) -> tuple[str, ...]:
    """The residual conditions of ``rule`` in words, then its MFA need."""
    words = [requirement(condition) for condition in left]
    if rule.mfa is not None:
        words.append(mfa_requirement(rule.mfa.methods, rule.mfa.max_age))
    return tuple(words)


def _when(rule: CompiledRule, left: tuple[Condition, ...]) -> str:
    said = " and ".join(requirement(condition) for condition in left)
    return f"'{rule.name}' when {said}" if said else f"'{rule.name}'"


def overrides(
    app: CompiledApp, ref: SubjectRef, probe: Probe
) -> tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]:
    """(deny rules that always apply, deny rules under conditions, step-up rules) for ``ref``."""
    always: list[str] = []
    sometimes: list[str] = []
    step_ups: list[str] = []
    for rule in app.rules:
        if rule.effect is Effect.ALLOW or not concerns(rule, ref):
            continue
        left = rule_residual(rule, probe, app.labels.label_of)
        if left is None:
            continue
        if rule.effect is Effect.DENY:
            (sometimes if left else always).append(_when(rule, left))
        elif rule.mfa is not None:
            wanted = mfa_requirement(rule.mfa.methods, rule.mfa.max_age)
            step_ups.append(f"{_when(rule, left)}: {wanted}")
    return tuple(always), tuple(sometimes), tuple(step_ups)


def refs_of(rule: CompiledRule, directory: Directory | None) -> list[tuple[SubjectRef, str]]:
    """The subjects an allow rule names, with directory users expanded from its groups."""
    if rule.any_identity:
        return [(ANYONE, "")]
    found: list[tuple[SubjectRef, str]] = []
    users = directory or {}
    for name in sorted(rule.users):
        found.append((SubjectRef("user", name, users.get(name, frozenset())), ""))
    for group in sorted(rule.groups):
        found.append((SubjectRef("group", group, frozenset({group})), ""))
    for client in sorted(rule.clients):
        found.append((SubjectRef("client", client), ""))
    named = set(rule.users)
    for group in sorted(rule.groups):
        for user, groups in sorted(users.items()):
            if group in groups and user not in named:
                named.add(user)
                found.append((SubjectRef("user", user, groups), f"group {group}"))
    return found


def who_can(
    compiled: CompiledPolicy, probe: Probe, directory: Directory | None = None
) -> tuple[Access, ...]:
    """Every way some subject could be allowed at ``probe``, in rule order.

    An app without a policy gives nothing (default deny). With ``directory``, the members
    of each group a rule names are listed too, each with the deny rules their *other*
    groups bring.
    """
    app = compiled.apps.get(probe.app)
    if app is None:
        return ()
    found: list[Access] = []
    for rule in app.rules:
        if rule.effect is not Effect.ALLOW:
            continue
        left = rule_residual(rule, probe, app.labels.label_of)
        if left is None:
            continue
        for ref, via in refs_of(rule, directory):
            always, sometimes, step_ups = overrides(app, ref, probe)
            found.append(
                Access(
                    subject=ref,
                    rule=rule.name,
                    rule_id=rule.rule_id,
                    conditions=conditions_text(rule, left),
                    denied_by=always,
                    denied_when=sometimes,
                    step_ups=step_ups,
                    via=via,
                )
            )
    return tuple(found)
