"""The compliance page over the demo firm's real store: its figures follow its configuration."""

from __future__ import annotations

import re
import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest
from starlette.exceptions import StarletteDeprecationWarning

from menshen.app import Platform
from menshen.cli.console_serve import console_for
from menshen.compliance.service import ComplianceService
from menshen.console import ConsoleConfig
from menshen.console.compliance_desk import compliance_desk_for
from menshen.demo.firm import FIRM_NAME, TENANT, demo_manifest, seed, seed_inventory
from menshen.identity.passwords import PasswordHasher
from menshen.identity.service import IdentityService
from menshen.manifest.apply import apply_manifests
from menshen.manifest.parse import parse_manifests
from menshen.settings import Settings
from menshen.store.records import TenantRecord
from menshen.testing import FixedClock
from tests.console.compliance_world import T0, ComplianceConsole, catalog

with warnings.catch_warnings():
    warnings.simplefilter("ignore", StarletteDeprecationWarning)
    from starlette.testclient import TestClient

PAGE = "/console/compliance"
AUTH_INITIAL = "cisa-ztmm/identity.authentication.initial"
UPSTREAM = "http://127.0.0.1:9/"
HOSTS = ("127.0.0.1", "localhost")


@pytest.fixture
def platform(tmp_path: Path) -> Iterator[Platform]:
    """The demo firm (Formosa Pay) seeded in a SQLite store, and a second firm beside it."""
    settings = Settings(
        data_dir=tmp_path / "data", database_url=None, tenant=TENANT, tenant_name=FIRM_NAME
    )
    opened = Platform.open(settings, FixedClock(T0))
    try:
        seed(opened, settlement_url=UPSTREAM, wiki_url=UPSTREAM, hosts=HOSTS)
        seed_inventory(opened)
        opened.store.add_tenant(TenantRecord("other-firm", "Other Firm", T0))
        other = IdentityService(
            opened.store.tenant("other-firm"), PasswordHasher(), opened.clock, bytes, bytes
        )
        other.create_user("zed-of-other-firm", "z@other.example", "Zed", "a long passphrase 1")
        ComplianceService(opened.store, opened.settings, opened.clock).collect("other-firm")
        yield opened
    finally:
        opened.close()


@pytest.fixture
def clock(platform: Platform) -> FixedClock:
    assert isinstance(platform.clock, FixedClock)
    return platform.clock


@pytest.fixture
def world(platform: Platform, clock: FixedClock) -> ComplianceConsole:
    """The console of the demo firm, wired by ``compliance_desk_for`` as ``console serve``."""
    desk = compliance_desk_for(platform, TENANT)
    return ComplianceConsole(
        platform.store,
        desk.evidence,
        clock,
        tenant_id=TENANT,
        keyrings={TENANT: platform.keyring(TENANT)},
        serve=desk,
    )


def _outcome(page: str, control_id: str) -> str:
    found = re.search(rf'data-control="{re.escape(control_id)}" data-outcome="([a-z_]+)"', page)
    assert found is not None, control_id
    return found.group(1)


def _count(page: str, outcome: str) -> int:
    found = re.search(rf'data-outcome="{outcome}"><td>.*?</td><td class="n">(\d+)</td>', page)
    assert found is not None, outcome
    return int(found.group(1))


def _drop_mfa(platform: Platform) -> None:
    """The firm's change: settlement's rule and its groups no longer demand a second factor."""
    text = demo_manifest(UPSTREAM, UPSTREAM, HOSTS)
    text = text.replace("      mfa: {required: true, maxAge: 12h}\n", "")
    text = text.replace("mfaRequired: true", "mfaRequired: false")
    apply_manifests(
        platform.store.tenant(TENANT), parse_manifests(text, "<test>"), clock=platform.clock
    )


def test_page_figures_move_when_the_firm_drops_mfa(
    world: ComplianceConsole, platform: Platform, clock: FixedClock
) -> None:
    """Collected from the live firm; MFA removed from settlement's rule → the page moves."""
    assert 'id="no-evidence"' in world.get(PAGE, framework="cisa-ztmm").text
    for _ in range(2):  # twice, so the audit chain the first collect starts is there too
        assert world.submit(f"{PAGE}/collect", framework="cisa-ztmm").status_code == 303
        clock.advance(1800)
    before = world.get(PAGE, framework="cisa-ztmm").text
    assert _outcome(before, AUTH_INITIAL) == "partial"  # 2 of 3 people have MFA
    assert 'id="firm">Formosa Pay<' in before
    _drop_mfa(platform)
    assert world.submit(f"{PAGE}/collect", framework="cisa-ztmm").status_code == 303
    after = world.get(PAGE, framework="cisa-ztmm").text
    assert _outcome(after, AUTH_INITIAL) == "fail"
    relying = {
        c.id
        for c in catalog().frameworks["cisa-ztmm"].controls
        if "identity.mfa_required_restricted_apps" in c.checks
    }
    moved = {c for c in relying if _outcome(before, c) != "fail"}
    assert AUTH_INITIAL in moved
    assert {c for c in relying if _outcome(after, c) == "fail"} == relying
    assert _count(after, "fail") == _count(before, "fail") + len(moved)
    assert "settlement" in after.split('id="gap-list"', 1)[1]  # the next step names the app
    control = world.get(f"{PAGE}/controls/{AUTH_INITIAL}").text
    evidence = control.split('id="evidence"', 1)[1].split('id="history"', 1)[0]
    measured = evidence.split('data-check="identity.mfa_required_restricted_apps"', 1)[1]
    assert '<dd data-outcome="fail">' in measured
    assert '<span class="value">0%</span>' in measured  # the measured figure and its data
    assert "<tr><th>apps</th><td>settlement</td></tr>" in evidence
    assert "require MFA on settlement" in evidence
    history = control.split('id="history"', 1)[1]
    for at in ("03:00", "03:30", "04:00"):
        assert f"2026-11-25 {at} UTC" in history
    events = [e for e in world.audit() if e.kind == "compliance.evidence_collected"]
    assert [e.actor for e in events] == ["console:mei"] * 3


def test_admin_never_sees_another_firms_evidence(world: ComplianceConsole) -> None:
    """The other firm's stored evidence (its user without MFA) never reaches this console."""
    assert world.submit(f"{PAGE}/collect").status_code == 303
    for path in (PAGE, f"{PAGE}/controls/{AUTH_INITIAL}"):
        page = world.get(path, framework="cisa-ztmm").text
        assert "zed-of-other-firm" not in page
        assert "Other Firm" not in page
    other = world.store.tenant("other-firm").compliance_evidence.latest()
    assert "zed-of-other-firm" in str(other["identity.mfa_enrolled"].data)


def test_console_serve_wires_the_compliance_pages(platform: Platform) -> None:
    """``console serve`` mounts /compliance behind the console's guard (no assertion: 401)."""
    app = console_for(
        platform, gateway="http://127.0.0.1:1", audience="console", config=ConsoleConfig()
    )
    client = TestClient(app)
    assert client.get(PAGE).status_code == 401
    assert client.post(f"{PAGE}/collect").status_code == 401
    assert client.get("/console/no-such-page").status_code == 404
    assert platform.store.tenant(TENANT).compliance_evidence.latest() == {}
