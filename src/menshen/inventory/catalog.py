"""The ``Inventory`` value: assets, data stores and flows, checked whole, with fast lookups.

An ``Inventory`` is valid by construction: ids are unique, every reference names an asset,
no two address blocks overlap (so an IP address names at most one asset: the compilers and
the discovery of observed flows rely on it). Construction raises ``InvalidModel`` listing
every problem with its place. Items are kept sorted by id, so equal content is an equal value.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TypeVar

from menshen.inventory.fields import IPAddress, Network, format_network
from menshen.inventory.model import Asset, DataFlow, DataStore, Endpoint
from menshen.inventory.problems import Problem, problem, raise_if_any

_Span = tuple[int, int, str]  # first address, last address, asset id
T = TypeVar("T", Asset, DataStore, DataFlow)


@dataclass(frozen=True, slots=True)
class Inventory:
    """Everything a firm has declared. Lookups: ``asset``, ``asset_at``, ``with_label``."""

    assets: tuple[Asset, ...] = ()
    data_stores: tuple[DataStore, ...] = ()
    flows: tuple[DataFlow, ...] = ()
    _by_id: dict[str, Asset] = field(init=False, repr=False, compare=False)
    _stores: dict[str, DataStore] = field(init=False, repr=False, compare=False)
    _flows: dict[str, DataFlow] = field(init=False, repr=False, compare=False)
    _stores_on: dict[str, tuple[DataStore, ...]] = field(init=False, repr=False, compare=False)
    _labels: dict[tuple[str, str], tuple[Asset, ...]] = field(init=False, repr=False, compare=False)
    _spans: dict[int, tuple[list[int], list[_Span]]] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        assets = tuple(sorted(self.assets, key=lambda asset: asset.id))
        stores = tuple(sorted(self.data_stores, key=lambda store: store.id))
        flows = tuple(sorted(self.flows, key=lambda flow: flow.id))
        problems: list[Problem] = []
        by_id = _unique(assets, "asset", problems)
        store_ids = _unique(stores, "data store", problems)
        flow_ids = _unique(flows, "flow", problems)
        for store in stores:
            if store.asset not in by_id:
                problems.append(
                    problem(
                        f"data store {store.id!r} is on unknown asset {store.asset!r}",
                        store.origin,
                        "asset",
                    )
                )
        for flow in flows:
            for key, ref in (("from", flow.source), ("to", flow.destination)):
                if ref not in by_id:
                    problems.append(
                        problem(f"flow {flow.id!r}: unknown asset {ref!r}", flow.origin, key)
                    )
        spans = _check_overlaps(assets, problems)
        raise_if_any(problems)
        stores_on: dict[str, list[DataStore]] = {}
        for store in stores:
            stores_on.setdefault(store.asset, []).append(store)
        labels: dict[tuple[str, str], list[Asset]] = {}
        for asset in assets:
            for pair in asset.labels.items():
                labels.setdefault(pair, []).append(asset)
        object.__setattr__(self, "assets", assets)
        object.__setattr__(self, "data_stores", stores)
        object.__setattr__(self, "flows", flows)
        object.__setattr__(self, "_by_id", by_id)
        object.__setattr__(self, "_stores", store_ids)
        object.__setattr__(self, "_flows", flow_ids)
        object.__setattr__(self, "_stores_on", {k: tuple(v) for k, v in stores_on.items()})
        object.__setattr__(self, "_labels", {k: tuple(v) for k, v in labels.items()})
        object.__setattr__(self, "_spans", spans)

    # -- lookups --------------------------------------------------------------------------
    def asset(self, asset_id: str) -> Asset | None:
        return self._by_id.get(asset_id)

    def data_store(self, store_id: str) -> DataStore | None:
        return self._stores.get(store_id)

    def flow(self, flow_id: str) -> DataFlow | None:
        return self._flows.get(flow_id)

    def stores_on(self, asset_id: str) -> tuple[DataStore, ...]:
        """The data stores on an asset, by id."""
        return self._stores_on.get(asset_id, ())

    def flows_of(self, asset_id: str) -> tuple[DataFlow, ...]:
        """Declared flows from or to an asset, by id."""
        return tuple(f for f in self.flows if asset_id in (f.source, f.destination))

    def with_label(self, key: str, value: str) -> tuple[Asset, ...]:
        """Assets whose label ``key`` is ``value``, by id."""
        return self._labels.get((key, value), ())

    def asset_at(self, address: IPAddress) -> Asset | None:
        """The asset owning ``address`` (at most one: blocks never overlap)."""
        starts, spans = self._spans.get(address.version, ([], []))
        index = bisect.bisect_right(starts, int(address)) - 1
        if index < 0:
            return None
        first, last, asset_id = spans[index]
        return self._by_id[asset_id] if first <= int(address) <= last else None

    def resolve(self, endpoint: Endpoint) -> Asset | None:
        """The asset an endpoint is: by id for a ``str``, by address otherwise."""
        if isinstance(endpoint, str):
            return self._by_id.get(endpoint)
        return self.asset_at(endpoint)

    def replaced(
        self,
        assets: Iterable[Asset] = (),
        data_stores: Iterable[DataStore] = (),
        flows: Iterable[DataFlow] = (),
    ) -> Inventory:
        """This inventory with the given items added, replacing those of the same id."""
        new_assets = {asset.id: asset for asset in self.assets}
        new_assets.update((asset.id, asset) for asset in assets)
        new_stores = {store.id: store for store in self.data_stores}
        new_stores.update((store.id, store) for store in data_stores)
        new_flows = {flow.id: flow for flow in self.flows}
        new_flows.update((flow.id, flow) for flow in flows)
        return Inventory(
            tuple(new_assets.values()), tuple(new_stores.values()), tuple(new_flows.values())
        )


def _unique(items: tuple[T, ...], what: str, problems: list[Problem]) -> dict[str, T]:
    seen: dict[str, T] = {}
    for item in items:
        first = seen.get(item.id)
        if first is not None:
            where = "" if first.origin is None else f" (first at {first.origin})"
            problems.append(problem(f"duplicate {what} id {item.id!r}{where}", item.origin, "id"))
        else:
            seen[item.id] = item
    return seen


def _check_overlaps(
    assets: tuple[Asset, ...], problems: list[Problem]
) -> dict[int, tuple[list[int], list[_Span]]]:
    """Sweep every block in address order; report each one that overlaps an earlier one."""
    blocks: list[tuple[int, int, int, Network, Asset]] = []
    for asset in assets:
        for net in asset.networks:
            first = int(net.network_address)
            blocks.append((net.version, first, first + net.num_addresses - 1, net, asset))
    blocks.sort(key=lambda block: (block[0], block[1], -block[2], block[4].id))
    spans: dict[int, tuple[list[int], list[_Span]]] = {4: ([], []), 6: ([], [])}
    widest: tuple[int, int, Network, Asset] | None = None  # version, last, network, asset
    for version, first, last, net, asset in blocks:
        if widest is not None and widest[0] == version and first <= widest[1]:
            _, _, other_net, other = widest
            problems.append(_overlap(asset, net, other, other_net))
            continue
        widest = (version, last, net, asset)
        starts, found = spans[version]
        starts.append(first)
        found.append((first, last, asset.id))
    return spans


def _overlap(asset: Asset, net: Network, other: Asset, other_net: Network) -> Problem:
    """The problem, placed on whichever asset was read from a file (the one being added)."""
    if (asset.origin is None or asset.origin.line is None) and (
        other.origin is not None and other.origin.line is not None
    ):
        asset, net, other, other_net = other, other_net, asset, net
    whose = "itself" if other.id == asset.id else f"asset {other.id!r}"
    return problem(
        f"asset {asset.id!r}: address {format_network(net)} overlaps "
        f"{format_network(other_net)} of {whose}",
        asset.origin,
        "addresses",
    )


@dataclass(frozen=True, slots=True)
class InventoryItems:
    """Items read from files, not yet checked as a whole (they may name stored assets)."""

    assets: tuple[Asset, ...] = ()
    data_stores: tuple[DataStore, ...] = ()
    flows: tuple[DataFlow, ...] = ()

    def __add__(self, other: InventoryItems) -> InventoryItems:
        return InventoryItems(
            self.assets + other.assets,
            self.data_stores + other.data_stores,
            self.flows + other.flows,
        )

    def __bool__(self) -> bool:
        return bool(self.assets or self.data_stores or self.flows)

    def __len__(self) -> int:
        return len(self.assets) + len(self.data_stores) + len(self.flows)


def merge_items(base: Inventory, items: InventoryItems) -> Inventory:
    """``base`` with ``items`` added or replacing by id; ``InvalidModel`` lists every problem.

    Two items of ``items`` with one id are an error (two files disagreeing), not a replace.
    """
    problems: list[Problem] = []
    _unique(tuple(items.assets), "asset", problems)
    _unique(tuple(items.data_stores), "data store", problems)
    _unique(tuple(items.flows), "flow", problems)
    raise_if_any(problems)
    return base.replaced(items.assets, items.data_stores, items.flows)
