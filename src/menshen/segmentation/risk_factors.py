"""The factors of a risk score, each with its points, the reason and the next step.

Every factor raises the likelihood part of ``risk`` by a fixed, documented number of
points (docs/segmentation.md, "Risk prioritization"); the step is the concrete change that
would remove it, naming the rule, rule set, app or flow to change.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from menshen.inventory.model import Asset, Classification, DataFlow
from menshen.segmentation.exposure import OUTSIDE_KINDS, Exposure, Source
from menshen.segmentation.mfa import AppMfa, MfaState
from menshen.segmentation.reach import Grant, GrantKind
from menshen.segmentation.resolve import ResolvedRule

SOURCE_POINTS = {
    Source.INTERNET: 3.0,
    Source.PARTNER: 2.0,
    Source.CONTRACTOR: 2.0,
    Source.WORKSTATION: 1.0,
}
"""Points of an exposure one hop away; ``n`` hops away they are divided by ``n``."""
NO_MFA = 2.0
MFA_UNKNOWN = 1.0
HELD_OUTSIDE = 2.0
MONITORED = 2.0
BROAD = 1.0
UNENCRYPTED = 2.0
LEAVES_FIRM = 2.0
BROAD_SEGMENTS = 6
"""Distinct source segments (zones, label sets, CIDR zones) that make an asset's segment broad."""
BROAD_SHARE = 0.1
BROAD_MINIMUM = 10
"""A rule admitting at least this share of all assets (and this many) is broad."""
_LABELS = {
    Source.INTERNET: "the internet",
    Source.PARTNER: "outside party",
    Source.CONTRACTOR: "contractor workstation",
    Source.WORKSTATION: "workstation",
}


@dataclass(frozen=True, slots=True)
class Factor:
    """One reason an item is likely to be reached or leak, worth ``points``."""

    name: str
    points: float
    reason: str
    step: str


def exposure_factor(exposure: Exposure, target: str, label: str = "") -> Factor:
    """An exposure to one source class; ``label`` says which end of a flow it is."""
    points = round(SOURCE_POINTS[exposure.source] / exposure.hops, 2)
    what = _LABELS[exposure.source]
    subject = f"{target} ({label})" if label else target
    if exposure.hops == 1:
        reason = f"{what} {exposure.origin} reaches {subject} directly by {exposure.rules[0]}"
    else:
        hops = f"in {exposure.hops} hops: {exposure.route()}"
        reason = f"{what} {exposure.origin} reaches {subject} {hops}"
    return Factor(exposure.source.value, points, reason, cut_step(exposure, target))


def cut_step(exposure: Exposure, target: str) -> str:
    """The change that cuts an exposure path: the rule (set) of its last or only hop."""
    last = exposure.path[-1].grant
    if last.kind is GrantKind.MONITOR:
        return (
            f"enforce rule set {last.rule_set} (monitor mode lets {exposure.origin} reach "
            f"{target}); run `menshen segment check` first"
        )
    if exposure.hops == 1:
        return (
            f"restrict {_rule_word(last)} {last} so that {exposure.origin} no longer reaches "
            f"{target}"
        )
    rules = ", ".join(dict.fromkeys(exposure.rules))
    return f"review the path {exposure.route()} (rules {rules}) and cut the hop not needed"


def _rule_word(grant: Grant) -> str:
    return "exception" if grant.kind is GrantKind.EXCEPTION else "rule"


def mfa_factor(
    asset: Asset,
    apps: Mapping[str, AppMfa] | None,
    direct: Exposure | None,
    sensitive: bool,
) -> Factor | None:
    """The worst gap in MFA in front of ``asset``, if any."""
    found: list[Factor] = []
    if direct is not None and direct.hops == 1 and sensitive:
        grant = direct.path[0].grant
        if grant.kind is GrantKind.MONITOR:
            step = f"enforce rule set {grant.rule_set}, so workstations no longer reach {asset.id}"
        else:
            step = (
                f"restrict {_rule_word(grant)} {grant}: let workstations reach {asset.id} only "
                "through a gateway app that requires MFA"
            )
        found.append(
            Factor(
                "no-mfa",
                NO_MFA,
                f"workstation {direct.origin} reaches it directly by {grant} (no gateway, "
                "so no MFA in front)",
                step,
            )
        )
    for app in asset.gateway_apps:
        state = (apps or {}).get(app)
        if state is None:
            why = "no access policy was loaded" if apps is None else "the app is not defined"
            found.append(
                Factor(
                    "mfa-unknown",
                    MFA_UNKNOWN,
                    f"MFA in front of app {app} is not known ({why})",
                    f"check that app {app} requires MFA (load its policy)",
                )
            )
        elif state.state is MfaState.NOT_REQUIRED:
            found.append(
                Factor(
                    "no-mfa",
                    NO_MFA,
                    f"app {app} lets {state.detail} in without MFA (allow rule '{state.rule}')",
                    f"require MFA on app {app} (allow rule '{state.rule}')",
                )
            )
    if not found:
        return None
    return max(found, key=lambda factor: factor.points)


def held_outside_factor(asset: Asset) -> Factor | None:
    if asset.kind not in OUTSIDE_KINDS:
        return None
    return Factor(
        "held-outside",
        HELD_OUTSIDE,
        f"the data is held by a party outside the firm ({asset.kind.value})",
        f"review the contract with {asset.title} and minimise the data it holds",
    )


def broad_factor(
    asset_id: str,
    rules: Sequence[ResolvedRule],
    monitored_by: str | None,
    total_assets: int,
) -> Factor | None:
    """Monitor mode in front of the asset, or rules admitting many segments or assets."""
    if monitored_by is not None:
        return Factor(
            "broad",
            MONITORED,
            f"rule set {monitored_by} is in monitor mode: any source reaches it",
            f"enforce rule set {monitored_by} once `menshen segment check` shows no drift "
            f"into {asset_id}",
        )
    if not rules:
        return None
    segments: set[str] = set()
    for rule in rules:
        segments.update(str(peer) for peer in rule.src_peers)
    widest = max(rules, key=lambda rule: (len(rule.src_assets), rule.rule_id))
    threshold = max(BROAD_MINIMUM, int(total_assets * BROAD_SHARE))
    if len(widest.src_assets) >= threshold:
        reason = f"rule {widest.rule_id} admits {len(widest.src_assets)} assets"
    elif len(segments) >= BROAD_SEGMENTS:
        reason = f"{len(segments)} segments may reach it"
    else:
        return None
    return Factor(
        "broad",
        BROAD,
        reason,
        f"restrict rule {widest.rule_id} ({len(widest.src_assets)} source assets) to the "
        "sources that need it",
    )


def flow_factors(flow: DataFlow, source: Asset, destination: Asset) -> list[Factor]:
    """Missing controls on a declared flow: no encryption, data leaving the firm."""
    found: list[Factor] = []
    if not flow.encrypted and flow.classification is not Classification.PUBLIC:
        ports = ", ".join(str(port) for port in flow.ports)
        found.append(
            Factor(
                "unencrypted",
                UNENCRYPTED,
                f"{flow.classification.value} data in clear text",
                f"encrypt flow {flow.id} (TLS on {ports})",
            )
        )
    outside = next((end for end in (destination, source) if end.kind in OUTSIDE_KINDS), None)
    if outside is not None:
        found.append(
            Factor(
                "leaves-firm",
                LEAVES_FIRM,
                f"the data crosses to {outside.title}, outside the firm",
                f"minimise what flow {flow.id} exchanges with {outside.id}"
                + ("" if flow.encrypted else ", and encrypt it"),
            )
        )
    return found
