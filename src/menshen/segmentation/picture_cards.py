"""Zone cards of the segmentation picture: the zone, its assets, their data stores.

Restricted data is drawn in red with a heavier outline and flagged on its zone's header, so
the places a breach would hurt most are seen first. Under a blast-radius overlay the assets
and stores within reach are marked (``class`` ``compromised``, ``taken``, ``exposed`` and
``data-hops``, which the tests and the console read) and everything else is dimmed.
"""

from __future__ import annotations

from dataclasses import dataclass

from menshen.inventory.model import Asset, Classification, DataStore
from menshen.segmentation.model import Zone
from menshen.segmentation.picture_layout import UNZONED, CardContent, Placed
from menshen.segmentation.picture_svg import (
    CLASS_COLOURS,
    COMPROMISED_FILL,
    COMPROMISED_STROKE,
    GLYPHS,
    MONITOR,
    TAKEN_FILL,
    TAKEN_STROKE,
    Attrs,
    Svg,
    clip,
)
from menshen.segmentation.resolve import Segmentation

GREY = "#475569"


@dataclass(frozen=True, slots=True)
class CardStyle:
    """How cards are drawn: zones only or with assets; the overlay's assets and stores."""

    collapsed: bool
    taken: dict[str, int]
    exposed: frozenset[str]

    @property
    def overlay(self) -> bool:
        return bool(self.taken)


def draw_card(
    svg: Svg,
    seg: Segmentation,
    placed: Placed,
    content: CardContent,
    monitor: str | None,
    style: CardStyle,
) -> None:
    name = content.name
    box = placed.cards[name]
    zone = None if name == UNZONED else seg.policy.zone(name)
    here = [a.id for a in content.assets] if not style.collapsed else _homed(content)
    hit = [asset_id for asset_id in here if asset_id in style.taken]
    classes = ["zone"]
    if style.collapsed and hit:
        classes.append("compromised" if any(style.taken[a] == 0 for a in hit) else "taken")
    attrs: Attrs = {"class": " ".join(classes), "data-zone": name}
    if style.collapsed and hit:
        attrs["data-taken"] = len(hit)
    svg.open("g", attrs)
    tip = [f"zone {name}"]
    if zone is not None:
        tip += [zone.description] if zone.description else []
        tip += [f"selector: {zone.selector}"] if zone.selector is not None else []
        tip += [f"CIDRs: {', '.join(str(net) for net in zone.cidrs)}"] if zone.cidrs else []
    tip.append(plural(len(content.members), "asset"))
    svg.title("\n".join(tip))
    rect: Attrs = {"x": box.x, "y": box.y, "width": box.w, "height": box.h, "rx": 8,
                   "fill": "#f8fafc", "stroke": "#64748b", "stroke-width": 1.2}  # fmt: skip
    if monitor is not None:
        rect.update({"stroke": MONITOR, "stroke-dasharray": "6 4", "stroke-width": 2})
    elif zone is None:
        rect.update({"stroke": "#94a3b8", "stroke-dasharray": "2 3"})
    svg.el("rect", rect)
    restricted = any(
        store.classification is Classification.RESTRICTED
        for stores in content.stores.values()
        for store in stores
    )
    svg.text(box.x + 10, box.y + 18, clip(name, 21 if restricted else 30), 13,
             font_weight="bold")  # fmt: skip
    if restricted:
        stroke, fill = CLASS_COLOURS[Classification.RESTRICTED]
        svg.el("rect", {"x": box.right - 100, "y": box.y + 7, "width": 92, "height": 15,
                        "rx": 3, "fill": fill, "stroke": stroke})  # fmt: skip
        svg.text(box.right - 54, box.y + 18, "restricted data", 10, text_anchor="middle",
                 fill=stroke, font_weight="bold")  # fmt: skip
    svg.text(box.x + 10, box.y + 33, clip(_subtitle(zone, monitor), 46), 10, fill=GREY)
    y = box.y + 42
    if style.collapsed:
        _summary(svg, content, box.x + 10, y, hit, style)
    else:
        for asset in content.assets:
            _asset(svg, seg, placed, content, asset, style)
        y += sum(content.asset_height(asset.id) for asset in content.assets)
        if content.elsewhere:
            line = "also holds: " + ", ".join(content.elsewhere)
            svg.text(box.x + 10, y + 11, clip(line, 44), 10, fill=GREY)
            svg.title(line)
            y += 15
    if style.collapsed:
        y += 15 * content.lines
    for note in content.notes:
        svg.text(box.x + 10, y + 11, clip(note, 44), 10, fill=GREY, font_style="italic")
        y += 15
    svg.close("g")


def _homed(content: CardContent) -> list[str]:
    elsewhere = set(content.elsewhere)
    return [member for member in content.members if member not in elsewhere]


def _subtitle(zone: Zone | None, monitor: str | None) -> str:
    if monitor is not None:
        return f"monitor mode ({monitor}): unmatched traffic passes"
    if zone is None:
        return "in no zone: default deny both ways"
    if zone.cidrs:
        return ", ".join(str(net) for net in zone.cidrs)
    return zone.description or (f"selector: {zone.selector}" if zone.selector else "")


def plural(count: int, noun: str) -> str:
    return f"{count} {noun}" + ("" if count == 1 else "s")


