"""Small evaluators of what the compilers print, written from the targets' own documents.

* ``NftRuleset`` reads the nftables text back (every line the printer may write, and no
  other) and runs a new connection through the ``forward`` chain (nft(8): base chains,
  ``policy``, ``jump``; sets with ``flags interval``).
* ``k8s_allows`` applies NetworkPolicy semantics (Kubernetes docs, "Network Policies"): a
  pod selected by a policy of a direction is isolated in that direction; then a connection
  passes if any of those policies has a rule whose peers and ports match; ingress at the
  destination pod and egress at the source pod must both allow it.
* ``aws_allows`` applies security group semantics: the union of the rules of every group on
  the interface; ingress checked at the destination instance, egress at the source.

``expected`` is the model's answer: the allowing rule's id, ``monitor:<set>``, or None.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from menshen.inventory.fields import IPAddress, Network
from menshen.inventory.model import Endpoint
from menshen.segmentation import Action, Segmentation

Json = dict[str, Any]


def expected(
    seg: Segmentation, src: Endpoint, dst: Endpoint, port: int, protocol: str, at: datetime
) -> str | None:
    verdict = seg.verdict(src, dst, port, protocol, at)
    if verdict.action is Action.ALLOW:
        assert verdict.match is not None
        return verdict.match.rule_id
    if verdict.action is Action.MONITOR:
        return f"monitor:{verdict.monitored_by}"
    return None


# -- nftables -------------------------------------------------------------------------------
_ACCEPT = re.compile(
    r"^(ip6?) saddr @(\S+) (ip6?) daddr @(\S+) (tcp|udp) dport (\{ [^}]+ \}|\d+(?:-\d+)?) "
    r'counter accept comment "([^"]+)"$'
)
_MONITOR = re.compile(r'^(ip6?) daddr @(\S+) counter accept comment "(monitor:[^"]+)"$')
_LOG = re.compile(
    r'^(ip6?) daddr @(\S+) limit rate \d+/second burst \d+ packets log prefix "[^"]*" '
    r'comment "[^"]+"$'
)
FORWARD = [
    "type filter hook forward priority filter; policy drop;",
    'ct state established,related accept comment "established"',
    'ct state invalid drop comment "invalid"',
    'jump allow comment "menshen rules"',
    'limit rate 5/second burst 10 packets log prefix "menshen-drop forward: " '
    'comment "default-deny log"',
    'counter drop comment "default-deny"',
]


@dataclass
class NftRuleset:
    """The sets and the ``allow`` chain of a printed ruleset."""

    sets: dict[str, tuple[str, list[Network]]] = field(default_factory=dict)
    allow: list[tuple[Any, ...]] = field(default_factory=list)
    forward: list[str] = field(default_factory=list)

    @classmethod
    def parse(cls, text: str) -> NftRuleset:
        ruleset = cls()
        block: list[str] | None = None
        name = ""
        for raw in text.splitlines():
            line = raw.strip()
            if (raw.startswith("\tset ") and raw.endswith("{")) or raw.startswith("\tchain "):
                name, block = line.split()[1], []
            elif raw == "\t}" and block is not None:
                ruleset._close(name, block)
                block = None
            elif block is not None and line and not line.startswith("#"):
                block.append(line)
        return ruleset

    def _close(self, name: str, lines: list[str]) -> None:
        if name == "allow":
            for line in lines:
                self.allow.append(_allow_line(line))
        elif name == "forward":
            self.forward = lines
        elif name == "input":
            assert "policy drop;" in lines[0]
            assert lines[-1] == 'counter drop comment "default-deny"'
        else:
            kind = next(line.split()[1] for line in lines if line.startswith("type "))
            assert "flags interval" in lines
            text = next(line for line in lines if line.startswith("elements = {"))
            items = text.removeprefix("elements = {").removesuffix("}").split(",")
            nets = [ipaddress.ip_network(item.strip()) for item in items]
            self.sets[name] = (kind, nets)

    def evaluate(self, src: IPAddress, dst: IPAddress, protocol: str, port: int) -> str | None:
        """The comment of the rule accepting a new connection, or None (dropped)."""
        assert self.forward == FORWARD
        family = "ip" if src.version == 4 else "ip6"
        for rule in self.allow:
            if rule[0] == "log" or rule[1] != family:
                continue
            if rule[0] == "monitor":
                if self._has(rule[2], dst):
                    return str(rule[3])
                continue
            _, _, src_set, dst_set, proto, ports, comment = rule
            matched = proto == protocol and _in_ports(port, ports)
            if matched and self._has(src_set, src) and self._has(dst_set, dst):
                return str(comment)
        return None

    def _has(self, name: str, address: IPAddress) -> bool:
        kind, nets = self.sets[name]
        assert kind == ("ipv4_addr" if address.version == 4 else "ipv6_addr")
        return any(address.version == net.version and address in net for net in nets)


def _allow_line(line: str) -> tuple[Any, ...]:
    found = _ACCEPT.match(line)
    if found:
        fam, src, fam2, dst, proto, ports, comment = found.groups()
        assert fam == fam2
        return ("rule", fam, src, dst, proto, _ports(ports), comment)
    found = _MONITOR.match(line)
    if found:
        return ("monitor", found.group(1), found.group(2), found.group(3))
    found = _LOG.match(line)
    assert found, f"the evaluator does not know this line: {line!r}"
    return ("log", found.group(1))


def _ports(text: str) -> list[tuple[int, int]]:
    spans = []
    for item in text.strip("{} ").split(","):
        low, _, high = item.strip().partition("-")
        spans.append((int(low), int(high or low)))
    return spans


def _in_ports(port: int, spans: Iterable[tuple[int, int]]) -> bool:
    return any(low <= port <= high for low, high in spans)


# -- Kubernetes -----------------------------------------------------------------------------
@dataclass(frozen=True)
class Place:
    """One end of a connection: a pod (namespace and labels) and/or an address."""

    namespace: str | None = None
    labels: Mapping[str, str] = field(default_factory=dict)
    ip: IPAddress | None = None

    @property
    def pod(self) -> bool:
        return self.namespace is not None


def selects(selector: Json, labels: Mapping[str, str]) -> bool:
    for key, value in selector.get("matchLabels", {}).items():
        if labels.get(key) != value:
            return False
    for term in selector.get("matchExpressions", []):
        value = labels.get(term["key"])
        operator = term["operator"]
        if operator == "In" and value not in term["values"]:
            return False
        if operator == "NotIn" and value in term["values"]:
            return False
        if operator == "Exists" and value is None:
            return False
        if operator == "DoesNotExist" and value is not None:
            return False
    return True


def _peer_matches(peer: Json, other: Place, namespace: str) -> bool:
    if "ipBlock" in peer:
        if other.ip is None:
            return False
        block = ipaddress.ip_network(peer["ipBlock"]["cidr"])
        excepted = [ipaddress.ip_network(c) for c in peer["ipBlock"].get("except", [])]
        return _inside(other.ip, [block]) and not _inside(other.ip, excepted)
    if not other.pod:
        return False
    names = peer.get("namespaceSelector")
    if names is None:
        space_ok = other.namespace == namespace
    else:
        space_ok = selects(names, {"kubernetes.io/metadata.name": str(other.namespace)})
    pods = peer.get("podSelector")
    return space_ok and (pods is None or selects(pods, other.labels))


def _port_matches(ports: list[Json] | None, protocol: str, port: int) -> bool:
    if not ports:
        return True
    for item in ports:
        if item.get("protocol", "TCP") != protocol.upper():
            continue
        if "port" not in item:
            return True
        first: int = item["port"]
        last: int = item.get("endPort", first)
        if first <= port <= last:
            return True
    return False


def _direction_ok(
    policies: list[Json], target: Place, other: Place, way: str, protocol: str, port: int
) -> bool:
    selecting = [
        policy
        for policy in policies
        if policy["metadata"]["namespace"] == target.namespace
        and way in policy["spec"].get("policyTypes", ["Ingress"])
        and selects(policy["spec"]["podSelector"], target.labels)
    ]
    if not selecting:
        return True
    key, side = ("ingress", "from") if way == "Ingress" else ("egress", "to")
    for policy in selecting:
        for rule in policy["spec"].get(key, []):
            peers = rule.get(side)
            namespace = policy["metadata"]["namespace"]
            if (not peers or any(_peer_matches(p, other, namespace) for p in peers)) and (
                _port_matches(rule.get("ports"), protocol, port)
            ):
                return True
    return False


def k8s_allows(policies: list[Json], src: Place, dst: Place, protocol: str, port: int) -> bool:
    ingress = not dst.pod or _direction_ok(policies, dst, src, "Ingress", protocol, port)
    egress = not src.pod or _direction_ok(policies, src, dst, "Egress", protocol, port)
    return ingress and egress


# -- AWS ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Instance:
    """One end: the security groups on its interface (none: outside the VPC) and address."""

    groups: frozenset[str] = frozenset()
    ip: IPAddress | None = None
    inside: bool = False


def group_of_id(group_id: str) -> str:
    return group_id.removeprefix("{{").removesuffix("}}")


def _sg_permits(permission: Json, other: Instance, protocol: str, port: int) -> bool:
    proto = permission["IpProtocol"]
    if proto != "-1" and (proto != protocol or not permission["FromPort"] <= port):
        return False
    if proto != "-1" and port > permission["ToPort"]:
        return False
    for pair in permission.get("UserIdGroupPairs", []):
        if group_of_id(pair["GroupId"]) in other.groups:
            return True
    if other.ip is None:
        return False
    cidrs = [r["CidrIp"] for r in permission.get("IpRanges", [])]
    cidrs += [r["CidrIpv6"] for r in permission.get("Ipv6Ranges", [])]
    return _inside(other.ip, [ipaddress.ip_network(c) for c in cidrs])


def aws_allows(
    groups: dict[str, Json], src: Instance, dst: Instance, protocol: str, port: int
) -> bool:
    def way_ok(target: Instance, other: Instance, way: str) -> bool:
        if not target.inside:
            return True
        return any(
            _sg_permits(permission, other, protocol, port)
            for name in target.groups
            for permission in groups[name].get(way, {}).get("IpPermissions", [])
        )

    return way_ok(dst, src, "Ingress") and way_ok(src, dst, "Egress")


def _inside(address: IPAddress, nets: Iterable[Network]) -> bool:
    return any(address.version == net.version and address in net for net in nets)


# -- probes ---------------------------------------------------------------------------------
def probe_addresses(seg: Segmentation, outside: Iterable[IPAddress]) -> list[IPAddress]:
    """Addresses worth probing: the ends of every asset network and zone CIDR, and outsiders."""
    found: set[IPAddress] = set(outside)
    for asset in seg.inventory.assets:
        for net in asset.networks:
            found |= {net[0], net[-1]}
    for zone in seg.policy.zones:
        for net in zone.cidrs:
            found |= {net[0], net[-1], net[net.num_addresses // 2]}
    return sorted(found, key=lambda address: (address.version, int(address)))
