"""Turn one parsed catalog document into model values, collecting every problem (pure).

A framework document (``<framework id>.yaml``) declares its stages, groups and facets and
lists its controls; a mapping document (``mappings.yaml``) lists mappings between controls of
different frameworks. Every structural rule is checked here and reported as a
``CatalogProblem`` naming the file, the control (or part) and what is wrong; cross-file rules
(mapping endpoints, duplicate frameworks) are checked by ``menshen.compliance.catalog``.
"""

from __future__ import annotations

import difflib
import re
from collections import Counter
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from typing import Literal, cast

from menshen.compliance.model import (
    Bilingual,
    Combine,
    Control,
    Framework,
    GroupDef,
    Mapping_,
    StageDef,
)

__all__ = [
    "PROFILE_FLAGS",
    "RELATIONS",
    "CatalogProblem",
    "Problems",
    "framework_of",
    "mappings_of",
]

PROFILE_FLAGS = frozenset({"card_data", "e_payment", "critical_infrastructure", "machine_clients"})
"""The firm-profile flags a control may depend on (``FirmProfile``)."""

RELATIONS = ("equivalent", "subset", "related")
KINDS = ("staged", "checklist")
COMBINES = ("all", "any")

_FRAMEWORK_ID = re.compile(r"[a-z0-9][a-z0-9-]{0,39}")
_LOCAL_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.()-]{0,79}")

# Folded YAML lines join with a space; Chinese text takes none next to full-width
# punctuation or between two ideographs.
_WIDE_PUNCT = "\u3000-\u303f\uff00-\uffef"
_IDEOGRAPH = "\u3400-\u4dbf\u4e00-\u9fff"
_SPACE_BY_PUNCT = re.compile(rf"(?<=[{_WIDE_PUNCT}]) | (?=[{_WIDE_PUNCT}])")
_SPACE_IN_HAN = re.compile(rf"(?<=[{_IDEOGRAPH}]) (?=[{_IDEOGRAPH}])")

_FRAMEWORK_KEYS = {"id", "title", "publisher", "version", "kind", "binding", "groups", "controls"}
_FRAMEWORK_OPTIONAL = {"stages", "facets", "note", "applies_if"}
_CONTROL_KEYS = {"id", "group", "title", "summary"}
_CONTROL_OPTIONAL = {"checks", "combine", "stage", "facets", "applies_if"}
_DEF_KEYS = {"id", "title"}
_MAPPING_KEYS = {"source", "target", "relation"}


@dataclass(frozen=True, slots=True)
class CatalogProblem:
    """One thing wrong in a catalog file: where (file, then control or part) and what."""

    file: str
    where: str
    message: str

    def __str__(self) -> str:
        return f"{self.file}: {self.where}: {self.message}"


@dataclass(slots=True)
class Problems:
    """The problems found in one file so far."""

    file: str
    items: list[CatalogProblem] = field(default_factory=list)

    def add(self, where: str, message: str) -> None:
        self.items.append(CatalogProblem(self.file, where, message))


def _show(value: object) -> str:
    """A short, safe rendering of a value from a file (never the repr of a whole tree)."""
    if value is None or isinstance(value, str | int | float | bool):
        text = repr(value)
        return text if len(text) <= 60 else text[:57] + "..."
    return f"a {type(value).__name__}"


def _keys(node: object, where: str, required: set[str], optional: set[str], out: Problems) -> bool:
    """Whether ``node`` is a mapping; missing and unknown keys are reported."""
    if not isinstance(node, dict):
        out.add(where, f"expected a mapping, got {type(node).__name__}")
        return False
    for key in sorted(required - node.keys()):
        out.add(where, f"missing key {key!r}")
    unknown = [str(key) for key in node if key not in required | optional]
    for key in sorted(unknown):
        allowed = ", ".join(sorted(required | optional))
        out.add(where, f"unknown key {_show(key)} (allowed: {allowed})")
    return True


def _text(node: Mapping[str, object], key: str, where: str, out: Problems) -> str:
    value = node.get(key)
    if not isinstance(value, str) or not value.strip():
        if key in node:
            out.add(where, f"{key} must be a non-empty string (quote numbers)")
        return ""
    return value.strip()


def _squash(text: str) -> str:
    """``text`` on one line: runs of white space become one space, none inside Chinese."""
    one_line = " ".join(text.split())
    return _SPACE_IN_HAN.sub("", _SPACE_BY_PUNCT.sub("", one_line))


