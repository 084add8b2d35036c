"""Suggest an allow-list from observed traffic, the way Illumio and Guardicore build policy.

NIST SP 800-207 §7.3.4 and §7.3.6 (formulate policy from the observed workflows, deploy it
in a monitoring mode first) and NIST SP 800-41 Rev. 1 §4.1 (allow what is needed, deny the
rest). Each observed flow the policy does not already allow is lifted from addresses to
**groups**, the narrowest that names the asset (least privilege): its smallest zone, or its
label set (``role``, ``app``, ``env``, ``location`` — Illumio's four dimensions) when that
selects fewer assets; an address outside the inventory, the narrowest CIDR zone holding
it. Flows between the same two groups make one rule, with the ports seen; each rule keeps
how many flows and connections support it.

Never silently: a rule from a group holding a workstation into a group holding
**restricted** data is *flagged*, and written disabled (commented out) for a person to
decide. In monitor mode, zones holding restricted data are left out of the scope, because
monitor mode lets unmatched traffic into its scope through. Refused flows, flows with an
unknown or unclassified end, and flows already allowed (unless asked) are not turned into
rules; they are counted by reason.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from menshen.inventory.discovery.match import REVIEW_LABEL
from menshen.inventory.discovery.records import Observation
from menshen.inventory.fields import check_id
from menshen.inventory.model import Classification, Endpoint, PortRange, endpoint_text
from menshen.segmentation.exposure import is_workstation
from menshen.segmentation.labels import Selector
from menshen.segmentation.model import Mode, Peer, Rule, RuleSet, Zone
from menshen.segmentation.resolve import Segmentation

LABEL_KEYS = ("role", "app", "env", "location")
EXAMPLES = 3


@dataclass(frozen=True, slots=True)
class Support:
    """The observed traffic behind one suggested rule."""

    flows: int
    connections: int
    ports: tuple[tuple[PortRange, int], ...]
    examples: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class SuggestedRule:
    """A rule with its support; ``flag`` (if not empty) says why a person must decide."""

    rule: Rule
    support: Support
    flag: str = ""


@dataclass(frozen=True, slots=True)
class Suggestion:
    """A rule set to review: enabled rules, flagged ones, new zones, and what was left out."""

    name: str
    mode: Mode
    rules: tuple[SuggestedRule, ...]
    zones: tuple[Zone, ...] = ()
    scope: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()
    observed: int = 0
    skipped: tuple[tuple[str, int], ...] = ()

    @property
    def enabled(self) -> tuple[SuggestedRule, ...]:
        return tuple(item for item in self.rules if not item.flag)

    @property
    def flagged(self) -> tuple[SuggestedRule, ...]:
        return tuple(item for item in self.rules if item.flag)

    def rule_set(self) -> RuleSet:
        """The suggested rule set (enabled rules only)."""
        rules = tuple(item.rule for item in self.enabled)
        return RuleSet(self.name, self.mode, self.scope, rules, description=_DESCRIPTION)


_DESCRIPTION = "Suggested from observed traffic by `menshen segment suggest`; review each rule"


@dataclass(slots=True)
class _Bucket:
    flows: int = 0
    connections: int = 0
    ports: dict[PortRange, int] = field(default_factory=dict)
    examples: list[str] = field(default_factory=list)


def suggest(
    seg: Segmentation,
    observations: Iterable[Observation],
    at: datetime,
    *,
    name: str = "suggested",
    mode: Mode = Mode.MONITOR,
    include_allowed: bool = False,
    min_connections: int = 1,
) -> Suggestion:
    """The rule set the observations suggest (see the module docstring)."""
    check_id(name, "rule set name")
    buckets: dict[tuple[Peer, Peer], _Bucket] = {}
    groups = _Groups(seg)
    skipped: dict[str, int] = {}
    observed = 0
    for item in observations:
        observed += 1
        source, destination = groups.of(item.source), groups.of(item.destination)
        if isinstance(source, _Skip) or isinstance(destination, _Skip):
            skip = source if isinstance(source, _Skip) else destination
            reason = skip.reason if isinstance(skip, _Skip) else ""
        else:
            reason = groups.skip_reason(item, at, include_allowed)
        if reason or isinstance(source, _Skip) or isinstance(destination, _Skip):
            skipped[reason] = skipped.get(reason, 0) + 1
            continue
        bucket = buckets.setdefault((source, destination), _Bucket())
        bucket.flows += 1
        bucket.connections += item.count
        port = PortRange.single(item.protocol, item.port)
        bucket.ports[port] = bucket.ports.get(port, 0) + item.count
        if len(bucket.examples) < EXAMPLES:
            bucket.examples.append(_example(seg, item))
    zones, renamed = _zones_for(seg, buckets, name) if mode is Mode.MONITOR else ((), {})
    rules = _rules(seg, buckets, name, renamed, min_connections, groups)
    used = {peer for item in rules for peer in item.rule.destinations}
    zones = tuple(zone for zone in zones if zone.name in used)
    notes: list[str] = []
    scope: tuple[str, ...] = ()
    if mode is Mode.MONITOR:
        scope, notes = _scope(seg, rules, zones)
        if not scope:
            mode = Mode.ENFORCE
            notes.append("no zone can be watched safely in monitor mode: written as enforce")
    return Suggestion(
        name,
        mode,
        tuple(rules),
        zones,
        scope,
        tuple(notes),
        observed,
        tuple(sorted(skipped.items())),
    )


@dataclass(frozen=True, slots=True)
class _Skip:
    reason: str


class _Groups:
    """``_group`` remembered per endpoint, and facts about groups (members, flags)."""

    def __init__(self, seg: Segmentation) -> None:
        self._seg = seg
        self._groups: dict[Endpoint, Peer | _Skip] = {}
        self._flags: dict[tuple[Peer, Peer], str] = {}
        self._restricted: dict[Peer, list[str]] = {}
        self._workstations: dict[Peer, list[str]] = {}
        self._ids: dict[Endpoint, Endpoint] = {}

    def skip_reason(self, item: Observation, at: datetime, include_allowed: bool) -> str:
        if item.refused:
            return "refused by the network (not a flow to allow)"
        if not include_allowed:
            # An address and its asset are in the same zones, so the asset id (when there is
            # one) gives the same answer as the address, without scanning CIDR rules.
            source, destination = self._id(item.source), self._id(item.destination)
            if self._seg.allows(source, destination, item.port, item.protocol, at) is not None:
                return "already allowed by the policy"
        return ""

    def _id(self, endpoint: Endpoint) -> Endpoint:
        found = self._ids.get(endpoint)
        if found is None:
            asset = self._seg.inventory.resolve(endpoint)
            found = self._ids[endpoint] = endpoint if asset is None else asset.id
        return found

    def of(self, endpoint: Endpoint) -> Peer | _Skip:
        found = self._groups.get(endpoint)
        if found is None:
            found = self._groups[endpoint] = _group(self._seg, endpoint)
        return found

    def flag(self, source: Peer, destination: Peer) -> str:
        """Why a rule from ``source`` into ``destination`` needs a person, or ""."""
        key = (source, destination)
        found = self._flags.get(key)
        if found is None:
            workstations, restricted = self.workstations(source), self.restricted(destination)
            found = ""
            if workstations and restricted:
                more = ", …" if len(workstations) > 3 else ""
                found = (
                    f"workstations ({', '.join(workstations[:3])}{more}) into restricted data "
                    f"({', '.join(restricted[:3])})"
                )
            self._flags[key] = found
        return found

    def workstations(self, peer: Peer) -> list[str]:
        found = self._workstations.get(peer)
        if found is None:
            seg = self._seg
            found = self._workstations[peer] = [
                asset_id
                for asset_id in sorted(_members(seg, peer))
                if (asset := seg.inventory.asset(asset_id)) is not None and is_workstation(asset)
            ]
        return found

    def restricted(self, peer: Peer) -> list[str]:
        found = self._restricted.get(peer)
        if found is None:
            found = self._restricted[peer] = _restricted(self._seg, peer)
        return found


def _group(seg: Segmentation, endpoint: Endpoint) -> Peer | _Skip:
    """The zone or label set an endpoint belongs to, or why it has none."""
    asset = seg.inventory.resolve(endpoint)
    if asset is None:
        if isinstance(endpoint, str):
            return _Skip("names an asset not in the inventory")
        zones = [z for z in (seg.policy.zone(n) for n in seg.zones_of(endpoint)) if z is not None]
        if not zones:
            return _Skip("an end is outside the inventory and every zone (run inventory discover)")
        narrowest = max(zones, key=lambda z: (max(n.prefixlen for n in z.cidrs), z.name))
        return narrowest.name
    if asset.labels.get(REVIEW_LABEL[0]) == REVIEW_LABEL[1]:
        return _Skip("an end is an unclassified asset (classify it first)")
    terms = {key: asset.labels[key] for key in LABEL_KEYS if key in asset.labels}
    by_labels = Selector.of(terms) if terms else None
    names = sorted(seg.zones_of(asset.id), key=lambda n: (len(seg.zone_assets(n)), n))
    if names and (by_labels is None or len(seg.zone_assets(names[0])) <= _size(seg, by_labels)):
        return names[0]
    if by_labels is None:
        return _Skip("an end has neither a zone nor role/app/env/location labels (label it)")
    return by_labels


def _size(seg: Segmentation, selector: Selector) -> int:
    return len(seg.select(selector))


def _example(seg: Segmentation, item: Observation) -> str:
    def name(end: Endpoint) -> str:
        asset = seg.inventory.resolve(end)
        text = endpoint_text(end)
        return text if asset is None or asset.id == text else f"{asset.id} ({text})"

    return f"{name(item.source)} → {name(item.destination)}"


def _members(seg: Segmentation, peer: Peer) -> frozenset[str]:
    return seg.zone_assets(peer) if isinstance(peer, str) else seg.select(peer)


def _restricted(seg: Segmentation, peer: Peer) -> list[str]:
    found = []
    for asset_id in sorted(_members(seg, peer)):
        for store in seg.inventory.stores_on(asset_id):
            if store.classification is Classification.RESTRICTED:
                found.append(f"{store.id} on {asset_id}")
    return found


def _zones_for(
    seg: Segmentation, buckets: dict[tuple[Peer, Peer], _Bucket], name: str
) -> tuple[tuple[Zone, ...], dict[Selector, str]]:
    """Zones for label-set destinations, so monitor mode can list them in its scope."""
    taken = {zone.name for zone in seg.policy.zones}
    renamed: dict[Selector, str] = {}
    zones: list[Zone] = []
    for _, destination in sorted(buckets, key=lambda key: (str(key[0]), str(key[1]))):
        if isinstance(destination, str) or destination in renamed:
            continue
        values = "-".join(value for _, (value,) in destination.labels).lower()
        base = f"{name}-{values}"[:60].strip("-._")
        zone_name, number = base, 2
        while zone_name in taken:  # ends: each try is new and ``taken`` is finite
            zone_name, number = f"{base}-{number}", number + 1
        taken.add(zone_name)
        renamed[destination] = zone_name
        zones.append(Zone(zone_name, destination, description="Suggested for a monitor scope"))
    return tuple(zones), renamed


def _rules(
    seg: Segmentation,
    buckets: dict[tuple[Peer, Peer], _Bucket],
    name: str,
    renamed: dict[Selector, str],
    min_connections: int,
    groups: _Groups,
) -> list[SuggestedRule]:
    prefix = name.upper().replace(".", "-").replace("_", "-")[:24]
    order = sorted(
        buckets.items(), key=lambda kv: (-kv[1].connections, str(kv[0][0]), str(kv[0][1]))
    )
    rules: list[SuggestedRule] = []
    taken = {rule.rule_id for rule in seg.rules}
    number = 0
    for (source, destination), bucket in order:
        if bucket.connections < min_connections:
            continue
        number += 1
        rule_id = f"{prefix}-{number:03d}"
        while rule_id in taken:  # ends: the policy has finitely many ids
            number += 1
            rule_id = f"{prefix}-{number:03d}"
        target: Peer = (
            renamed.get(destination, destination)
            if isinstance(destination, Selector)
            else destination
        )
        ports = tuple(sorted(bucket.ports.items()))
        rule = Rule(rule_id, (source,), (target,), tuple(port for port, _ in ports))
        support = Support(bucket.flows, bucket.connections, ports, tuple(bucket.examples))
        rules.append(SuggestedRule(rule, support, groups.flag(source, destination)))
    return rules


def _scope(
    seg: Segmentation, rules: list[SuggestedRule], zones: tuple[Zone, ...]
) -> tuple[tuple[str, ...], list[str]]:
    """Destination zones of the enabled rules, less those holding restricted data."""
    new = {zone.name: zone for zone in zones}
    scope: set[str] = set()
    notes: list[str] = []
    for item in rules:
        if item.flag:
            continue
        for peer in item.rule.destinations:
            if not isinstance(peer, str) or peer in scope:
                continue
            zone = new.get(peer)
            selector = zone.selector if zone is not None else None
            restricted = _restricted(seg, selector if selector is not None else peer)
            if restricted:
                notes.append(
                    f"zone {peer} holds restricted data ({', '.join(restricted[:3])}): left out "
                    "of the monitor scope, which would let unmatched traffic in"
                )
                continue
            scope.add(peer)
    enforced = {z for rs in seg.policy.rule_sets if rs.mode is Mode.ENFORCE for z in rs.scope}
    relaxed = sorted(
        zone
        for zone in scope
        if zone not in enforced and seg.monitored_by(frozenset((zone,))) is None
    )
    if relaxed:
        notes.append(
            "monitor mode logs and lets through the traffic no rule allows into its scope: "
            f"this relaxes zones that drop it today ({', '.join(relaxed)}); use --mode "
            "enforce to keep them default-deny"
        )
    return tuple(sorted(scope)), sorted(set(notes))
