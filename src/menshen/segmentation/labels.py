"""Label groups and selectors: which assets a zone or a rule means.

A workload is described by labels (role, application, environment, location — the Illumio
model) and chosen by selectors, as Kubernetes chooses pods (``matchLabels`` and
``matchExpressions`` with ``In``). A label group names a set of values of one key and may
include other groups of the same key; includes must form no cycle, so every group expands
to a finite set of values in one pass (a depth-first search that reports the cycle's path).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from menshen.inventory.fields import check_id, check_label_key, check_label_value, check_text
from menshen.inventory.problems import Origin, Problem, problem


@dataclass(frozen=True, slots=True)
class LabelGroup:
    """A named set of values of one label key (``env: [prod, dr]``), with included groups."""

    name: str
    key: str
    values: tuple[str, ...] = ()
    include: tuple[str, ...] = ()
    description: str = ""
    origin: Origin | None = field(default=None, compare=False, repr=False)

    def __post_init__(self) -> None:
        check_id(self.name, "label group name")
        check_label_key(self.key)
        values = {check_label_value(value) for value in self.values}
        object.__setattr__(self, "values", tuple(sorted(values)))
        include = {check_id(name, "label group name") for name in self.include}
        object.__setattr__(self, "include", tuple(sorted(include)))
        check_text(self.description, "description")
        if not self.values and not self.include:
            raise ValueError(f"label group {self.name!r} has no values and includes no group")


@dataclass(frozen=True, slots=True)
class Selector:
    """Assets whose labels match every term: ``labels`` (key → allowed values) and ``groups``.

    ``{labels: {role: [db]}, groups: [prod-envs]}`` selects assets with role ``db`` whose
    value for the key of ``prod-envs`` is one of that group's values. An empty selector is
    refused: "every asset" must be said with a zone of CIDRs, on purpose.
    """

    labels: tuple[tuple[str, tuple[str, ...]], ...] = ()
    groups: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        terms: dict[str, set[str]] = {}
        for key, values in self.labels:
            if not values:
                raise ValueError(f"selector key {key!r} lists no value")
            terms.setdefault(check_label_key(key), set()).update(
                check_label_value(value) for value in values
            )
        canonical = tuple((key, tuple(sorted(values))) for key, values in sorted(terms.items()))
        object.__setattr__(self, "labels", canonical)
        groups = {check_id(name, "label group name") for name in self.groups}
        object.__setattr__(self, "groups", tuple(sorted(groups)))
        if not self.labels and not self.groups:
            raise ValueError("a selector needs at least one label or label group")

    @classmethod
    def of(cls, labels: Mapping[str, str | tuple[str, ...]], *groups: str) -> Selector:
        """``Selector.of({"role": "db", "env": ("prod", "dr")}, "group")``."""
        terms = tuple(
            (key, (value,) if isinstance(value, str) else tuple(value))
            for key, value in labels.items()
        )
        return cls(terms, groups)

    def matches(self, labels: Mapping[str, str], groups: Mapping[str, Expanded]) -> bool:
        """True when ``labels`` satisfy every term (groups as expanded by ``expand``)."""
        for key, values in self.labels:
            if labels.get(key) not in values:
                return False
        for name in self.groups:
            group_key, members = groups[name]
            if labels.get(group_key) not in members:
                return False
        return True

    def __str__(self) -> str:
        parts = [
            f"{key}={values[0]}" if len(values) == 1 else f"{key} in ({','.join(values)})"
            for key, values in self.labels
        ]
        parts += [f"group:{name}" for name in self.groups]
        return "{" + ", ".join(parts) + "}"


MAX_DEPTH = 32
"""How deep label groups may include each other."""
Expanded = tuple[str, frozenset[str]]
"""A label group expanded: its key and every value it includes, directly or not."""


def expand(groups: Mapping[str, LabelGroup], problems: list[Problem]) -> dict[str, Expanded]:
    """Every group expanded; unknown includes, key mismatches and cycles become problems.

    Groups in a cycle (or including an unknown group) are left out of the result.
    """
    done: dict[str, Expanded] = {}
    broken: set[str] = set()

    def visit(name: str, path: tuple[str, ...]) -> Expanded | None:
        if name in done:
            return done[name]
        if name in broken:
            return None
        group = groups[name]
        values = set(group.values)
        ok = True
        if len(path) >= MAX_DEPTH:
            problems.append(
                problem(f"label groups nest deeper than {MAX_DEPTH}", group.origin, "include")
            )
            broken.add(name)
            return None
        for included in group.include:
            if included in path or included == name:
                start = path.index(included) if included in path else len(path)
                cycle = " → ".join([*path[start:], name, included])
                problems.append(
                    problem(f"label groups form a cycle: {cycle}", group.origin, "include")
                )
                ok = False
                continue
            other = groups.get(included)
            if other is None:
                problems.append(
                    problem(
                        f"label group {name!r} includes unknown group {included!r}",
                        group.origin,
                        "include",
                    )
                )
                ok = False
                continue
            if other.key != group.key:
                problems.append(
                    problem(
                        f"label group {name!r} (key {group.key!r}) includes {included!r}, "
                        f"whose key is {other.key!r}",
                        group.origin,
                        "include",
                    )
                )
                ok = False
                continue
            inner = visit(included, (*path, name))
            if inner is None:
                ok = False
                continue
            values |= inner[1]
        if not ok:
            broken.add(name)
            return None
        done[name] = (group.key, frozenset(values))
        return done[name]

    for name in sorted(groups):
        visit(name, ())
    return done
