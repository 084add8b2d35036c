"""Drift: where what is declared, what is allowed and what is seen disagree.

Two lists (NIST SP 800-207 §5.1, continuous diagnostics; NIST SP 800-53 CM-3 and CA-7):

* **drift** — observed flows the policy would not allow: each would be dropped, or is only
  passing because its destination is watched by a monitor rule set. Before enforcing, this
  list should be empty or understood.
* **gaps** — declared data flows (the inventory's data map) that no rule allows on some of
  their ports: the business says the flow exists, the policy would cut it.

Expired exceptions are listed too, so that their owners remove them.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from menshen.inventory.model import DataFlow, Endpoint, ObservedFlow, PortRange
from menshen.inventory.problems import problem, raise_if_any
from menshen.segmentation.resolve import Action, Segmentation, Verdict


@dataclass(frozen=True, slots=True)
class Drift:
    """An observed flow the policy does not allow; ``verdict`` is DROP or MONITOR."""

    observed: ObservedFlow
    verdict: Verdict
    source_asset: str | None
    destination_asset: str | None


@dataclass(frozen=True, slots=True)
class Gap:
    """A declared flow whose ``missing`` ports no rule allows."""

    flow: DataFlow
    missing: tuple[PortRange, ...]


@dataclass(frozen=True, slots=True)
class ExpiredException:
    rule_id: str
    rule_set: str
    owner: str
    expires: datetime


@dataclass(frozen=True, slots=True)
class CheckReport:
    at: datetime
    observed: int
    drift: tuple[Drift, ...]
    gaps: tuple[Gap, ...]
    expired: tuple[ExpiredException, ...]

    @property
    def clean(self) -> bool:
        return not self.drift and not self.gaps


def check(seg: Segmentation, at: datetime, observed: Iterable[ObservedFlow] = ()) -> CheckReport:
    """Drift among ``observed``, gaps among the declared flows, expired exceptions."""
    flows = tuple(observed)
    unknown = [
        problem(f"observed flow names unknown asset {end!r}", flow.origin)
        for flow in flows
        for end in (flow.source, flow.destination)
        if isinstance(end, str) and seg.inventory.asset(end) is None
    ]
    raise_if_any(unknown)
    drift = []
    for flow in flows:
        verdict = seg.verdict(flow.source, flow.destination, flow.port, flow.protocol, at)
        if verdict.action is not Action.ALLOW:
            drift.append(
                Drift(
                    flow,
                    verdict,
                    _asset_id(seg, flow.source),
                    _asset_id(seg, flow.destination),
                )
            )
    gaps = []
    for declared in seg.inventory.flows:
        missing = missing_ports(seg, declared.source, declared.destination, declared.ports, at)
        if missing:
            gaps.append(Gap(declared, missing))
    expired = tuple(
        ExpiredException(rule.rule_id, rule.rule_set, rule.owner, rule.expires)
        for rule in seg.rules
        if rule.expires is not None and not rule.active(at)
    )
    return CheckReport(at, len(flows), tuple(drift), tuple(gaps), expired)


def _asset_id(seg: Segmentation, endpoint: Endpoint) -> str | None:
    asset = seg.inventory.resolve(endpoint)
    return None if asset is None else asset.id


def missing_ports(
    seg: Segmentation, src: str, dst: str, ports: Iterable[PortRange], at: datetime
) -> tuple[PortRange, ...]:
    """The parts of ``ports`` that no active rule allows from asset ``src`` to ``dst``."""
    allowed: dict[str, list[tuple[int, int]]] = {"tcp": [], "udp": []}
    for rule in seg.rules_from(src):
        if rule.active(at) and seg.in_rule(rule.index, src, dst):
            for item in rule.ports:
                allowed[item.protocol].append((item.first, item.last))
    missing: list[PortRange] = []
    for wanted in ports:
        for first, last in _subtract(wanted.first, wanted.last, allowed[wanted.protocol]):
            missing.append(PortRange(wanted.protocol, first, last))
    return tuple(missing)


def _subtract(first: int, last: int, covers: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """``[first, last]`` minus the union of ``covers``, as sorted inclusive ranges."""
    left: list[tuple[int, int]] = []
    cursor = first
    for low, high in sorted(covers):
        if high < cursor:
            continue
        if low > last:
            break
        if low > cursor:
            left.append((cursor, low - 1))
        cursor = max(cursor, high + 1)
        if cursor > last:
            return left
    if cursor <= last:
        left.append((cursor, last))
    return left
