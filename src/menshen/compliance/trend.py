"""The trend between two reports of one framework (pure; issue 7 item 5, "trend against the
last report").

``summary_of`` reduces an assessment to the JSON a signed report record keeps
(``compliance_reports.summary``): each control's outcome and basis, the counts, the
standings. ``trend`` compares a new summary with the previous one. Old records are read
leniently, since catalogs change between reports: a control the catalog no longer has is
listed as removed, a new one as added, and an unreadable entry is skipped — an old record
never makes a new report fail. A summary of another framework is refused.

Improved and regressed follow fail < partial < pass. A move to or from not applicable or
not assessed is neither (unknown is not better or worse than fail): it is listed as changed.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from menshen.compliance.assess import RANK
from menshen.compliance.model import Assessment, JsonValue, Outcome, StageStanding
from menshen.errors import InvalidInput

__all__ = ["SUMMARY_VERSION", "Change", "StandingChange", "Trend", "summary_of", "trend"]

SUMMARY_VERSION = 1


@dataclass(frozen=True, slots=True)
class Change:
    """A control's outcome in the previous report and now."""

    control_id: str
    before: Outcome
    after: Outcome


@dataclass(frozen=True, slots=True)
class StandingChange:
    """A group's or facet's stage before and now (``None``: below the first stage)."""

    kind: str  # "group" or "facet"
    key: str
    before: str | None
    after: str | None
    improved: bool


@dataclass(frozen=True, slots=True)
class Trend:
    """What moved since the previous report. ``first`` when there is none to compare."""

    framework: str
    first: bool
    previous_at: str | None = None
    improved: tuple[Change, ...] = ()
    regressed: tuple[Change, ...] = ()
    changed: tuple[Change, ...] = ()
    unchanged: tuple[str, ...] = ()
    added: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()
    counts_before: Mapping[str, int] | None = None
    counts_after: Mapping[str, int] | None = None
    standings: tuple[StandingChange, ...] = ()


def summary_of(assessment: Assessment) -> dict[str, JsonValue]:
    """The assessment as deterministic JSON-able data (sorted keys, ISO time)."""
    controls: dict[str, JsonValue] = {
        r.control.id: {"basis": r.basis, "outcome": r.outcome.value}
        for r in sorted(assessment.results, key=lambda r: r.control.id)
    }
    counts: dict[str, JsonValue] = {o.value: n for o, n in sorted(assessment.score.counts.items())}
    framework = assessment.framework
    return {
        "at": assessment.at.isoformat(),
        "controls": controls,
        "counts": counts,
        "facets": _standings(assessment.score.facets),
        "framework": framework.id,
        "groups": _standings(assessment.score.groups),
        "stages": [s.id for s in framework.stages],
        "summary_version": SUMMARY_VERSION,
        "tenant": assessment.tenant_id,
        "version": framework.version,
    }


def trend(summary: Mapping[str, object], previous: Mapping[str, object] | None) -> Trend:
    """``summary`` (from ``summary_of``) against the previous report's, or the first report."""
    framework = summary.get("framework")
    if not isinstance(framework, str):
        raise InvalidInput("the summary names no framework: not a summary_of() result")
    now = _outcomes(summary.get("controls"))
    if previous is None:
        return Trend(framework=framework, first=True, counts_after=_counts(summary.get("counts")))
    if previous.get("framework") != framework:
        raise InvalidInput(
            f"cannot compare a {framework!r} report with a {previous.get('framework')!r} report"
        )
    before = _outcomes(previous.get("controls"))
    improved: list[Change] = []
    regressed: list[Change] = []
    changed: list[Change] = []
    unchanged: list[str] = []
    for control_id in sorted(set(now) & set(before)):
        change = Change(control_id, before[control_id], now[control_id])
        if change.before is change.after:
            unchanged.append(control_id)
        elif change.before in RANK and change.after in RANK:
            better = RANK[change.after] > RANK[change.before]
            (improved if better else regressed).append(change)
        else:
            changed.append(change)
    previous_at = previous.get("at")
    return Trend(
        framework=framework,
        first=False,
        previous_at=previous_at if isinstance(previous_at, str) else None,
        improved=tuple(improved),
        regressed=tuple(regressed),
        changed=tuple(changed),
        unchanged=tuple(unchanged),
        added=tuple(sorted(set(now) - set(before))),
        removed=tuple(sorted(set(before) - set(now))),
        counts_before=_counts(previous.get("counts")),
        counts_after=_counts(summary.get("counts")),
        standings=_standing_changes(summary, previous),
    )


def _standings(standings: tuple[StageStanding, ...]) -> dict[str, JsonValue]:
    return {
        s.key: {
            "blocking": list(s.blocking),
            "declared": list(s.declared),
            "next_stage": s.next_stage,
            "stage": s.stage,
        }
        for s in sorted(standings, key=lambda s: s.key)
    }


def _outcomes(raw: object) -> dict[str, Outcome]:
    """Control id → outcome, skipping whatever an old or damaged record holds that is not."""
    found: dict[str, Outcome] = {}
    if not isinstance(raw, Mapping):
        return found
    for control_id, entry in raw.items():
        value = entry.get("outcome") if isinstance(entry, Mapping) else None
        if isinstance(control_id, str) and isinstance(value, str):
            try:
                found[control_id] = Outcome(value)
            except ValueError:
                continue
    return found


def _counts(raw: object) -> dict[str, int]:
    if not isinstance(raw, Mapping):
        return {}
    return {
        k: v
        for k, v in sorted(raw.items())
        if isinstance(k, str) and isinstance(v, int) and not isinstance(v, bool)
    }


def _stage_of(raw: object, key: str) -> tuple[bool, str | None]:
    """(present, stage) of ``key`` in a summary's groups/facets mapping."""
    if not isinstance(raw, Mapping) or not isinstance(raw.get(key), Mapping):
        return False, None
    stage = raw[key].get("stage")
    return True, stage if isinstance(stage, str) else None


def _standing_changes(
    summary: Mapping[str, object], previous: Mapping[str, object]
) -> tuple[StandingChange, ...]:
    stages = summary.get("stages")
    order = [s for s in stages if isinstance(s, str)] if isinstance(stages, list) else []
    changes: list[StandingChange] = []
    for kind, field in (("group", "groups"), ("facet", "facets")):
        now, old = summary.get(field), previous.get(field)
        keys = sorted(now) if isinstance(now, Mapping) else []
        for key in keys:
            _, after = _stage_of(now, key)
            present, before = _stage_of(old, key)
            if not present or before == after:
                continue
            changes.append(StandingChange(kind, key, before, after, _higher(order, after, before)))
    return tuple(changes)


def _higher(order: list[str], after: str | None, before: str | None) -> bool:
    def level(stage: str | None) -> int:
        return order.index(stage) if stage in order else -1

    return level(after) > level(before)
