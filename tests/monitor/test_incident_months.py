"""The summary's first month and the changes both interfaces apply to incidents."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from menshen.errors import InvalidInput
from menshen.monitor.incidents import changes
from menshen.monitor.incidents.model import new_incident
from menshen.monitor.incidents.summary import first_month

from .findings import T0, finding


def test_first_month_counts_back_across_the_year_boundary() -> None:
    """Twelve months ending November 2026 start on 1 December 2025 (UTC)."""
    assert first_month(T0, 1) == datetime(2026, 11, 1, tzinfo=UTC)
    assert first_month(T0, 11) == datetime(2026, 1, 1, tzinfo=UTC)
    assert first_month(T0, 12) == datetime(2025, 12, 1, tzinfo=UTC)
    assert first_month(T0, 35) == datetime(2024, 1, 1, tzinfo=UTC)
    taipei = datetime(2026, 12, 1, 5, 0, tzinfo=timezone(timedelta(hours=8)))
    assert first_month(taipei, 1) == datetime(2026, 11, 1, tzinfo=UTC)  # still November in UTC
    with pytest.raises(ValueError, match="at least 1"):
        first_month(T0, 0)


def test_changes_name_what_they_do_and_refuse_bad_input() -> None:
    """The audit reason of each change; a blank assignee or note is refused by the model."""
    incident = new_incident("i1", finding(), first_event_at=T0, detected_at=T0)
    assert changes.assigned(" ben ").what == "assigned to ben"
    assigned = changes.assigned(" ben ").edit(incident, T0, "cli:ops")
    assert assigned.assignee == "ben"
    acked = changes.acknowledged().edit(incident, T0, "console:mei")
    assert acked.assignee == "console:mei"
    assert [c.what for c in (changes.acknowledged(), changes.noted("x"), changes.closed())] == [
        "acknowledged",
        "note added",
        "closed",
    ]
    with pytest.raises(InvalidInput):
        changes.assigned(" ").edit(incident, T0, "cli:ops")
    with pytest.raises(InvalidInput):
        changes.noted("").edit(incident, T0, "cli:ops")


def test_a_finding_ref_keeps_its_subject_and_evidence() -> None:
    """What the console shows as evidence is kept with the incident, as text."""
    incident = new_incident("i1", finding(), first_event_at=T0, detected_at=T0)
    [ref] = incident.findings
    assert ref.subject == "user:u-alice"
    assert ref.evidence == (("bytes", "4000000000"),)
