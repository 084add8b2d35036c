"""Issue 7 "done means": each collector moves its control from pass to fail and back.

For every check id of ``CHECKS``, on the collectors' fake firm: the well-run firm passes,
one change fails it (or makes it partial where that is the defined outcome), undoing that
change passes again; and a real catalog control that references the check, assessed with
``assess`` while every other check is held at pass, moves the same way.
"""

from __future__ import annotations

from dataclasses import fields, replace
from datetime import datetime

import pytest

from menshen.compliance.assess import assess
from menshen.compliance.catalog import load_catalog
from menshen.compliance.checks import CHECKS
from menshen.compliance.collect import collect_all, collect_one
from menshen.compliance.model import Catalog, Control, Evidence, FirmProfile, Framework, Outcome
from menshen.compliance.sources import CollectContext
from tests.compliance.collectors.fakes import AT, CTX, FakeSources
from tests.compliance.collectors.test_collectors import FAILS, LATER

PROFILE = FirmProfile(
    tenant_id="t1",
    name="Small Firm",
    card_data=True,
    e_payment=True,
    critical_infrastructure=True,
    machine_clients=True,
)
"""Every flag on, so every control applies."""

TIME_ONLY = frozenset({"network.exceptions_owned_and_expiring"})
"""Checks whose change is the passing of time (an exception expires), not the firm."""

CATALOG: Catalog = load_catalog()
BASELINE: dict[str, Evidence] = collect_all(FakeSources(), CTX)


def _moves(check_id: str) -> tuple[FakeSources, CollectContext, FakeSources, CollectContext]:
    """(broken firm, its context, restored firm, its context) for ``check_id``."""
    change, _ = FAILS[check_id]
    original = FakeSources()
    broken = change(original)
    if check_id in TIME_ONLY:
        return broken, LATER, broken, CTX
    names = [f.name for f in fields(original)]
    changed = [name for name in names if getattr(broken, name) is not getattr(original, name)]
    assert changed, f"the change for {check_id} changes nothing"
    restored = replace(broken, **{name: getattr(original, name) for name in changed})
    return broken, CTX, restored, CTX


def _referencing(check_id: str) -> list[tuple[Framework, Control]]:
    """Catalog controls a failing ``check_id`` alone decides (``all``, or its only check)."""
    return [
        (framework, control)
        for framework in CATALOG.frameworks.values()
        for control in framework.controls
        if check_id in control.checks and (control.combine == "all" or len(control.checks) == 1)
    ]


def _control_outcome(
    framework: Framework, control: Control, evidence: dict[str, Evidence], at: datetime
) -> tuple[Outcome, int]:
    """The control's outcome and the framework's pass count, other checks at pass."""
    assessment = assess(framework, evidence, {}, PROFILE, at)
    (result,) = [r for r in assessment.results if r.control.id == control.id]
    return result.outcome, assessment.score.passed


def test_the_parametrization_covers_every_check() -> None:
    """No check id is missing from the moves (nor is an unknown one there)."""
    assert set(FAILS) == set(CHECKS)
    assert set(BASELINE) == set(CHECKS)
    assert all(item.outcome is Outcome.PASS for item in BASELINE.values())


@pytest.mark.parametrize("check_id", sorted(CHECKS))
def test_each_check_moves_pass_fail_pass(check_id: str) -> None:
    """Well-run firm passes; one change fails (or partials) it; undoing it passes again."""
    _, expected = FAILS[check_id]
    broken, broken_ctx, restored, restored_ctx = _moves(check_id)
    steps = [
        collect_one(check_id, FakeSources(), CTX).outcome,
        collect_one(check_id, broken, broken_ctx).outcome,
        collect_one(check_id, restored, restored_ctx).outcome,
    ]
    assert steps == [Outcome.PASS, expected, Outcome.PASS]
    assert expected in (Outcome.FAIL, Outcome.PARTIAL)


@pytest.mark.parametrize("check_id", sorted(CHECKS))
def test_a_catalog_control_of_each_check_moves_with_it(check_id: str) -> None:
    """A real control naming the check goes pass -> fail (or partial) -> pass, and its
    framework's pass count drops and comes back, with every other check held at pass."""
    _, expected = FAILS[check_id]
    controls = _referencing(check_id)
    assert controls, f"no catalog control is decided by {check_id}"
    broken, broken_ctx, restored, restored_ctx = _moves(check_id)
    states = [
        BASELINE,
        {**BASELINE, check_id: collect_one(check_id, broken, broken_ctx)},
        {**BASELINE, check_id: collect_one(check_id, restored, restored_ctx)},
    ]
    for framework, control in controls:
        moves = [_control_outcome(framework, control, state, AT) for state in states]
        outcomes = [outcome for outcome, _ in moves]
        assert outcomes == [Outcome.PASS, expected, Outcome.PASS], control.id
        passed = [count for _, count in moves]
        assert passed[1] < passed[0] == passed[2], control.id
