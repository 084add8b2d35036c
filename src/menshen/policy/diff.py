"""Which (subject, resource) pairs gain or lose access between two policies (change review).

A change to access rights is reviewed before it ships (ISO/IEC 27001 A.8.32 change
management; NIST SP 800-207 §3.3). ``diff_access`` compares two compiled policies at a
finite set of probes that is enough to see every difference the rules can express:

* subjects: every user, group and client either policy names, and any signed-in person
  (a person in no group); with a directory, every directory user as well;
* resources: every app of either policy; for each, the path ``/`` (standing for every path
  no rule names) and every path prefix either policy mentions (rule paths, ``path``
  conditions, data labels); for each path, every method either policy mentions and one
  method neither does (standing for all the others).

At each probe a subject's *access* is the set of lines ``who_can`` would print for it:
"allow by conditions", "denied when", "step-up". Empty when no rule could allow, or a deny
rule always refuses. A **gain** is empty → not empty, a **loss** the reverse, a **change**
different non-empty sets (new conditions, a new deny or step-up, another MFA need).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from menshen.policy.analysis import ANYONE, Directory, SubjectRef, concerns, overrides
from menshen.policy.closures import Node
from menshen.policy.compile import CompiledApp, CompiledPolicy
from menshen.policy.conditions import MethodIn, PathUnder
from menshen.policy.model import Effect
from menshen.policy.residual import Probe, rule_residual
from menshen.policy.words import mfa_requirement, requirement

ChangeKind = Literal["gain", "loss", "change"]
STANDARD_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS")


@dataclass(frozen=True, slots=True)
class AccessChange:
    """How ``subject``'s access to ``method path`` of ``app`` changes; ``before``/``after``
    are the access lines (empty: no access)."""

    kind: ChangeKind
    subject: SubjectRef
    app: str
    path: str
    method: str
    before: tuple[str, ...]
    after: tuple[str, ...]


def access_lines(app: CompiledApp | None, ref: SubjectRef, probe: Probe) -> tuple[str, ...]:
    """The subject's access at ``probe``: sorted lines, empty for none."""
    if app is None:
        return ()
    ways: list[str] = []
    for rule in app.rules:
        if rule.effect is not Effect.ALLOW or not concerns(rule, ref):
            continue
        left = rule_residual(rule, probe, app.labels.label_of)
        if left is None:
            continue
        needs = [requirement(condition) for condition in left]
        if rule.mfa is not None:
            needs.append(mfa_requirement(rule.mfa.methods, rule.mfa.max_age))
        ways.append("allowed " + (f"with {' and '.join(needs)}" if needs else "always"))
    if not ways:
        return ()
    always, sometimes, step_ups = overrides(app, ref, probe)
    if always:
        return ()
    lines = set(ways)
    lines.update(f"denied by {deny}" for deny in sometimes)
    lines.update(f"step-up by {step_up}" for step_up in step_ups)
    return tuple(sorted(lines))


def _paths(app: CompiledApp) -> set[str]:
    found = {"/"}
    found.update(prefix for prefix, _ in app.labels.prefixes)
    for rule in app.rules:
        for part in rule.parts:
            found.update(_mentioned(part, PathUnder))
    return found


def _methods(app: CompiledApp) -> set[str]:
    found: set[str] = set()
    for rule in app.rules:
        for part in rule.parts:
            found.update(_mentioned(part, MethodIn))
    return found


def _mentioned(node: Node, kind: type[PathUnder] | type[MethodIn]) -> set[str]:
    condition = node.condition
    found: set[str] = set()
    if isinstance(condition, PathUnder) and kind is PathUnder:
        found.update(prefix.rstrip("/") or "/" for prefix in condition.prefixes)
    if isinstance(condition, MethodIn) and kind is MethodIn:
        found.update(condition.methods)
    for child in node.children:
        found |= _mentioned(child, kind)
    return found


def subjects(apps: list[CompiledApp], directory: Directory | None) -> list[SubjectRef]:
    """Every subject the rules name, any signed-in person, and the directory's users."""
    users: set[str] = set(directory or {})
    groups: set[str] = set()
    clients: set[str] = set()
    for app in apps:
        for rule in app.rules:
            users |= rule.users
            groups |= rule.groups
            clients |= rule.clients
    known = directory or {}
    found = [SubjectRef("user", name, known.get(name, frozenset())) for name in sorted(users)]
    found += [SubjectRef("group", name, frozenset({name})) for name in sorted(groups)]
    found += [SubjectRef("client", name) for name in sorted(clients)]
    found.append(ANYONE)
    return found


def diff_access(
    before: CompiledPolicy, after: CompiledPolicy, directory: Directory | None = None
) -> tuple[AccessChange, ...]:
    """Every probe where a subject's access differs, by app, path, method and subject."""
    changes: list[AccessChange] = []
    for name in sorted(set(before.apps) | set(after.apps)):
        old, new = before.apps.get(name), after.apps.get(name)
        present = [app for app in (old, new) if app is not None]
        paths: set[str] = set()
        methods: set[str] = set()
        for app in present:
            paths |= _paths(app)
            methods |= _methods(app)
        other = next((m for m in STANDARD_METHODS if m not in methods), None)
        if other is not None:
            methods.add(other)
        refs = subjects(present, directory)
        for path in sorted(paths):
            for method in sorted(methods):
                probe = Probe(name, path, method)
                for ref in refs:
                    was = access_lines(old, ref, probe)
                    now = access_lines(new, ref, probe)
                    if was == now:
                        continue
                    kind: ChangeKind = "gain" if not was else "loss" if not now else "change"
                    changes.append(AccessChange(kind, ref, name, path, method, was, now))
    return tuple(changes)
