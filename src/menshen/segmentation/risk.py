"""Risk prioritization: which assets and flows to fix first, why, and how.

NIST SP 800-30 Rev. 1 §2.3 (risk as a combination of impact and likelihood) and NIST CSF
2.0 ID.RA-05 (threats, vulnerabilities, likelihoods and impacts are used to prioritise
responses). The score is meant to be explained, not believed:

    score = impact × likelihood

* **impact** — the most sensitive data the asset holds (its data stores) or carries (the
  declared flows into or out of it), or the flow carries: classification ``public`` 1,
  ``internal`` 2, ``confidential`` 4, ``restricted`` 8; plus ``card-data`` 3,
  ``credentials`` 3, ``settlement`` 2, ``pii`` 2; plus 1 for a store of at least 10,000
  records, 2 from 1,000,000. An asset with no data scores nothing and is not listed.
* **likelihood** — 1, plus the points of each factor (``risk_factors``): exposure to the
  internet (3), outside parties (2), contractor workstations (2), any workstation (1),
  each divided by the number of hops (``exposure``); MFA missing in front (2, or 1 when
  unknown); data held outside the firm (2); a broad segment (monitor mode 2, a wide rule 1);
  for flows, clear text (2) and data leaving the firm (2), plus the exposures of its ends.

Each item's next step is the step of its largest factor. Everything is pure: the model,
the time, the MFA state of the gateway apps are parameters.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

from menshen.inventory.model import Classification, DataFlow
from menshen.segmentation.exposure import Exposure, Source, exposures
from menshen.segmentation.mfa import AppMfa
from menshen.segmentation.resolve import ResolvedRule, Segmentation
from menshen.segmentation.risk_factors import (
    Factor,
    broad_factor,
    exposure_factor,
    flow_factors,
    held_outside_factor,
    mfa_factor,
)

CLASS_WEIGHT = {
    Classification.PUBLIC: 1,
    Classification.INTERNAL: 2,
    Classification.CONFIDENTIAL: 4,
    Classification.RESTRICTED: 8,
}
TAG_WEIGHT = {"card-data": 3, "credentials": 3, "settlement": 2, "pii": 2}
VOLUME_WEIGHT = ((1_000_000, 2), (10_000, 1))
"""(at least this many records, points), largest first."""
Kind = Literal["asset", "flow"]
SOURCES = tuple(Source)


@dataclass(frozen=True, slots=True)
class RiskItem:
    """One asset or flow with its score, the parts of it, and the next step."""

    kind: Kind
    id: str
    title: str
    impact: tuple[tuple[str, int], ...]
    factors: tuple[Factor, ...]
    impact_points: int = field(init=False)
    likelihood: float = field(init=False)
    score: float = field(init=False)

    def __post_init__(self) -> None:
        impact = sum(points for _, points in self.impact)
        likelihood = round(1.0 + sum(factor.points for factor in self.factors), 2)
        object.__setattr__(self, "impact_points", impact)
        object.__setattr__(self, "likelihood", likelihood)
        object.__setattr__(self, "score", round(impact * likelihood, 1))

    @property
    def next_step(self) -> str:
        if not self.factors:
            return "nothing exposes it: keep it so"
        return max(self.factors, key=lambda factor: factor.points).step


def impact_of(
    classes: Sequence[Classification], tags: Sequence[str], records: int | None = None
) -> tuple[tuple[str, int], ...]:
    """The parts of an impact: the highest classification, weighted tags, volume."""
    if not classes:
        return ()
    top = max(classes, key=lambda level: level.rank)
    parts = [(top.value, CLASS_WEIGHT[top])]
    parts += [(tag, TAG_WEIGHT[tag]) for tag in sorted(set(tags)) if tag in TAG_WEIGHT]
    for threshold, points in VOLUME_WEIGHT:
        if records is not None and records >= threshold:
            parts.append((f"{records:,} records", points))
            break
    return tuple(parts)


def assess(
    seg: Segmentation,
    at: datetime,
    *,
    mfa: Mapping[str, AppMfa] | None = None,
    contractor_labels: Sequence[tuple[str, str]] = (),
) -> tuple[RiskItem, ...]:
    """Every asset and declared flow carrying data, riskiest first.

    ``mfa`` gives the MFA state of gateway apps (None: no policy was read, so MFA in front
    of every gateway app is unknown).
    """
    inventory = seg.inventory
    exposed = exposures(seg, at, contractor_labels)
    flows_of: dict[str, list[DataFlow]] = {}
    for flow in inventory.flows:
        flows_of.setdefault(flow.source, []).append(flow)
        if flow.destination != flow.source:
            flows_of.setdefault(flow.destination, []).append(flow)
    into: dict[str, list[ResolvedRule]] = {}
    for rule in seg.rules:
        if rule.active(at):
            for asset_id in rule.dst_assets:
                into.setdefault(asset_id, []).append(rule)
    monitored = seg.monitored_assets()
    items: list[RiskItem] = []
    for asset in inventory.assets:
        stores = inventory.stores_on(asset.id)
        carried = flows_of.get(asset.id, [])
        classes = [s.classification for s in stores] + [f.classification for f in carried]
        tags = [tag for s in stores for tag in s.tags] + [tag for f in carried for tag in f.tags]
        records = max((s.records or 0 for s in stores), default=None)
        impact = impact_of(classes, tags, records)
        if not impact:
            continue
        sensitive = any(s.classification.rank >= Classification.CONFIDENTIAL.rank for s in stores)
        mine = exposed.get(asset.id, {})
        factors = [exposure_factor(mine[source], asset.id) for source in SOURCES if source in mine]
        found = [
            mfa_factor(asset, mfa, mine.get(Source.WORKSTATION), sensitive),
            held_outside_factor(asset) if stores else None,
            broad_factor(
                asset.id, into.get(asset.id, []), monitored.get(asset.id), len(inventory.assets)
            ),
        ]
        factors += [factor for factor in found if factor is not None]
        items.append(RiskItem("asset", asset.id, asset.title, impact, tuple(factors)))
    impacts: dict[tuple[Classification, tuple[str, ...]], tuple[tuple[str, int], ...]] = {}
    ends: dict[tuple[str, Source, str], Factor] = {}
    for flow in inventory.flows:
        source, destination = inventory.asset(flow.source), inventory.asset(flow.destination)
        assert source is not None, flow.source  # the inventory checked its references
        assert destination is not None, flow.destination
        key = (flow.classification, flow.tags)
        impact = impacts.get(key) or impacts.setdefault(key, impact_of([key[0]], key[1]))
        factors = flow_factors(flow, source, destination)
        factors += _end_exposures(flow, exposed, ends)
        title = flow.purpose or f"{flow.source} → {flow.destination}"
        items.append(RiskItem("flow", flow.id, title, impact, tuple(factors)))
    items.sort(key=lambda item: (-item.score, item.kind, item.id))
    return tuple(items)


def _end_exposures(
    flow: DataFlow,
    exposed: Mapping[str, Mapping[Source, Exposure]],
    cache: dict[tuple[str, Source, str], Factor],
) -> list[Factor]:
    """For each source class, the nearer end's exposure (a flow is as exposed as its ends).

    A factor depends only on the end, the class and the end's role: made once (``cache``).
    """
    found: list[Factor] = []
    at_source, at_destination = exposed.get(flow.source), exposed.get(flow.destination)
    if not at_source and not at_destination:
        return found
    for source in SOURCES:
        one = at_source.get(source) if at_source else None
        other = at_destination.get(source) if at_destination else None
        if one is None and other is None:
            continue
        if other is None or (one is not None and one.hops <= other.hops):
            end, role = flow.source, "the source"
        else:
            end, role = flow.destination, "the destination"
        key = (end, source, role)
        factor = cache.get(key)
        if factor is None:
            factor = cache[key] = exposure_factor(exposed[end][source], end, role)
        found.append(factor)
    return found


def top(items: Sequence[RiskItem], count: int) -> tuple[RiskItem, ...]:
    """The ``count`` riskiest items with a score above zero."""
    return tuple(item for item in items if item.score > 0)[:count]
