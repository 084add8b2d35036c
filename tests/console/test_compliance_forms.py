"""The compliance page's forms: collect now and the signed report download, under CSRF."""

from __future__ import annotations

import io
import json
import zipfile

import pytest

from menshen.compliance.model import Outcome
from menshen.compliance.report.sign import verify_bytes
from menshen.errors import InvalidInput
from menshen.store.records import TenantRecord, UserRecord
from menshen.store.sql import SqlStore
from menshen.testing import FixedClock
from tests.console.compliance_world import T0, BookStub, ComplianceConsole, evidence

PAGE = "/console/compliance"
COLLECT = f"{PAGE}/collect"
REPORT = f"{PAGE}/report"


@pytest.fixture
def world(sqlite_store: SqlStore) -> ComplianceConsole:
    clock = FixedClock(T0)
    sqlite_store.add_tenant(TenantRecord("t2", "T2", T0))
    sqlite_store.tenant("t1").users.add(
        UserRecord("t1", "u-alice", "alice", "a@x.example", "Alice", None, False, T0, T0)
    )
    book = BookStub(clock)
    book.next["t1"] = {"identity.mfa_enrolled": evidence("identity.mfa_enrolled", Outcome.PASS)}
    return ComplianceConsole(sqlite_store, book, clock)


def _stub(world: ComplianceConsole) -> BookStub:
    assert isinstance(world.book, BookStub)
    return world.book


def _nothing_happened(world: ComplianceConsole) -> None:
    assert _stub(world).collected == []
    assert world.store.tenant("t1").compliance_reports.list() == []
    assert world.audit() == []


def test_collect_now_measures_for_this_tenant_as_the_admin(world: ComplianceConsole) -> None:
    """A posted collect form runs the service for t1 with the admin as actor, then 303."""
    answer = world.submit(COLLECT, framework="cisa-ztmm", lang="zh-TW")
    assert answer.status_code == 303
    assert answer.headers["location"] == f"{PAGE}?framework=cisa-ztmm&lang=zh-TW"
    assert _stub(world).collected == [("t1", "console:mei")]
    assert "identity.mfa_enrolled" in _stub(world).latest_evidence("t1")


def test_post_without_a_valid_token_changes_nothing(world: ComplianceConsole) -> None:
    """No token, a made-up one, another form's, or a cross-site post: 403, nothing runs."""
    tokens = world.forms(PAGE)
    for path in (COLLECT, REPORT):
        for data in ({}, {"csrf": ""}, {"csrf": "0" * 64}, {"csrf": "not hex"}):
            answer = world.post(path, {**data, "format": "json"})
            assert answer.status_code == 403, (path, data)
            assert "Nothing was changed" in answer.text
    assert world.post(COLLECT, {"csrf": tokens[REPORT]}).status_code == 403
    assert world.post(REPORT, {"csrf": tokens[COLLECT], "format": "json"}).status_code == 403
    other_admin = world.token(username="ben", session="s-ben")
    assert world.post(COLLECT, {"csrf": tokens[COLLECT]}, token=other_admin).status_code == 403
    for headers in ({"origin": "https://evil.example"}, {"sec-fetch-site": "cross-site"}):
        assert world.post(COLLECT, {"csrf": tokens[COLLECT]}, headers=headers).status_code == 403
    _nothing_happened(world)
    assert world.post(COLLECT, {"csrf": tokens[COLLECT]}).status_code == 303  # the right one


def test_json_report_download_is_signed_recorded_and_audited(world: ComplianceConsole) -> None:
    """The JSON envelope verifies with t1's keys; the report is recorded and audited."""
    answer = world.submit(REPORT, framework="cisa-ztmm", lang="en", format="json")
    assert answer.status_code == 200
    assert answer.headers["content-type"] == "application/json"
    assert answer.headers["content-disposition"].startswith('attachment; filename="t1-cisa-ztmm')
    assert "sandbox" in answer.headers["content-security-policy"]
    verified = verify_bytes(answer.content, world.keyrings["t1"].jwks())
    assert verified.tenant_id == "t1"
    with pytest.raises(InvalidInput, match="not in the tenant's published key set"):
        verify_bytes(answer.content, world.keyrings["t2"].jwks())
    content = json.loads(answer.content)["content"]
    assert content["tenant"] == "t1"
    (record,) = world.store.tenant("t1").compliance_reports.list()
    assert record.content_sha256 == verified.content_sha256
    (event,) = [item for item in world.audit() if item.kind == "compliance.report.produced"]
    assert event.actor == "console:mei"
    assert event.details["content_sha256"] == verified.content_sha256
    assert world.store.tenant("t2").compliance_reports.list() == []


def test_html_report_comes_with_its_detached_signature(world: ComplianceConsole) -> None:
    """HTML downloads as a zip of the file and its .sig, which verifies the file's bytes."""
    answer = world.submit(REPORT, framework="nist-800-207", lang="zh-TW", format="html")
    assert answer.status_code == 200
    assert answer.headers["content-type"] == "application/zip"
    with zipfile.ZipFile(io.BytesIO(answer.content)) as bundle:
        names = sorted(bundle.namelist())
        assert names[0].endswith(".html")
        assert names[1] == f"{names[0]}.sig"
        body, sig = bundle.read(names[0]), bundle.read(names[1])
    assert "零信任合規報告" in body.decode("utf-8")
    jwks = world.keyrings["t1"].jwks()
    assert verify_bytes(body, jwks, detached=sig).tenant_id == "t1"
    with pytest.raises(InvalidInput, match="changed after signing"):
        verify_bytes(body + b" ", jwks, detached=sig)


def test_bad_report_choices_change_nothing(world: ComplianceConsole) -> None:
    """An unknown format, framework or language is refused before anything is measured."""
    for fields, status in (
        ({"format": "docx"}, 400),
        ({"format": "json", "framework": "fsc-audit-percent"}, 404),
        ({"format": "json", "lang": "fr"}, 400),
    ):
        assert world.submit(REPORT, **fields).status_code == status, fields
    _nothing_happened(world)


def test_pdf_report_is_laid_out_and_signed(world: ComplianceConsole) -> None:
    """PDF (made in a worker thread) comes zipped with a .sig that verifies its bytes."""
    answer = world.submit(REPORT, framework="nist-800-207", lang="en", format="pdf")
    assert answer.status_code == 200
    with zipfile.ZipFile(io.BytesIO(answer.content)) as bundle:
        names = sorted(bundle.namelist())
        body, sig = bundle.read(names[0]), bundle.read(names[1])
    assert names[0].endswith(".pdf")
    assert body.startswith(b"%PDF-")
    assert verify_bytes(body, world.keyrings["t1"].jwks(), detached=sig).tenant_id == "t1"