def _bilingual(node: Mapping[str, object], key: str, where: str, out: Problems) -> Bilingual:
    value = node.get(key)
    if value is None and key not in node:
        return Bilingual("", "")  # the missing key is reported by _keys
    if not isinstance(value, dict):
        out.add(where, f"{key} must be a mapping with 'en' and 'zh-TW' texts")
        return Bilingual("", "")
    for extra in sorted(str(k) for k in value if k not in ("en", "zh-TW")):
        out.add(where, f"{key}: unknown language {_show(extra)} (allowed: en, zh-TW)")
    texts = []
    for lang in ("en", "zh-TW"):
        text = value.get(lang)
        if not isinstance(text, str) or not text.strip():
            out.add(where, f"{key}: missing {lang} text")
            texts.append("")
        else:
            texts.append(_squash(text))
    return Bilingual(texts[0], texts[1])


def _ids(node: Mapping[str, object], key: str, where: str, out: Problems) -> tuple[str, ...]:
    value = node.get(key, [])
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        out.add(where, f"{key} must be a list of strings")
        return ()
    counts = Counter(cast(list[str], value))
    for item in sorted(item for item, n in counts.items() if n > 1):
        out.add(where, f"{key}: {_show(item)} listed twice")
    return tuple(counts)


def _defs(node: Mapping[str, object], key: str, out: Problems) -> tuple[GroupDef, ...]:
    """The ``stages``, ``groups`` or ``facets`` of a framework: ``{id, title}`` items."""
    value = node.get(key, [])
    if not isinstance(value, list):
        out.add(key, "must be a list of {id, title} items")
        return ()
    defs: list[GroupDef] = []
    seen: set[str] = set()
    for index, item in enumerate(value):
        where = f"{key}[{index}]"
        if not _keys(item, where, _DEF_KEYS, set(), out):
            continue
        item_id = _text(item, "id", where, out)
        if item_id and not _LOCAL_ID.fullmatch(item_id):
            out.add(where, f"id {_show(item_id)} is not a plain identifier")
        elif item_id in seen:
            out.add(where, f"{_show(item_id)} declared twice")
        seen.add(item_id)
        defs.append(GroupDef(item_id, _bilingual(item, "title", f"{where} {item_id}", out)))
    return tuple(defs)


def _flag(node: Mapping[str, object], where: str, out: Problems) -> str | None:
    value = node.get("applies_if")
    if value is None:
        return None
    if not isinstance(value, str) or value not in PROFILE_FLAGS:
        allowed = ", ".join(sorted(PROFILE_FLAGS))
        out.add(where, f"unknown applies_if flag {_show(value)} (allowed: {allowed})")
        return None
    return value


@dataclass(frozen=True, slots=True)
class _Scope:
    """What a control may refer to: its framework's declarations and the known checks."""

    framework: str
    staged: bool
    groups: frozenset[str]
    stages: frozenset[str]
    facets: frozenset[str]
    checks: Collection[str]
    applies_if: str | None


def _checks(
    node: Mapping[str, object], where: str, scope: _Scope, out: Problems
) -> tuple[str, ...]:
    checks = _ids(node, "checks", where, out)
    for check_id in checks:
        if check_id not in scope.checks:
            near = difflib.get_close_matches(check_id, list(scope.checks), n=1)
            hint = f" (did you mean {near[0]!r}?)" if near else ""
            out.add(where, f"unknown check {_show(check_id)}{hint}")
    return checks


def _control(node: object, index: int, scope: _Scope, out: Problems) -> Control | None:
    where = f"controls[{index}]"
    if isinstance(node, dict) and isinstance(node.get("id"), str):
        where = node["id"][:100]
    if not _keys(node, where, _CONTROL_KEYS, _CONTROL_OPTIONAL, out):
        return None
    item = cast(dict[str, object], node)
    control_id = _text(item, "id", where, out)
    prefix = f"{scope.framework}/"
    local = control_id.removeprefix(prefix)
    if control_id and (not control_id.startswith(prefix) or not _LOCAL_ID.fullmatch(local)):
        out.add(where, f"control id must be {prefix}<id> (letters, digits, . _ - ( ))")
    group = _text(item, "group", where, out)
    if group and group not in scope.groups:
        out.add(where, f"group {_show(group)} is not declared in the framework")
    stage = item.get("stage")
    if scope.staged and stage is None:
        out.add(where, "missing key 'stage' (the framework is staged)")
    elif scope.staged and (not isinstance(stage, str) or stage not in scope.stages):
        out.add(where, f"stage {_show(stage)} is not declared in the framework")
    if not scope.staged and stage is not None:
        out.add(where, "a checklist framework's control takes no stage")
    facets = _ids(item, "facets", where, out)
    for facet in facets:
        if facet not in scope.facets:
            out.add(where, f"facet {_show(facet)} is not declared in the framework")
    combine = item.get("combine", "all")
    if combine not in COMBINES:
        out.add(where, f"combine must be 'all' or 'any', not {_show(combine)}")
    flag = _flag(item, where, out) if "applies_if" in item else scope.applies_if
    return Control(
        id=control_id,
        framework=scope.framework,
        group=group,
        title=_bilingual(item, "title", where, out),
        summary=_bilingual(item, "summary", where, out),
        checks=_checks(item, where, scope, out),
        combine=cast(Combine, combine) if combine in COMBINES else "all",
        stage=stage if isinstance(stage, str) and scope.staged else None,
        facets=facets,
        applies_if=flag,
    )


