"""Compile the segmentation model to AWS security groups, in the EC2 API's own shapes.

Security groups only allow, are stateful (replies pass), and belong to network interfaces
(Amazon VPC User Guide, "Security group rules"). The mapping:

* A group per zone (``menshen-<zone>``) and per label set (``menshen-labels-<hash>``) that a
  rule in force names; ``AttachTo`` lists the in-VPC assets to attach it to — ``host``,
  ``service`` and ``database`` assets (workstations, SaaS and outside APIs are known by
  their addresses).
* A rule becomes ingress on each destination group, from the source groups
  (``UserIdGroupPairs``, zone to zone) and from the source CIDRs and outside assets'
  networks (``IpRanges``/``Ipv6Ranges``); and egress on each source group, the mirror image.
  A connection between two instances needs both, and both come from the same rules.
  Every entry's ``Description`` names its rule ids.
* ``menshen-base`` goes on every in-VPC asset, so none keeps the VPC's default group.
  Monitor rule sets (security groups cannot log) become ``menshen-monitor-<set>``, allowing
  all ingress to the watched instances, and egress from ``menshen-base`` to them and to the
  watched outside addresses. Watch those with VPC Flow Logs.

``Ingress`` and ``Egress`` are request bodies for ``AuthorizeSecurityGroupIngress`` and
``AuthorizeSecurityGroupEgress``; revoke the default allow-all egress rule first. Group ids
are not known before the groups exist: ``group_ids`` maps group names to ids, and a name
without one is written ``{{<group name>}}`` for a deploy step to replace.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from menshen.inventory.fields import Network
from menshen.segmentation.compile.kubernetes import WORKLOADS
from menshen.segmentation.compile.shared import (
    GENERATOR,
    AddressSet,
    asset_networks,
    merged_ports,
    monitored_regions,
    peer_assets,
    peer_cidrs,
    short_hash,
)
from menshen.segmentation.labels import Selector
from menshen.segmentation.model import Peer
from menshen.segmentation.resolve import Segmentation

Json = dict[str, Any]
BASE = "menshen-base"
DESCRIPTION_MAX = 255
_PortKey = tuple[str, int, int]  # protocol, from, to
_Source = tuple[str, str]  # "group" | "v4" | "v6", group name or CIDR
_Allow = Callable[[str, str, _PortKey, _Source, str], None]


def compile_aws(
    seg: Segmentation, at: datetime, *, group_ids: Mapping[str, str] | None = None
) -> str:
    """The security groups as JSON (keys sorted, two-space indent)."""
    return (
        json.dumps(security_groups(seg, at, group_ids=group_ids), indent=2, sort_keys=True) + "\n"
    )


def group_name(peer: Peer) -> str:
    """The security group standing for a zone or a label set."""
    if isinstance(peer, Selector):
        return f"menshen-labels-{short_hash(str(peer))}"
    return f"menshen-{peer}"


def security_groups(
    seg: Segmentation, at: datetime, *, group_ids: Mapping[str, str] | None = None
) -> Json:
    ids = dict(group_ids or {})
    vpc = {a.id for a in seg.inventory.assets if a.kind in WORKLOADS}
    groups: dict[str, Json] = {}
    rules: dict[str, dict[str, dict[_PortKey, dict[_Source, list[str]]]]] = {}

    def group(peer: Peer) -> str | None:
        members = sorted(peer_assets(seg, peer) & vpc)
        if not members:
            return None
        name = group_name(peer)
        what = f"label set {peer}" if isinstance(peer, Selector) else f"zone {peer}"
        groups.setdefault(name, {"Description": f"menshen {what}"[:DESCRIPTION_MAX],
                                 "AttachTo": members})  # fmt: skip
        return name

    known: dict[Peer, list[_Source]] = {}

    def sources(peer: Peer) -> list[_Source]:
        if peer in known:
            return known[peer]
        found: list[_Source] = []
        name = group(peer)
        if name is not None:
            found.append(("group", name))
        outside = sorted(peer_assets(seg, peer) - vpc)
        blocks = AddressSet.of((*peer_cidrs(seg, peer), *asset_networks(seg, outside)))
        found += [_cidr(net) for net in blocks.all_networks()]
        known[peer] = found
        return found

    def allow(target: str, way: str, key: _PortKey, source: _Source, why: str) -> None:
        ways = rules.setdefault(target, {}).setdefault(way, {})
        named = ways.setdefault(key, {}).setdefault(source, [])
        if why not in named:
            named.append(why)

    expired: list[str] = []
    exceptions: list[str] = []
    for rule in seg.rules:
        if rule.expires is not None:
            owner = f", owner {rule.owner}" if rule.owner else ""
            when = f"{rule.rule_id} until {rule.expires.isoformat()}{owner}"
            (exceptions if rule.active(at) else expired).append(when)
        if not rule.active(at):
            continue
        keys = [
            (protocol, first, last)
            for protocol, spans in merged_ports(rule.ports).items()
            for first, last in spans
        ]
        for src in rule.src_peers:
            for dst in rule.dst_peers:
                src_group, dst_group = group(src), group(dst)
                for key in keys:
                    if dst_group is not None:
                        for source in sources(src):
                            allow(dst_group, "Ingress", key, source, rule.rule_id)
                    if src_group is not None:
                        for target in sources(dst):
                            allow(src_group, "Egress", key, target, rule.rule_id)
    _monitor(seg, vpc, groups, allow)
    body = [_group(name, groups[name], rules.get(name, {}), ids) for name in sorted(groups)]
    return {
        "GeneratedBy": f"{GENERATOR} --format aws",
        "Apply": "CreateSecurityGroup (GroupName, Description, your VpcId) for each group; "
        "attach it to the instances of AttachTo; RevokeSecurityGroupEgress of the default "
        "allow-all rule; then AuthorizeSecurityGroupIngress with Ingress and "
        "AuthorizeSecurityGroupEgress with Egress",
        "Exceptions": exceptions,
        "ExpiredExceptions": expired,
        "SecurityGroups": body,
    }


def _monitor(seg: Segmentation, vpc: set[str], groups: dict[str, Json], allow: _Allow) -> None:
    """``menshen-base`` on every in-VPC asset (so none keeps a default group), carrying
    egress to what monitor rule sets let through; a group per monitor set for ingress."""
    if not vpc:
        return
    groups[BASE] = {
        "Description": "menshen base: on every instance; egress that monitor mode allows",
        "AttachTo": sorted(vpc),
    }
    everything = ("-1", -1, -1)
    regions = monitored_regions(seg)
    for region in regions:
        why = f"monitor:{region.rule_set}"
        watched = sorted(set(region.assets) & vpc)
        if watched:
            name = f"menshen-monitor-{region.rule_set}"
            groups[name] = {
                "Description": f"menshen monitor rule set {region.rule_set}: all ingress",
                "AttachTo": watched,
            }
            for source in (("v4", "0.0.0.0/0"), ("v6", "::/0"), ("group", BASE)):
                allow(name, "Ingress", everything, source, why)
            allow(BASE, "Egress", everything, ("group", name), why)
        for net in (region.addresses - AddressSet.of(asset_networks(seg, watched))).all_networks():
            allow(BASE, "Egress", everything, _cidr(net), why)


def _cidr(net: Network) -> _Source:
    return ("v4" if net.version == 4 else "v6", str(net))


def _group(
    name: str,
    group: Json,
    ways: dict[str, dict[_PortKey, dict[_Source, list[str]]]],
    ids: dict[str, str],
) -> Json:
    found: Json = {"GroupName": name, **group}
    for way in ("Ingress", "Egress"):
        permissions = [
            _permission(key, sources, ids) for key, sources in sorted(ways.get(way, {}).items())
        ]
        if permissions:
            found[way] = {"GroupId": _id(name, ids), "IpPermissions": permissions}
    return found


def _permission(key: _PortKey, sources: dict[_Source, list[str]], ids: dict[str, str]) -> Json:
    protocol, first, last = key
    permission: Json = {"IpProtocol": protocol}
    if protocol != "-1":
        permission.update(FromPort=first, ToPort=last)
    ranges = [
        {"CidrIp": cidr, "Description": _why(why)}
        for (kind, cidr), why in sorted(sources.items())
        if kind == "v4"
    ]
    ranges6 = [
        {"CidrIpv6": cidr, "Description": _why(why)}
        for (kind, cidr), why in sorted(sources.items())
        if kind == "v6"
    ]
    pairs = [
        {"GroupId": _id(name, ids), "Description": _why(why)}
        for (kind, name), why in sorted(sources.items())
        if kind == "group"
    ]
    if ranges:
        permission["IpRanges"] = ranges
    if ranges6:
        permission["Ipv6Ranges"] = ranges6
    if pairs:
        permission["UserIdGroupPairs"] = pairs
    return permission


def _why(rule_ids: list[str]) -> str:
    text = " ".join(rule_ids)
    return text if len(text) <= DESCRIPTION_MAX else text[: DESCRIPTION_MAX - 3] + "..."


def _id(name: str, ids: dict[str, str]) -> str:
    return ids.get(name, "{{" + name + "}}")
