"""The compliance vocabulary: frameworks, controls, evidence, assessments, gaps (pure values).

A **check** is one thing menshen measures on the live system (``checks.CHECKS``); a
**collector** measures it and returns ``Evidence``. A **control** belongs to one framework's
catalog and names the checks that evidence it. An **assessment** places each control at pass /
partial / fail / not applicable / not assessed with its reason and evidence, and each framework
on its own scale: staged frameworks (CISA ZTMM v2.0, the FSC zero-trust guidelines) get the
highest stage reached per group and per facet; checklists get a per-control pass count. No
scale here is a regulator's score, and none is turned into one percentage.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Literal, TypeAlias

__all__ = [
    "Assessment",
    "Bilingual",
    "Catalog",
    "CheckSpec",
    "Combine",
    "Control",
    "ControlResult",
    "Declaration",
    "Evidence",
    "FirmProfile",
    "Framework",
    "FrameworkScore",
    "Gap",
    "GroupDef",
    "JsonValue",
    "Lang",
    "Mapping_",
    "Outcome",
    "StageDef",
    "StageStanding",
]

JsonValue: TypeAlias = str | int | float | bool | list["JsonValue"] | dict[str, "JsonValue"] | None


class Lang(StrEnum):
    """Report languages: English and Traditional Chinese (Taiwan)."""

    EN = "en"
    ZH_TW = "zh-TW"


@dataclass(frozen=True, slots=True)
class Bilingual:
    """A text in both report languages (written by us; never a standard's own wording)."""

    en: str
    zh_tw: str

    def get(self, lang: Lang) -> str:
        return self.zh_tw if lang is Lang.ZH_TW else self.en


class Outcome(StrEnum):
    """Where a control (or one check) stands. ``NOT_ASSESSED`` is never a pass: it is what a
    failed collector, missing evidence or an unsupported check gives."""

    PASS = "pass"  # noqa: S105 - an outcome, not a password
    PARTIAL = "partial"
    FAIL = "fail"
    NOT_APPLICABLE = "not_applicable"
    NOT_ASSESSED = "not_assessed"


Combine = Literal["all", "any"]
"""How a control combines its checks: ``all`` = the worst outcome; ``any`` = the best."""


@dataclass(frozen=True, slots=True)
class CheckSpec:
    """One measurement menshen can take. ``unit``: ``share`` (0..1), ``count``, ``seconds``
    or ``bool``; ``risk`` and ``effort`` (1 low .. 5 high) rank the gap when it fails."""

    id: str
    title: Bilingual
    unit: Literal["share", "count", "seconds", "bool"]
    risk: int
    effort: int


@dataclass(frozen=True, slots=True)
class Evidence:
    """A collector's measured result at ``collected_at``, with the data behind it.

    ``outcome`` is the check's own verdict; ``value`` the figure (a share, a count, seconds);
    ``data`` the bounded rows behind it (user names, app ids, flows) an auditor can follow;
    ``remedy`` the next step in menshen's own terms when it is not a pass, with ``affected``
    the number of users/apps/flows it touches. A collector that raised gives
    ``NOT_ASSESSED`` with ``error`` set, never a pass.
    """

    check_id: str
    collected_at: datetime
    outcome: Outcome
    summary: Bilingual
    value: float | None = None
    data: Mapping[str, JsonValue] = field(default_factory=dict)
    remedy: Bilingual | None = None
    affected: int = 0
    error: str | None = None


@dataclass(frozen=True, slots=True)
class StageDef:
    """One stage of a staged framework, lowest first (e.g. ZTMM Traditional..Optimal)."""

    id: str
    title: Bilingual


@dataclass(frozen=True, slots=True)
class GroupDef:
    """A grouping of controls: a pillar, an access dimension, a requirement, a tenet."""

    id: str
    title: Bilingual


@dataclass(frozen=True, slots=True)
class Control:
    """One control of a framework's catalog.

    ``checks`` name ``CheckSpec`` ids (``combine`` says how); a control with no checks can
    only be declared (handled outside menshen) or stays not assessed. ``stage`` places it on a
    staged framework; ``facets`` are further aggregations (a ZTMM function such as
    ``identity.authentication``, an FSC scenario such as ``vendor_remote_maintenance``).
    ``applies_if`` names a firm-profile flag (``card_data``, ``e_payment``,
    ``critical_infrastructure``, ``machine_clients``): when the flag is off the control is not
    applicable.
    """

    id: str
    framework: str
    group: str
    title: Bilingual
    summary: Bilingual
    checks: tuple[str, ...] = ()
    combine: Combine = "all"
    stage: str | None = None
    facets: tuple[str, ...] = ()
    applies_if: str | None = None


@dataclass(frozen=True, slots=True)
class Framework:
    """A framework's catalog. ``kind`` ``staged`` uses ``stages`` (lowest first);
    ``checklist`` is scored by per-control counts only. ``binding`` says plainly whether the
    document obliges the firm (the FSC guidelines do not)."""

    id: str
    title: Bilingual
    publisher: str
    version: str
    kind: Literal["staged", "checklist"]
    binding: Bilingual
    groups: tuple[GroupDef, ...]
    controls: tuple[Control, ...]
    stages: tuple[StageDef, ...] = ()
    facets: tuple[GroupDef, ...] = ()
    note: Bilingual | None = None

    def control(self, control_id: str) -> Control | None:
        for item in self.controls:
            if item.id == control_id:
                return item
        return None


@dataclass(frozen=True, slots=True)
class Mapping_:
    """A mapping between two controls of different frameworks (data, like the catalogs).
    ``relation``: ``equivalent``, ``subset`` (source is narrower) or ``related``."""

    source: str
    target: str
    relation: Literal["equivalent", "subset", "related"]


@dataclass(frozen=True, slots=True)
class Catalog:
    """Every framework and the mappings between their controls."""

    frameworks: Mapping[str, Framework]
    mappings: tuple[Mapping_, ...] = ()

    def framework(self, framework_id: str) -> Framework:
        from menshen.errors import InvalidInput

        found = self.frameworks.get(framework_id)
        if found is None:
            known = ", ".join(sorted(self.frameworks))
            raise InvalidInput(f"unknown framework {framework_id!r} (known: {known})")
        return found


@dataclass(frozen=True, slots=True)
class Declaration:
    """The firm's statement that a control is handled outside menshen, with the
    justification (and an optional attachment's name and SHA-256). Always shown as declared,
    never as measured."""

    control_id: str
    outcome: Outcome
    justification: str
    by: str
    at: datetime
    attachment_name: str | None = None
    attachment_sha256: str | None = None
    expires_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class FirmProfile:
    """What applies to the firm, from ``tenants.<id>.compliance`` (settings)."""

    tenant_id: str
    name: str
    card_data: bool = False
    e_payment: bool = False
    critical_infrastructure: bool = False
    machine_clients: bool = True
    scope: str = ""

    def flag(self, name: str) -> bool:
        return bool(getattr(self, name, False))


Basis = Literal["measured", "declared", "profile", "missing"]


@dataclass(frozen=True, slots=True)
class ControlResult:
    """One control assessed: the outcome, why, on what basis, and the evidence used."""

    control: Control
    outcome: Outcome
    reason: Bilingual
    basis: Basis
    evidence: tuple[Evidence, ...] = ()
    declaration: Declaration | None = None


@dataclass(frozen=True, slots=True)
class StageStanding:
    """A group's or facet's place on a staged framework: the highest stage whose controls
    (and every lower stage's) all pass; ``None`` below the first. ``blocking`` lists the
    controls that stop the next stage."""

    key: str
    title: Bilingual
    stage: str | None
    next_stage: str | None
    blocking: tuple[str, ...]
    declared: tuple[str, ...] = ()  # declared (not measured) passes the standing relies on


@dataclass(frozen=True, slots=True)
class FrameworkScore:
    """A framework's own scale: per-outcome control counts, and for staged frameworks the
    standing per group and per facet. ``passed`` of ``assessed`` is a count, not a grade."""

    counts: Mapping[Outcome, int]
    groups: tuple[StageStanding, ...] = ()
    facets: tuple[StageStanding, ...] = ()

    @property
    def passed(self) -> int:
        return self.counts.get(Outcome.PASS, 0)

    @property
    def assessed(self) -> int:
        skipped = (Outcome.NOT_APPLICABLE, Outcome.NOT_ASSESSED)
        return sum(n for outcome, n in self.counts.items() if outcome not in skipped)


@dataclass(frozen=True, slots=True)
class Assessment:
    """A framework assessed for one tenant at one time."""

    tenant_id: str
    framework: Framework
    at: datetime
    results: tuple[ControlResult, ...]
    score: FrameworkScore


@dataclass(frozen=True, slots=True)
class Gap:
    """A control that does not pass, with its concrete next step, ranked by risk and effort
    (``rank`` 1 = do first)."""

    control_id: str
    step: Bilingual
    affected: int
    risk: int
    effort: int
    rank: int
    checks: tuple[str, ...] = ()
