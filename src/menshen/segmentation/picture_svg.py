"""SVG writing for the segmentation picture: escaped elements, colours, the legend.

Every piece of text and every attribute value goes through ``esc``: asset names, owners and
descriptions are input from whoever edits the inventory, and the SVG is shown inline in the
console. ``esc`` XML-escapes (``&``, ``<``, ``>``, both quotes) and replaces the characters
XML 1.0 §2.2 does not allow, so the output always parses. Presentation is in attributes, not
CSS: the picture needs no stylesheet, script, font or image, and a strict Content Security
Policy can serve it as it is.
"""

from __future__ import annotations

import html
import re

from menshen.inventory.model import AssetKind, Classification

SANS = "ui-sans-serif, system-ui, sans-serif"
MONO = "ui-monospace, SFMono-Regular, Menlo, monospace"
CHAR_W = 6  # monospace width at 10px, for label backgrounds

CLASS_COLOURS: dict[Classification, tuple[str, str]] = {
    Classification.RESTRICTED: ("#b91c1c", "#fee2e2"),
    Classification.CONFIDENTIAL: ("#b45309", "#fef3c7"),
    Classification.INTERNAL: ("#1d4ed8", "#dbeafe"),
    Classification.PUBLIC: ("#4b5563", "#f3f4f6"),
}
"""Stroke and fill per classification: restricted data stands out in red."""

GLYPHS: dict[AssetKind, str] = {
    AssetKind.WORKSTATION: "WS",
    AssetKind.HOST: "H",
    AssetKind.SERVICE: "SVC",
    AssetKind.DATABASE: "DB",
    AssetKind.SAAS: "SaaS",
    AssetKind.THIRD_PARTY_API: "3P",
    AssetKind.PARTNER_API: "PA",
}

FLOW, EXCEPTION, MONITOR, HOP = "#475569", "#7c3aed", "#d97706", "#dc2626"
TAKEN_FILL, TAKEN_STROKE = "#ffedd5", "#c2410c"
COMPROMISED_FILL, COMPROMISED_STROKE = "#fecaca", "#7f1d1d"

_NOT_XML = re.compile("[^\t\n\r\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")

Attrs = dict[str, str | int | float]


def esc(text: str) -> str:
    """``text`` safe as XML character data and as a quoted attribute value."""
    return html.escape(_NOT_XML.sub("\ufffd", text), quote=True)


def clip(text: str, limit: int) -> str:
    """``text`` cut to ``limit`` characters with an ellipsis (the full text goes in a title)."""
    return text if len(text) <= limit else text[: max(limit - 1, 1)] + "…"


class Svg:
    """An SVG document built as a list of strings."""

    def __init__(self, width: int, height: int, label: str) -> None:
        self.parts: list[str] = [
            f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
            f'viewBox="0 0 {width} {height}" role="img" aria-label="{esc(label)}" '
            f'font-family="{SANS}">'
        ]

    def open(self, name: str, attrs: Attrs | None = None) -> None:
        self.parts.append(f"<{name}{_attrs(attrs)}>")

    def close(self, name: str) -> None:
        self.parts.append(f"</{name}>")

    def el(self, name: str, attrs: Attrs, text: str | None = None) -> None:
        if text is None:
            self.parts.append(f"<{name}{_attrs(attrs)}/>")
        else:
            self.parts.append(f"<{name}{_attrs(attrs)}>{esc(text)}</{name}>")

    def title(self, text: str) -> None:
        """A tooltip for the enclosing group (SVG 1.1 §5.4)."""
        self.parts.append(f"<title>{esc(text)}</title>")

    def text(self, x: int, y: int, text: str, size: int = 11, **extra: str | int | float) -> None:
        attrs: Attrs = {"x": x, "y": y, "font-size": size}
        attrs.update({key.replace("_", "-"): value for key, value in extra.items()})
        self.el("text", attrs, text)

    def label(self, x: int, y: int, lines: list[str], colour: str) -> None:
        """Small monospace lines centred on (x, y), on a white background."""
        width, height = label_size(lines)
        top = y - height // 2
        self.el(
            "rect",
            {"x": x - width // 2, "y": top, "width": width, "height": height, "rx": 3,
             "fill": "#ffffff", "fill-opacity": "0.92", "stroke": colour, "stroke-width": 0.5},
        )  # fmt: skip
        for index, line in enumerate(lines):
            self.text(x, top + 11 + 12 * index, line, 10, text_anchor="middle",
                      font_family=MONO, fill=colour)  # fmt: skip

    def defs(self) -> None:
        """Arrow heads, referenced by fragment only (nothing outside the document)."""
        self.open("defs")
        for name, colour in (("flow", FLOW), ("exception", EXCEPTION), ("hop", HOP)):
            size = 13 if name == "hop" else 9
            self.open(
                "marker",
                {"id": f"menshen-arrow-{name}", "viewBox": "0 0 10 10", "refX": 9, "refY": 5,
                 "markerUnits": "userSpaceOnUse", "markerWidth": size, "markerHeight": size,
                 "orient": "auto-start-reverse"},
            )  # fmt: skip
            self.el("path", {"d": "M0,0 L10,5 L0,10 z", "fill": colour})
            self.close("marker")
        self.close("defs")

    def finish(self) -> str:
        return "".join([*self.parts, "</svg>\n"])


