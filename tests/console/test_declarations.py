"""Declaring a control from the console: stored and audited as the CLI does, or nothing."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from menshen.compliance.model import Outcome
from menshen.compliance.service import ComplianceService
from menshen.console import Admitted
from menshen.console.compliance_desk import ComplianceDesk
from menshen.console.forms import FormGuard
from menshen.settings import Settings
from menshen.store.compliance import MAX_ATTACHMENT_BYTES
from menshen.store.records import TenantRecord
from menshen.store.sql import SqlStore
from menshen.testing import FixedClock
from tests.console.compliance_world import BROWSER, FORM_KEY, T0, ComplianceConsole

CONTROL = "iso-27001/A.5.12"
PAGE = f"/console/compliance/controls/{CONTROL}"
DECLARE = f"/console/compliance/declare/{CONTROL}"
UNDECLARE = f"/console/compliance/undeclare/{CONTROL}"
GOOD = {"outcome": "pass", "justification": "Classified by the records policy", "lang": "en"}
FORWARDED = {"x-forwarded-proto": "https", "x-forwarded-host": "apps.firm.example"}


@pytest.fixture
def service(sqlite_store: SqlStore, tmp_path: Path) -> ComplianceService:
    sqlite_store.add_tenant(TenantRecord("t2", "T2", T0))
    settings = Settings(data_dir=tmp_path / "data", database_url=None, tenant="t1")
    return ComplianceService(sqlite_store, settings, FixedClock(T0))


@pytest.fixture
def world(sqlite_store: SqlStore, service: ComplianceService) -> ComplianceConsole:
    made = ComplianceConsole(sqlite_store, service, FixedClock(T0))
    desk = made.desk
    served = ComplianceDesk(
        desk.tenant_id, desk.catalog, service, desk.reports, desk.previous_summary, desk.audit,
        declarations=service,
    )  # fmt: skip
    return ComplianceConsole(sqlite_store, service, made.clock, serve=served)


def _send(
    world: ComplianceConsole, path: str, fields: dict[str, str], *,
    files: dict[str, tuple[str, bytes, str]] | None = None, csrf: str | None = None,
    headers: dict[str, str] | None = None, token: str | None = None,
) -> Any:  # fmt: skip
    """Post the declare form as a browser does: multipart, with the page's own token."""
    if csrf is None:
        csrf = world.forms(PAGE)[path]
    sent = {"x-menshen-assertion": token or world.token(), **FORWARDED,
            **(BROWSER if headers is None else headers)}  # fmt: skip
    empty_file = {"attachment": ("", b"", "application/octet-stream")}
    return world.client.post(
        path,
        data={"csrf": csrf, **fields},
        files=empty_file if files is None else files,
        headers=sent,
        follow_redirects=False,
    )


def _nothing_declared(world: ComplianceConsole, service: ComplianceService) -> None:
    assert service.declarations("t1") == {}
    assert [row.kind for row in world.audit()] == []


def test_declaring_stores_digest_and_audits_with_the_admin_as_author(
    world: ComplianceConsole, service: ComplianceService
) -> None:
    """Outcome, justification, attachment and expiry stored; SHA-256 shown; audited."""
    body = b"%PDF-1.7 records policy, signed by the board\n" * 100
    answer = _send(
        world, DECLARE, {**GOOD, "expires": "2027-06-30"},
        files={"attachment": ("C:\\policies\\records-policy.pdf", body, "application/pdf")},
    )  # fmt: skip
    assert answer.status_code == 303, answer.text
    assert answer.headers["location"] == f"{PAGE}?lang=en"
    digest = hashlib.sha256(body).hexdigest()
    made = service.declarations("t1")[CONTROL]
    assert (made.outcome, made.by, made.justification) == (
        Outcome.PASS,
        "console:mei",
        GOOD["justification"],
    )
    assert (made.attachment_name, made.attachment_sha256) == ("records-policy.pdf", digest)
    assert made.expires_at == datetime(2027, 6, 30, tzinfo=UTC)
    assert service.attachment("t1", CONTROL) == ("records-policy.pdf", body)
    [event] = world.audit()
    assert (event.kind, event.actor, event.subject) == (
        "compliance.declared",
        "console:mei",
        CONTROL,
    )
    assert event.details == {"control": CONTROL, "outcome": "pass", "attachment_sha256": digest}
    page = world.get(PAGE).text
    assert f"sha256 {digest}" in page
    assert 'id="current-declaration"' in page
    assert "Classified by the records policy" in page


