"""A framework's own scale, from its assessed controls (pure).

Every framework gets the number of controls at each outcome. Staged frameworks (CISA Zero
Trust Maturity Model v2.0: Traditional, Initial, Advanced, Optimal; the FSC Zero Trust
Architecture guidelines of 2024, whose four stages are adapted from it) also get a
**standing** per group (a ZTMM pillar, an FSC access dimension) and per facet (a ZTMM
function, an FSC scenario).

The standing rule, walking the stages lowest first:

* a stage's controls are the group's (or facet's) controls placed at that stage, less the
  ones not applicable to the firm;
* a stage with no such controls is **skipped**: it neither blocks the stages above it nor is
  ever itself the standing (menshen claims no stage it measured nothing at);
* a stage whose controls all pass is reached; a declared pass counts, and the standing lists
  it under ``declared`` so the report can say the stage rests on the firm's word;
* the first stage with a control that does not pass stops the walk: it is ``next_stage`` and
  those controls are ``blocking``. A control not assessed blocks too: unknown is not a pass.

Why no percentage: neither CISA's ZTMM nor the FSC guidelines define a numeric score, the FSC
guidelines oblige no one, and no regulator publishes an "audit percentage". A share of
controls passed would weigh a lockout setting the same as phishing-resistant MFA for
administrators, and would read as a grade an auditor never gave. So menshen reports counts
("12 of 20 assessed controls pass", menshen's own tally) and stages, never one figure.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from menshen.compliance.model import (
    ControlResult,
    Framework,
    FrameworkScore,
    GroupDef,
    Outcome,
    StageStanding,
)

__all__ = ["counts_of", "score", "standing"]


def counts_of(results: Iterable[ControlResult]) -> dict[Outcome, int]:
    """Controls per outcome, every outcome present (zero when none), in ``Outcome`` order."""
    counts = dict.fromkeys(Outcome, 0)
    for result in results:
        counts[result.outcome] += 1
    return counts


def score(framework: Framework, results: Sequence[ControlResult]) -> FrameworkScore:
    """The framework's own scale: counts per outcome, and for a staged framework the
    standing of each group and facet (in catalog order)."""
    counts = counts_of(results)
    if framework.kind != "staged" or not framework.stages:
        return FrameworkScore(counts=counts)
    groups = tuple(
        standing(framework, group, [r for r in results if r.control.group == group.id])
        for group in framework.groups
    )
    facets = tuple(
        standing(framework, facet, [r for r in results if facet.id in r.control.facets])
        for facet in framework.facets
    )
    return FrameworkScore(counts=counts, groups=groups, facets=facets)


def standing(
    framework: Framework, key: GroupDef, results: Sequence[ControlResult]
) -> StageStanding:
    """The highest stage ``key``'s controls reach (the rule in the module docstring)."""
    reached: str | None = None
    declared: list[str] = []
    for stage in framework.stages:
        at_stage = sorted(
            (
                r
                for r in results
                if r.control.stage == stage.id and r.outcome is not Outcome.NOT_APPLICABLE
            ),
            key=lambda r: r.control.id,
        )
        if not at_stage:
            continue
        blocking = tuple(r.control.id for r in at_stage if r.outcome is not Outcome.PASS)
        if blocking:
            return StageStanding(
                key=key.id,
                title=key.title,
                stage=reached,
                next_stage=stage.id,
                blocking=blocking,
                declared=tuple(declared),
            )
        reached = stage.id
        declared.extend(r.control.id for r in at_stage if r.basis == "declared")
    return StageStanding(
        key=key.id,
        title=key.title,
        stage=reached,
        next_stage=None,
        blocking=(),
        declared=tuple(declared),
    )
