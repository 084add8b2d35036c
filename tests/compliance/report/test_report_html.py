"""The HTML report: every control and its evidence, in the report's language, escaped,
bounded, with charts and the signature block."""

from __future__ import annotations

import re

from menshen.assertions.keyring import Keyring
from menshen.compliance.model import Lang, Outcome
from menshen.compliance.report.canonical import content_hash, document_json
from menshen.compliance.report.html import render_html
from menshen.compliance.report.sign import sign_hash
from menshen.compliance.report.tables import data_tables

from .conftest import EVIDENCE, FIRM, FRAMEWORK, make_document


def _visible(html: str) -> str:
    """The page text without the style sheet and tags."""
    body = html.split("</style>", 1)[1]
    return re.sub(r"<[^>]+>", " ", body)


def test_html_lists_every_control_with_its_outcome_and_evidence() -> None:
    """Each control id and title appears, and each measured check with its summary."""
    html = render_html(make_document(Lang.EN), None)
    for control in FRAMEWORK.controls:
        assert f'id="control-{control.id}"' in html
        assert control.title.en in html
    for item in EVIDENCE.values():
        assert f'id="evidence-{item.check_id}"' in html
        assert item.summary.en in html
    assert "store unavailable" in html  # the collector's error is shown
    assert "Require WebAuthn on settlement-admin" in html


def test_html_shows_evidence_data_as_bounded_tables() -> None:
    """The rows behind the evidence are printed, cut at 25 with the total said."""
    html = render_html(make_document(Lang.EN), None)
    assert "<td>user00</td>" in html
    assert "<td>user24</td>" in html
    assert "<td>user25</td>" not in html
    assert "25 of 40 rows shown" in html


def test_html_escapes_data_from_the_live_system() -> None:
    """A user name with markup is printed as text, never as markup."""
    html = render_html(make_document(Lang.EN), None)
    assert "settlement-admin-&lt;b&gt;" in html
    assert "settlement-admin-<b>" not in html


def test_zh_tw_report_has_chinese_labels_and_no_english_headings() -> None:
    """The zh-TW report prints its fixed labels in Chinese (and names the CJK font)."""
    html = render_html(make_document(Lang.ZH_TW), None)
    text = _visible(html)
    for heading in ("零信任合規報告", "本報告不是什麼", "缺口與下一步", "證據與其背後資料"):
        assert heading in text
    for english in ("What this report is not", "Gaps and next steps", "Evidence and the data"):
        assert english not in text
    assert '<html lang="zh-Hant-TW">' in html
    assert '"Noto Sans CJK TC"' in html
    assert "控制項 ZT-ID-1 零信任" in text


def test_declared_control_is_marked_declared_not_measured() -> None:
    """A declaration is shown as the firm's word with its justification and attachment."""
    html = render_html(make_document(Lang.EN), None)
    assert "Declared, not measured" in html
    assert "Laptops are encrypted by the MDM" in html
    assert "mdm-export.csv" in html
    assert "ab" * 32 in html


def test_report_says_it_is_not_a_regulator_score_and_prints_no_score_percentage() -> None:
    """The 'what this report is not' box is there and the standing is a count of controls."""
    doc = make_document(Lang.EN)
    html = render_html(doc, None)
    assert "What this report is not" in html
    assert "2 of 3 assessed controls pass" in html
    standing = _visible(html).split("Standing", 1)[1].split("Controls", 1)[0]
    assert "%" not in standing
    assert doc.binding.en in html


def test_charts_are_inline_svg_with_a_stage_ladder_and_counts() -> None:
    """Counts per outcome and the stage ladder are drawn server-side as SVG."""
    html = render_html(make_document(Lang.EN), None)
    assert html.count("<svg") == 3  # counts, groups, facets (no trend on a first report)
    assert "<script" not in html
    assert "Stage reached per group" in html


def test_trend_against_the_previous_report_lists_what_moved() -> None:
    """With a previous summary, the trend chart and the regressed control appear."""
    first = make_document(Lang.EN)
    previous = dict(first.summary)
    controls = dict(previous["controls"])  # type: ignore[arg-type]
    controls["ZT-ID-2"] = {"basis": "measured", "outcome": Outcome.PASS.value}
    previous["controls"] = controls
    doc = make_document(Lang.EN, previous_summary=previous)
    assert not doc.trend.first
    html = render_html(doc, None)
    assert html.count("<svg") == 4
    regressed = html.split("Regressed", 1)[1].split("</tr>", 1)[0]
    assert "ZT-ID-2" in regressed


def test_signature_block_prints_hash_signature_and_key_id(keyring: Keyring) -> None:
    """A signed report shows its content hash, the JWS and the key id."""
    doc = make_document(Lang.EN)
    digest = content_hash(document_json(doc))
    signature = sign_hash(doc.tenant_id, digest, keyring.active_signing_key())
    html = render_html(doc, signature)
    assert digest in html
    assert signature.jws in html
    assert signature.key_id in html
    assert FIRM in html
    assert "not signed yet" in render_html(doc, None)


def test_data_tables_keep_scalars_lists_and_mappings_readable() -> None:
    """Scalars and short plain lists are key/value rows; lists of rows and mappings tables."""
    tables = data_tables(
        {"total": 3, "apps": [{"app": "wiki", "mfa": False}], "ids": ["a", "b"], "by": {"x": 1}}
    )
    assert [t.name for t in tables] == ["", "apps", "by"]
    assert tables[0].rows == (("ids", "a, b"), ("total", "3"))
    assert tables[1].columns == ("app", "mfa")
    assert tables[1].rows == (("wiki", "no"),)
    assert tables[2].rows == (("x", "1"),)
    nested = data_tables({"failing": {"count": 1, "rows": [{"app": "settlement"}]}})
    assert [t.name for t in nested] == ["failing"]
    assert nested[0].columns == ("app",)
    assert nested[0].rows == (("settlement",),)