def test_no_file_chosen_declares_without_an_attachment(
    world: ComplianceConsole, service: ComplianceService
) -> None:
    """A browser's empty file part is no attachment; not_applicable is declarable."""
    answer = _send(world, DECLARE, {**GOOD, "outcome": "not_applicable", "expires": ""})
    assert answer.status_code == 303
    made = service.declarations("t1")[CONTROL]
    assert made.outcome is Outcome.NOT_APPLICABLE
    assert made.attachment_sha256 is None
    assert made.expires_at is None


@pytest.mark.parametrize(
    ("fields", "status"),
    [
        ({**GOOD, "justification": ""}, 400),
        ({**GOOD, "justification": " \n\t "}, 400),
        ({**GOOD, "justification": "x" * 10_001}, 400),
        ({**GOOD, "outcome": "fail"}, 400),
        ({**GOOD, "outcome": "not_assessed"}, 400),
        ({"justification": "no outcome"}, 400),
        ({**GOOD, "expires": "2027-13-01"}, 400),
        ({**GOOD, "expires": "30/06/2027"}, 400),
        ({**GOOD, "expires": "20270630"}, 400),
        ({**GOOD, "expires": "2026-11-25"}, 400),  # today at 00:00 UTC: already past
    ],
)
def test_bad_fields_are_refused_and_nothing_is_written(
    world: ComplianceConsole, service: ComplianceService, fields: dict[str, str], status: int
) -> None:
    """Empty or over-long justification, undeclarable outcome, bad or past date: 400."""
    answer = _send(world, DECLARE, fields)
    assert answer.status_code == status, answer.text
    assert "Nothing was declared" in answer.text
    _nothing_declared(world, service)


def test_an_attachment_over_the_store_limit_is_refused(
    world: ComplianceConsole, service: ComplianceService
) -> None:
    """5 MiB is accepted, one byte more is a 413 and nothing is written."""
    over = {"attachment": ("big.bin", b"\0" * (MAX_ATTACHMENT_BYTES + 1), "application/pdf")}
    answer = _send(world, DECLARE, GOOD, files=over)
    assert answer.status_code == 413
    assert "larger than 5 MiB" in answer.text
    _nothing_declared(world, service)
    exact = {"attachment": ("ok.bin", b"\1" * MAX_ATTACHMENT_BYTES, "application/pdf")}
    assert _send(world, DECLARE, GOOD, files=exact).status_code == 303
    assert service.declarations("t1")[CONTROL].attachment_name == "ok.bin"


def test_a_second_file_field_is_refused(
    world: ComplianceConsole, service: ComplianceService
) -> None:
    """Only the attachment may carry a file."""
    files = {"attachment": ("a.txt", b"a", "text/plain"), "other": ("b.txt", b"b", "text/plain")}
    assert _send(world, DECLARE, GOOD, files=files).status_code == 400
    _nothing_declared(world, service)


def test_unknown_control_is_a_404_and_nothing_is_written(
    world: ComplianceConsole, service: ComplianceService
) -> None:
    """A control the catalog does not have cannot be declared or withdrawn."""
    user = Admitted("u-mei", "mei", ("admins",), "s-mei")
    for verb in ("declare", "undeclare"):
        path = f"/console/compliance/{verb}/iso-27001/A.99.99"
        csrf = FormGuard(FORM_KEY).token(user, path)
        answer = _send(world, path, GOOD, csrf=csrf) if verb == "declare" else world.post(
            path, {"csrf": csrf}
        )  # fmt: skip
        assert answer.status_code == 404, verb
    _nothing_declared(world, service)


