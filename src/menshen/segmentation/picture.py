"""The segmentation picture: zones, assets and allowed flows as one SVG, drawn on the server.

NIST CSF 2.0 ID.AM-03 asks for "representations of the organization's authorized network
communication and internal and external network data flows"; this is menshen's, drawn from
the same model ``Segmentation.allows`` decides on (NIST SP 800-207 §3.1.2). Zones are cards
holding their assets (kind as a glyph), data stores under their asset coloured by class
(restricted in red), rules active at ``at`` as arrows labelled with ports and rule ids — one
arrow per pair of ends, so many rules between two zones stay one arrow. Given a
``BlastRadius``, the overlay marks the compromised asset, every asset within reach with its
hop count, the exposed stores, and the attack paths hop by hop (assume breach, NIST SP
800-207 §2.1 tenet 7).

Pure: same model, time and overlay give byte-identical SVG. Past ``max_assets`` the picture
shows zones only (counts instead of assets); past ``max_zones`` the largest zones are kept.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime

from menshen.inventory.model import Asset, Classification, DataStore, PortRange
from menshen.segmentation.blast import BlastRadius
from menshen.segmentation.labels import Selector
from menshen.segmentation.model import Peer
from menshen.segmentation.picture_cards import CardStyle, draw_card
from menshen.segmentation.picture_layout import (
    UNZONED,
    Box,
    CardContent,
    Lanes,
    NodeKey,
    Placed,
    Route,
    place,
    route,
)
from menshen.segmentation.picture_svg import EXCEPTION, FLOW, HOP, Svg, label_size, legend
from menshen.segmentation.reach import ALL_PORTS
from menshen.segmentation.resolve import Segmentation

NodeOf = Callable[[NodeKey], NodeKey | None]
"""Where an end is drawn: its own row, its home zone's card, or nowhere (a hidden zone)."""


@dataclass(frozen=True, slots=True)
class PictureOptions:
    max_assets: int = 60
    """More assets than this: draw zones only."""
    max_zones: int = 60
    """More zones than this: draw the largest ones and say how many are left out."""
    title: str = "Segmentation"


@dataclass(slots=True)
class _Flow:
    ports: set[PortRange] = field(default_factory=set)
    rules: list[str] = field(default_factory=list)
    exception: bool = False
    expires: datetime | None = None


@dataclass(frozen=True, slots=True)
class Drawn:
    """One arrow: its ends, what it carries, and how it is routed."""

    src: NodeKey
    dst: NodeKey
    lines: tuple[str, ...]
    rules: tuple[str, ...]
    exception: bool
    route: Route


def draw(
    seg: Segmentation,
    at: datetime,
    *,
    blast: BlastRadius | None = None,
    options: PictureOptions | None = None,
) -> str:
    """The picture of ``seg`` at ``at`` as SVG text, with ``blast`` overlaid if given."""
    options = options or PictureOptions()
    assets = seg.inventory.assets
    counts = {zone.name: len(seg.zone_assets(zone.name)) for zone in seg.policy.zones}
    zones_of = {asset.id: sorted(seg.zones_of(asset.id)) for asset in assets}
    home = {
        key: min(zones, key=lambda z: (counts[z], z)) if zones else UNZONED
        for key, zones in zones_of.items()
    }
    collapsed = len(assets) > options.max_assets
    names = sorted(counts) + ([UNZONED] if UNZONED in home.values() else [])
    kept = set(sorted(names, key=lambda n: (-counts.get(n, 0), n))[: options.max_zones])
    hidden = len(names) - len(kept)

    def node(key: NodeKey) -> NodeKey | None:
        card = key[1] if key[0] == "zone" else home[key[1]]
        if card not in kept:
            return None
        return ("zone", card) if collapsed or key[0] == "zone" else key

    def card_of(key: NodeKey) -> str:
        return key[1] if key[0] == "zone" else home[key[1]]

    flows = _flows(seg, at, node)
    notes: dict[str, list[str]] = {}
    cross: dict[tuple[NodeKey, NodeKey], _Flow] = {}
    for (src, dst), flow in flows.items():
        if card_of(src) == card_of(dst):
            ends = "within zone" if src == dst else f"{src[1]} → {dst[1]}"
            notes.setdefault(card_of(src), []).append(f"↻ {ends}: {_ports(flow)}")
        else:
            cross[src, dst] = flow
    taken = {item.asset: item.hops for item in blast.assets} if blast is not None else {}
    grouped: dict[str, list[Asset]] = {}
    for asset in assets:
        grouped.setdefault(home[asset.id], []).append(asset)
    homed = {name: tuple(items) for name, items in grouped.items()}
    contents = {
        name: _content(seg, name, homed, zones_of, collapsed, notes, taken)
        for name in names
        if name in kept
    }
    outside = {zone.name for zone in seg.policy.zones if zone.cidrs}
    edges = {(card_of(src), card_of(dst)) for src, dst in cross}
    placed = place(contents, edges, outside)
    lanes = Lanes(placed.bottom)

    # Attack paths get their own label space: their labels are drawn over the dimmed flows.
    labels, hop_labels = _LabelSpace(), _LabelSpace()

    def routed(src: NodeKey, dst: NodeKey, lines: tuple[str, ...], hop: bool = False) -> Route:
        cards = (card_of(src), card_of(dst))
        found = route(
            _box(placed, src),
            _box(placed, dst),
            (placed.columns[cards[0]], placed.columns[cards[1]]),
            (placed.cards[cards[0]], placed.cards[cards[1]]),
            lanes,
            label_near_end=hop,
        )
        return (hop_labels if hop else labels).free(found, lines)

    hops = []
    for (src, dst), via in sorted(_hops(blast, node).items()):
        via_lines = (", ".join(_clip_list(via, 3)),)
        hops.append(
            Drawn(src, dst, via_lines, tuple(via), False, routed(src, dst, via_lines, True))
        )
    drawn = []
    for (src, dst), flow in sorted(cross.items()):
        lines = _label(flow)
        rules = tuple(flow.rules)
        drawn.append(Drawn(src, dst, lines, rules, flow.exception, routed(src, dst, lines)))
    svg = Svg(placed.width, lanes.bottom + 24, f"{options.title}: zones, assets, allowed flows")
    svg.defs()
    svg.el("rect", {"x": 0, "y": 0, "width": placed.width, "height": lanes.bottom + 24,
                    "fill": "#ffffff"})  # fmt: skip
    _header(svg, seg, options, len(drawn), collapsed, hidden, blast)
    legend(svg, 90, blast is not None)
    style = CardStyle(collapsed, taken, frozenset(blast.store_ids()) if blast else frozenset())
    for name in sorted(contents):
        monitor = None if name == UNZONED else seg.monitored_by(frozenset((name,)))
        draw_card(svg, seg, placed, contents[name], monitor, style)
    for item in drawn:
        _arrow(svg, item, "flow", blast is not None)
    for item in hops:
        _arrow(svg, item, "hop", False)
    return svg.finish()


