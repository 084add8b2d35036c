"""The console's compliance pages show the report's content from the stored evidence."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from menshen.compliance.model import Declaration, JsonValue, Lang, Outcome
from menshen.compliance.report.service import Format
from menshen.store.records import TenantRecord, UserRecord
from menshen.store.sql import SqlStore
from menshen.testing import FixedClock
from tests.console.compliance_world import T0, BookStub, ComplianceConsole, evidence

PAGE = "/console/compliance"
ZTMM = {"framework": "cisa-ztmm"}
AUTH_INITIAL = "cisa-ztmm/identity.authentication.initial"


@pytest.fixture
def world(sqlite_store: SqlStore) -> ComplianceConsole:
    clock = FixedClock(T0)
    sqlite_store.add_tenant(TenantRecord("t2", "T2", T0))
    for tenant_id in ("t1", "t2"):
        sqlite_store.tenant(tenant_id).users.add(
            UserRecord(tenant_id, "u-alice", "alice", "a@x.example", "Alice", None, False, T0, T0)
        )
    return ComplianceConsole(sqlite_store, BookStub(clock), clock)


def _stub(world: ComplianceConsole) -> BookStub:
    assert isinstance(world.book, BookStub)
    return world.book


def _main(html: str) -> str:
    return html.split("<main>", 1)[1]


def _cell(html: str, attribute: str, key: str) -> str:
    """The outcome (``data-outcome``) of the row carrying ``attribute="key"``."""
    found = re.search(rf'{attribute}="{re.escape(key)}" data-outcome="([a-z_]+)"', html)
    assert found is not None, key
    return found.group(1)


def _count(html: str, outcome: str) -> int:
    found = re.search(rf'data-outcome="{outcome}"><td>.*?</td><td class="n">(\d+)</td>', html)
    assert found is not None, outcome
    return int(found.group(1))


def _stage(html: str, facet: str) -> str:
    found = re.search(rf'data-facet="{facet}"><td>[^<]*</td><td class="stage">([^<]*)<', html)
    assert found is not None, facet
    return found.group(1)


def test_page_shows_firm_scope_period_scale_and_no_percentage(world: ComplianceConsole) -> None:
    """Firm, scope, period, counts per outcome, the ladders and the no-percentage note."""
    _stub(world).put("t1", evidence("identity.mfa_enrolled", Outcome.PASS, value=1.0))
    answer = world.get(PAGE, **ZTMM)
    assert answer.status_code == 200
    page = _main(answer.text)
    assert 'id="firm">Firm T1<' in page
    assert "scope of t1" in page
    assert "2026-10-26 03:00 UTC – 2026-11-25 03:00 UTC" in page
    assert "no regulator publishes a percentage" in page
    assert 'id="chart-counts"><svg' in page
    assert 'id="chart-groups"><svg' in page
    assert 'id="chart-facets"><svg' in page
    assert re.search(r"\d+(\.\d+)?\s?%", page) is None  # no percentage anywhere
    assert _count(page, "not_assessed") > 0
    assert 'id="no-evidence"' not in page
    assert 'style="' not in answer.text  # the CSP allows no inline style attributes


def test_figures_move_when_the_evidence_changes(world: ComplianceConsole) -> None:
    """MFA measured as failing, then passing: the control, the counts and the stage move."""
    stub = _stub(world)
    stub.put("t1", evidence("identity.mfa_enrolled", Outcome.FAIL, value=0.4, affected=3),
             evidence("identity.mfa_required_restricted_apps", Outcome.PASS))  # fmt: skip
    before = _main(world.get(PAGE, **ZTMM).text)
    assert _cell(before, "data-control", AUTH_INITIAL) == "fail"
    assert "fix identity.mfa_enrolled: 3 affected" in before  # the gap's next step
    stub.put("t1", evidence("identity.mfa_enrolled", Outcome.PASS, T0 + timedelta(hours=1)))
    after = _main(world.get(PAGE, **ZTMM).text)
    assert _cell(after, "data-control", AUTH_INITIAL) == "pass"
    assert _count(after, "pass") == _count(before, "pass") + 1
    assert _count(after, "fail") == _count(before, "fail") - 1
    assert _stage(before, "identity.authentication") == "below the first stage"
    assert _stage(after, "identity.authentication") == "Initial"


def test_page_in_traditional_chinese(world: ComplianceConsole) -> None:
    """lang=zh-TW prints the report's Chinese labels and framework title."""
    answer = world.get(PAGE, framework="cisa-ztmm", lang="zh-TW")
    assert answer.status_code == 200
    assert "CISA 零信任成熟度模型" in answer.text
    assert "缺口與下一步" in answer.text
    assert 'lang="zh-Hant-TW"' in answer.text


def test_unknown_framework_control_or_language_is_a_problem_page(
    world: ComplianceConsole,
) -> None:
    """An unknown framework or control is a 404 problem page, a bad language a 400."""
    assert world.get(PAGE, framework="fsc-audit-percent").status_code == 404
    missing = world.get(f"{PAGE}/controls/cisa-ztmm/no.such.control")
    assert missing.status_code == 404
    assert 'id="problem"' in missing.text
    other = world.get(f"{PAGE}/controls/{AUTH_INITIAL}", framework="pci-dss-8")
    assert other.status_code == 404
    assert world.get(PAGE, lang="fr").status_code == 400


