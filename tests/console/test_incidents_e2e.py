"""The incident pages behind the real gateway: an admin acknowledges an incident from the
page; the same form posted cross-site changes nothing."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from menshen.demo.firm import TENANT
from menshen.monitor.incidents.model import IncidentState
from tests.console.monitor_world import finding
from tests.e2e.harness import RunningStack, sign_in

pytestmark = pytest.mark.e2e
LIST = "/console/incidents"
FORM = re.compile(r'action="([^"]+)">\s*<input type="hidden" name="csrf" value="([0-9a-f]+)"')


@pytest.fixture(scope="module")
def running(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningStack]:
    stack = RunningStack(Path(tmp_path_factory.mktemp("console-incidents")))
    stack.start()
    try:
        yield stack
    finally:
        stack.stop()


def test_admin_acknowledges_an_incident_through_the_gateway(running: RunningStack) -> None:
    """List, open, acknowledge (303); a cross-site post of the same form is refused (403)."""
    platform = running.stack.platform
    assert platform is not None
    made = finding(TENANT, at=platform.clock.now() - timedelta(minutes=10))
    incident, _ = platform.incident_book().record(
        made, first_event_at=made.at, detected_at=made.at + timedelta(minutes=1)
    )
    page_path = f"{LIST}/{incident.id}"
    with running.client() as client:
        done = sign_in(running, client, "admin", target=LIST)
        assert done.status_code == 302, done.text
        listed = client.get(LIST)
        assert listed.status_code == 200, listed.text
        assert f'data-incident="{incident.id}"' in listed.text
        forms = dict(FORM.findall(client.get(page_path).text))
        ack = f"{page_path}/acknowledge"
        forged = client.post(
            ack, data={"csrf": forms[ack]}, headers={"origin": "https://evil.example"}
        )
        assert forged.status_code == 403
        assert platform.incident_book().get(TENANT, incident.id).state is IncidentState.OPEN
        answer = client.post(ack, data={"csrf": forms[ack]}, headers={"origin": running.url})
        assert answer.status_code == 303, answer.text
    stored = platform.incident_book().get(TENANT, incident.id)
    assert stored.state is IncidentState.ACKNOWLEDGED
    assert stored.assignee == "console:admin"
    changed = [r for r in running.audit() if r.kind == "monitor.incident.changed"]
    assert [(r.actor, r.reason) for r in changed] == [("console:admin", "acknowledged")]
