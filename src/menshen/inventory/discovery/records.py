"""What the discovery parsers produce: observations, rejected lines, and a bounded tally.

NIST SP 800-207 §2.1 tenet 7 (collect as much as possible about the state of assets and
communications) and NIST CSF 2.0 ID.AM-03 (maintain the authorized network communications
and data flows): traffic already recorded — the gateway's access events, a conntrack dump,
cloud flow logs — says which flows really happen. Parsers stream: each takes one line at a
time and keeps only aggregates (one entry per distinct flow, the first ``KEEP_REJECTED``
rejected lines, a count per skip reason), so memory grows with the number of distinct flows,
never with the length of a log, and every count is exact.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Protocol as TypingProtocol

from menshen.inventory.fields import IPAddress
from menshen.inventory.model import Endpoint, ObservedFlow, Protocol, endpoint_text
from menshen.inventory.problems import Origin

MAX_LINE = 64 * 1024
"""Longest line read; a longer one is rejected without being held in memory."""
KEEP_REJECTED = 1000
"""Rejected lines kept with their reason; the rest are only counted."""
MAX_FLOWS = 1_000_000
"""Distinct flows one tally holds; beyond it lines are rejected (split the input)."""

FlowKey = tuple[Endpoint, Endpoint, str, int, bool]
MAX_CACHED = 200_000
"""Addresses remembered by ``Addresses`` (logs repeat a few addresses many times)."""


@dataclass(frozen=True, slots=True)
class Observation:
    """Connections seen from ``source`` to ``destination`` on ``protocol/port``.

    ``count`` is how many were seen (connections, log records or events, by source);
    ``refused`` is True when the network turned them away (a VPC ``REJECT``) or a TCP
    connection got no answer (conntrack ``[UNREPLIED]``). ``origin`` is the first line
    (not part of equality, as in the model).
    """

    source: Endpoint
    destination: Endpoint
    port: int
    protocol: Protocol
    count: int
    refused: bool = False
    origin: Origin | None = field(default=None, compare=False)

    def observed_flow(self) -> ObservedFlow:
        """The model's ``ObservedFlow`` (for ``menshen segment check``)."""
        return ObservedFlow(
            self.source, self.destination, self.port, self.protocol, self.count, self.origin
        )

    def describe(self) -> str:
        return (
            f"{endpoint_text(self.source)} → {endpoint_text(self.destination)} "
            f"{self.protocol}/{self.port}"
        )


@dataclass(frozen=True, slots=True)
class Rejected:
    """A line that could not be read, and why."""

    line: int
    reason: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.reason}"


@dataclass(frozen=True, slots=True)
class ParseReport:
    """One input read: what it held, what was rejected, what was skipped on purpose."""

    source: str
    format: str
    lines: int
    observations: tuple[Observation, ...]
    rejected: tuple[Rejected, ...]
    rejected_count: int
    skipped: tuple[tuple[str, int], ...]

    @property
    def connections(self) -> int:
        return sum(item.count for item in self.observations)


class Addresses:
    """``ipaddress.ip_address`` remembered by text: parsing is the cost of reading a log."""

    __slots__ = ("_found",)

    def __init__(self) -> None:
        self._found: dict[str, IPAddress] = {}

    def parse(self, text: str) -> IPAddress:
        """The address ``text`` names; ``ValueError`` if it is none."""
        found = self._found.get(text)
        if found is None:
            found = ipaddress.ip_address(text)
            if len(self._found) >= MAX_CACHED:
                self._found.clear()
            self._found[text] = found
        return found


class _Entry:
    __slots__ = ("count", "destination", "line", "source")

    def __init__(self, count: int, source: Endpoint, destination: Endpoint, line: int) -> None:
        self.count = count
        self.source = source
        self.destination = destination
        self.line = line


