"""The console of tenant t1 never shows or changes tenant t2's incidents, scores or actions."""

from __future__ import annotations

import pytest

from menshen.monitor.incidents.model import IncidentState
from menshen.monitor.model import Entity, EntityKind
from menshen.store.sql import SqlStore
from tests.console.monitor_world import MonitorConsole

LIST = "/console/incidents"


@pytest.fixture
def world(store: SqlStore) -> MonitorConsole:
    return MonitorConsole(store)


def test_another_tenants_incidents_are_neither_listed_nor_found(world: MonitorConsole) -> None:
    """t2's incident is not in t1's list or summary, and its page is a 404."""
    mine = world.incident("t1")
    theirs = world.incident(
        "t2", subject=Entity(EntityKind.USER, "u-carol"), summary="t2 secret finding"
    )
    page = world.get(LIST).text
    assert mine in page
    assert theirs not in page
    assert "u-carol" not in page
    assert "<td>2026-11</td><td>1</td>" in page  # the summary counts t1's one incident
    answer = world.get(f"{LIST}/{theirs}")
    assert answer.status_code == 404
    assert "t2 secret finding" not in answer.text


def test_another_tenants_incident_cannot_be_changed(world: MonitorConsole) -> None:
    """Even with a valid token for the path, a POST naming t2's incident is a 404."""
    theirs = world.incident("t2")
    for verb, fields in (
        ("close", {}),
        ("acknowledge", {}),
        ("note", {"text": "x"}),
        ("assign", {"assignee": "mallory"}),
    ):
        path = f"{LIST}/{theirs}/{verb}"
        answer = world.post(path, {"csrf": world.desk_token(path), **fields})
        assert answer.status_code == 404, verb
    stored = world.book.get("t2", theirs)
    assert stored.state is IncidentState.OPEN
    assert (stored.notes, stored.assignee) == ((), None)
    assert world.audit("t1") == world.audit("t2") == []


def test_an_admin_of_another_tenant_is_refused(world: MonitorConsole) -> None:
    """An assertion signed with t2's keys does not open t1's console."""
    assert world.get(LIST, world.token("t2")).status_code == 401
    inc = world.incident("t1")
    path = f"{LIST}/{inc}/close"
    answer = world.post(path, {"csrf": world.desk_token(path)}, token=world.token("t2"))
    assert answer.status_code == 401
    assert world.book.get("t1", inc).state is IncidentState.OPEN


def test_another_tenants_scores_and_actions_are_not_shown_or_undone(
    world: MonitorConsole,
) -> None:
    """t2's risk score and action are absent from t1's pages; undoing t2's action: 404."""
    world.score("t1", "user:u-alice", 55.0)
    world.score("t2", "user:u-carol", 90.0)
    mine = world.action("t1")
    theirs = world.action("t2", key="k2")
    risks = world.get("/console/risks").text
    assert "user:u-alice" in risks
    assert "u-carol" not in risks
    responses = world.get("/console/responses").text
    assert mine in responses
    assert theirs not in responses
    path = f"/console/responses/{theirs}/undo"
    assert world.post(path, {"csrf": world.desk_token(path)}).status_code == 404
    assert world.store.tenant("t2").response_actions.get(theirs).state == "done"  # type: ignore[union-attr]
    assert world.live.blocked("t2", "203.0.113.9", world.clock.now())
