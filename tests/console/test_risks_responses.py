"""The console's risk page (scores decayed to now, the findings behind them) and the
response actions page with its audited undo."""

from __future__ import annotations

import asyncio
import re
from datetime import timedelta

import pytest

from menshen.monitor.response.model import ActionKind
from menshen.store.sql import SqlStore
from tests.console.monitor_world import T0, MonitorConsole

RESPONSES = "/console/responses"
BROWSER = {"origin": "https://apps.firm.example", "sec-fetch-site": "same-origin"}


@pytest.fixture
def world(store: SqlStore) -> MonitorConsole:
    return MonitorConsole(store)


def _row(html: str, marker: str) -> str:
    return html[html.index(marker) :].split("</tr>")[0]


def test_risk_page_decays_the_stored_score_and_lists_its_findings(world: MonitorConsole) -> None:
    """A score of 80 stored a half-life ago is 40 now (low); the finding's share halves too."""
    world.incident()  # a high finding at full confidence: 70 points when made
    world.score("t1", "user:u-alice", 80.0)
    world.clock.advance(timedelta(hours=24).total_seconds())
    page = world.get("/console/risks")
    assert page.status_code == 200, page.text
    row = _row(page.text, 'data-subject="user:u-alice"')
    assert "<td>40.0</td>" in row
    assert '<td class="sev-low">low</td>' in row
    assert "<td>80.0</td>" in row
    assert "<td>2026-11-25 03:00:00</td>" in row
    assert "<td>9h57m" in row  # 24h × log2(40 / 30) until it is under the low threshold
    assert "70.0 → 35.0" in row
    assert 'href="/console/incidents/inc0001"' in row


def test_risk_page_leaves_out_decayed_findings_and_orders_by_score(
    world: MonitorConsole,
) -> None:
    """Highest score first; a finding decayed to nothing no longer counts."""
    world.score("t1", "user:u-alice", 20.0)
    world.score("t1", "network:198.51.100.7", 60.0)
    world.incident()
    world.clock.advance(timedelta(days=11).total_seconds())
    text = world.get("/console/risks").text
    assert text.index("network:198.51.100.7") < text.index('data-subject="user:u-alice"')
    assert "none still counting" in _row(text, 'data-subject="user:u-alice"')


def test_responses_list_newest_first_with_undo_only_for_done_actions(
    world: MonitorConsole,
) -> None:
    """Each action with its state; an undo form only where undo can work."""
    inc = world.incident()
    block = world.action(incident_id=inc)
    world.clock.advance(60)
    step_up = world.action(kind=ActionKind.REQUIRE_STEP_UP, key="k2")
    asyncio.run(world.runner(lambda event: None).undo("t1", step_up, by="admin"))
    page = world.get(RESPONSES)
    assert page.status_code == 200, page.text
    ids = re.findall(r'data-action="([^"]+)"', page.text)
    assert ids == [step_up, block]
    assert f'action="{RESPONSES}/{block}/undo"' in page.text
    assert f'action="{RESPONSES}/{step_up}/undo"' not in page.text
    assert "undone (2026-11-25 03:01:00 by admin)" in page.text
    assert f'href="/console/incidents/{inc}"' in _row(page.text, f'data-action="{block}"')


def test_undo_lifts_the_block_and_is_audited(world: MonitorConsole) -> None:
    """Undo from the console: the block is lifted, the action undone by the admin, audited."""
    block = world.action()
    assert world.live.blocked("t1", "203.0.113.9", world.clock.now())
    world.clock.advance(120)
    answer = world.submit(RESPONSES, f"{RESPONSES}/{block}/undo")
    assert answer.status_code == 303
    assert answer.headers["location"] == RESPONSES
    assert not world.live.blocked("t1", "203.0.113.9", world.clock.now())
    record = world.store.tenant("t1").response_actions.get(block)
    assert record is not None
    assert (record.state, record.undone_by, record.undone_at) == (
        "undone",
        "console:mei",
        T0 + timedelta(minutes=2),
    )
    [event] = world.audit()
    assert (event.kind, event.actor, event.subject) == (
        "monitor.action_undone",
        "console:mei",
        "ip:203.0.113.9",
    )
    assert event.details == {"action_id": block}


def test_undo_twice_or_without_a_valid_form_changes_nothing(world: MonitorConsole) -> None:
    """A forged undo is 403 and the block stays; a second undo is a 409 with no new event."""
    block = world.action()
    path = f"{RESPONSES}/{block}/undo"
    token = world.forms(RESPONSES)[path]
    assert world.post(path, {"csrf": "0" * 64}, headers=BROWSER).status_code == 403
    assert (
        world.post(path, {"csrf": token}, headers={"origin": "https://evil.example"}).status_code
        == 403
    )
    assert world.live.blocked("t1", "203.0.113.9", world.clock.now())
    assert world.audit() == []
    assert world.post(path, {"csrf": token}, headers=BROWSER).status_code == 303
    again = world.post(path, {"csrf": token}, headers=BROWSER)
    assert again.status_code == 409
    assert "Nothing was undone" in again.text
    assert [event.kind for event in world.audit()] == ["monitor.action_undone"]
    missing = f"{RESPONSES}/nope/undo"
    assert world.post(missing, {"csrf": world.desk_token(missing)}).status_code == 404


def test_undo_of_a_suspension_enables_the_user(world: MonitorConsole) -> None:
    """The console calls the CLI's undo: a suspended user is enabled again."""
    suspend = world.action(kind=ActionKind.SUSPEND, key="k3")
    users = world.store.tenant("t1").users
    assert users.get("u-alice").disabled is True  # type: ignore[union-attr]
    assert world.submit(RESPONSES, f"{RESPONSES}/{suspend}/undo").status_code == 303
    assert users.get("u-alice").disabled is False  # type: ignore[union-attr]
