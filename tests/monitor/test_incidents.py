from __future__ import annotations

from datetime import timedelta

import pytest

from menshen.errors import InvalidInput
from menshen.monitor.incidents.book import IncidentBook
from menshen.monitor.incidents.model import (
    IncidentState,
    acknowledge,
    add_finding,
    assign,
    close,
    matches,
    new_incident,
    note,
    responded,
)
from menshen.monitor.incidents.summary import nearest_rank, summarise
from menshen.monitor.model import Entity, EntityKind, Severity
from menshen.store.records import TenantRecord
from menshen.store.sql import SqlStore

from .findings import T0, finding

MIN = timedelta(minutes=1)
HOUR = timedelta(hours=1)


def test_the_timeline_runs_from_first_event_to_closed() -> None:
    """first event, detected, responded, acknowledged, closed; TTD and TTR from them."""
    incident = new_incident("i1", finding(), first_event_at=T0 - 2 * MIN, detected_at=T0 + MIN)
    incident = responded(incident, T0 + 2 * MIN)
    incident = responded(incident, T0 + 9 * MIN)  # only the first response counts
    incident = acknowledge(incident, T0 + 10 * MIN, "ops-anna")
    incident = close(incident, T0 + HOUR)
    assert [name for name, _ in incident.timeline()] == [
        "first event",
        "detected",
        "responded",
        "acknowledged",
        "closed",
    ]
    assert incident.time_to_detect == 3 * MIN
    assert incident.time_to_respond == MIN
    assert incident.assignee == "ops-anna"
    assert incident.state is IncidentState.CLOSED


def test_findings_group_by_subject_or_source_within_the_window() -> None:
    """Same user or same source address within an hour: one incident; later or other: not."""
    incident = new_incident("i1", finding(), first_event_at=T0, detected_at=T0)
    carol = Entity(EntityKind.USER, "u-carol")
    assert matches(incident, finding(after=30 * MIN, source_ip=None), HOUR)
    assert matches(incident, finding(subject=carol, after=30 * MIN), HOUR)
    assert not matches(incident, finding(subject=carol, source_ip="198.51.100.1"), HOUR)
    assert not matches(incident, finding(after=2 * HOUR), HOUR)
    assert not matches(close(incident, T0), finding(), HOUR)


def test_adding_a_finding_raises_severity_and_keeps_the_earliest_event() -> None:
    """A critical finding makes the incident critical; its first event moves earlier."""
    incident = new_incident("i1", finding(), first_event_at=T0, detected_at=T0)
    grown = add_finding(incident, finding(severity=Severity.CRITICAL, summary="worse"), T0 - MIN)
    assert grown.severity is Severity.CRITICAL
    assert grown.title == "worse"
    assert grown.first_event_at == T0 - MIN
    assert len(grown.findings) == 2


def test_notes_and_assignment_need_content() -> None:
    """Empty notes and assignees are refused; a closed incident cannot be acknowledged."""
    incident = new_incident("i1", finding(), first_event_at=T0, detected_at=T0)
    with pytest.raises(InvalidInput):
        note(incident, T0, "anna", "  ")
    with pytest.raises(InvalidInput):
        assign(incident, "")
    with pytest.raises(InvalidInput):
        acknowledge(close(incident, T0), T0, "anna")


def test_nearest_rank_percentiles() -> None:
    """Median and p90 are values incidents really had (nearest rank)."""
    values = [timedelta(seconds=s) for s in (5, 1, 4, 2, 3, 10, 9, 8, 7, 6)]
    assert nearest_rank(values, 50) == timedelta(seconds=5)
    assert nearest_rank(values, 90) == timedelta(seconds=9)
    assert nearest_rank([], 50) is None


def test_the_monthly_summary_splits_by_month_of_detection() -> None:
    """November: two incidents (one responded); December: one."""
    a = responded(
        new_incident("a", finding(), first_event_at=T0, detected_at=T0 + MIN), T0 + 3 * MIN
    )
    b = new_incident("b", finding(), first_event_at=T0, detected_at=T0 + 5 * MIN)
    c = new_incident("c", finding(), first_event_at=T0, detected_at=T0 + timedelta(days=10))
    november, december = summarise([c, b, a])
    assert (november.month, november.incidents, november.responded) == ("2026-11", 2, 1)
    assert november.detect_median == MIN
    assert november.detect_p90 == 5 * MIN
    assert november.respond_median == 2 * MIN
    assert (december.month, december.incidents, december.respond_median) == ("2026-12", 1, None)


def test_the_book_groups_findings_and_keeps_changes(store: SqlStore) -> None:
    """Two findings about Alice make one stored incident; admin changes are kept."""
    store.add_tenant(TenantRecord("t1", "T1", T0))
    ids = iter(["i1", "i2"])
    book = IncidentBook(store, lambda tenant_id: HOUR, new_id=lambda: next(ids))
    first, fresh = book.record(finding(), first_event_at=T0 - MIN, detected_at=T0)
    second, again = book.record(finding(after=MIN, event="e2"), first_event_at=T0, detected_at=T0)
    assert fresh
    assert not again
    assert first.id == second.id == "i1"
    book.responded("t1", "i1", T0 + MIN)
    book.change("t1", "i1", lambda i: note(i, T0 + 2 * MIN, "anna", "called Alice"))
    book.change("t1", "i1", lambda i: assign(i, "ben"))
    stored = book.get("t1", "i1")
    assert len(stored.findings) == 2
    assert stored.findings[1].event_ids == ("e2",)
    assert stored.notes[0].text == "called Alice"
    assert stored.assignee == "ben"
    assert stored.time_to_respond == MIN
    assert stored.time_to_detect == MIN
    assert [i.id for i in book.list("t1", since=T0 - HOUR)] == ["i1"]
