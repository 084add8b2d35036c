"""Blast radius: what data an attacker holding one asset can get to, and how.

Assume breach (NIST SP 800-207 §2.1, tenet 7; CISA Zero Trust Maturity Model v2, Networks
pillar): from the compromised asset, every asset the policy lets it reach is taken too, and
so on — a breadth-first search over allowed connections, so each asset is reported with a
shortest path and the rule that allows each hop. Exposed are the data stores on those assets
and the declared flows into or out of them (data in transit), ranked by classification,
then by how close they are, then by size.

Each rule is expanded once: the first time the search meets any asset on its source side,
all of its destinations are reached one hop further; a later meeting cannot do better. So
the search costs the sum of the rule sizes, not assets squared.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from menshen.inventory.model import Classification, DataFlow, DataStore
from menshen.segmentation.reach import Grant, monitor_grant, rule_grant
from menshen.segmentation.resolve import Segmentation


@dataclass(frozen=True, slots=True)
class Hop:
    """One step of a path: from ``source`` to ``destination`` as ``grant`` allows."""

    source: str
    destination: str
    grant: Grant


@dataclass(frozen=True, slots=True)
class TakenAsset:
    """An asset within the blast radius: ``hops`` away along ``path`` (empty for the start)."""

    asset: str
    hops: int
    path: tuple[Hop, ...]


@dataclass(frozen=True, slots=True)
class ExposedStore:
    store: DataStore
    hops: int
    path: tuple[Hop, ...]


@dataclass(frozen=True, slots=True)
class ExposedFlow:
    """A declared flow touching a taken asset (``via`` is its nearer end)."""

    flow: DataFlow
    via: str
    hops: int
    path: tuple[Hop, ...]


@dataclass(frozen=True, slots=True)
class ExposedClass:
    """A data class (a tag, or a classification level) and where it is exposed."""

    name: str
    highest: Classification
    stores: tuple[str, ...]
    flows: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class BlastRadius:
    """Everything within reach of ``compromised`` at ``at``, most sensitive first."""

    compromised: str
    at: datetime
    assets: tuple[TakenAsset, ...]
    stores: tuple[ExposedStore, ...]
    flows: tuple[ExposedFlow, ...]
    classes: tuple[ExposedClass, ...]

    def store_ids(self) -> tuple[str, ...]:
        return tuple(item.store.id for item in self.stores)

    def asset_ids(self) -> frozenset[str]:
        return frozenset(item.asset for item in self.assets)


def taken(seg: Segmentation, compromised: str, at: datetime) -> dict[str, tuple[Hop, ...]]:
    """Every asset reachable from ``compromised`` (itself included), with a shortest path."""
    seg.zones_of(compromised)  # NotFound for an unknown asset
    return spread(seg, at, {compromised: ()})


def spread(
    seg: Segmentation, at: datetime, seeds: Mapping[str, tuple[Hop, ...]]
) -> dict[str, tuple[Hop, ...]]:
    """Every asset reachable from the seeds (with the seeds), each with a shortest path.

    A seed's path may be empty (an asset that starts) or one hop (entered from outside).
    Each rule is expanded once, the first time the search meets its source side, as in
    ``taken``; so the cost is the sum of the rule sizes, whatever the seed count.
    """
    pending = sorted(seeds.items(), key=lambda item: (len(item[1]), item[0]))
    monitored = sorted(seg.monitored_assets().items())
    paths: dict[str, tuple[Hop, ...]] = {}
    expanded: set[int] = set()
    monitor_done = False
    frontier: list[str] = []
    depth, index = 0, 0
    while index < len(pending) or frontier:  # each asset enters the frontier once
        while index < len(pending) and len(pending[index][1]) <= depth:
            asset_id, path = pending[index]
            index += 1
            if asset_id not in paths:
                paths[asset_id] = path
                frontier.append(asset_id)
        following: list[str] = []
        for source in frontier:
            for rule in seg.rules_from(source):
                if rule.index in expanded or not rule.active(at):
                    continue
                expanded.add(rule.index)
                grant = rule_grant(rule)
                for target in rule.dst_assets:
                    if target not in paths:
                        paths[target] = (*paths[source], Hop(source, target, grant))
                        following.append(target)
            if not monitor_done and monitored:
                monitor_done = True
                for target, rule_set in monitored:
                    if target not in paths:
                        paths[target] = (
                            *paths[source],
                            Hop(source, target, monitor_grant(rule_set)),
                        )
                        following.append(target)
        frontier = following
        depth += 1
    return paths


def blast_radius(seg: Segmentation, compromised: str, at: datetime) -> BlastRadius:
    """The blast radius of ``compromised`` at ``at``; ``NotFound`` for an unknown asset."""
    paths = taken(seg, compromised, at)
    inventory = seg.inventory
    assets = tuple(
        TakenAsset(asset_id, len(path), path)
        for asset_id, path in sorted(paths.items(), key=lambda item: (len(item[1]), item[0]))
    )
    stores = [
        ExposedStore(store, len(paths[asset_id]), paths[asset_id])
        for asset_id in paths
        for store in inventory.stores_on(asset_id)
    ]
    stores.sort(
        key=lambda item: (
            -item.store.classification.rank,
            item.hops,
            -(item.store.records or 0),
            item.store.id,
        )
    )
    flows = []
    for flow in inventory.flows:
        ends = [end for end in (flow.source, flow.destination) if end in paths]
        if ends:
            via = min(ends, key=lambda end: (len(paths[end]), end))
            flows.append(ExposedFlow(flow, via, len(paths[via]), paths[via]))
    flows.sort(
        key=lambda item: (
            -item.flow.classification.rank,
            item.hops,
            item.flow.encrypted,
            item.flow.id,
        )
    )
    return BlastRadius(
        compromised, at, assets, tuple(stores), tuple(flows), _classes(stores, flows)
    )


def _classes(stores: list[ExposedStore], flows: list[ExposedFlow]) -> tuple[ExposedClass, ...]:
    highest: dict[str, Classification] = {}
    in_stores: dict[str, list[str]] = {}
    in_flows: dict[str, list[str]] = {}
    for item in stores:
        store = item.store
        for name in (store.classification.value, *store.tags):
            _raise(highest, name, store.classification)
            in_stores.setdefault(name, []).append(store.id)
    for exposed in flows:
        flow = exposed.flow
        for name in (flow.classification.value, *flow.tags):
            _raise(highest, name, flow.classification)
            in_flows.setdefault(name, []).append(flow.id)
    ordered = sorted(highest, key=lambda name: (-highest[name].rank, name))
    return tuple(
        ExposedClass(
            name,
            highest[name],
            tuple(sorted(in_stores.get(name, ()))),
            tuple(sorted(in_flows.get(name, ()))),
        )
        for name in ordered
    )


def _raise(highest: dict[str, Classification], name: str, level: Classification) -> None:
    current = highest.get(name)
    if current is None or level.rank > current.rank:
        highest[name] = level
