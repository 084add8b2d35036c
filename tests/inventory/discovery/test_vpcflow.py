"""AWS VPC flow logs (version 2 and headed custom formats): records, replies, NODATA."""

from __future__ import annotations

import ipaddress

from hypothesis import given
from hypothesis import strategies as st

from menshen.inventory.discovery.vpcflow import DEFAULT_FIELDS, parse_vpc_flow_log
from tests.inventory.discovery.helpers import flows, mutated, parse

HEADER = " ".join(DEFAULT_FIELDS)
LOG = f"""\
{HEADER}
2 123456789010 eni-1235b8ca123456789 172.31.16.139 172.31.16.21 20641 22 6 20 4249 1418530010 1418530070 ACCEPT OK
2 123456789010 eni-1235b8ca123456789 172.31.16.21 172.31.16.139 22 20641 6 20 4249 1418530010 1418530070 ACCEPT OK
2 123456789010 eni-1235b8ca123456789 172.31.9.69 172.31.9.12 49761 3389 6 20 4249 1418530010 1418530070 REJECT OK
2 123456789010 eni-1235b8ca123456789 10.0.0.5 10.0.0.2 50001 53 17 1 70 1418530010 1418530070 ACCEPT OK
2 123456789010 eni-1235b8ca123456789 10.0.0.5 10.0.0.9 0 0 1 4 336 1432917027 1432917142 ACCEPT OK
2 123456789010 eni-1235b8ca123456789 - - - - - - - 1431280876 1431280934 - NODATA
2 123456789010 eni-11111111111111111 - - - - - - - 1431280876 1431280934 - SKIPDATA
"""  # noqa: E501


def test_records_are_oriented_to_the_service_port_and_counted() -> None:
    """A reply record joins its request; REJECT is refused; ICMP, NODATA, SKIPDATA counted."""
    report = parse(parse_vpc_flow_log, LOG)
    assert flows(report) == {
        ("172.31.16.139", "172.31.16.21", "tcp", 22, 2, False),
        ("172.31.9.69", "172.31.9.12", "tcp", 3389, 1, True),
        ("10.0.0.5", "10.0.0.2", "udp", 53, 1, False),
    }
    assert dict(report.skipped) == {
        "NODATA record": 1,
        "SKIPDATA record": 1,
        "protocol icmp: not tcp or udp": 1,
    }
    assert report.rejected_count == 0


def test_a_headed_custom_format_is_read_by_field_name() -> None:
    """Fields in another order (a custom format) are found through the header line."""
    text = (
        "srcaddr dstaddr dstport srcport protocol action log-status flow-direction\n"
        "10.1.0.5 10.2.0.7 5432 40000 6 ACCEPT OK ingress\n"
    )
    report = parse(parse_vpc_flow_log, text)
    assert flows(report) == {("10.1.0.5", "10.2.0.7", "tcp", 5432, 1, False)}


def test_bad_records_are_rejected_with_line_and_reason() -> None:
    """Wrong field count, bad address, bad action or status: each named, the rest read."""
    ok = "2 1 eni-1 10.0.0.1 10.0.0.2 40000 443 6 1 1 1 2 ACCEPT OK"
    text = "\n".join(
        [
            ok,
            "2 1 eni-1 10.0.0.1",
            "2 1 eni-1 10.0.0.1 10.0.0.999 40000 443 6 1 1 1 2 ACCEPT OK",
            "2 1 eni-1 10.0.0.1 10.0.0.2 40000 443 6 1 1 1 2 MAYBE OK",
            "2 1 eni-1 10.0.0.1 10.0.0.2 40000 443 6 1 1 1 2 ACCEPT LOST",
            "2 1 eni-1 10.0.0.1 10.0.0.2 40000 70000 6 1 1 1 2 ACCEPT OK",
            "srcaddr srcaddr",
        ]
    )
    report = parse(parse_vpc_flow_log, text, "flows.log")
    reasons = {item.line: item.reason for item in report.rejected}
    assert "4 fields, expected 14" in reasons[2]
    assert "dstaddr '10.0.0.999' is not an IP address" in reasons[3]
    assert "action 'MAYBE'" in reasons[4]
    assert "log-status 'LOST'" in reasons[5]
    assert "dstport '70000'" in reasons[6]
    assert "names a field twice" in reasons[7]
    assert flows(report) == {("10.0.0.1", "10.0.0.2", "tcp", 443, 1, False)}


_ADDR = st.ip_addresses(v=4)


@given(
    st.lists(
        st.tuples(_ADDR, _ADDR, st.integers(1, 65535), st.integers(1, 65535),
                  st.sampled_from(["6", "17"]), st.sampled_from(["ACCEPT", "REJECT"])),
        max_size=20,
    )
)  # fmt: skip
def test_written_records_read_back_oriented(
    records: list[tuple[ipaddress.IPv4Address, ipaddress.IPv4Address, int, int, str, str]],
) -> None:
    """Any valid log reads back to the records' counts, each turned to its lower port."""
    expected: dict[tuple[str, str, str, int, bool], int] = {}
    lines = []
    for src, dst, sport, dport, number, action in records:
        lines.append(f"2 1 eni-1 {src} {dst} {sport} {dport} {number} 1 1 1 2 {action} OK")
        if sport < dport:
            src, dst, dport = dst, src, sport
        key = (str(src), str(dst), "tcp" if number == "6" else "udp", dport, action == "REJECT")
        expected[key] = expected.get(key, 0) + 1
    report = parse(parse_vpc_flow_log, "\n".join(lines))
    assert report.rejected_count == 0
    found = {
        (str(o.source), str(o.destination), o.protocol, o.port, o.refused): o.count
        for o in report.observations
    }
    assert found == expected


@given(mutated(LOG.splitlines()))
def test_damaged_logs_never_raise(text: str) -> None:
    """Fuzz: damaged records are read, skipped or rejected; nothing escapes."""
    report = parse(parse_vpc_flow_log, text)
    assert report.rejected_count == len(report.rejected)


@given(st.text(max_size=300))
def test_any_text_never_raises(text: str) -> None:
    """Fuzz: arbitrary text is rejected line by line."""
    report = parse(parse_vpc_flow_log, text)
    assert len(report.observations) <= max(report.lines, 0)
