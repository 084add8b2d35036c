"""Evidence data as tables: a collector's bounded list (``rows``/``count``/``truncated``) is
one real table with its own column headers, plain values are key/value rows, and the HTML
report and console say how many rows were not shown."""

from __future__ import annotations

from datetime import timedelta

from menshen.compliance.model import Bilingual, Evidence, JsonValue, Lang, Outcome
from menshen.compliance.report.document import build_document
from menshen.compliance.report.html import render_html
from menshen.compliance.report.tables import data_tables, is_envelope

from .conftest import AT, DECLARATIONS, EVIDENCE, FRAMEWORK, PROFILE


def _envelope(count: int, shown: int) -> dict[str, JsonValue]:
    rows: list[JsonValue] = [
        {"user": f"user{i:02d}", "groups": ["contractors", "vendors"], "mfa": []}
        for i in range(shown)
    ]
    return {"rows": rows, "count": count, "truncated": count > shown}


def test_a_bounded_list_is_one_table_headed_by_its_row_keys() -> None:
    """rows/count/truncated become one table: columns from the keys, no count/truncated rows."""
    (table,) = data_tables({"without_mfa": _envelope(3, 3)})
    assert table.name == "without_mfa"
    assert table.columns == ("user", "groups", "mfa")
    assert table.headed
    assert table.rows[0] == ("user00", "contractors, vendors", "-")
    assert not table.cut
    assert all("count" not in cells and "truncated" not in cells for cells in table.rows)


def test_a_truncated_list_says_how_many_more_rows_there_are() -> None:
    """The collector kept 50 of 120 rows and the table shows 25: 95 more not shown."""
    (table,) = data_tables({"stale": _envelope(120, 50)})
    assert len(table.rows) == 25
    assert table.total == 120
    assert table.cut
    assert table.more == 95


def test_plain_values_are_key_value_rows_first() -> None:
    """Scalars and short lists of plain values are key/value rows of the first table."""
    data: dict[str, JsonValue] = {
        "window_seconds": 900,
        "engine": True,
        "apps": ["settlement", "wiki"],
        "failing": _envelope(0, 0),
    }
    first, failing = data_tables(data)
    assert first.name == ""
    assert not first.headed
    assert first.rows == (
        ("apps", "settlement, wiki"),
        ("engine", "yes"),
        ("window_seconds", "900"),
    )
    assert failing.name == "failing"
    assert failing.rows == ()
    assert failing.total == 0
    assert not failing.cut


def test_an_envelope_inside_a_mapping_gets_its_own_table() -> None:
    """A mapping one level down: its values as key/value rows, its bounded list as a table."""
    data: dict[str, JsonValue] = {"policy": {"min_chars": 12, "other": _envelope(2, 2)}}
    outer, inner = data_tables(data)
    assert outer.rows == (("min_chars", "12"),)
    assert inner.name == "policy.other"
    assert inner.columns == ("user", "groups", "mfa")


def test_columns_are_bounded() -> None:
    """Rows with many keys keep the first max_columns columns."""
    wide: list[JsonValue] = [{f"k{i}": i for i in range(20)}]
    (table,) = data_tables({"wide": {"rows": wide, "count": 1, "truncated": False}})
    assert len(table.columns) == 8
    assert len(table.rows[0]) == 8


def test_only_the_collectors_shape_counts_as_a_bounded_list() -> None:
    """A mapping with other keys, or a count that is not a number, is not an envelope."""
    assert is_envelope(_envelope(1, 1))
    assert not is_envelope({"rows": [], "count": "3"})
    assert not is_envelope({"rows": [], "count": True})
    assert not is_envelope({"rows": [], "count": 0, "other": 1})
    assert not is_envelope(["rows"])


def test_html_report_renders_bounded_lists_as_real_tables() -> None:
    """The HTML report heads the table with the row keys and says how many more rows exist."""
    evidence = dict(EVIDENCE)
    evidence["identity.mfa_enrolled"] = Evidence(
        check_id="identity.mfa_enrolled",
        collected_at=AT - timedelta(minutes=5),
        outcome=Outcome.PARTIAL,
        summary=Bilingual("50 of 170 users lack MFA", "170 位使用者中有 50 位未啟用多因子"),
        value=0.7,
        data={"without_mfa": _envelope(170, 50)},
    )
    doc = build_document(
        FRAMEWORK,
        evidence,
        DECLARATIONS,
        PROFILE,
        lang=Lang.EN,
        period_start=AT - timedelta(days=30),
        period_end=AT,
        at=AT,
    )
    html = render_html(doc, None)
    assert "<th>user</th><th>groups</th><th>mfa</th>" in html
    assert "<td>contractors, vendors</td>" in html
    assert "145 more not shown (25 of 170 rows shown)" in html
    assert '"rows"' not in html
    assert "&#34;rows&#34;" not in html