def legend(svg: Svg, y: int, overlay: bool) -> None:
    """Colours of the data classes, line styles, the overlay, and the asset glyphs."""
    x = 24
    svg.open("g", {"class": "legend"})
    for level in sorted(Classification, key=lambda item: -item.rank):
        stroke, fill = CLASS_COLOURS[level]
        width = 2 if level is Classification.RESTRICTED else 1
        svg.el("rect", {"x": x, "y": y - 10, "width": 14, "height": 12, "fill": fill,
                        "stroke": stroke, "stroke-width": width})  # fmt: skip
        svg.text(x + 19, y, f"{level.value} data", 11, fill=stroke)
        x += 34 + 7 * len(level.value) + 30
    svg.el("rect", {"x": x, "y": y - 10, "width": 22, "height": 12, "fill": "none",
                    "stroke": MONITOR, "stroke-dasharray": "4 3"})  # fmt: skip
    svg.text(x + 27, y, "zone in monitor mode (unmatched traffic passes)", 11)
    y += 20
    x = 24
    items = [("flow", FLOW, "", "allowed flow (ports, rules)"),
             ("exception", EXCEPTION, "5 3", "exception (until its expiry)")]  # fmt: skip
    if overlay:
        items.append(("hop", HOP, "", "attack path (blast radius)"))
    for name, colour, dash, text in items:
        attrs: Attrs = {"x1": x, "y1": y - 4, "x2": x + 30, "y2": y - 4, "stroke": colour,
                        "stroke-width": 3 if name == "hop" else 1.5,
                        "marker-end": f"url(#menshen-arrow-{name})"}  # fmt: skip
        if dash:
            attrs["stroke-dasharray"] = dash
        svg.el("line", attrs)
        svg.text(x + 36, y, text, 11)
        x += 48 + 6 * len(text)
    if overlay:
        for fill, stroke, text in ((COMPROMISED_FILL, COMPROMISED_STROKE, "compromised"),
                                   (TAKEN_FILL, TAKEN_STROKE, "within reach")):  # fmt: skip
            svg.el("rect", {"x": x, "y": y - 10, "width": 14, "height": 12, "fill": fill,
                            "stroke": stroke, "stroke-width": 2})  # fmt: skip
            svg.text(x + 19, y, text, 11)
            x += 40 + 6 * len(text)
    y += 20
    glyphs = " · ".join(f"{glyph} {kind.value.replace('_', ' ')}" for kind, glyph in GLYPHS.items())
    svg.text(24, y, glyphs, 10, fill="#475569")
    svg.close("g")


def label_size(lines: list[str]) -> tuple[int, int]:
    """Width and height of a ``Svg.label`` of these lines."""
    return max((len(line) for line in lines), default=0) * CHAR_W + 8, 12 * len(lines) + 4


def _attrs(attrs: Attrs | None) -> str:
    if not attrs:
        return ""
    return "".join(f' {name}="{esc(str(value))}"' for name, value in attrs.items())
