"""Observed flows against the inventory: new endpoints to review, and the declared data map.

NIST CSF 2.0 ID.AM-01/-03 (inventories of hardware and of authorized flows) and DE.CM-01
(networks monitored to find unauthorized connections and devices). Three answers:

* **unknown endpoints** — an address no asset owns becomes a proposed asset labelled
  ``review=unclassified`` (and ``discovered=<format>``), kind ``host``, for a person to
  classify; nothing is stored until asked (``menshen inventory discover --apply``).
  Only addresses inside the firm are proposed by default (RFC 1918, RFC 6598 shared space,
  RFC 4193 unique local, link-local); others are listed as *outside parties* (or under the
  CIDR zone that already names them), unless ``include_public``. Loopback, multicast,
  broadcast and unspecified addresses are ignored.
* **matched** — an observed flow between two assets on a port that a declared data flow
  between them covers.
* **undeclared** — every other observed flow, with the reason; and **declared but unseen**:
  declared flows that no observation matched (in *these* inputs: a log of one network
  segment cannot see the others).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Collection, Sequence
from dataclasses import dataclass

from menshen.inventory.catalog import Inventory, InventoryItems
from menshen.inventory.discovery.records import Observation
from menshen.inventory.fields import IPAddress, Network
from menshen.inventory.model import Asset, AssetKind, DataFlow, Endpoint, Labels
from menshen.inventory.problems import Origin

REVIEW_LABEL = ("review", "unclassified")
"""The label every discovered asset carries until someone classifies it."""
MAX_NEW_ASSETS = 10_000
INTERNAL: tuple[Network, ...] = tuple(
    ipaddress.ip_network(block)
    for block in (
        "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10", "169.254.0.0/16",
        "fc00::/7", "fe80::/10",
    )
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class SeenFlow:
    """An observed flow placed on the inventory: its assets, and the declared flows it fits."""

    observation: Observation
    source: str | None
    destination: str | None
    declared: tuple[str, ...] = ()
    note: str = ""


@dataclass(frozen=True, slots=True)
class NewAsset:
    """A proposed unclassified asset for an address no asset owns."""

    asset: Asset
    flows: int
    connections: int
    first_seen: Origin | None


@dataclass(frozen=True, slots=True)
class OutsideParty:
    """An address outside the firm (or inside a CIDR zone) that is not proposed as an asset."""

    address: IPAddress
    zone: str | None
    connections: int


@dataclass(frozen=True, slots=True)
class Discovery:
    new_assets: tuple[NewAsset, ...]
    outside: tuple[OutsideParty, ...]
    matched: tuple[SeenFlow, ...]
    undeclared: tuple[SeenFlow, ...]
    unseen: tuple[DataFlow, ...]
    ignored: int
    not_proposed: int

    def items(self) -> InventoryItems:
        """The proposed assets, ready to merge into the inventory."""
        return InventoryItems(assets=tuple(item.asset for item in self.new_assets))


def is_internal(address: IPAddress) -> bool:
    return any(address.version == net.version and address in net for net in INTERNAL)


def _ignored(address: IPAddress) -> bool:
    return (
        address.is_loopback
        or address.is_multicast
        or address.is_unspecified
        or (address.version == 4 and int(address) == 0xFFFFFFFF)
    )


def unclassified_id(address: IPAddress, taken: Collection[str] = ()) -> str:
    """``unclassified-10-50-0-99`` (IPv6 written out in full), unique among ``taken``."""
    text = address.exploded if address.version == 6 else str(address)
    base = "unclassified-" + text.replace(".", "-").replace(":", "-")
    candidate, number = base, 2
    while candidate in taken:  # ends: each step tries a new suffix, ``taken`` is finite
        candidate, number = f"{base}-{number}", number + 1
    return candidate


def discover(
    observations: Sequence[Observation],
    inventory: Inventory,
    *,
    fmt: str,
    known_networks: Sequence[tuple[str, Network]] = (),
    include_public: bool = False,
) -> Discovery:
    """New endpoints, matched, undeclared and unseen flows (see the module docstring)."""
    unknown: dict[IPAddress, list[Observation]] = {}
    owners = _Owners(inventory)
    ignored = 0
    for item in observations:
        for end in (item.source, item.destination):
            if not isinstance(end, str) and owners.at(end) is None:
                if _ignored(end):
                    ignored += 1
                else:
                    unknown.setdefault(end, []).append(item)
    new_assets: list[NewAsset] = []
    outside: list[OutsideParty] = []
    new_ids: dict[IPAddress, str] = {}
    taken = {asset.id for asset in inventory.assets}
    not_proposed = 0
    for address in sorted(unknown, key=lambda a: (a.version, int(a))):
        seen = unknown[address]
        connections = sum(item.count for item in seen)
        zone = _zone_of(address, known_networks)
        if zone is not None or not (include_public or is_internal(address)):
            outside.append(OutsideParty(address, zone, connections))
            continue
        if len(new_assets) >= MAX_NEW_ASSETS:
            not_proposed += 1
            continue
        asset_id = unclassified_id(address, taken)
        taken.add(asset_id)
        new_ids[address] = asset_id
        new_assets.append(
            NewAsset(_proposed(asset_id, address, fmt), len(seen), connections, seen[0].origin)
        )
    matched, undeclared = _match(observations, inventory, owners, new_ids, known_networks)
    seen_ids = {flow_id for item in matched for flow_id in item.declared}
    unseen = tuple(flow for flow in inventory.flows if flow.id not in seen_ids)
    return Discovery(
        tuple(new_assets),
        tuple(outside),
        tuple(matched),
        tuple(undeclared),
        unseen,
        ignored,
        not_proposed,
    )


def _proposed(asset_id: str, address: IPAddress, fmt: str) -> Asset:
    return Asset(
        asset_id,
        AssetKind.HOST,
        name=f"Unclassified {address} (seen in {fmt})",
        labels=Labels({REVIEW_LABEL[0]: REVIEW_LABEL[1], "discovered": fmt}),
        networks=(ipaddress.ip_network((address, address.max_prefixlen)),),
    )


def _zone_of(address: IPAddress, networks: Sequence[tuple[str, Network]]) -> str | None:
    for name, net in networks:
        if address.version == net.version and address in net:
            return name
    return None


class _Owners:
    """``Inventory.asset_at``, remembered per address (logs repeat their addresses)."""

    def __init__(self, inventory: Inventory) -> None:
        self._inventory = inventory
        self._found: dict[IPAddress, Asset | None] = {}

    def at(self, address: IPAddress) -> Asset | None:
        if address in self._found:
            return self._found[address]
        found = self._found[address] = self._inventory.asset_at(address)
        return found


def _match(
    observations: Sequence[Observation],
    inventory: Inventory,
    owners: _Owners,
    new_ids: dict[IPAddress, str],
    networks: Sequence[tuple[str, Network]],
) -> tuple[list[SeenFlow], list[SeenFlow]]:
    declared: dict[tuple[str, str], list[DataFlow]] = {}
    for flow in inventory.flows:
        declared.setdefault((flow.source, flow.destination), []).append(flow)
    matched: list[SeenFlow] = []
    undeclared: list[SeenFlow] = []
    for item in observations:
        source, why_source = _place(item.source, inventory, owners, new_ids, networks)
        destination, why_destination = _place(
            item.destination, inventory, owners, new_ids, networks
        )
        if source is None or destination is None or why_source or why_destination:
            note = "; ".join(text for text in (why_source, why_destination) if text)
            undeclared.append(SeenFlow(item, source, destination, (), note))
            continue
        candidates = declared.get((source, destination), [])
        fits = tuple(
            flow.id
            for flow in candidates
            if any(port.covers(item.protocol, item.port) for port in flow.ports)
        )
        if fits:
            matched.append(SeenFlow(item, source, destination, fits))
            continue
        if candidates:
            ports = ", ".join(str(port) for flow in candidates for port in flow.ports)
            note = f"declared flow(s) {', '.join(f.id for f in candidates)} cover {ports} only"
        else:
            note = f"no declared flow from {source} to {destination}"
        undeclared.append(SeenFlow(item, source, destination, (), note))
    return matched, undeclared


def _place(
    end: Endpoint,
    inventory: Inventory,
    owners: _Owners,
    new_ids: dict[IPAddress, str],
    networks: Sequence[tuple[str, Network]],
) -> tuple[str | None, str]:
    """The asset id of one end, and a note when it is not a classified asset."""
    if isinstance(end, str):
        if inventory.asset(end) is None:
            return None, f"unknown asset {end!r}"
        return end, ""
    asset = owners.at(end)
    if asset is not None:
        if asset.labels.get(REVIEW_LABEL[0]) == REVIEW_LABEL[1]:
            return asset.id, f"{asset.id} is not classified yet"
        return asset.id, ""
    if end in new_ids:
        return new_ids[end], f"{end} is unknown (proposed as {new_ids[end]})"
    zone = _zone_of(end, networks)
    if zone is not None:
        return None, f"{end} is in zone {zone}, outside the inventory"
    if _ignored(end):
        return None, f"{end} is a local or multicast address"
    return None, f"{end} is outside the firm"
