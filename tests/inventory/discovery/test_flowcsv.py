"""The generic src,dst,port[,protocol][,count] CSV, streamed row by row."""

from __future__ import annotations

import ipaddress

from hypothesis import given
from hypothesis import strategies as st

from menshen.inventory.discovery.flowcsv import parse_flow_csv
from tests.inventory.discovery.helpers import flows, mutated, parse


def test_rows_with_addresses_or_asset_ids_are_read_with_defaults() -> None:
    """Protocol defaults to tcp and count to 1; asset ids stay ids; comments skipped."""
    text = (
        "src,dst,port,protocol,count\n"
        "# a comment row\n"
        "10.0.0.1,10.0.0.2,443,,\n"
        "laptop-17,settlement-db,5432,tcp,12\n"
        "10.0.0.1,10.0.0.2,443,TCP,4\n"
        "10.0.0.1,10.0.0.53,53,udp,1\n"
    )
    report = parse(parse_flow_csv, text)
    assert flows(report) == {
        ("10.0.0.1", "10.0.0.2", "tcp", 443, 5, False),
        ("laptop-17", "settlement-db", "tcp", 5432, 12, False),
        ("10.0.0.1", "10.0.0.53", "udp", 53, 1, False),
    }
    assert isinstance(report.observations[0].source, ipaddress.IPv4Address)


def test_bad_rows_are_rejected_and_the_good_ones_kept() -> None:
    """Each bad row is rejected with its line; reading goes on (streaming, not all-or-none)."""
    text = (
        "src,dst,port\n"
        "10.0.0.1,10.0.0.2,443\n"
        "10.0.0.1,10.0.0.2\n"
        "10.0.0.1,Bad Host,443\n"
        "10.0.0.1,10.0.0.2,99999\n"
        '"10.0.0.1,10.0.0.2,443\n'
    )
    report = parse(parse_flow_csv, text, "flows.csv")
    reasons = {item.line: item.reason for item in report.rejected}
    assert "row has 2 fields" in reasons[3]
    assert "asset id or IP address" in reasons[4]
    assert "'99999' is not a port" in reasons[5]
    assert "unreadable row" in reasons[6]
    assert len(report.observations) == 1


def test_a_header_missing_columns_rejects_the_file_at_line_one() -> None:
    """Without src, dst and port no row can be read: one clear rejection, no flows."""
    report = parse(parse_flow_csv, "source,destination\n10.0.0.1,10.0.0.2\n")
    assert [r.line for r in report.rejected] == [1]
    assert "missing column(s) src, dst, port" in report.rejected[0].reason
    assert report.observations == ()


def test_one_hundred_thousand_junk_rows_are_each_rejected() -> None:
    """100k rows of junk: every one rejected (the first thousand kept), nothing read."""
    text = "src,dst,port\n" + "junk\n" * 100_000
    report = parse(parse_flow_csv, text)
    assert report.rejected_count == 100_000
    assert len(report.rejected) == 1000
    assert report.rejected[0].line == 2
    assert report.observations == ()


@given(
    st.lists(
        st.tuples(st.ip_addresses(), st.ip_addresses(), st.integers(1, 65535),
                  st.sampled_from(["tcp", "udp"]), st.integers(1, 10**6)),
        max_size=20,
    )
)  # fmt: skip
def test_written_rows_read_back_to_summed_counts(
    rows: list[tuple[ipaddress.IPv4Address, ipaddress.IPv4Address, int, str, int]],
) -> None:
    """Any valid CSV reads back to the sum of counts per distinct flow."""
    expected: dict[tuple[str, str, str, int], int] = {}
    lines = ["src,dst,port,protocol,count"]
    for src, dst, port, protocol, count in rows:
        lines.append(f"{src},{dst},{port},{protocol},{count}")
        key = (str(src), str(dst), protocol, port)
        expected[key] = expected.get(key, 0) + count
    report = parse(parse_flow_csv, "\n".join(lines))
    assert report.rejected_count == 0
    found = {
        (str(o.source), str(o.destination), o.protocol, o.port): o.count
        for o in report.observations
    }
    assert found == expected


@given(mutated(["src,dst,port,protocol", "10.0.0.1,10.0.0.2,443,tcp", "a-b,c-d,22,udp"]))
def test_damaged_csv_never_raises(text: str) -> None:
    """Fuzz: damaged rows are rejected one by one."""
    report = parse(parse_flow_csv, text)
    assert report.rejected_count == len(report.rejected)


@given(st.text(max_size=300))
def test_any_text_never_raises(text: str) -> None:
    """Fuzz: arbitrary text never escapes as an exception."""
    parse(parse_flow_csv, text)
