"""Flows from a generic CSV: ``src,dst,port[,protocol][,count]`` with a header row.

The columns and their meaning are those of the observed-flows CSV that ``menshen segment
check`` reads (docs/segmentation.md): ``src`` and ``dst`` are IP addresses or asset ids,
``protocol`` is ``tcp`` (the default) or ``udp``, ``count`` defaults to 1. Unlike that
all-or-nothing reader, this one streams: each physical line is one row (RFC 4180 quoting
within a line; a quoted line break is a rejected row), a bad row is rejected with its line
number and the reading goes on, so a firewall export of millions of rows fits in memory.
``#`` starts a comment row.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable

from menshen.inventory.csvio import OBSERVED_COLUMNS
from menshen.inventory.discovery.records import Addresses, ParseReport, Tally
from menshen.inventory.fields import check_id
from menshen.inventory.model import Endpoint

FORMAT = "csv"
_REQUIRED = ("src", "dst", "port")
_PROTOCOLS = {"tcp": "tcp", "udp": "udp", "6": "tcp", "17": "udp"}


def parse_flow_csv(lines: Iterable[tuple[int, str | None]], source: str) -> ParseReport:
    """Every row of the CSV (``(number, text)`` lines, ``None`` for an over-long one)."""
    tally = Tally(source, FORMAT)
    addresses = Addresses()
    header: list[str] | None = None
    for number, text in lines:
        tally.lines = number
        if text is None:
            tally.reject(number, "line too long")
            continue
        if not text.strip() or text.lstrip().startswith("#"):
            continue
        if '"' in text:
            try:
                fields = next(csv.reader([text], strict=True))
            except csv.Error as exc:
                tally.reject(number, f"unreadable row: {exc}")
                continue
        else:  # no quotes: RFC 4180 reduces to splitting at commas
            fields = text.split(",")
        if header is None:
            header = [name.strip().lower() for name in fields]
            problem = _check_header(header)
            if problem:
                tally.reject(number, problem)
                return tally.report()  # no row can be read without its columns
            continue
        if len(fields) != len(header):
            tally.reject(number, f"row has {len(fields)} fields, the header has {len(header)}")
            continue
        row = dict(zip(header, (cell.strip() for cell in fields), strict=True))
        _row(tally, addresses, number, row)
    if header is None:
        tally.reject(max(tally.lines, 1), "no header row: expected src,dst,port[,protocol,count]")
    return tally.report()


def _check_header(header: list[str]) -> str:
    problems = []
    unknown = [name for name in header if name not in OBSERVED_COLUMNS]
    if unknown:
        problems.append(f"unknown column(s) {', '.join(map(repr, unknown))}")
    missing = [name for name in _REQUIRED if name not in header]
    if missing:
        problems.append(f"missing column(s) {', '.join(missing)}")
    if len(set(header)) != len(header):
        problems.append("a column is named twice")
    if problems:
        return f"{'; '.join(problems)} (columns: {', '.join(OBSERVED_COLUMNS)})"
    return ""


def _row(tally: Tally, addresses: Addresses, number: int, row: dict[str, str]) -> None:
    try:
        source = _endpoint(row["src"], addresses)
        destination = _endpoint(row["dst"], addresses)
    except ValueError as exc:
        tally.reject(number, str(exc))
        return
    port_text = row["port"]
    if not _digits(port_text) or len(port_text) > 5 or not 1 <= int(port_text) <= 65535:
        tally.reject(number, f"column 'port': {port_text!r} is not a port 1-65535")
        return
    protocol = _PROTOCOLS.get((row.get("protocol") or "tcp").lower())
    if protocol is None:
        tally.reject(number, f"column 'protocol': {row.get('protocol')!r} is not tcp or udp")
        return
    count_text = row.get("count") or "1"
    if not _digits(count_text) or len(count_text) > 15 or int(count_text) < 1:
        tally.reject(number, f"column 'count': {count_text!r} is not a whole number >= 1")
        return
    tally.add(
        number,
        source,
        destination,
        int(port_text),
        "udp" if protocol == "udp" else "tcp",
        int(count_text),
    )


def _endpoint(text: str, addresses: Addresses) -> Endpoint:
    """An IP address, or else an asset id (as ``model.parse_endpoint``, remembered)."""
    try:
        return addresses.parse(text)
    except ValueError:
        return check_id(text, "asset id or IP address")


def _digits(text: str) -> bool:
    return text.isascii() and text.isdigit()
