"""`menshen console serve` wires the monitoring pages to the platform's own services."""

from __future__ import annotations

import re
import warnings
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from starlette.exceptions import StarletteDeprecationWarning

from menshen.app import Platform
from menshen.assertions.mint import AssertionMinter
from menshen.cli.console_serve import console_for
from menshen.console import ConsoleConfig
from menshen.monitor.incidents.model import IncidentState
from menshen.settings import Settings
from tests.console.jwks_stub import serving_jwks
from tests.console.monitor_world import finding

with warnings.catch_warnings():
    warnings.simplefilter("ignore", StarletteDeprecationWarning)
    from starlette.testclient import TestClient


@pytest.fixture
def platform(tmp_path: Path) -> Iterator[Platform]:
    settings = Settings(data_dir=tmp_path / "data", database_url=None, tenant="acme")
    opened = Platform.open(settings)  # console_for verifies with the system clock
    try:
        yield opened
    finally:
        opened.close()


@pytest.fixture
def jwks_url(platform: Platform) -> Iterator[str]:
    """The gateway's JWKS endpoint, stood in for on a loopback port."""
    with serving_jwks(platform.keyring("acme").jwks_json()) as url:
        yield url


def test_served_console_lists_and_acknowledges_the_tenants_incidents(
    platform: Platform, jwks_url: str
) -> None:
    """The stored incident is listed; acknowledging it from the page is stored and audited."""
    made = finding("acme", at=platform.clock.now() - timedelta(minutes=10))
    incident, _ = platform.incident_book().record(
        made, first_event_at=made.at, detected_at=made.at + timedelta(minutes=1)
    )
    app = console_for(platform, gateway=jwks_url, audience="console", config=ConsoleConfig())
    minter = AssertionMinter(platform.keyring("acme"), platform.settings.issuer, platform.clock)
    token = minter.mint(
        audience="console", subject="u1", email="a@x.example", groups=["admins"],
        session_id="s1", mfa_method="totp", mfa_at=platform.clock.now(), username="mei",
    )  # fmt: skip
    headers = {"x-menshen-assertion": token}
    path = f"/console/incidents/{incident.id}"
    with TestClient(app, base_url="https://apps.firm.example") as client:
        listed = client.get("/console/incidents", headers=headers)
        assert listed.status_code == 200, listed.text
        assert f'data-incident="{incident.id}"' in listed.text
        page = client.get(path, headers=headers).text
        tokens = dict(re.findall(r'action="([^"]+)">\s*<input type="hidden" name="csrf" '
                                 r'value="([0-9a-f]+)"', page))  # fmt: skip
        answer = client.post(f"{path}/acknowledge", data={"csrf": tokens[f"{path}/acknowledge"]},
                             headers={**headers, "origin": "https://apps.firm.example"},
                             follow_redirects=False)  # fmt: skip
        assert answer.status_code == 303, answer.text
    assert platform.incident_book().get("acme", incident.id).state is IncidentState.ACKNOWLEDGED
    kinds = [(r.kind, r.actor) for r in platform.store.tenant("acme").audit.iterate()]
    assert ("monitor.incident.changed", "console:mei") in kinds
