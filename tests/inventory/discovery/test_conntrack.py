"""conntrack -L dumps: both directions, NAT, flags, skips and rejected lines."""

from __future__ import annotations

import ipaddress

from hypothesis import given
from hypothesis import strategies as st

from menshen.inventory.discovery.conntrack import parse_conntrack
from tests.inventory.discovery.helpers import flows, mutated, parse

DUMP = """\
tcp      6 431999 ESTABLISHED src=10.10.0.12 dst=10.20.0.10 sport=51234 dport=443 \
src=10.20.0.10 dst=10.10.0.12 sport=443 dport=51234 [ASSURED] mark=0 use=1
tcp      6 431990 ESTABLISHED src=10.10.0.12 dst=10.20.0.10 sport=51240 dport=443 \
packets=12 bytes=2044 src=10.20.0.10 dst=10.10.0.12 sport=443 dport=51240 packets=10 \
bytes=9000 [ASSURED] mark=0 secctx=system_u:object_r:unlabeled_t:s0 use=1
udp      17 29 src=10.30.0.5 dst=10.30.0.53 sport=40000 dport=53 [UNREPLIED] \
src=10.30.0.53 dst=10.30.0.5 sport=53 dport=40000 mark=0 use=1
ipv4     2 tcp      6 117 SYN_SENT src=10.50.0.17 dst=10.40.0.10 sport=40001 dport=5432 \
[UNREPLIED] src=10.40.0.10 dst=10.50.0.17 sport=5432 dport=40001 mark=0 zone=3 use=1
icmp     1 29 src=10.30.0.5 dst=10.30.0.1 type=8 code=0 id=1 src=10.30.0.1 dst=10.30.0.5 \
type=0 code=0 id=1 mark=0 use=1
tcp      6 86399 ESTABLISHED src=2001:db8::5 dst=2001:db8::80 sport=33000 dport=8443 \
src=2001:db8::80 dst=2001:db8::5 sport=8443 dport=33000 [ASSURED] [OFFLOAD] mark=0 use=1
conntrack v1.4.7 (conntrack-tools): 6 flow entries have been shown.
"""


def test_a_dump_gives_one_flow_per_connection_key_with_counts() -> None:
    """Connections with the same ends and port are counted together; other keys kept apart."""
    report = parse(parse_conntrack, DUMP)
    assert flows(report) == {
        ("10.10.0.12", "10.20.0.10", "tcp", 443, 2, False),
        ("10.30.0.5", "10.30.0.53", "udp", 53, 1, False),
        ("10.50.0.17", "10.40.0.10", "tcp", 5432, 1, True),
        ("2001:db8::5", "2001:db8::80", "tcp", 8443, 1, False),
    }
    assert report.rejected_count == 0
    assert dict(report.skipped) == {"protocol icmp: not tcp or udp": 1, "summary line": 1}
    assert report.lines == 7


def test_an_unreplied_tcp_connection_is_refused_but_udp_is_not() -> None:
    """A SYN nobody answered was refused; UDP often gets no reply and is still a flow."""
    report = parse(parse_conntrack, DUMP)
    refused = {(o.protocol, o.port) for o in report.observations if o.refused}
    assert refused == {("tcp", 5432)}


def test_destination_nat_is_read_from_the_reply_direction() -> None:
    """Under DNAT the server answers from its real address: that is the destination."""
    line = (
        "tcp 6 100 ESTABLISHED src=10.10.0.12 dst=203.0.113.10 sport=50000 dport=443 "
        "src=10.30.0.10 dst=10.10.0.12 sport=8080 dport=50000 [ASSURED] use=1\n"
    )
    report = parse(parse_conntrack, line)
    assert flows(report) == {("10.10.0.12", "10.30.0.10", "tcp", 8080, 1, False)}


