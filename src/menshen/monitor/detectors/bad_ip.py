"""Known-bad addresses: sources on a CIDR list the firm imports (threat-intel feeds, Tor
exits, its own block lists).

Entra ID Protection's "anonymous IP" and "malicious IP" detections and Okta ThreatInsight
match sign-ins against reputation lists; here the firm supplies the lists
(``menshen monitor badips import FILE``). Matching is a binary search over merged integer
ranges per address family, so a list of a million prefixes costs one ``bisect`` per event.
A successful event from a listed address is HIGH; a failed one LOW (a blocked attempt).
One finding per source and list per hour.

False positives avoided: none by design — the firm chose the list; ``parse_cidrs`` refuses
lines that are not addresses or prefixes, naming the line.
"""

from __future__ import annotations

import bisect
import ipaddress
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import ClassVar

from menshen.errors import InvalidInput
from menshen.monitor.baselines import BaselineView, EventContext, Feature
from menshen.monitor.detectors.base import NO_FINDINGS, Evidence, finding
from menshen.monitor.model import Category, Entity, EntityKind, EventOutcome, Finding, Severity

__all__ = ["BadIpList", "KnownBadIp", "parse_cidrs"]

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def parse_cidrs(lines: Iterable[str], origin: str = "list") -> list[tuple[str, str]]:
    """``(cidr, note)`` pairs from lines of ``CIDR [# note]``; blank and ``#`` lines skipped."""
    out: list[tuple[str, str]] = []
    for number, raw in enumerate(lines, start=1):
        text, _, note = raw.partition("#")
        text = text.strip()
        if not text:
            continue
        try:
            network = ipaddress.ip_network(text.split()[0], strict=False)
        except ValueError:
            raise InvalidInput(
                f"{origin}:{number}: not an address or CIDR prefix: {text!r}"
            ) from None
        out.append((str(network), note.strip()[:200]))
    return out


class BadIpList:
    """Merged, sorted integer ranges of the listed prefixes, per family."""

    __slots__ = ("_ends", "_names", "_starts", "size")

    def __init__(self, entries: Iterable[tuple[str, str]]) -> None:
        ranges: dict[int, list[tuple[int, int, str]]] = {4: [], 6: []}
        for cidr, name in entries:
            network: Network = ipaddress.ip_network(cidr, strict=False)
            first = int(network.network_address)
            ranges[network.version].append((first, first + network.num_addresses - 1, name))
        self._starts: dict[int, list[int]] = {}
        self._ends: dict[int, list[int]] = {}
        self._names: dict[int, list[str]] = {}
        self.size = 0
        for version, items in ranges.items():
            items.sort()
            merged: list[tuple[int, int, str]] = []
            for start, end, name in items:
                if merged and start <= merged[-1][1] + 1:
                    last = merged[-1]
                    merged[-1] = (last[0], max(last[1], end), last[2])
                else:
                    merged.append((start, end, name))
            self._starts[version] = [m[0] for m in merged]
            self._ends[version] = [m[1] for m in merged]
            self._names[version] = [m[2] for m in merged]
            self.size += len(merged)

    def match(self, ip: str) -> str | None:
        """The list name covering ``ip``, or None."""
        try:
            address = ipaddress.ip_address(ip)
        except ValueError:
            return None
        value = int(address)
        starts = self._starts[address.version]
        index = bisect.bisect_right(starts, value) - 1
        if index >= 0 and value <= self._ends[address.version][index]:
            return self._names[address.version][index]
        return None


@dataclass(slots=True)
class KnownBadIp:
    name: str = "known_bad_ip"
    needs: ClassVar[Feature] = Feature.SOURCE_IP
    networks: BadIpList = field(default_factory=lambda: BadIpList(()))
    _alerted: dict[str, int] = field(default_factory=dict)

    @property
    def categories(self) -> frozenset[Category] | None:
        return None if self.networks.size else frozenset()  # an empty list never matches

    def detect(self, ctx: EventContext, view: BaselineView) -> Sequence[Finding]:
        ip = ctx.event.src_ip
        if ip is None or self.networks.size == 0:
            return NO_FINDINGS
        listed = self.networks.match(ip)
        if listed is None:
            return NO_FINDINGS
        hour = int(ctx.epoch // 3600)
        if self._alerted.get(ip) == hour:
            return NO_FINDINGS
        if len(self._alerted) >= 100_000:
            self._alerted.clear()
        self._alerted[ip] = hour
        failed = ctx.event.outcome is EventOutcome.FAILURE
        severity = Severity.LOW if failed else Severity.HIGH
        subject = ctx.subject or Entity(EntityKind.NETWORK, ctx.network or ip)
        evidence: Evidence = {"list": listed, "ip": ip, "outcome": ctx.event.outcome.value}
        summary = f"{'attempt' if failed else 'activity'} from {ip}, listed in {listed!r}"
        return (finding(ctx, self.name, subject, severity, 0.9, summary, evidence),)
