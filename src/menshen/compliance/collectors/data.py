"""Data evidence from the inventory: classification and the declared data map (CISA ZTMM
v2.0 Data pillar, inventory and categorisation; FSC zero-trust guidelines, data dimension;
ISO/IEC 27001:2022 A.5.9, A.5.12, A.5.14; NIST SP 800-53 rev5 CM-8, RA-2).
"""

from __future__ import annotations

from menshen.compliance.collectors.common import (
    Collector,
    make,
    names,
    not_applicable,
    not_assessed,
    rows,
    share_outcome,
)
from menshen.compliance.model import Bilingual, Evidence
from menshen.compliance.sources import SENSITIVE, CollectContext, EvidenceSources
from menshen.inventory.model import AssetKind, ObservedFlow
from menshen.segmentation.resolve import Segmentation

REVIEW = ("review", "unclassified")
"""The label discovery puts on an asset it proposed and a person has not classified."""

_NO_MODEL = (
    "No inventory is stored (menshen inventory import).",
    "尚未儲存資產清冊（menshen inventory import）。",
)


def inventory_classified(sources: EvidenceSources, ctx: CollectContext) -> Evidence:
    """Data stores (always classified) against the data holders still unclassified: database
    assets with no data store declared, and discovered assets awaiting review."""
    check = "data.inventory_classified"
    seg = sources.segmentation()
    if seg is None or not seg.inventory.assets:
        return not_assessed(ctx, check, *_NO_MODEL)
    inventory = seg.inventory
    stores = len(inventory.data_stores)
    holding = {store.asset for store in inventory.data_stores}
    unclassified = [
        asset.id
        for asset in inventory.assets
        if (asset.kind is AssetKind.DATABASE and asset.id not in holding)
        or asset.labels.get(REVIEW[0]) == REVIEW[1]
    ]
    total = stores + len(unclassified)
    if total == 0:
        return not_assessed(
            ctx, check, "The inventory declares no data stores.", "資產清冊未申報任何資料儲存。"
        )
    return make(
        ctx,
        check,
        share_outcome(stores, total),
        Bilingual(
            f"{stores} of {total} data holders in the inventory carry a classification",
            f"資產清冊中 {total} 個資料存放處有 {stores} 個已標示敏感等級",
        ),
        value=stores / total,
        data={"data_stores": stores, "unclassified": rows({"asset": a} for a in unclassified)},
        remedy=Bilingual(
            f"declare the data stores of {names(unclassified)} with a classification "
            f"(menshen inventory import): {len(unclassified)} assets affected",
            f"為 {names(unclassified)} 申報資料儲存並標示敏感等級（menshen inventory import）："
            f"影響 {len(unclassified)} 項資產",
        ),
        affected=len(unclassified),
    )


def _declared(seg: Segmentation, src: str, dst: str, flow: ObservedFlow) -> bool:
    return any(
        item.source == src
        and item.destination == dst
        and any(port.covers(flow.protocol, flow.port) for port in item.ports)
        for item in seg.inventory.flows
    )


def flows_declared(sources: EvidenceSources, ctx: CollectContext) -> Evidence:
    """Share of observed flows into confidential or restricted data stores that the
    inventory's data map declares (same ends, port covered)."""
    check = "data.flows_declared"
    seg = sources.segmentation()
    if seg is None or not seg.inventory.assets:
        return not_assessed(ctx, check, *_NO_MODEL)
    observed = sources.observed_flows()
    if not observed:
        return not_assessed(
            ctx,
            check,
            "No observed flows were supplied, so the data map cannot be checked.",
            "未提供觀察到的連線紀錄，無法核對資料流向圖。",
        )
    sensitive = {s.asset for s in seg.inventory.data_stores if s.classification.value in SENSITIVE}
    into: list[tuple[ObservedFlow, str, str]] = []
    for flow in observed:
        src, dst = seg.inventory.resolve(flow.source), seg.inventory.resolve(flow.destination)
        if dst is not None and dst.id in sensitive:
            into.append((flow, "" if src is None else src.id, dst.id))
    if not into:
        return not_applicable(
            ctx,
            check,
            "No observed flow reaches confidential or restricted data.",
            "觀察到的連線皆未觸及機密或機敏資料。",
        )
    undeclared = [(f, s, d) for f, s, d in into if not s or not _declared(seg, s, d, f)]
    good = len(into) - len(undeclared)
    return make(
        ctx,
        check,
        share_outcome(good, len(into)),
        Bilingual(
            f"{good} of {len(into)} observed flows into restricted data are declared",
            f"觀察到連往機敏資料的 {len(into)} 條連線中有 {good} 條已申報",
        ),
        value=good / len(into),
        data={
            "undeclared": rows(
                {"from": s or str(f.source), "to": d, "port": f"{f.protocol}/{f.port}"}
                for f, s, d in undeclared
            )
        },
        remedy=Bilingual(
            f"declare the flows into {names({d for _, _, d in undeclared})} in the data map "
            f"(DataFlow), or stop them: {len(undeclared)} flows affected",
            f"於資料流向圖（DataFlow）申報連往 {names({d for _, _, d in undeclared})} 的連線，"
            f"或予以阻斷：影響 {len(undeclared)} 條連線",
        ),
        affected=len(undeclared),
    )


COLLECTORS: dict[str, Collector] = {
    "data.inventory_classified": inventory_classified,
    "data.flows_declared": flows_declared,
}