class Tally:
    """Collects one input's observations as a parser streams it; memory stays bounded."""

    __slots__ = ("_flows", "_rejected", "_skipped", "format", "lines", "rejected_count", "source")

    def __init__(self, source: str, fmt: str) -> None:
        self.source = source
        self.format = fmt
        self.lines = 0
        self.rejected_count = 0
        self._flows: dict[FlowKey, _Entry] = {}
        self._rejected: list[Rejected] = []
        self._skipped: dict[str, int] = {}

    def add(
        self,
        line: int,
        source: Endpoint,
        destination: Endpoint,
        port: int,
        protocol: Protocol,
        count: int = 1,
        refused: bool = False,
    ) -> None:
        key = (source, destination, protocol, port, refused)
        entry = self._flows.get(key)
        if entry is not None:
            entry.count += count
            return
        if len(self._flows) >= MAX_FLOWS:
            self.reject(line, f"more than {MAX_FLOWS:,} distinct flows; split the input")
            return
        self._flows[key] = _Entry(count, source, destination, line)

    def reject(self, line: int, reason: str) -> None:
        self.rejected_count += 1
        if len(self._rejected) < KEEP_REJECTED:
            self._rejected.append(Rejected(line, reason))

    def skip(self, reason: str, count: int = 1) -> None:
        self._skipped[reason] = self._skipped.get(reason, 0) + count

    def absorb(
        self, rejected: Iterable[Rejected], count: int, skipped: Iterable[tuple[str, int]]
    ) -> None:
        """Take over the rejections and skips of an earlier pass over the same input."""
        for item in rejected:
            if len(self._rejected) < KEEP_REJECTED:
                self._rejected.append(item)
        self.rejected_count += count
        for reason, times in skipped:
            self.skip(reason, times)

    def report(self) -> ParseReport:
        observations = [
            Observation(
                entry.source,
                entry.destination,
                port,
                "udp" if protocol == "udp" else "tcp",
                entry.count,
                refused,
                Origin(self.source, entry.line),
            )
            for (_, _, protocol, port, refused), entry in self._flows.items()
        ]
        observations.sort(key=_order)
        return ParseReport(
            self.source,
            self.format,
            self.lines,
            tuple(observations),
            tuple(self._rejected),
            self.rejected_count,
            tuple(sorted(self._skipped.items())),
        )


def _order(
    item: Observation,
) -> tuple[tuple[int, int, int, str], tuple[int, int, int, str], str, int, bool]:
    """Addresses in numeric order, then asset ids; cheap (no address is turned to text)."""
    return (_end(item.source), _end(item.destination), item.protocol, item.port, item.refused)


def _end(end: Endpoint) -> tuple[int, int, int, str]:
    return (1, 0, 0, end) if isinstance(end, str) else (0, end.version, int(end), "")


def merged(reports: Iterable[ParseReport]) -> tuple[Observation, ...]:
    """The observations of several inputs, counts summed per distinct flow (first origin)."""
    flows: dict[FlowKey, Observation] = {}
    for report in reports:
        for item in report.observations:
            key = (item.source, item.destination, item.protocol, item.port, item.refused)
            seen = flows.get(key)
            if seen is None:
                flows[key] = item
            else:
                flows[key] = Observation(
                    seen.source,
                    seen.destination,
                    seen.port,
                    seen.protocol,
                    seen.count + item.count,
                    seen.refused,
                    seen.origin,
                )
    return tuple(sorted(flows.values(), key=_order))


class Readable(TypingProtocol):
    def readline(self, size: int = -1, /) -> str: ...


def bounded_lines(handle: Readable, limit: int = MAX_LINE) -> Iterator[tuple[int, str | None]]:
    """Each line (without its end) with its number; ``None`` for a line over ``limit``.

    A line over the limit is read in pieces and dropped, so memory stays within ``limit``.
    """
    number = 0
    while True:  # ends with the input: each step consumes at least one character
        text = handle.readline(limit + 1)
        if not text:
            return
        number += 1
        if len(text) > limit and not text.endswith("\n"):
            while True:  # drain the rest of the long line
                rest = handle.readline(limit)
                if not rest or rest.endswith("\n"):
                    break
            yield number, None
            continue
        yield number, text.rstrip("\r\n")
