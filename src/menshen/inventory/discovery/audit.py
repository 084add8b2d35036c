"""Flows from the gateway's own access events (the audit log, or a ``menshen audit export``).

Every request the gateway judges leaves an ``access.allow`` or ``access.deny`` event with
the client's address (``ip``), the app (``app``) and the requested host (``details.host``)
— NIST SP 800-207 §3 (the enforcement point reports each decision). Two network flows
follow from one event:

1. **client → gateway**: the client's address to the asset the gateway runs on, on the
   port of the ``Host`` header (443 when none). The gateway's asset is the one given
   (``--gateway``), or else the asset whose host names (or addresses) include the host.
2. **gateway → app** (allowed requests only; a denied one never goes upstream): to the asset
   fronting the app — the inventory's "gateway apps that front it". Its port is the port of
   the App's upstream when the App is known (``upstreams``), or else the port of the single
   declared flow from the gateway to that asset.

What cannot be placed (an unknown host, an app no asset fronts) is skipped with the reason
and counted. Events of other kinds are skipped; a line that is not a JSON object, or an
access event without an address or app, is rejected with its line number.
"""

from __future__ import annotations

import ipaddress
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from menshen.inventory.catalog import Inventory
from menshen.inventory.discovery.records import (
    KEEP_REJECTED,
    MAX_FLOWS,
    ParseReport,
    Rejected,
    Tally,
)
from menshen.inventory.fields import IPAddress
from menshen.inventory.model import Asset

FORMAT = "audit"
ACCESS_KINDS = {"access.allow": True, "access.deny": False}
HTTPS = 443


@dataclass(frozen=True, slots=True)
class AccessSeen:
    """Requests from one client address to one app through one host, allowed or not."""

    client: IPAddress
    app: str
    host: str
    allowed: bool
    count: int
    line: int


@dataclass(frozen=True, slots=True)
class AccessLog:
    """The access events of one input, aggregated, with what was rejected or skipped."""

    source: str
    lines: int
    access: tuple[AccessSeen, ...]
    rejected: tuple[Rejected, ...]
    rejected_count: int
    skipped: tuple[tuple[str, int], ...]


@dataclass(frozen=True, slots=True)
class Upstream:
    """Where the gateway sends an App's requests (from the App's ``upstream`` URL)."""

    host: str
    port: int