def framework_of(
    document: object, expected_id: str, checks: Collection[str], out: Problems
) -> Framework | None:
    """The framework ``document`` declares (``None`` if it is not even a mapping)."""
    if not _keys(document, "framework", _FRAMEWORK_KEYS, _FRAMEWORK_OPTIONAL, out):
        return None
    node = cast(dict[str, object], document)
    framework_id = _text(node, "id", "framework", out)
    if framework_id and not _FRAMEWORK_ID.fullmatch(framework_id):
        out.add("framework", f"id {_show(framework_id)} must be lower-case letters, digits and '-'")
    if framework_id and framework_id != expected_id:
        out.add(
            "framework", f"id {_show(framework_id)} does not match the file name {expected_id!r}"
        )
    kind = node.get("kind")
    if kind not in KINDS:
        out.add("framework", f"kind must be 'staged' or 'checklist', not {_show(kind)}")
    stages = tuple(StageDef(d.id, d.title) for d in _defs(node, "stages", out))
    if kind == "staged" and len(stages) < 2:
        out.add("framework", "a staged framework declares at least two stages")
    if kind == "checklist" and stages:
        out.add("framework", "a checklist framework declares no stages")
    groups, facets = _defs(node, "groups", out), _defs(node, "facets", out)
    scope = _Scope(
        framework=framework_id,
        staged=kind == "staged",
        groups=frozenset(g.id for g in groups),
        stages=frozenset(s.id for s in stages),
        facets=frozenset(f.id for f in facets),
        checks=checks,
        applies_if=_flag(node, "framework", out),
    )
    raw_controls = node.get("controls", [])
    if not isinstance(raw_controls, list) or not raw_controls:
        out.add("framework", "controls must be a non-empty list")
        raw_controls = []
    controls: dict[str, Control] = {}
    for index, raw in enumerate(raw_controls):
        control = _control(raw, index, scope, out)
        if control is None or not control.id:
            continue  # already reported
        if control.id in controls:
            out.add(control.id[:100], "duplicate control id")
            continue
        controls[control.id] = control
    for what, defs, used in (
        ("group", groups, {c.group for c in controls.values()}),
        ("facet", facets, {f for c in controls.values() for f in c.facets}),
    ):
        for unused in (d.id for d in defs if d.id not in used):
            out.add(f"{what}s", f"{what} {_show(unused)} has no controls")
    return Framework(
        id=framework_id,
        title=_bilingual(node, "title", "framework", out),
        publisher=_text(node, "publisher", "framework", out),
        version=_text(node, "version", "framework", out),
        kind=cast(Literal["staged", "checklist"], kind if kind in KINDS else "checklist"),
        binding=_bilingual(node, "binding", "framework", out),
        groups=groups,
        controls=tuple(controls.values()),
        stages=stages,
        facets=facets,
        note=_bilingual(node, "note", "framework", out) if "note" in node else None,
    )


def mappings_of(document: object, out: Problems) -> tuple[Mapping_, ...]:
    """The mappings a mapping document lists (endpoints are checked against the catalog later)."""
    if not _keys(document, "mappings file", {"mappings"}, set(), out):
        return ()
    items = cast(dict[str, object], document).get("mappings", [])
    if not isinstance(items, list):
        out.add("mappings", "must be a list of {source, target, relation} items")
        return ()
    found: dict[tuple[str, str], Mapping_] = {}
    for index, item in enumerate(items):
        where = f"mapping #{index + 1}"
        if not _keys(item, where, _MAPPING_KEYS, set(), out):
            continue
        source = _text(item, "source", where, out)
        target = _text(item, "target", where, out)
        where = f"mapping #{index + 1} ({source} -> {target})"
        relation = item.get("relation")
        if relation not in RELATIONS:
            out.add(where, f"relation must be one of {', '.join(RELATIONS)}, not {_show(relation)}")
            continue
        if source.split("/", 1)[0] == target.split("/", 1)[0]:
            out.add(where, "a mapping joins controls of two different frameworks")
            continue
        if (source, target) in found:
            out.add(where, "listed twice")
            continue
        kind = cast(Literal["equivalent", "subset", "related"], relation)
        found[source, target] = Mapping_(source, target, kind)
    return tuple(found.values())
