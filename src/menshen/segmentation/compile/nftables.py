"""Compile the segmentation model to an nftables ruleset (``nft -f``).

One ``inet`` table (IPv4 and IPv6 alike) named ``menshen``, replaced atomically on each
load (the file creates, deletes and re-creates the table in one transaction). Inside:

* a named interval set per zone and per label set used by a rule (``ipv4_addr`` and
  ``ipv6_addr``; the zone's CIDRs and its member assets' networks, collapsed), and one per
  monitor rule set (the destinations it lets through);
* a regular chain ``allow`` holding one accept rule per (rule, source peer, destination
  peer, family, protocol), in the order ``Segmentation.allows`` tries rules, each with
  ``comment "<rule id>"``; then, per monitor rule set, a rate-limited ``log`` and an accept;
* base chains ``forward`` (the ruleset on a router or firewall between segments) and
  ``input`` (the same rules as a host firewall), both ``policy drop``: established and
  related traffic passes (a connection is decided once, when it opens), invalid packets are
  dropped, loopback and IPv6 neighbour discovery (RFC 4861 §6, §7) pass on ``input``, then
  ``jump allow``, then a rate-limited ``log prefix "menshen-drop ..."`` and the drop.

Exceptions appear only while valid at the compile time; expired ones are listed in a comment.
The output depends only on the model and that time: same input, same bytes.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from menshen.inventory.fields import format_network
from menshen.segmentation.compile.shared import (
    GENERATOR,
    AddressSet,
    merged_ports,
    monitored_regions,
    peer_addresses,
    short_hash,
)
from menshen.segmentation.labels import Selector
from menshen.segmentation.model import Peer
from menshen.segmentation.resolve import ResolvedRule, Segmentation

DEFAULT_TABLE = "menshen"
LOG_RATE = "limit rate 5/second burst 10 packets"
COMMENT_MAX = 120
FAMILIES = ((4, "ip", "ipv4_addr", "v4"), (6, "ip6", "ipv6_addr", "v6"))


@dataclass(frozen=True, slots=True)
class NftSet:
    """A named set of addresses of one family."""

    name: str
    type: str
    comment: str
    elements: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class NftRule:
    """One rule of the ``allow`` chain; ``note`` is a ``#`` line written above it."""

    statement: str
    comment: str
    note: str = ""


@dataclass(frozen=True, slots=True)
class Ruleset:
    """The ruleset before printing: sets, the ordered ``allow`` chain, and notes."""

    table: str
    sets: tuple[NftSet, ...]
    allow: tuple[NftRule, ...]
    notes: tuple[str, ...] = ()


def compile_nftables(seg: Segmentation, at: datetime, *, table: str = DEFAULT_TABLE) -> str:
    """The ruleset as ``nft -f`` text."""
    return render(build_ruleset(seg, at, table=table))


def build_ruleset(seg: Segmentation, at: datetime, *, table: str = DEFAULT_TABLE) -> Ruleset:
    sets: dict[str, NftSet] = {}
    addresses: dict[Peer, AddressSet] = {}
    allow: list[NftRule] = []
    notes: list[str] = []
    for rule in seg.rules:
        if not rule.active(at):
            notes.append(f"{rule.rule_id}: exception expired {_when(rule)}; left out")
            continue
        note = _note(rule)
        for src in rule.src_peers:
            for dst in rule.dst_peers:
                for statement in _statements(seg, rule, src, dst, sets, addresses):
                    allow.append(NftRule(statement, rule.rule_id, note))
                    note = ""
    for region in monitored_regions(seg):
        for version, family, kind, suffix in FAMILIES:
            elements = _elements(region.addresses, version)
            if not elements:
                continue
            name = f"monitor_{region.rule_set}_{suffix}"
            label = f"monitor rule set {region.rule_set}: unmatched traffic in is logged, let in"
            sets[name] = NftSet(name, kind, label, elements)
            prefix = f"menshen-monitor {region.rule_set}: "
            allow.append(
                NftRule(
                    f'{family} daddr @{name} {LOG_RATE} log prefix "{prefix}"',
                    f"monitor:{region.rule_set} log",
                )
            )
            allow.append(
                NftRule(f"{family} daddr @{name} counter accept", f"monitor:{region.rule_set}")
            )
    return Ruleset(table, tuple(sets[name] for name in sorted(sets)), tuple(allow), tuple(notes))


