"""Partial evaluation of compiled rules: what is left of a rule once part of a request is known.

Analysis (``who-can``, ``diff``, ``lint``) asks about requests that are only partly
known: an app, perhaps a path and a method, but no address, clock, device or risk. Each
condition is evaluated three-valued (holds, fails, or unknown); what stays unknown is the
*residual*, the conditions still to meet (NIST SP 800-207 §3.3: the attributes the policy
engine would still have to check at request time). Named blocks are read through their
compiled nodes, so the residual is stated in the block's own conditions.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from menshen.policy.closures import Node
from menshen.policy.conditions import (
    AllOf,
    AnyOf,
    Condition,
    DataIs,
    MethodIn,
    Not,
    PathUnder,
    Use,
)
from menshen.policy.model import DataLabel

if TYPE_CHECKING:
    from menshen.policy.compile import CompiledRule

Residual = Condition | bool
"""True: holds whatever else the request carries; False: never holds; else what remains."""

LabelOf = Callable[[str], DataLabel]


@dataclass(frozen=True, slots=True)
class Probe:
    """The known part of a request: an app, and perhaps a canonical path and a method."""

    app: str
    path: str | None = None
    method: str | None = None


def under(path: str, prefix: str) -> bool:
    """Segment-wise prefix test, as the compiled ``PathUnder`` closure does it."""
    prefix = prefix.rstrip("/") or "/"
    return prefix == "/" or path == prefix or path.startswith(prefix + "/")


def residual(node: Node, probe: Probe, label_of: LabelOf) -> Residual:
    """Evaluate ``node`` as far as ``probe`` allows."""
    condition = node.condition
    if isinstance(condition, AllOf):
        return _all([residual(child, probe, label_of) for child in node.children])
    if isinstance(condition, AnyOf):
        return _any([residual(child, probe, label_of) for child in node.children])
    if isinstance(condition, Not):
        inner = residual(node.children[0], probe, label_of)
        return (not inner) if isinstance(inner, bool) else Not(inner)
    if isinstance(condition, Use):
        return residual(node.children[0], probe, label_of)
    if isinstance(condition, MethodIn) and probe.method is not None:
        return probe.method in condition.methods
    if isinstance(condition, PathUnder) and probe.path is not None:
        path = probe.path
        return any(under(path, prefix) for prefix in condition.prefixes)
    if isinstance(condition, DataIs) and probe.path is not None:
        label = label_of(probe.path)
        return (not condition.sensitivity or label.sensitivity in condition.sensitivity) and (
            not condition.tags or not condition.tags.isdisjoint(label.tags)
        )
    return condition


def _all(parts: list[Residual]) -> Residual:
    if any(part is False for part in parts):
        return False
    left = [part for part in parts if not isinstance(part, bool)]
    if not left:
        return True
    return left[0] if len(left) == 1 else AllOf(tuple(left))


def _any(parts: list[Residual]) -> Residual:
    if any(part is True for part in parts):
        return True
    left = [part for part in parts if not isinstance(part, bool)]
    if not left:
        return False
    return left[0] if len(left) == 1 else AnyOf(tuple(left))


def rule_residual(
    rule: CompiledRule, probe: Probe, label_of: LabelOf
) -> tuple[Condition, ...] | None:
    """The conditions ``rule`` still needs at ``probe`` (a conjunction; empty: none), or
    None when it cannot match there. The rule's MFA need is not a condition (see ``mfa``)."""
    found: list[Condition] = []
    for part in rule.parts:
        left = residual(part, probe, label_of)
        if left is False:
            return None
        if left is True:
            continue
        found.extend(left.items if isinstance(left, AllOf) else (left,))
    return tuple(found)


def leaves(node: Node) -> list[Condition]:
    """The conjunction under ``node``: ``AllOf`` and named blocks opened, other nodes kept whole."""
    condition = node.condition
    if isinstance(condition, AllOf | Use):
        return [leaf for child in node.children for leaf in leaves(child)]
    return [condition]


def rule_leaves(rule: CompiledRule) -> list[Condition]:
    """Every condition of ``rule``'s conjunction (methods, paths, networks, scopes, ``when``)."""
    return [leaf for part in rule.parts for leaf in leaves(part)]
