"""The report as a value: everything an auditor reads, before it is rendered (pure).

``build_document`` assesses one framework from the evidence, the firm's declarations and its
profile, ranks the gaps, projects the standing if the top steps are done, compares with the
previous report's summary and adds the ROI estimate when the firm gave its inputs. HTML, PDF,
the canonical JSON and the OSCAL assessment-results (NIST OSCAL 1.1) are all rendered from
this one value, so they cannot disagree.

A report never carries a regulator's score: the FSC's zero-trust guidelines are non-binding
and define stages, CISA's ZTMM defines no number, and no "audit percentage" exists. The
counts and stages here are menshen's own tally, and the document says so.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from menshen.compliance.assess import assess
from menshen.compliance.checks import CHECKS
from menshen.compliance.gaps import gaps_of, projected
from menshen.compliance.model import (
    Assessment,
    Bilingual,
    ControlResult,
    Declaration,
    Evidence,
    FirmProfile,
    Framework,
    FrameworkScore,
    Gap,
    JsonValue,
    Lang,
)
from menshen.compliance.roi import RoiEstimate, RoiInputs, estimate
from menshen.compliance.trend import Trend, summary_of, trend
from menshen.errors import InvalidInput

__all__ = ["EvidenceRow", "ReportDocument", "build_document"]

TOP_STEPS = 5


@dataclass(frozen=True, slots=True)
class EvidenceRow:
    """One check's measured evidence, with the controls of this framework it supports."""

    check_id: str
    title: Bilingual
    unit: str
    evidence: Evidence
    controls: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class ReportDocument:
    """An auditor-ready report of one framework for one firm over one period."""

    firm: str
    tenant_id: str
    scope: str
    framework: Framework
    lang: Lang
    period_start: datetime
    period_end: datetime
    generated_at: datetime
    assessment: Assessment
    gaps: tuple[Gap, ...]
    projected: FrameworkScore | None
    projected_top: int
    trend: Trend
    roi: RoiEstimate | None
    evidence: tuple[EvidenceRow, ...]
    declared: tuple[ControlResult, ...]
    summary: Mapping[str, JsonValue] = field(default_factory=dict)

    @property
    def binding(self) -> Bilingual:
        """The framework's own note on whether it obliges the firm."""
        return self.framework.binding


def build_document(
    framework: Framework,
    evidence: Mapping[str, Evidence],
    declarations: Mapping[str, Declaration],
    profile: FirmProfile,
    *,
    lang: Lang,
    period_start: datetime,
    period_end: datetime,
    at: datetime,
    previous_summary: Mapping[str, JsonValue] | None = None,
    roi_inputs: RoiInputs | None = None,
    top: int = TOP_STEPS,
) -> ReportDocument:
    """Assess ``framework`` and gather what the report shows; pure (time is ``at``)."""
    if period_end <= period_start:
        raise InvalidInput("the report period must end after it starts")
    if at.tzinfo is None or period_start.tzinfo is None or period_end.tzinfo is None:
        raise InvalidInput("report times must carry a time zone")
    assessment = assess(framework, evidence, declarations, profile, at)
    gaps = tuple(gaps_of(assessment))
    projection = projected(assessment, gaps, top=top) if gaps else None
    summary = summary_of(assessment)
    return ReportDocument(
        firm=profile.name,
        tenant_id=profile.tenant_id,
        scope=profile.scope,
        framework=framework,
        lang=lang,
        period_start=period_start,
        period_end=period_end,
        generated_at=at,
        assessment=assessment,
        gaps=gaps,
        projected=projection,
        projected_top=min(top, len(gaps)),
        trend=trend(summary, previous_summary),
        roi=estimate(roi_inputs) if roi_inputs is not None else None,
        evidence=_evidence_rows(framework, assessment.results),
        declared=tuple(r for r in assessment.results if r.basis == "declared"),
        summary=summary,
    )


def _evidence_rows(
    framework: Framework, results: Sequence[ControlResult]
) -> tuple[EvidenceRow, ...]:
    """Each piece of evidence the assessment used, once, in catalog order of first use."""
    used: dict[str, Evidence] = {}
    for result in results:
        for item in result.evidence:
            used.setdefault(item.check_id, item)
    supports: dict[str, list[str]] = {}
    for control in framework.controls:
        for check_id in control.checks:
            supports.setdefault(check_id, []).append(control.id)
    rows = []
    for check_id, item in used.items():
        spec = CHECKS.get(check_id)
        title = spec.title if spec is not None else Bilingual(check_id, check_id)
        rows.append(
            EvidenceRow(
                check_id=check_id,
                title=title,
                unit=spec.unit if spec is not None else "",
                evidence=item,
                controls=tuple(supports.get(check_id, ())),
            )
        )
    return tuple(rows)