def test_bad_lines_are_rejected_with_their_number_and_reason() -> None:
    """Each bad line is named; the good lines around it are still read."""
    text = (
        "garbage\n"
        "tcp 6 10 ESTABLISHED src=10.0.0.1 dst=10.0.0.2 sport=1 dport=22\n"
        "tcp 17 10 src=10.0.0.1 dst=10.0.0.2 sport=1 dport=22 src=10.0.0.2 dst=10.0.0.1 "
        "sport=22 dport=1\n"
        "tcp 6 10 ESTABLISHED src=10.0.0.1 dst=10.0.0.300 sport=1 dport=22 src=10.0.0.2 "
        "dst=10.0.0.1 sport=22 dport=1\n"
        "udp 17 10 src=10.0.0.1 dst=10.0.0.2 sport=1 dport=0 src=10.0.0.2 dst=10.0.0.1 "
        "sport=0 dport=1\n"
        "tcp 6 10 ESTABLISHED src=10.0.0.1 dst=10.0.0.2 sport=1 dport=22 src=10.0.0.2 "
        "dst=10.0.0.1 sport=22 dport=1\n"
    )
    report = parse(parse_conntrack, text, "ct.txt")
    reasons = {item.line: item.reason for item in report.rejected}
    assert set(reasons) == {1, 2, 3, 4, 5}
    assert "not a conntrack entry" in reasons[1]
    assert "only one direction" in reasons[2]
    assert "tcp has number 6, not 17" in reasons[3]
    assert "invalid address" in reasons[4]
    assert "port '0'" in reasons[5]
    assert flows(report) == {("10.0.0.1", "10.0.0.2", "tcp", 22, 1, False)}
    assert report.observations[0].origin is not None
    assert str(report.observations[0].origin) == "ct.txt:6"


def test_an_over_long_line_is_rejected_without_being_kept() -> None:
    """A line past the limit is dropped and rejected; the next line is read normally."""
    text = (
        "x" * 70_000
        + "\ntcp 6 1 CLOSE src=10.0.0.1 dst=10.0.0.2 sport=9 dport=80 "
        + ("src=10.0.0.2 dst=10.0.0.1 sport=80 dport=9\n")
    )
    report = parse(parse_conntrack, text)
    assert [(r.line, r.reason) for r in report.rejected] == [(1, "line too long")]
    assert len(report.observations) == 1


_ADDRESSES = st.ip_addresses(v=4).filter(lambda a: not a.is_unspecified)
_PORTS = st.integers(1, 65535)


@given(
    st.lists(
        st.tuples(_ADDRESSES, _ADDRESSES, _PORTS, _PORTS, st.sampled_from(["tcp", "udp"])),
        max_size=20,
    )
)
def test_written_entries_read_back_to_their_counts(
    entries: list[tuple[ipaddress.IPv4Address, ipaddress.IPv4Address, int, int, str]],
) -> None:
    """Any well-formed dump reads back to one count per (src, dst, protocol, port)."""
    lines = []
    expected: dict[tuple[str, str, str, int], int] = {}
    for src, dst, sport, dport, protocol in entries:
        number, state = ("6", "ESTABLISHED ") if protocol == "tcp" else ("17", "")
        lines.append(
            f"{protocol} {number} 100 {state}src={src} dst={dst} sport={sport} dport={dport} "
            f"src={dst} dst={src} sport={dport} dport={sport} mark=0 use=1"
        )
        key = (str(src), str(dst), protocol, dport)
        expected[key] = expected.get(key, 0) + 1
    report = parse(parse_conntrack, "\n".join(lines))
    assert report.rejected_count == 0
    found = {
        (str(o.source), str(o.destination), o.protocol, o.port): o.count
        for o in report.observations
    }
    assert found == expected


@given(st.text(max_size=300))
def test_any_text_is_read_or_rejected_never_raises(text: str) -> None:
    """Fuzz: arbitrary input never escapes as an exception; counts stay consistent."""
    report = parse(parse_conntrack, text)
    assert report.rejected_count == len(report.rejected)
    assert sum(1 for _ in report.observations) <= report.lines


@given(mutated(DUMP.splitlines()))
def test_damaged_dumps_are_read_or_rejected_line_by_line(text: str) -> None:
    """Fuzz: valid entries with random damage; every non-empty line is accounted for."""
    report = parse(parse_conntrack, text)
    skipped = sum(count for _, count in report.skipped)
    read = len({o.origin for o in report.observations})
    assert read + skipped + report.rejected_count <= len(text.splitlines())