def _statements(
    seg: Segmentation,
    rule: ResolvedRule,
    src: Peer,
    dst: Peer,
    sets: dict[str, NftSet],
    addresses: dict[Peer, AddressSet],
) -> list[str]:
    found: list[str] = []
    ports = merged_ports(rule.ports)
    for version, family, kind, suffix in FAMILIES:
        src_set = _peer_set(seg, src, version, kind, suffix, sets, addresses)
        dst_set = _peer_set(seg, dst, version, kind, suffix, sets, addresses)
        if src_set is None or dst_set is None:
            continue
        for protocol, spans in ports.items():
            listed = [str(a) if a == b else f"{a}-{b}" for a, b in spans]
            dport = listed[0] if len(listed) == 1 else "{ " + ", ".join(listed) + " }"
            found.append(
                f"{family} saddr @{src_set} {family} daddr @{dst_set} "
                f"{protocol} dport {dport} counter accept"
            )
    return found


def _peer_set(
    seg: Segmentation,
    peer: Peer,
    version: int,
    kind: str,
    suffix: str,
    sets: dict[str, NftSet],
    addresses: dict[Peer, AddressSet],
) -> str | None:
    """The name of the peer's set for one family (made on first use); None when empty."""
    if isinstance(peer, Selector):
        name, comment = f"labels_{short_hash(str(peer))}_{suffix}", f"label set {peer}"
    else:
        name, comment = f"zone_{peer}_{suffix}", f"zone {peer}"
    if name in sets:
        return name
    if peer not in addresses:
        addresses[peer] = peer_addresses(seg, peer)
    elements = _elements(addresses[peer], version)
    if not elements:
        return None
    sets[name] = NftSet(name, kind, comment[:COMMENT_MAX], elements)
    return name


def _elements(addresses: AddressSet, version: int) -> tuple[str, ...]:
    return tuple(format_network(net) for net in addresses.networks(version))


def _when(rule: ResolvedRule) -> str:
    return "" if rule.expires is None else rule.expires.isoformat()


def _note(rule: ResolvedRule) -> str:
    mode = f"rule set {rule.rule_set} ({rule.mode.value})"
    if rule.exception:
        owner = f", owner {rule.owner}" if rule.owner else ""
        return f"{rule.rule_id}: {mode}, exception valid until {_when(rule)}{owner}"
    return f"{rule.rule_id}: {mode}"


# -- printing -------------------------------------------------------------------------------
def render(ruleset: Ruleset) -> str:
    """``nft -f`` text: the table is created, deleted and defined again, atomically."""
    table = ruleset.table
    out = [
        f"# generated by {GENERATOR} --format nftables; do not edit, compile again",
        "# load: nft -f FILE   (check first: nft -c -f FILE)",
        *(f"# {note}" for note in ruleset.notes),
        f"table inet {table}",
        f"delete table inet {table}",
        f"table inet {table} {{",
    ]
    for item in ruleset.sets:
        elements = ", ".join(item.elements)
        out += [
            f"\tset {item.name} {{",
            f"\t\ttype {item.type}",
            "\t\tflags interval",
            f'\t\tcomment "{item.comment}"',
            f"\t\telements = {{ {elements} }}",
            "\t}",
        ]
    out.append("\tchain allow {")
    for rule in ruleset.allow:
        if rule.note:
            out.append(f"\t\t# {rule.note}")
        out.append(f'\t\t{rule.statement} comment "{rule.comment}"')
    out.append("\t}")
    out += _base_chain("forward", local=False)
    out += _base_chain("input", local=True)
    out.append("}")
    return "\n".join(out) + "\n"


def _base_chain(hook: str, *, local: bool) -> list[str]:
    lines = [
        f"\tchain {hook} {{",
        f"\t\ttype filter hook {hook} priority filter; policy drop;",
        '\t\tct state established,related accept comment "established"',
        '\t\tct state invalid drop comment "invalid"',
    ]
    if local:
        lines += [
            '\t\tiif "lo" accept comment "loopback"',
            "\t\ticmpv6 type { nd-neighbor-solicit, nd-neighbor-advert, nd-router-solicit, "
            'nd-router-advert } ip6 hoplimit 255 accept comment "ipv6-neighbour-discovery"',
        ]
    lines += [
        '\t\tjump allow comment "menshen rules"',
        f'\t\t{LOG_RATE} log prefix "menshen-drop {hook}: " comment "default-deny log"',
        '\t\tcounter drop comment "default-deny"',
        "\t}",
    ]
    return lines
