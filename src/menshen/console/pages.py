"""The console's HTML: rendered on the server (Jinja2, autoescaped), no script at all.

Every response carries a strict Content Security Policy (CSP Level 3): nothing may load from
anywhere, the one stylesheet is allowed by its hash, forms post only to the console, and no
page may be framed. The segmentation picture is inline SVG made by
``menshen.segmentation.picture``, which escapes every piece of text itself; it is the only
value marked safe.
"""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape
from markupsafe import Markup
from starlette.responses import HTMLResponse, Response

from menshen.inventory.model import Classification
from menshen.segmentation.blast import BlastRadius, Hop
from menshen.segmentation.resolve import Segmentation

CSS = (
    "body{font-family:system-ui,sans-serif;margin:0;color:#0f172a;background:#f1f5f9}"
    "header{background:#0f172a;color:#f8fafc;padding:.8rem 1.5rem;display:flex;gap:1.5rem;"
    "align-items:baseline}header a{color:#cbd5e1}header .who{margin-left:auto;color:#cbd5e1}"
    "main{padding:1rem 1.5rem}section{background:#fff;border-radius:8px;padding:1rem;"
    "margin:0 0 1rem;overflow-x:auto}table{border-collapse:collapse;font-size:.9rem}"
    "th,td{text-align:left;padding:.3rem .6rem;border-bottom:1px solid #e2e8f0;"
    "vertical-align:top}.restricted{color:#b91c1c;font-weight:bold}"
    ".confidential{color:#b45309}.internal{color:#1d4ed8}.public{color:#4b5563}"
    ".notice{background:#fef3c7;border:1px solid #d97706;padding:.6rem;border-radius:6px}"
    ".picture{overflow:auto;max-height:80vh;border:1px solid #e2e8f0}"
    "code{font-size:.85rem}form{display:flex;gap:.6rem;align-items:center;flex-wrap:wrap}"
    ".sev-critical,.sev-high{color:#b91c1c;font-weight:bold}.sev-medium{color:#b45309}"
    ".state-closed{color:#4b5563}.muted{color:#64748b}dl{display:grid;"
    "grid-template-columns:max-content 1fr;gap:.2rem 1rem}dd{margin:0}"
    ".forms form{margin:.4rem 0}textarea{width:40rem;max-width:100%}"
)
_CSS_HASH = base64.b64encode(hashlib.sha256(CSS.encode()).digest()).decode()
HEADERS = {
    "cache-control": "no-store",
    "content-security-policy": (
        f"default-src 'none'; style-src 'sha256-{_CSS_HASH}'; form-action 'self'; "
        "frame-ancestors 'none'; base-uri 'none'"
    ),
    "x-frame-options": "DENY",
    "x-content-type-options": "nosniff",
    "referrer-policy": "same-origin",
}
SVG_HEADERS = {
    "cache-control": "no-store",
    "content-security-policy": "default-src 'none'; sandbox",
    "x-content-type-options": "nosniff",
    "content-disposition": 'attachment; filename="segmentation.svg"',
}


@dataclass(frozen=True, slots=True)
class Page:
    template: str
    status: int = 200


class Pages:
    """Renders the console's templates with the shared layout context."""

    def __init__(
        self,
        prefix: str,
        *,
        monitoring: bool = False,
        compliance: bool = False,
        clients: bool = False,
    ) -> None:
        self._env = Environment(
            loader=PackageLoader("menshen.console", "templates"),
            autoescape=select_autoescape(["html"]),
            auto_reload=False,
        )
        self.prefix = prefix
        self.monitoring = monitoring
        self.compliance = compliance
        self.clients = clients

    def render(self, page: Page, **context: Any) -> Response:
        body = self._env.get_template(page.template).render(
            css=Markup(CSS),  # noqa: S704 - a constant, allowed by its hash in the CSP
            prefix=self.prefix,
            monitoring=self.monitoring,
            compliance=self.compliance,
            client_pages=self.clients,
            **context,
        )
        return HTMLResponse(body, status_code=page.status, headers=HEADERS)

    def problem(
        self, status: int, message: str, *, user: object = None, back: str = "", label: str = ""
    ) -> Response:
        """The problem page: ``message`` and a link ``back`` (default: segmentation)."""
        return self.render(
            Page("problem.html", status), user=user, message=message, back=back, label=label
        )


def zone_rows(seg: Segmentation) -> list[dict[str, Any]]:
    rows = []
    for zone in sorted(seg.policy.zones, key=lambda item: item.name):
        monitor = seg.monitored_by(frozenset((zone.name,)))
        rows.append(
            {
                "name": zone.name,
                "assets": len(seg.zone_assets(zone.name)),
                "selector": "" if zone.selector is None else str(zone.selector),
                "cidrs": ", ".join(str(net) for net in zone.cidrs),
                "mode": f"monitor ({monitor})" if monitor else "",
                "description": zone.description,
            }
        )
    return rows


def asset_rows(seg: Segmentation) -> list[dict[str, Any]]:
    rows = []
    for asset in seg.inventory.assets:
        stores = [
            {"id": store.id, "level": store.classification.value}
            for store in seg.inventory.stores_on(asset.id)
        ]
        rows.append(
            {
                "id": asset.id,
                "kind": asset.kind.value,
                "name": asset.title,
                "owner": asset.owner,
                "zones": ", ".join(sorted(seg.zones_of(asset.id))),
                "addresses": ", ".join(asset.addresses),
                "stores": stores,
            }
        )
    return rows


def rule_rows(seg: Segmentation) -> list[dict[str, Any]]:
    return [
        {
            "id": rule.rule_id,
            "set": rule.rule_set,
            "mode": rule.mode.value,
            "from": ", ".join(str(peer) for peer in rule.src_peers),
            "to": ", ".join(str(peer) for peer in rule.dst_peers),
            "ports": ", ".join(str(port) for port in rule.ports),
            "expires": "" if rule.expires is None else f"{rule.expires:%Y-%m-%d %H:%M %Z}",
            "owner": rule.owner,
        }
        for rule in seg.rules
    ]


def blast_rows(blast: BlastRadius) -> dict[str, Any]:
    worst = max((item.store.classification for item in blast.stores), key=lambda c: c.rank,
                default=None)  # fmt: skip
    return {
        "compromised": blast.compromised,
        "assets": len(blast.assets) - 1,
        "worst": worst.value if worst is not None else "",
        "restricted": worst is Classification.RESTRICTED,
        "stores": [
            {
                "id": item.store.id,
                "asset": item.store.asset,
                "level": item.store.classification.value,
                "tags": ", ".join(item.store.tags),
                "hops": item.hops,
                "path": path_text(item.path),
            }
            for item in blast.stores
        ],
        "classes": [f"{c.name}" for c in blast.classes],
    }


def path_text(path: tuple[Hop, ...]) -> str:
    if not path:
        return "(the asset itself)"
    return " ".join([path[0].source] + [f"-[{hop.grant}]→ {hop.destination}" for hop in path])
