"""Where things go in the segmentation picture: zone cards in columns, flows routed between.

Zones may overlap (an asset can be in ``internal-apps`` and ``scraped``), so each asset is
drawn once, in its *home* zone — the smallest zone holding it (then by name) — and its other
zones are named under it. Columns follow the allowed flows, left to right, like a layered
(Sugiyama-style) drawing: back edges found by a depth-first search are set aside, and each
zone goes one column right of its furthest predecessor. Flows that run right are curves,
flows within a column bulge to its right, flows that run left travel in lanes under the
drawing. Everything is sorted and in whole pixels, so a model always gives the same layout.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable
from dataclasses import dataclass

from menshen.inventory.model import Asset, DataStore

UNZONED = "(no zone)"
"""The card of assets in no zone (no zone name can contain parentheses)."""

COL_W, COL_GAP, MARGIN, TOP = 280, 170, 48, 142
HEADER, ROW, STORE, NOTE, PAD, GAP, LANE = 42, 22, 17, 15, 8, 26, 18

NodeKey = tuple[str, str]
"""("zone", name) or ("asset", id)."""


@dataclass(frozen=True, slots=True)
class Box:
    x: int
    y: int
    w: int
    h: int

    @property
    def right(self) -> int:
        return self.x + self.w

    @property
    def bottom(self) -> int:
        return self.y + self.h

    @property
    def cx(self) -> int:
        return self.x + self.w // 2

    @property
    def cy(self) -> int:
        return self.y + self.h // 2


@dataclass(frozen=True, slots=True)
class CardContent:
    """What a zone card holds, before placement (its height follows from it)."""

    name: str
    members: tuple[str, ...]
    assets: tuple[Asset, ...]
    stores: dict[str, tuple[DataStore, ...]]
    also: dict[str, tuple[str, ...]]
    elsewhere: tuple[str, ...]
    notes: tuple[str, ...]
    lines: int
    """Summary lines of a collapsed card (counts, stores, overlay)."""

    def asset_height(self, asset_id: str) -> int:
        return (
            ROW
            + STORE * len(self.stores.get(asset_id, ()))
            + (NOTE if self.also.get(asset_id) else 0)
        )

    @property
    def height(self) -> int:
        body = sum(self.asset_height(asset.id) for asset in self.assets)
        extra = NOTE * (
            len(self.notes) + self.lines + (1 if self.elsewhere and not self.lines else 0)
        )
        return max(HEADER + body + extra + PAD, 58)


@dataclass(frozen=True, slots=True)
class Route:
    """A drawn path: a cubic curve through four points, or a polyline; and its label point."""

    points: tuple[tuple[int, int], ...]
    curved: bool
    label: tuple[int, int]


@dataclass(frozen=True, slots=True)
class Placed:
    """Card boxes by zone name, asset boxes by id, column of each card, the drawing's size."""

    cards: dict[str, Box]
    assets: dict[str, Box]
    stores: dict[str, Box]
    columns: dict[str, int]
    bottom: int
    width: int


def ranks(names: Iterable[str], edges: set[tuple[str, str]], outside: set[str]) -> dict[str, int]:
    """A column for each connected card: longest path over the flows minus back edges.

    Depth-first search starts at cards nothing flows into, then at parties outside the
    inventory (CIDR zones), then by name; an edge to a card still on the search stack is a
    back edge and does not push columns.
    """
    succ: dict[str, list[str]] = {}
    indegree: dict[str, int] = {}
    for src, dst in sorted(edges):
        succ.setdefault(src, []).append(dst)
        indegree[dst] = indegree.get(dst, 0) + 1
    connected = sorted({name for edge in edges for name in edge} & set(names))
    roots = [name for name in connected if indegree.get(name, 0) == 0]
    roots += sorted(
        (name for name in connected if indegree.get(name, 0)),
        key=lambda name: (name not in outside, name),
    )
    state: dict[str, int] = {}
    order: dict[str, int] = {}
    back: set[tuple[str, str]] = set()
    for root in roots:
        if root in state:
            continue
        state[root], order[root] = 1, len(order)
        stack = [(root, iter(succ.get(root, ())))]
        while stack:  # iterative: a large model must not hit the recursion limit
            node, children = stack[-1]
            child = next(children, None)
            if child is None:
                state[node] = 2
                stack.pop()
            elif state.get(child) == 1:
                back.add((node, child))
            elif child not in state:
                state[child], order[child] = 1, len(order)
                stack.append((child, iter(succ.get(child, ()))))
    forward = sorted(edge for edge in edges if edge not in back and edge[0] != edge[1])
    waiting = {name: 0 for name in connected}
    for _, dst in forward:
        waiting[dst] += 1
    rank = dict.fromkeys(connected, 0)
    ready = [(order[name], name) for name in connected if waiting[name] == 0]
    heapq.heapify(ready)
    by_source: dict[str, list[str]] = {}
    for src, dst in forward:
        by_source.setdefault(src, []).append(dst)
    while ready:  # Kahn's algorithm: each card leaves the heap once
        _, node = heapq.heappop(ready)
        for dst in by_source.get(node, ()):
            rank[dst] = max(rank[dst], rank[node] + 1)
            waiting[dst] -= 1
            if waiting[dst] == 0:
                heapq.heappush(ready, (order[dst], dst))
    return rank