class _LabelSpace:
    """Label boxes placed so far; a new label slides down until it overlaps none (bounded)."""

    def __init__(self) -> None:
        self._columns: dict[int, list[tuple[int, int, int, int]]] = {}

    def free(self, found: Route, lines: tuple[str, ...]) -> Route:
        width, height = label_size(list(lines))
        x, y = found.label
        key = x // 40
        near = [box for k in range(key - 3, key + 4) for box in self._columns.get(k, ())]
        for _ in range(12):
            box = (x - width // 2, y - height // 2, width, height)
            if not any(_overlap(box, other) for other in near):
                break
            y += height + 2
        self._columns.setdefault(key, []).append(box)
        return replace(found, label=(x, y))


def _overlap(one: tuple[int, int, int, int], two: tuple[int, int, int, int]) -> bool:
    return (
        one[0] < two[0] + two[2]
        and two[0] < one[0] + one[2]
        and one[1] < two[1] + two[3]
        and two[1] < one[1] + one[3]
    )


def _flows(seg: Segmentation, at: datetime, node: NodeOf) -> dict[tuple[NodeKey, NodeKey], _Flow]:
    """Active rules, aggregated by the pair of drawn ends."""
    flows: dict[tuple[NodeKey, NodeKey], _Flow] = {}
    for rule in seg.rules:
        if not rule.active(at):
            continue
        srcs = sorted({n for n in map(node, _ends(seg, rule.src_peers)) if n is not None})
        dsts = sorted({n for n in map(node, _ends(seg, rule.dst_peers)) if n is not None})
        for src in srcs:
            for dst in dsts:
                flow = flows.setdefault((src, dst), _Flow())
                flow.ports.update(rule.ports)
                if rule.rule_id not in flow.rules:
                    flow.rules.append(rule.rule_id)
                if rule.expires is not None:
                    flow.exception = True
                    if flow.expires is None or rule.expires < flow.expires:
                        flow.expires = rule.expires
    return flows


def _ends(seg: Segmentation, peers: tuple[Peer, ...]) -> list[NodeKey]:
    ends: list[NodeKey] = []
    for peer in peers:
        if isinstance(peer, Selector):
            ends.extend(("asset", asset_id) for asset_id in sorted(seg.select(peer)))
        else:
            ends.append(("zone", peer))
    return ends


def _hops(blast: BlastRadius | None, node: NodeOf) -> dict[tuple[NodeKey, NodeKey], list[str]]:
    """The attack paths' hops by pair of drawn ends, each with the grants it uses."""
    found: dict[tuple[NodeKey, NodeKey], list[str]] = {}
    if blast is None:
        return found
    for item in blast.assets:
        for hop in item.path:
            src, dst = node(("asset", hop.source)), node(("asset", hop.destination))
            if src is None or dst is None or src == dst:
                continue
            via = found.setdefault((src, dst), [])
            if str(hop.grant) not in via:
                via.append(str(hop.grant))
    return found


def _content(
    seg: Segmentation,
    name: str,
    homed: dict[str, tuple[Asset, ...]],
    zones_of: dict[str, list[str]],
    collapsed: bool,
    notes: dict[str, list[str]],
    taken: dict[str, int],
) -> CardContent:
    here = homed.get(name, ())
    members = tuple(sorted(seg.zone_assets(name))) if name != UNZONED else tuple(a.id for a in here)
    ids = {a.id for a in here}
    elsewhere = tuple(m for m in members if m not in ids)
    stores: dict[str, tuple[DataStore, ...]] = {
        a.id: seg.inventory.stores_on(a.id) for a in here if seg.inventory.stores_on(a.id)
    }
    also = {a.id: tuple(z for z in zones_of[a.id] if z != name) for a in here}
    card_notes = tuple(_clip_list(notes.get(name, []), 4))
    if collapsed:
        lines = 1 + (1 if stores else 0) + (1 if ids & set(taken) else 0)
        return CardContent(name, members, (), stores, {}, elsewhere, card_notes, lines)
    also = {key: value for key, value in also.items() if value}
    return CardContent(name, members, here, stores, also, elsewhere, card_notes, 0)


def _box(placed: Placed, key: NodeKey) -> Box:
    return placed.cards[key[1]] if key[0] == "zone" else placed.assets[key[1]]


def _ports(flow: _Flow) -> str:
    ports = sorted(flow.ports)
    if set(ALL_PORTS) <= flow.ports:
        return "any port"
    return ", ".join(_clip_list([str(port) for port in ports], 3))


def _label(flow: _Flow) -> tuple[str, ...]:
    rules = ", ".join(_clip_list(flow.rules, 3))
    if flow.expires is not None:
        rules += f" until {flow.expires:%Y-%m-%d}"
    return (_ports(flow), rules)


def _clip_list(items: list[str], limit: int) -> list[str]:
    return items if len(items) <= limit else [*items[:limit], f"+{len(items) - limit}"]


def _header(
    svg: Svg,
    seg: Segmentation,
    options: PictureOptions,
    arrows: int,
    collapsed: bool,
    hidden: int,
    blast: BlastRadius | None,
) -> None:
    counts = (
        f"{len(seg.policy.zones)} zones, {len(seg.inventory.assets)} assets, "
        f"{len(seg.inventory.data_stores)} data stores, {arrows} allowed flow arrows"
    )
    if collapsed:
        counts += " — zones only (too many assets to draw one by one)"
    if hidden:
        counts += f" — {hidden} smaller zones not drawn"
    svg.text(24, 26, options.title, 16, font_weight="bold")
    svg.text(24, 44, counts, 11, fill="#475569")
    if blast is not None:
        worst = max((s.store.classification for s in blast.stores), key=lambda c: c.rank,
                    default=None)  # fmt: skip
        text = (
            f"Blast radius of {blast.compromised}: {len(blast.assets) - 1} more assets within "
            f"reach, {len(blast.stores)} data stores exposed"
            + (f" (worst: {worst.value})" if worst is not None else "")
        )
        colour = "#b91c1c" if worst is Classification.RESTRICTED else "#c2410c"
        svg.text(24, 64, text, 12, fill=colour, font_weight="bold")


def _arrow(svg: Svg, item: Drawn, kind: str, dimmed: bool) -> None:
    points = item.route.points
    if item.route.curved:
        (x0, y0), (x1, y1), (x2, y2), (x3, y3) = points
        d = f"M{x0},{y0} C{x1},{y1} {x2},{y2} {x3},{y3}"
    else:
        d = "M" + " L".join(f"{x},{y}" for x, y in points)
    style = "exception" if item.exception else kind
    colour = {"flow": FLOW, "exception": EXCEPTION, "hop": HOP}[style]
    attrs: dict[str, str | int | float] = {
        "class": f"{kind} exception" if item.exception else kind,
        "data-from": ":".join(item.src),
        "data-to": ":".join(item.dst),
        "data-rules": " ".join(item.rules),
    }
    if dimmed:
        attrs["opacity"] = "0.35"
    svg.open("g", attrs)
    svg.title(f"{item.src[1]} → {item.dst[1]}: {'; '.join(item.lines)}")
    path: dict[str, str | int | float] = {
        "d": d, "fill": "none", "stroke": colour, "stroke-width": 3 if kind == "hop" else 1.4,
        "marker-end": f"url(#menshen-arrow-{style})",
    }  # fmt: skip
    if item.exception:
        path["stroke-dasharray"] = "5 3"
    svg.el("path", path)
    x, y = item.route.label
    svg.label(x, y, [line for line in item.lines if line], colour)
    svg.close("g")
