"""The file edge of discovery: open a log (plain or gzip) and stream it through a parser.

Files are read line by line (``bounded_lines``), never whole, so a flow log of gigabytes
costs the memory of its distinct flows. Bytes that are not UTF-8 are replaced, so a
corrupt line is rejected by its parser with its number rather than stopping the read.
"""

from __future__ import annotations

import gzip
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import TextIO

from menshen.errors import ConfigError
from menshen.inventory.catalog import Inventory
from menshen.inventory.discovery.audit import AccessLog, Upstream, gateway_flows, parse_audit
from menshen.inventory.discovery.conntrack import parse_conntrack
from menshen.inventory.discovery.flowcsv import parse_flow_csv
from menshen.inventory.discovery.records import ParseReport, bounded_lines
from menshen.inventory.discovery.vpcflow import parse_vpc_flow_log

FORMATS = ("conntrack", "vpc", "csv", "audit")
Parser = Callable[[Iterable[tuple[int, str | None]], str], ParseReport]
PARSERS: Mapping[str, Parser] = {
    "conntrack": parse_conntrack,
    "vpc": parse_vpc_flow_log,
    "csv": parse_flow_csv,
}


def _open(path: Path) -> TextIO:
    try:
        if path.suffix == ".gz":
            return gzip.open(path, "rt", encoding="utf-8", errors="replace")
        return path.open("r", encoding="utf-8-sig", errors="replace")
    except OSError as exc:
        raise ConfigError(f"cannot read: {exc.strerror}", source=str(path)) from None


def read_flows(path: Path, fmt: str) -> ParseReport:
    """The observations of a conntrack dump, VPC flow log or flow CSV."""
    parser = PARSERS.get(fmt)
    if parser is None:
        raise ConfigError(f"unknown format {fmt!r} (expected one of {', '.join(FORMATS)})")
    with _open(path) as handle:
        try:
            return parser(bounded_lines(handle), str(path))
        except (OSError, EOFError) as exc:  # a truncated gzip stream
            raise ConfigError(f"cannot read: {exc}", source=str(path)) from None


def read_access_log(path: Path) -> AccessLog:
    """The access events of a ``menshen audit export`` file."""
    with _open(path) as handle:
        try:
            return parse_audit(bounded_lines(handle), str(path))
        except (OSError, EOFError) as exc:
            raise ConfigError(f"cannot read: {exc}", source=str(path)) from None


def read_observations(
    path: Path,
    fmt: str,
    inventory: Inventory,
    *,
    gateway: str | None = None,
    upstreams: Mapping[str, Upstream] | None = None,
) -> ParseReport:
    """One input in any format; audit events are placed on ``inventory``."""
    if fmt == "audit":
        log = read_access_log(path)
        return gateway_flows(log, inventory, gateway=gateway, upstreams=upstreams)
    return read_flows(path, fmt)