def test_forged_declarations_are_refused_and_nothing_is_written(
    world: ComplianceConsole, service: ComplianceService
) -> None:
    """No or wrong token, another form's, another admin, cross-site, not multipart: 403."""
    tokens = world.forms(PAGE)
    good = tokens[DECLARE]
    attempts: list[dict[str, Any]] = [
        {"csrf": ""},
        {"csrf": "0" * 64},
        {"csrf": world.forms("/console/compliance")["/console/compliance/collect"]},
        {"csrf": good, "token": world.token(username="ben", session="s-ben")},
        {"csrf": good, "headers": {"origin": "https://evil.example"}},
        {"csrf": good, "headers": {"sec-fetch-site": "cross-site"}},
    ]
    for options in attempts:
        answer = _send(world, DECLARE, GOOD, **options)
        assert answer.status_code == 403, options
        assert "Nothing was changed" in answer.text
    plain = world.post(DECLARE, {"csrf": good, **GOOD})  # url-encoded: not the declare form
    assert plain.status_code == 403
    _nothing_declared(world, service)
    assert _send(world, DECLARE, GOOD, csrf=good).status_code == 303


def test_withdrawing_from_the_console_is_audited_and_only_once(
    world: ComplianceConsole, service: ComplianceService
) -> None:
    """Withdraw removes the declaration (audited as the admin); again is a 404."""
    assert _send(world, DECLARE, GOOD).status_code == 303
    csrf = world.forms(PAGE)[UNDECLARE]
    assert world.post(UNDECLARE, {"csrf": "0" * 64}).status_code == 403
    assert CONTROL in service.declarations("t1")
    answer = world.post(UNDECLARE, {"csrf": csrf, "lang": "zh-TW"})
    assert answer.status_code == 303
    assert answer.headers["location"] == f"{PAGE}?lang=zh-TW"
    assert service.declarations("t1") == {}
    withdrawn = world.audit()[-1]
    assert (withdrawn.kind, withdrawn.actor, withdrawn.subject) == (
        "compliance.declaration_withdrawn",
        "console:mei",
        CONTROL,
    )
    assert world.post(UNDECLARE, {"csrf": csrf}).status_code == 404
    assert 'id="current-declaration"' not in world.get(PAGE).text


def test_another_tenants_declaration_is_neither_shown_nor_withdrawn(
    world: ComplianceConsole, service: ComplianceService
) -> None:
    """t2's declaration of the same control stays t2's: t1's page and forms never reach it."""
    service.declare("t2", CONTROL, outcome=Outcome.PASS, justification="t2's own", by="t2-ciso")
    page = world.get(PAGE).text
    assert "t2&#39;s own" not in page
    assert "t2-ciso" not in page
    assert UNDECLARE not in world.forms(PAGE)  # t1 has nothing to withdraw
    csrf = FormGuard(FORM_KEY).token(Admitted("u-mei", "mei", ("admins",), "s-mei"), UNDECLARE)
    assert world.post(UNDECLARE, {"csrf": csrf}).status_code == 404
    assert CONTROL in service.declarations("t2")
    assert [row.kind for row in world.audit()] == []


def test_a_lapsed_declaration_is_marked_on_the_control_page(
    world: ComplianceConsole, service: ComplianceService
) -> None:
    """Past its expiry the page says it no longer counts; before, it does not."""
    assert _send(world, DECLARE, {**GOOD, "expires": "2026-11-26"}).status_code == 303
    assert 'id="lapsed"' not in world.get(PAGE).text
    world.clock.advance(24 * 3600)
    assert 'id="lapsed"' in world.get(PAGE).text
