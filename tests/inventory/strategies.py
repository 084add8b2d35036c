"""Hypothesis strategies for random but valid inventories."""

from __future__ import annotations

import functools
import ipaddress

from hypothesis import strategies as st

from menshen.inventory import (
    Asset,
    AssetKind,
    Classification,
    DataFlow,
    DataStore,
    Inventory,
    Labels,
    PortRange,
)
from menshen.inventory.fields import Network

BLOCKS: tuple[Network, ...] = (
    *(ipaddress.ip_network(f"10.0.{k}.0/24") for k in range(12)),
    *(ipaddress.ip_network(f"10.1.0.{k}/32") for k in range(1, 9)),
    ipaddress.ip_network("2001:db8:1::/64"),
    ipaddress.ip_network("2001:db8:2::5/128"),
)
"""Disjoint blocks: assets draw distinct ones, so no two assets ever overlap."""

ROLES = ("web", "db", "ws", "batch")
APPS = ("pay", "wiki", "bo")
ENVS = ("prod", "dev")
TAGS = ("pii", "card-data", "settlement", "credentials")
TEXT = st.text(
    alphabet=st.characters(codec="utf-8", exclude_categories=("Cc", "Cs")),
    max_size=12,
).filter(lambda text: not text.startswith(("=", "+", "@")) and text == text.strip())


@functools.cache
def port_ranges(max_port: int = 65535) -> st.SearchStrategy[PortRange]:
    def build(protocol: str, a: int, b: int) -> PortRange:
        low, high = sorted((a, b))
        return PortRange("tcp" if protocol == "tcp" else "udp", low, high)

    ports = st.integers(1, max_port)
    return st.builds(build, st.sampled_from(("tcp", "udp")), ports, ports)


@st.composite
def labels(draw: st.DrawFn) -> Labels:
    found = {}
    for key, values in (("role", ROLES), ("app", APPS), ("env", ENVS)):
        if draw(st.booleans()):
            found[key] = draw(st.sampled_from(values))
    return Labels(found)


LABELS = labels()
KINDS = st.sampled_from(list(AssetKind))
CLASSES = st.sampled_from(list(Classification))
DNS = st.lists(st.sampled_from(("x.example", "*.saas.example")), max_size=2)
APP_NAMES = st.lists(st.sampled_from(("wiki", "pay")), max_size=2)
TAG_LISTS = st.lists(st.sampled_from(TAGS), max_size=3)


@st.composite
def inventories(
    draw: st.DrawFn,
    max_assets: int = 8,
    max_networks: int = 2,
    max_port: int = 65535,
    plain: bool = False,
) -> Inventory:
    """Valid inventories; ``plain`` leaves out free text and names (faster, for analysis)."""
    text = st.just("") if plain else TEXT
    count = draw(st.integers(1, max_assets))
    pool = list(draw(st.permutations(BLOCKS)))
    assets = []
    for index in range(count):
        taken = draw(st.integers(0, max_networks))
        networks, pool = pool[:taken], pool[taken:]
        assets.append(
            Asset(
                id=f"a{index}",
                kind=draw(KINDS),
                name=draw(text),
                owner=draw(text),
                labels=draw(LABELS),
                networks=tuple(networks),
                dns_names=tuple(draw(DNS)),
                ports=tuple(draw(st.lists(port_ranges(max_port), max_size=3))),
                gateway_apps=tuple(draw(APP_NAMES)),
            )
        )
    ids = [asset.id for asset in assets]
    stores = [
        DataStore(
            id=f"s{index}",
            asset=draw(st.sampled_from(ids)),
            classification=draw(CLASSES),
            name=draw(text),
            tags=tuple(draw(TAG_LISTS)),
            records=draw(st.none() | st.integers(0, 10**9)),
        )
        for index in range(draw(st.integers(0, 6)))
    ]
    flows = [
        DataFlow(
            id=f"f{index}",
            source=draw(st.sampled_from(ids)),
            destination=draw(st.sampled_from(ids)),
            ports=tuple(draw(st.lists(port_ranges(max_port), min_size=1, max_size=2))),
            classification=draw(CLASSES),
            tags=tuple(draw(TAG_LISTS)),
            purpose=draw(text),
            encrypted=draw(st.booleans()),
        )
        for index in range(draw(st.integers(0, 6)))
    ]
    return Inventory(tuple(assets), tuple(stores), tuple(flows))
