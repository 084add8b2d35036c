"""Flows from AWS VPC flow logs: the default format (version 2), or any format with a header.

The default record is fourteen space-separated fields (AWS VPC User Guide, "Flow log
records", default format)::

    version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes
    start end action log-status
    2 123456789010 eni-1235b8ca123456789 172.31.16.139 172.31.16.21 20641 22 6 20 4249
    1418530010 1418530070 ACCEPT OK

``-`` marks a field with no value. ``NODATA`` (no traffic in the interval) and ``SKIPDATA``
(records skipped, e.g. capacity) lines carry no flow: they are skipped and counted, so a
report shows that part of the traffic was not captured. ``REJECT`` records are refused
flows. Protocols other than TCP (6) and UDP (17) are skipped. Files delivered to S3 start
with a header line naming the fields; when it is present, fields are found by name, so a
custom format (version 3–5) is read too as long as it has ``srcaddr dstaddr srcport dstport
protocol``.

A record is one direction of a connection: the reply of ``client:51234 → server:443`` is
logged as ``server:443 → client:51234``. Each record is turned to the direction of the
connection by the usual rule that **the lower port is the service** (the client's is
ephemeral); a record whose source port is the lower one is read as a reply and swapped.
Counts are records, not connections (a connection usually gives one record each way).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from menshen.inventory.discovery.records import Addresses, ParseReport, Tally
from menshen.inventory.fields import IPAddress
from menshen.inventory.model import Protocol

FORMAT = "vpc"
DEFAULT_FIELDS = (
    "version", "account-id", "interface-id", "srcaddr", "dstaddr", "srcport", "dstport",
    "protocol", "packets", "bytes", "start", "end", "action", "log-status",
)  # fmt: skip
_REQUIRED = ("srcaddr", "dstaddr", "srcport", "dstport", "protocol")
_PROTOCOLS: dict[str, Protocol] = {"6": "tcp", "17": "udp"}
_NAMES = {"1": "icmp", "58": "icmpv6", "47": "gre", "50": "esp", "132": "sctp"}
_STATUS = ("OK", "NODATA", "SKIPDATA")
_ACTIONS = ("ACCEPT", "REJECT", "-")


class _Bad(ValueError):
    pass


def parse_vpc_flow_log(lines: Iterable[tuple[int, str | None]], source: str) -> ParseReport:
    """Every record of a flow log (``(number, text)`` lines, ``None`` for an over-long one)."""
    tally = Tally(source, FORMAT)
    addresses = Addresses()
    fields: Sequence[str] = DEFAULT_FIELDS
    for number, text in lines:
        tally.lines = number
        if text is None:
            tally.reject(number, "line too long")
            continue
        tokens = text.split()
        if not tokens:
            continue
        if "srcaddr" in tokens or tokens[0] == "version":  # a header (files may be joined)
            header = _header(tokens)
            if isinstance(header, str):
                tally.reject(number, header)
            else:
                fields = header
            continue
        try:
            record = dict(zip(fields, _split(tokens, fields), strict=True))
            _record(tally, addresses, number, record)
        except _Bad as exc:
            tally.reject(number, str(exc))
    return tally.report()


def _header(tokens: list[str]) -> tuple[str, ...] | str:
    if len(set(tokens)) != len(tokens):
        return "header names a field twice"
    missing = [name for name in _REQUIRED if name not in tokens]
    if missing:
        return f"header lacks {', '.join(missing)}; the records cannot be read"
    return tuple(tokens)


def _split(tokens: list[str], fields: Sequence[str]) -> list[str]:
    if len(tokens) != len(fields):
        raise _Bad(f"{len(tokens)} fields, expected {len(fields)} ({' '.join(fields[:4])} …)")
    return tokens


def _record(tally: Tally, addresses: Addresses, number: int, record: dict[str, str]) -> None:
    version = record.get("version", "2")
    if not _digits(version):
        raise _Bad(f"version {version!r} is not a number")
    status = record.get("log-status", "OK")
    if status not in _STATUS:
        raise _Bad(f"log-status {status!r} is not OK, NODATA or SKIPDATA")
    if status != "OK":
        tally.skip(f"{status} record")
        return
    action = record.get("action", "-")
    if action not in _ACTIONS:
        raise _Bad(f"action {action!r} is not ACCEPT or REJECT")
    for name in ("packets", "bytes", "start", "end"):
        value = record.get(name, "-")
        if value != "-" and not _digits(value):
            raise _Bad(f"{name} {value!r} is not a number")
    number_text = record["protocol"]
    if not _digits(number_text) or int(number_text) > 255:
        raise _Bad(f"protocol {number_text!r} is not an IANA protocol number")
    protocol = _PROTOCOLS.get(str(int(number_text)))
    if protocol is None:
        name = _NAMES.get(str(int(number_text)), number_text)
        tally.skip(f"protocol {name}: not tcp or udp")
        return
    src = _address(addresses, record["srcaddr"], "srcaddr")
    dst = _address(addresses, record["dstaddr"], "dstaddr")
    if src.version != dst.version:
        raise _Bad("srcaddr and dstaddr mix IPv4 and IPv6")
    sport, dport = _port(record["srcport"], "srcport"), _port(record["dstport"], "dstport")
    if sport < dport:  # a reply: the lower port is the service
        src, dst, dport = dst, src, sport
    tally.add(number, src, dst, dport, protocol, refused=action == "REJECT")


def _address(addresses: Addresses, text: str, name: str) -> IPAddress:
    try:
        return addresses.parse(text)
    except ValueError:
        raise _Bad(f"{name} {text!r} is not an IP address") from None


def _port(text: str, name: str) -> int:
    if not _digits(text) or len(text) > 5 or not 1 <= int(text) <= 65535:
        raise _Bad(f"{name} {text!r} is not a port 1-65535")
    return int(text)


def _digits(text: str) -> bool:
    return text.isascii() and text.isdigit()
