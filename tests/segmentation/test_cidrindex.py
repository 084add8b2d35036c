"""The CIDR index answers exactly as testing every block would, and so does ``allows``."""

from __future__ import annotations

import ipaddress
from datetime import datetime

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from menshen.inventory.fields import IPAddress, Network
from menshen.segmentation import Segmentation
from menshen.segmentation.cidrindex import CidrIndex
from tests.segmentation.oracle import OUTSIDE, TIMES, ZONE_CIDRS, models, witness_ports


@st.composite
def networks(draw: st.DrawFn) -> Network:
    """A v4 block inside 10.0.0.0/14 or a v6 block inside 2001:db8::/30 (so they nest)."""
    if draw(st.booleans()):
        prefix = draw(st.integers(14, 32))
        base = (10 << 24) + draw(st.integers(0, 2**18 - 1))
        return ipaddress.IPv4Network((base >> (32 - prefix) << (32 - prefix), prefix))
    prefix = draw(st.integers(30, 128))
    base = (0x20010DB8 << 96) + draw(st.integers(0, 2**98 - 1))
    return ipaddress.IPv6Network((base >> (128 - prefix) << (128 - prefix), prefix))


def inside(address: IPAddress | None, cidrs: tuple[Network, ...]) -> bool:
    """Whether ``address`` is in one of ``cidrs``, block by block."""
    return address is not None and any(
        address.version == net.version and address in net for net in cidrs
    )


def scan(items: list[tuple[int, list[Network]]], address: IPAddress) -> tuple[int, ...]:
    """Keys whose blocks contain ``address``, testing every block; in order of first mention."""
    first = list(dict.fromkeys(key for key, _ in items))
    found = {key for key, blocks in items if inside(address, tuple(blocks))}
    return tuple(sorted(found, key=first.index))


@settings(max_examples=300, deadline=None)
@given(
    st.lists(st.tuples(st.integers(0, 12), st.lists(networks(), max_size=4)), max_size=12),
    st.data(),
)
def test_lookup_equals_testing_every_block(
    items: list[tuple[int, list[Network]]], data: st.DataObject
) -> None:
    """Nested, overlapping, repeated, v4 and v6 blocks: lookup == the plain scan."""
    index = CidrIndex(items)
    probes: list[IPAddress] = [ipaddress.ip_address("10.0.0.0"), ipaddress.ip_address("::")]
    for _, blocks in items:
        for net in blocks:
            probes += [net.network_address, net.broadcast_address]
    probes += [data.draw(networks()).network_address for _ in range(5)]
    for address in probes:
        assert index.lookup(address) == scan(items, address)


def test_an_empty_index_finds_nothing() -> None:
    """No blocks: every address is in no block, and the index is falsy."""
    index: CidrIndex[str] = CidrIndex([("a", [])])
    assert not index
    assert index.lookup(ipaddress.ip_address("10.1.2.3")) == ()


def unindexed_allows(
    seg: Segmentation,
    src: str | IPAddress,
    dst: str | IPAddress,
    port: int,
    protocol: str,
    at: datetime,
) -> tuple[str, str, bool] | None:
    """``allows`` as it read before the index: every rule in order, CIDRs tested one by one."""
    src_asset = seg.inventory.resolve(src)
    dst_asset = seg.inventory.resolve(dst)
    src_address = None if isinstance(src, str) else src
    dst_address = None if isinstance(dst, str) else dst
    for rule in seg.rules:
        if not rule.active(at) or not rule.allows_port(protocol, port):
            continue
        into = dst_asset is not None and dst_asset.id in rule.dst_assets
        out_of = src_asset is not None and src_asset.id in rule.src_assets
        if (into or inside(dst_address, rule.dst_cidrs)) and (
            out_of or inside(src_address, rule.src_cidrs)
        ):
            return rule.rule_set, rule.rule_id, rule.exception
    return None


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(models(), st.data())
def test_indexed_allows_equals_unindexed_allows(seg: Segmentation, data: st.DataObject) -> None:
    """On random models, allows and zones_of (indexed) agree with the rule-by-rule scan."""
    ends: list[str | IPAddress] = [*OUTSIDE]
    for cidr in ZONE_CIDRS:
        ends += [cidr.network_address, cidr.broadcast_address]
    for asset in seg.inventory.assets:
        ends.append(asset.id)
        ends.extend(network[-1] for network in asset.networks)
    probes = witness_ports(seg)
    for _ in range(40):
        src = data.draw(st.sampled_from(ends))
        dst = data.draw(st.sampled_from(ends))
        protocol, port = data.draw(st.sampled_from(probes))
        at = data.draw(st.sampled_from(TIMES))
        match = seg.allows(src, dst, port, protocol, at)
        found = None if match is None else (match.rule_set, match.rule_id, match.exception)
        assert found == unindexed_allows(seg, src, dst, port, protocol, at)
        if not isinstance(dst, str):
            owner = seg.inventory.asset_at(dst)
            zones = {zone.name for zone in seg.policy.zones if inside(dst, zone.cidrs)}
            zones |= seg.zones_of(owner.id) if owner is not None else set()
            assert seg.zones_of(dst) == zones
