"""The console's incident pages: the list, the monthly figures, one incident and its forms."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import timedelta

import pytest

from menshen.monitor.incidents.model import IncidentState, close
from menshen.monitor.model import Entity, EntityKind, Severity
from menshen.store.sql import SqlStore
from tests.console.monitor_world import T0, MonitorConsole

LIST = "/console/incidents"
BOB = Entity(EntityKind.USER, "u-bob")


@pytest.fixture
def world(store: SqlStore) -> MonitorConsole:
    return MonitorConsole(store)


def _rows(html: str) -> list[str]:
    return re.findall(r'data-incident="([^"]+)"', html)


def test_list_shows_the_tenants_incidents_newest_first_with_ttd_and_ttr(
    world: MonitorConsole,
) -> None:
    """Newest first; time to detect first event → detected, time to respond once responded."""
    older = world.incident()
    newer = world.incident(
        subject=BOB,
        source_ip=None,
        at=T0 + timedelta(hours=3),
        severity=Severity.MEDIUM,
        summary="signed in at 03:00",
    )
    world.book.responded("t1", older, T0 + timedelta(minutes=5, seconds=42))
    world.clock.advance(4 * 3600)
    page = world.get(LIST)
    assert page.status_code == 200, page.text
    assert _rows(page.text) == [newer, older]
    row = page.text[page.text.index(f'data-incident="{older}"') :].split("</tr>")[0]
    assert '<td class="sev-high">high</td>' in row
    assert "<td>user:u-alice</td>" in row
    assert "<td>7m00s</td><td>0m42s</td>" in row
    assert 'href="/console/incidents">Incidents</a>' in page.text  # the navigation link


def test_state_filter_and_window_choose_the_incidents(world: MonitorConsole) -> None:
    """?state= keeps one state; ?days= keeps those detected in the window; bad values: 400."""
    first = world.incident()
    second = world.incident(subject=BOB, source_ip=None, at=T0 + timedelta(hours=2))
    world.book.change("t1", first, lambda item: close(item, T0 + timedelta(hours=1)))
    world.clock.advance(3 * 3600)
    assert _rows(world.get(LIST, state="closed").text) == [first]
    assert _rows(world.get(LIST, state="open").text) == [second]
    assert _rows(world.get(LIST, state="acknowledged").text) == []
    world.clock.advance(8 * 86400)
    assert _rows(world.get(LIST, days="7").text) == []
    assert _rows(world.get(LIST, days="30").text) == [second, first]
    assert world.get(LIST, state="lost").status_code == 400
    assert world.get(LIST, days="0").status_code == 400
    assert world.get(LIST, days="x").status_code == 400


def test_monthly_summary_gives_median_and_p90_per_month(world: MonitorConsole) -> None:
    """The summary table has the month, the count, the responded count and the figures."""
    inc = world.incident()
    world.incident(subject=BOB, source_ip=None, at=T0 - timedelta(days=40))
    world.book.responded("t1", inc, T0 + timedelta(minutes=6))
    page = world.get(LIST).text
    summary = page[page.index('id="summary"') :]
    assert "<td>2026-11</td><td>1</td><td>1</td><td>7m00s</td><td>7m00s</td>" in summary
    assert "<td>1m00s</td><td>1m00s</td>" in summary
    assert "<td>2026-10</td><td>1</td><td>0</td><td>7m00s</td><td>7m00s</td>" in summary
    assert summary.index("2026-11") < summary.index("2026-10")


def test_detail_shows_timeline_findings_evidence_actions_and_notes(
    world: MonitorConsole,
) -> None:
    """Every milestone reached with its time, the evidence, the actions, the forms."""
    inc = world.incident()
    world.action(incident_id=inc)
    world.book.responded("t1", inc, T0 + timedelta(minutes=6))
    page = world.get(f"{LIST}/{inc}")
    assert page.status_code == 200, page.text
    text = page.text
    assert "<tr><th>first event</th><td>2026-11-25 02:58:00</td></tr>" in text
    assert "<tr><th>detected</th><td>2026-11-25 03:05:00</td></tr>" in text
    assert "<tr><th>responded</th><td>2026-11-25 03:06:00</td></tr>" in text
    assert '<tr class="muted"><th>closed</th><td>not yet</td></tr>' in text
    assert "<code>bytes=117440512</code>" in text
    assert "<code>usual_p99=2.1 MiB</code>" in text
    assert "<code>ev-1</code>" in text
    actions = text[text.index('id="actions"') :]
    assert "<td>block_ip</td>" in actions
    assert "<td>ip:203.0.113.9</td>" in actions
    for verb in ("acknowledge", "assign", "note", "close"):
        assert f'action="{LIST}/{inc}/{verb}"' in text


def test_acknowledge_assigns_to_the_admin_and_is_audited(world: MonitorConsole) -> None:
    """Acknowledge: state, time and assignee change; the audit log names the admin."""
    inc = world.incident()
    world.clock.advance(600)
    answer = world.submit(f"{LIST}/{inc}", f"{LIST}/{inc}/acknowledge")
    assert answer.status_code == 303
    assert answer.headers["location"] == f"{LIST}/{inc}"
    stored = world.book.get("t1", inc)
    assert stored.state is IncidentState.ACKNOWLEDGED
    assert stored.acknowledged_at == T0 + timedelta(minutes=10)
    assert stored.assignee == "console:mei"
    [event] = world.audit()
    assert (event.kind, event.actor, event.reason) == (
        "monitor.incident.changed",
        "console:mei",
        "acknowledged",
    )
    assert event.details == {"incident": inc, "state": "acknowledged"}
    page = world.get(f"{LIST}/{inc}").text
    assert f'action="{LIST}/{inc}/acknowledge"' not in page  # done: no second form


def test_assign_note_and_close_each_change_and_audit(world: MonitorConsole) -> None:
    """Each form changes exactly its part of the incident and writes one audit event."""
    inc = world.incident()
    page = f"{LIST}/{inc}"
    assert world.submit(page, f"{page}/assign", assignee="ben").status_code == 303
    assert world.book.get("t1", inc).assignee == "ben"
    world.clock.advance(60)
    note = "called Dana; laptop stolen <b>"
    assert world.submit(page, f"{page}/note", text=note).status_code == 303
    [stored] = world.book.get("t1", inc).notes
    assert (stored.author, stored.text, stored.at) == (
        "console:mei",
        note,
        T0 + timedelta(minutes=1),
    )
    assert "called Dana; laptop stolen &lt;b&gt;" in world.get(page).text
    world.clock.advance(60)
    assert world.submit(page, f"{page}/close").status_code == 303
    closed = world.book.get("t1", inc)
    assert closed.state is IncidentState.CLOSED
    assert closed.closed_at == T0 + timedelta(minutes=2)
    reasons = [(e.kind, e.actor, e.reason) for e in world.audit()]
    assert reasons == [
        ("monitor.incident.changed", "console:mei", "assigned to ben"),
        ("monitor.incident.changed", "console:mei", "note added"),
        ("monitor.incident.changed", "console:mei", "closed"),
    ]
    after = world.get(page).text
    assert f'action="{page}/close"' not in after
    assert f'action="{page}/note"' in after  # a closed incident still takes notes


def test_a_change_the_model_refuses_changes_nothing(world: MonitorConsole) -> None:
    """An empty note, a blank or overlong assignee, acknowledging a closed incident: 400."""
    inc = world.incident()
    page = f"{LIST}/{inc}"
    tokens = world.forms(page)
    headers = {"origin": "https://apps.firm.example"}
    assert (
        world.post(
            f"{page}/note", {"csrf": tokens[f"{page}/note"], "text": "  "}, headers=headers
        ).status_code
        == 400
    )
    assert (
        world.post(
            f"{page}/assign", {"csrf": tokens[f"{page}/assign"], "assignee": " "}, headers=headers
        ).status_code
        == 400
    )
    assert (
        world.post(
            f"{page}/assign",
            {"csrf": tokens[f"{page}/assign"], "assignee": "x" * 201},
            headers=headers,
        ).status_code
        == 400
    )
    assert world.submit(page, f"{page}/close").status_code == 303
    refused = world.post(
        f"{page}/acknowledge", {"csrf": tokens[f"{page}/acknowledge"]}, headers=headers
    )
    assert refused.status_code == 400
    assert "Nothing was changed" in refused.text
    stored = world.book.get("t1", inc)
    assert (stored.notes, stored.assignee, stored.acknowledged_at) == ((), None, T0)
    assert [e.reason for e in world.audit()] == ["closed"]


def test_unknown_incident_or_change_is_a_404_problem_page(world: MonitorConsole) -> None:
    """GET or POST of an id that does not exist: the problem page, nothing written."""
    world.incident()
    page = world.get(f"{LIST}/nope")
    assert page.status_code == 404
    assert 'id="problem"' in page.text
    assert "There is no incident" in page.text
    token = world.desk_token(f"{LIST}/nope/close")
    assert world.post(f"{LIST}/nope/close", {"csrf": token}).status_code == 404
    inc = world.book.list("t1")[0].id
    token = world.desk_token(f"{LIST}/{inc}/reopen")
    assert world.post(f"{LIST}/{inc}/reopen", {"csrf": token}).status_code == 404
    assert world.audit() == []


def test_incident_stored_before_evidence_was_kept_still_shows(world: MonitorConsole) -> None:
    """Findings without subject or evidence (an older release's rows) render with the
    incident's subject and no evidence."""
    inc = world.incident()
    record = world.store.tenant("t1").incidents.get(inc)
    assert record is not None
    old = [
        {k: v for k, v in item.items() if k not in ("subject", "evidence")}
        for item in record.findings
    ]
    world.store.tenant("t1").incidents.put(replace(record, findings=old))
    page = world.get(f"{LIST}/{inc}")
    assert page.status_code == 200, page.text
    assert "<td>user:u-alice</td><td>downloaded 40x the usual volume</td>" in " ".join(
        page.text.split()
    ).replace("> <", "><")
    assert "bytes=" not in page.text
