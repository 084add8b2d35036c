"""Gaps: each measured control that fails or partly passes, with its concrete next step, ranked
(pure); and the score projected if the first few were fixed (issue 7 item 4).

A gap's step is what its failing checks' collectors said to do (``Evidence.remedy``, in
menshen's own terms, e.g. "require WebAuthn on settlement-admin: 3 users affected"); a check
that gave no remedy gets a generic step naming it. ``risk`` and ``effort`` are the highest of
the failing checks' (``CheckSpec``, 1 low .. 5 high); ``affected`` the largest of their counts
(several checks of one control usually touch the same users, so they are not added up).

Ranking, first to last: higher risk first; then lower effort (quick wins before big
projects); then more affected first; then the control id, so the order is total and stable.

Declared and not-assessed controls are not gaps: a declaration is the firm's word, and an
unmeasured control needs its evidence fixed first (the report lists those apart).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace

from menshen.compliance.checks import CHECKS
from menshen.compliance.model import (
    Assessment,
    Bilingual,
    CheckSpec,
    ControlResult,
    FrameworkScore,
    Gap,
    Outcome,
)
from menshen.compliance.score import score
from menshen.errors import InvalidInput

__all__ = ["UNKNOWN_EFFORT", "UNKNOWN_RISK", "gaps_of", "projected"]

UNKNOWN_RISK = 5
"""Risk of a check the catalog names but ``CHECKS`` lacks: assume the worst."""
UNKNOWN_EFFORT = 3

_FAILING = (Outcome.FAIL, Outcome.PARTIAL)


def gaps_of(assessment: Assessment, specs: Mapping[str, CheckSpec] = CHECKS) -> tuple[Gap, ...]:
    """The assessment's gaps, ranked (``rank`` 1 = do first; the rule in the docstring)."""
    found = [
        _gap(result, specs)
        for result in assessment.results
        if result.basis == "measured" and result.outcome in _FAILING
    ]
    found.sort(key=lambda g: (-g.risk, g.effort, -g.affected, g.control_id))
    return tuple(replace(gap, rank=index) for index, gap in enumerate(found, start=1))


def projected(assessment: Assessment, gaps: Sequence[Gap], top: int = 5) -> FrameworkScore:
    """The framework's score if the controls of the ``top`` first-ranked gaps passed and
    nothing else changed (recomputed by ``score``, never estimated)."""
    if top < 0:
        raise InvalidInput(f"top must be 0 or more, not {top}")
    chosen = {gap.control_id for gap in sorted(gaps, key=lambda g: g.rank)[:top]}
    results = tuple(
        replace(result, outcome=Outcome.PASS) if result.control.id in chosen else result
        for result in assessment.results
    )
    return score(assessment.framework, results)


def _gap(result: ControlResult, specs: Mapping[str, CheckSpec]) -> Gap:
    failing = [e for e in result.evidence if e.outcome in _FAILING]
    en: list[str] = []
    zh: list[str] = []
    for item in failing:
        if item.remedy is not None:
            en.append(item.remedy.en)
            zh.append(item.remedy.zh_tw)
        else:
            spec = specs.get(item.check_id)
            title = spec.title if spec is not None else Bilingual(item.check_id, item.check_id)
            en.append(f"Make {item.check_id} pass: {title.en}")
            zh.append(f"使 {item.check_id} 通過：{title.zh_tw}")
    if not failing:  # a control failing with no failing check cannot happen; say so plainly
        en.append(f"Review control {result.control.id}: {result.reason.en}")
        zh.append(f"檢視控制項 {result.control.id}：{result.reason.zh_tw}")
    risks = [_spec_value(specs, e.check_id, "risk") for e in failing] or [UNKNOWN_RISK]
    efforts = [_spec_value(specs, e.check_id, "effort") for e in failing] or [UNKNOWN_EFFORT]
    return Gap(
        control_id=result.control.id,
        step=Bilingual("; ".join(en), "；".join(zh)),
        affected=max((e.affected for e in failing), default=0),
        risk=max(risks),
        effort=max(efforts),
        rank=0,
        checks=tuple(e.check_id for e in failing),
    )


def _spec_value(specs: Mapping[str, CheckSpec], check_id: str, name: str) -> int:
    spec = specs.get(check_id)
    if spec is None:
        return UNKNOWN_RISK if name == "risk" else UNKNOWN_EFFORT
    return spec.risk if name == "risk" else spec.effort