def place(
    contents: dict[str, CardContent],
    edges: set[tuple[str, str]],
    outside: set[str],
) -> Placed:
    """Boxes for every card, asset and store line."""
    rank = ranks(contents, edges, outside)
    used = max(rank.values(), default=-1) + 1
    columns: dict[int, list[str]] = {}
    for name in sorted(rank, key=lambda item: (rank[item], item)):
        columns.setdefault(rank[name], []).append(name)
    preds: dict[str, list[str]] = {}
    for src, dst in sorted(edges):
        if src != dst and rank.get(src, 0) < rank.get(dst, 0):
            preds.setdefault(dst, []).append(src)
    isolated = sorted(name for name in contents if name not in rank)
    spread = used + 1 if used else min(4, max(len(isolated), 1))
    heights = dict.fromkeys(range(spread), TOP)
    centre: dict[str, int] = {}
    at: dict[str, tuple[int, int]] = {}
    for col in sorted(columns):

        def key(name: str) -> tuple[int, str]:
            seen = [centre[p] for p in preds.get(name, ()) if p in centre]
            return (sum(seen) // len(seen) if seen else 1 << 30, name)

        for name in sorted(columns[col], key=key):
            at[name] = (col, heights[col])
            centre[name] = heights[col] + contents[name].height // 2
            heights[col] += contents[name].height + GAP
    tallest = max(heights.values())
    for name in isolated:  # unconnected cards fill short columns, then one more column
        col = min(range(spread), key=lambda index: (heights[index], index))
        if used and col < used and heights[col] + contents[name].height > tallest:
            col = used
        elif used and col == used:
            shortest = min(range(used), key=lambda index: (heights[index], index))
            if heights[shortest] + contents[name].height <= tallest:
                col = shortest
        at[name] = (col, heights[col])
        heights[col] += contents[name].height + GAP
    return _boxes(contents, at, max(heights.values()))


def _boxes(contents: dict[str, CardContent], at: dict[str, tuple[int, int]], bottom: int) -> Placed:
    cards: dict[str, Box] = {}
    assets: dict[str, Box] = {}
    stores: dict[str, Box] = {}
    for name in sorted(at):
        col, y = at[name]
        content = contents[name]
        box = Box(MARGIN + col * (COL_W + COL_GAP), y, COL_W, content.height)
        cards[name] = box
        row_y = y + HEADER
        for asset in content.assets:
            height = content.asset_height(asset.id)
            assets[asset.id] = Box(box.x + PAD, row_y, COL_W - 2 * PAD, height - 3)
            for index, store in enumerate(content.stores.get(asset.id, ())):
                top = row_y + ROW + index * STORE
                stores[store.id] = Box(box.x + PAD + 14, top, COL_W - 2 * PAD - 20, STORE - 3)
            row_y += height
    columns = max((col for col, _ in at.values()), default=0) + 1
    width = 2 * MARGIN + columns * COL_W + (columns - 1) * COL_GAP
    card_at = {name: col for name, (col, _) in at.items()}
    return Placed(cards, assets, stores, card_at, bottom, max(width, 760))


class Lanes:
    """Horizontal lanes under the cards, one per flow that runs left."""

    def __init__(self, top: int) -> None:
        self.top = top
        self.used = 0

    def take(self) -> int:
        self.used += 1
        return self.top + LANE * self.used

    @property
    def bottom(self) -> int:
        return self.top + LANE * (self.used + 1)


def route(
    src: Box,
    dst: Box,
    cols: tuple[int, int],
    cards: tuple[Box, Box],
    lanes: Lanes,
    *,
    label_near_end: bool = False,
) -> Route:
    """How a flow from ``src`` to ``dst`` is drawn, given their columns and their cards."""
    if cols[1] > cols[0]:
        start, end = (src.right, src.cy), (dst.x, dst.cy)
        span = end[0] - start[0]
        dx = max(span // 2, 24)
        points = (start, (start[0] + dx, start[1]), (end[0] - dx, end[1]), end)
        # Label in the first gap (the last one for attack paths), never on a card.
        near = min(0.5, (COL_GAP // 2 + 12) / span)
        return Route(points, True, _bezier(points, 1 - near / 2 if label_near_end else near))
    if cols[1] == cols[0]:
        start, end = (src.right, src.cy), (dst.right, dst.cy)
        bulge = min(40 + abs(end[1] - start[1]) // 6, COL_GAP - 40)
        points = (start, (start[0] + bulge, start[1]), (end[0] + bulge, end[1]), end)
        return Route(points, True, _bezier(points, 0.5))
    # Running left: out through the gap right of the source, along a lane under the
    # cards, up through the gap left of the destination.
    lane = lanes.take()
    shift = (lanes.used % 5) * 6
    out, back = cards[0].right + 10 + shift, cards[1].x - 10 - shift
    lane_points = (
        (src.right, src.cy),
        (out, src.cy),
        (out, lane),
        (back, lane),
        (back, dst.cy),
        (dst.x, dst.cy),
    )
    return Route(lane_points, False, ((out + back) // 2, lane))


def _bezier(points: tuple[tuple[int, int], ...], t: float) -> tuple[int, int]:
    (x0, y0), (x1, y1), (x2, y2), (x3, y3) = points
    a, b, c, d = (1 - t) ** 3, 3 * (1 - t) ** 2 * t, 3 * (1 - t) * t**2, t**3
    return round(a * x0 + b * x1 + c * x2 + d * x3), round(a * y0 + b * y1 + c * y2 + d * y3)