def _summary(
    svg: Svg, content: CardContent, x: int, y: int, hit: list[str], style: CardStyle
) -> None:
    here = _homed(content)
    line = plural(len(here), "asset")
    if content.elsewhere:
        line += f" (and {len(content.elsewhere)} drawn in other zones)"
    svg.text(x, y + 11, line, 11)
    y += 15
    stores = [store for items in content.stores.values() for store in items]
    if stores:
        counts: dict[Classification, int] = {}
        for store in stores:
            counts[store.classification] = counts.get(store.classification, 0) + 1
        levels = sorted(counts, key=lambda level: -level.rank)
        text = "data: " + ", ".join(f"{counts[level]} {level.value}" for level in levels)
        svg.text(x, y + 11, text, 11, fill=CLASS_COLOURS[levels[0]][0])
        y += 15
    if hit:
        first = [asset_id for asset_id in hit if style.taken[asset_id] == 0]
        text = f"within reach: {len(hit)} of {len(here)}"
        if first:
            more = len(hit) - 1
            text = f"compromised: {first[0]}" + (f", {more} more within reach" if more else "")
        svg.text(x, y + 11, clip(text, 42), 11, fill=TAKEN_STROKE, font_weight="bold")


def _asset(
    svg: Svg,
    seg: Segmentation,
    placed: Placed,
    content: CardContent,
    asset: Asset,
    style: CardStyle,
) -> None:
    box = placed.assets[asset.id]
    hops = style.taken.get(asset.id)
    attrs: Attrs = {"class": "asset", "data-asset": asset.id}
    fill, stroke, width = "#ffffff", "#cbd5e1", 1.0
    if hops is not None:
        attrs["class"] = "asset compromised" if hops == 0 else "asset taken"
        attrs["data-hops"] = hops
        fill, stroke = (
            (COMPROMISED_FILL, COMPROMISED_STROKE) if hops == 0 else (TAKEN_FILL, TAKEN_STROKE)
        )
        width = 2.0
    elif style.overlay:
        attrs["opacity"] = "0.45"
    svg.open("g", attrs)
    zones = sorted(seg.zones_of(asset.id))
    svg.title(
        f"{asset.id} — {asset.title} ({asset.kind.value})\nowner: {asset.owner or '-'}\n"
        f"addresses: {', '.join(asset.addresses) or '-'}\n"
        f"ports: {', '.join(str(port) for port in asset.ports) or '-'}\n"
        f"zones: {', '.join(zones) or '-'}"
    )
    svg.el("rect", {"x": box.x, "y": box.y, "width": box.w, "height": box.h, "rx": 4,
                    "fill": fill, "stroke": stroke, "stroke-width": width})  # fmt: skip
    svg.el("rect", {"x": box.x + 4, "y": box.y + 4, "width": 30, "height": 13, "rx": 2,
                    "fill": "#334155"})  # fmt: skip
    svg.text(box.x + 19, box.y + 14, GLYPHS[asset.kind], 9, text_anchor="middle",
             fill="#ffffff", font_weight="bold")  # fmt: skip
    svg.text(box.x + 40, box.y + 15, clip(asset.id, 24 if hops is not None else 32), 11)
    if hops is not None:
        tag = "compromised" if hops == 0 else f"{hops} hop" + ("" if hops == 1 else "s")
        svg.text(box.right - 6, box.y + 15, tag, 10, text_anchor="end", fill=stroke,
                 font_weight="bold")  # fmt: skip
    for store in content.stores.get(asset.id, ()):
        _store(svg, placed, store, style)
    also = content.also.get(asset.id)
    if also:
        svg.text(box.x + 14, box.bottom - 5, clip("also in: " + ", ".join(also), 40), 9,
                 fill=GREY)  # fmt: skip
    svg.close("g")


def _store(svg: Svg, placed: Placed, store: DataStore, style: CardStyle) -> None:
    box = placed.stores[store.id]
    level = store.classification
    stroke, fill = CLASS_COLOURS[level]
    exposed = store.id in style.exposed
    classes = f"store {level.value}" + (" exposed" if exposed else "")
    svg.open("g", {"class": classes, "data-store": store.id, "data-classification": level.value})
    tags = f" [{', '.join(store.tags)}]" if store.tags else ""
    records = "" if store.records is None else f", {store.records:,} records"
    svg.title(f"{store.id} — {store.title}: {level.value}{tags}{records}")
    heavy = level is Classification.RESTRICTED
    width = 2.5 if exposed else (1.5 if heavy else 0.8)
    svg.el("rect", {"x": box.x, "y": box.y, "width": box.w, "height": box.h, "rx": 3,
                    "fill": fill, "stroke": stroke, "stroke-width": width})  # fmt: skip
    count = "" if store.records is None else f" · {_count(store.records)}"
    text = clip(f"{store.id} · {level.value}{count}", (box.w - 10) // 6)
    attrs: dict[str, str | int | float] = {"fill": stroke}
    if heavy or exposed:
        attrs["font_weight"] = "bold"
    svg.text(box.x + 5, box.y + 11, text, 10, **attrs)
    svg.close("g")


def _count(records: int) -> str:
    for size, suffix in ((1_000_000_000, "G"), (1_000_000, "M"), (1_000, "k")):
        if records >= size:
            value = records / size
            return (
                f"{value:.1f}{suffix}".replace(".0", "")
                if value < 10
                else f"{records // size}{suffix}"
            )
    return str(records)