def test_control_page_shows_evidence_data_and_history(world: ComplianceConsole) -> None:
    """The control's evidence with its data rows, and each measurement's timestamp."""
    stub = _stub(world)
    rows: list[JsonValue] = [
        {"user": "bob", "groups": "contractors"},
        {"user": "carol", "groups": "ops"},
    ]
    stub.put("t1", evidence("identity.mfa_enrolled", Outcome.PASS, value=1.0),
             evidence("identity.mfa_required_restricted_apps", Outcome.PASS))  # fmt: skip
    stub.put("t1", evidence("identity.mfa_enrolled", Outcome.FAIL, T0 + timedelta(hours=2),
                            value=0.5, affected=2, data={"without_mfa": rows}))  # fmt: skip
    answer = world.get(f"{PAGE}/controls/{AUTH_INITIAL}")
    assert answer.status_code == 200
    page = _main(answer.text)
    assert 'id="outcome" data-outcome="fail"' in page
    assert "<td>bob</td><td>contractors</td>" in page
    assert '<span class="value">50</span>' not in page
    assert "50%" in page
    assert f'href="{PAGE}/controls/fsc-zta/identity.traditional?lang=en"' in page  # mapped
    history = page.split('id="history"', 1)[1]
    assert history.index("2026-11-25 05:00 UTC") < history.index("2026-11-25 03:00 UTC")


def test_declared_control_is_marked_declared_never_measured(world: ComplianceConsole) -> None:
    """A declaration shows as declared, with its justification, on both pages."""
    declared = Declaration(AUTH_INITIAL, Outcome.PASS, "hardware tokens at the door", "cfo", T0)
    _stub(world).declared["t1"] = {AUTH_INITIAL: declared}
    page = _main(world.get(PAGE, **ZTMM).text)
    row = page.split(f'data-control="{AUTH_INITIAL}"', 1)[1].split("</tr>", 1)[0]
    assert 'class="declared"' in row
    assert "Declared, not measured" in row
    assert "measured" not in row.replace("not measured", "")
    assert "hardware tokens at the door" in page
    control = world.get(f"{PAGE}/controls/{AUTH_INITIAL}").text
    assert 'id="basis">Declared, not measured<' in control


def test_trend_against_the_last_stored_report(world: ComplianceConsole) -> None:
    """No report yet: "first"; after a signed report, the trend chart and the change."""
    stub = _stub(world)
    stub.put("t1", evidence("identity.mfa_enrolled", Outcome.FAIL, affected=1),
             evidence("identity.mfa_required_restricted_apps", Outcome.PASS))  # fmt: skip
    assert 'id="trend-none"' in world.get(PAGE, **ZTMM).text
    world.desk.reports.produce("cisa-ztmm", Lang.EN, Format.JSON)
    stub.put("t1", evidence("identity.mfa_enrolled", Outcome.PASS, T0 + timedelta(hours=1)))
    page = _main(world.get(PAGE, **ZTMM).text)
    assert 'id="chart-trend"><svg' in page
    improved = page.split('id="trend-changes"', 1)[1].split("</tr>", 1)[0]
    assert f"{AUTH_INITIAL} (fail → pass)" in improved


def test_admin_of_one_tenant_never_sees_anothers_evidence(world: ComplianceConsole) -> None:
    """t2's evidence is not on t1's pages, and t2's admin cannot open t1's console."""
    stub = _stub(world)
    stub.put("t2", evidence("identity.mfa_enrolled", Outcome.FAIL, T0 + timedelta(hours=5),
                            data={"without_mfa": [{"user": "t2-secret-user"}]}))  # fmt: skip
    stub.put("t1", evidence("identity.mfa_enrolled", Outcome.PASS, value=1.0),
             evidence("identity.mfa_required_restricted_apps", Outcome.PASS))  # fmt: skip
    control = world.get(f"{PAGE}/controls/{AUTH_INITIAL}").text
    overview = world.get(PAGE, **ZTMM).text
    for page in (control, overview):
        assert "t2-secret-user" not in page
        assert "Firm T2" not in page
        assert "08:00 UTC" not in page  # t2's measurement time
    assert _cell(_main(overview), "data-control", AUTH_INITIAL) == "pass"
    assert world.get(PAGE, token=world.token("t2")).status_code == 401


def test_non_admins_and_sessions_without_mfa_are_refused(world: ComplianceConsole) -> None:
    """The console's access rules hold on every compliance page and form."""
    staff = world.token(groups=("finance-ops",))
    no_mfa = world.token(mfa=False)
    for token in (staff, no_mfa):
        assert world.get(PAGE, token=token).status_code == 403
        assert world.get(f"{PAGE}/controls/{AUTH_INITIAL}", token=token).status_code == 403
        assert world.post(f"{PAGE}/collect", {}, token=token).status_code == 403
    assert _stub(world).collected == []