class AccessTally:
    """Aggregates access events as they stream by (bounded like ``Tally``)."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.lines = 0
        self._tally = Tally(source, FORMAT)
        self._seen: dict[tuple[str, str, str, bool], list[int]] = {}

    def add_line(self, number: int, text: str | None) -> None:
        self.lines = number
        if text is None:
            self._tally.reject(number, "line too long")
            return
        if not text.strip():
            return
        try:
            event = json.loads(text)
        except ValueError as exc:
            self._tally.reject(number, f"not JSON: {exc}")
            return
        if not isinstance(event, dict):
            self._tally.reject(number, "not an audit event (a JSON object)")
            return
        self.add_event(number, event)

    def add_event(self, number: int, event: Mapping[str, object]) -> None:
        """One audit event (an exported line, or a stored row as a mapping)."""
        kind = event.get("kind")
        if kind not in ACCESS_KINDS:
            self._tally.skip("events other than access.allow/access.deny")
            return
        ip, app, details = event.get("ip"), event.get("app"), event.get("details")
        host = details.get("host") if isinstance(details, dict) else None
        if not isinstance(ip, str) or not isinstance(app, str) or not app:
            self._tally.reject(number, f"{kind} event without a client address and an app")
            return
        try:
            client = ipaddress.ip_address(ip)
        except ValueError:
            self._tally.reject(number, f"{kind} event: client address {ip!r} is not an IP")
            return
        key = (str(client), app, host if isinstance(host, str) else "", ACCESS_KINDS[kind])
        entry = self._seen.get(key)
        if entry is not None:
            entry[0] += 1
        elif len(self._seen) >= MAX_FLOWS:
            self._tally.reject(number, f"more than {MAX_FLOWS:,} distinct accesses")
        else:
            self._seen[key] = [1, number]

    def log(self) -> AccessLog:
        report = self._tally.report()
        access = tuple(
            AccessSeen(ipaddress.ip_address(client), app, host, allowed, count, line)
            for (client, app, host, allowed), (count, line) in sorted(self._seen.items())
        )
        return AccessLog(
            self.source,
            self.lines,
            access,
            report.rejected,
            report.rejected_count,
            report.skipped,
        )


def parse_audit(lines: Iterable[tuple[int, str | None]], source: str) -> AccessLog:
    """The access events of a JSON-lines audit export."""
    tally = AccessTally(source)
    for number, text in lines:
        tally.add_line(number, text)
    return tally.log()


def gateway_flows(
    log: AccessLog,
    inventory: Inventory,
    *,
    gateway: str | None = None,
    upstreams: Mapping[str, Upstream] | None = None,
) -> ParseReport:
    """The network flows the access events show (see the module docstring)."""
    tally = Tally(log.source, FORMAT)
    tally.lines = log.lines
    tally.absorb(log.rejected[:KEEP_REJECTED], log.rejected_count, log.skipped)
    names = _HostIndex(inventory)
    fronting: dict[str, list[Asset]] = {}
    for asset in inventory.assets:
        for app in asset.gateway_apps:
            fronting.setdefault(app, []).append(asset)
    for seen in log.access:
        entry = inventory.asset(gateway) if gateway else names.find(_host(seen.host))
        if entry is None:
            where = seen.host or "(no host)"
            tally.skip(f"host {where} is no asset's address (name the gateway's asset)", seen.count)
            continue
        tally.add(seen.line, seen.client, entry.id, _port(seen.host), "tcp", seen.count)
        if not seen.allowed:
            continue
        target = _upstream(seen.app, fronting, names, upstreams or {}, inventory, entry)
        if isinstance(target, str):
            tally.skip(target, seen.count)
            continue
        asset, port = target
        tally.add(seen.line, entry.id, asset.id, port, "tcp", seen.count)
    return tally.report()


def _upstream(
    app: str,
    fronting: Mapping[str, list[Asset]],
    names: _HostIndex,
    upstreams: Mapping[str, Upstream],
    inventory: Inventory,
    entry: Asset,
) -> tuple[Asset, int] | str:
    """The asset serving ``app`` and the port the gateway uses, or why it is unknown."""
    candidates = fronting.get(app, [])
    upstream = upstreams.get(app)
    if upstream is not None:
        asset = names.find(upstream.host)
        if asset is not None and (not candidates or asset in candidates):
            return asset, upstream.port
    if len(candidates) != 1:
        if not candidates:
            return f"app {app}: no asset lists it among its gateway apps"
        return f"app {app}: several assets front it and its upstream is unknown"
    asset = candidates[0]
    if upstream is not None:
        return asset, upstream.port
    ports = {
        port.first
        for flow in inventory.flows
        if flow.source == entry.id and flow.destination == asset.id
        for port in flow.ports
        if port.protocol == "tcp" and port.first == port.last
    }
    if len(ports) == 1:
        return asset, ports.pop()
    return f"app {app}: the port from the gateway to {asset.id} is unknown (load the App)"


class _HostIndex:
    """Assets by host name (exact, then a ``*.`` wildcard for one label) or by address."""

    def __init__(self, inventory: Inventory) -> None:
        self._inventory = inventory
        self._names: dict[str, Asset] = {}
        for asset in inventory.assets:
            for name in asset.dns_names:
                self._names.setdefault(name, asset)

    def find(self, host: str) -> Asset | None:
        if not host:
            return None
        try:
            return self._inventory.asset_at(ipaddress.ip_address(host.strip("[]")))
        except ValueError:
            pass
        name = host.lower().rstrip(".")
        found = self._names.get(name)
        if found is not None:
            return found
        _, dot, parent = name.partition(".")
        return self._names.get("*." + parent) if dot else None  # one label (RFC 6125 §6.4.3)


def _host(host: str) -> str:
    """The host of a ``Host`` header, without its port (``[::1]:8443`` → ``::1``)."""
    if host.startswith("["):
        return host[1:].partition("]")[0]
    if host.count(":") == 1:
        return host.partition(":")[0]
    return host


def _port(host: str) -> int:
    tail = host.rpartition("]")[2] if host.startswith("[") else host
    if tail.count(":") == 1:
        text = tail.partition(":")[2]
        if text.isascii() and text.isdigit() and 1 <= int(text) <= 65535 and len(text) <= 5:
            return int(text)
    return HTTPS
