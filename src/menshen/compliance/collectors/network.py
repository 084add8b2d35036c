"""Network evidence from the segmentation model: default deny, drift, what a contractor's
device can reach, exceptions, encrypted transport (NIST SP 800-207 §3.1.2 micro-segmentation
and §2.1 tenets 2 and 7; CISA ZTMM v2.0 Networks pillar; FSC zero-trust guidelines, network
dimension and the vendor remote-maintenance scenario; NIST SP 800-53 rev5 SC-7, SC-8).

Reach is the blast radius (``menshen.segmentation.blast``): from each contractor or vendor
workstation, every asset the policy lets it reach, hop by hop, monitor mode included.
"""

from __future__ import annotations

from datetime import datetime

from menshen.compliance.collectors.common import (
    Collector,
    count_of,
    count_outcome,
    make,
    names,
    not_applicable,
    not_assessed,
    rows,
    share_outcome,
    texts,
)
from menshen.compliance.model import Bilingual, Evidence, JsonValue, Outcome
from menshen.compliance.sources import SENSITIVE, CollectContext, EvidenceSources
from menshen.inventory.model import Asset
from menshen.segmentation.blast import blast_radius
from menshen.segmentation.drift import check as drift_check
from menshen.segmentation.exposure import is_contractor, is_internet
from menshen.segmentation.resolve import ResolvedRule, Segmentation

_NO_MODEL = (
    "No inventory or segmentation model is stored (menshen inventory import).",
    "尚未儲存資產清冊或網路分段模型（menshen inventory import）。",
)


def _model(sources: EvidenceSources) -> Segmentation | None:
    seg = sources.segmentation()
    return seg if seg is not None and seg.inventory.assets else None


def _sensitive_assets(seg: Segmentation) -> set[str]:
    return {s.asset for s in seg.inventory.data_stores if s.classification.value in SENSITIVE}


def _wide_open(rule: ResolvedRule, sensitive: set[str], at: datetime) -> bool:
    """An active rule into sensitive data on every port, or from the whole internet."""
    if not rule.active(at) or sensitive.isdisjoint(rule.dst_assets):
        return False
    every_port = any(p.first <= 1 and p.last >= 65535 for p in rule.ports)
    return every_port or any(is_internet(net) for net in rule.src_cidrs)


def default_deny(sources: EvidenceSources, ctx: CollectContext) -> Evidence:
    """Pass: enforced rule sets, no monitor-mode zone, no wide-open rule into sensitive data.
    Partial: some zones still in monitor mode (anything reaches them). Fail otherwise."""
    check = "network.default_deny"
    seg = _model(sources)
    if seg is None:
        return not_assessed(ctx, check, *_NO_MODEL)
    sensitive = _sensitive_assets(seg)
    open_rules = sorted({r.rule_id for r in seg.rules if _wide_open(r, sensitive, ctx.at)})
    monitored = seg.monitored_assets()
    if not seg.policy.rule_sets or open_rules:
        outcome = Outcome.FAIL
    else:
        outcome = Outcome.PARTIAL if monitored else Outcome.PASS
    watchers = sorted(set(monitored.values()))
    return make(
        ctx,
        check,
        outcome,
        Bilingual(
            f"{len(seg.policy.rule_sets)} rule sets; {len(monitored)} assets in monitor mode; "
            f"{len(open_rules)} wide-open rules into restricted data",
            f"{len(seg.policy.rule_sets)} 個規則集；{len(monitored)} 項資產處於監看模式；"
            f"{len(open_rules)} 條規則對機敏資料全面開放",
        ),
        value={Outcome.PASS: 1.0, Outcome.PARTIAL: 0.5}.get(outcome, 0.0),
        data={
            "rule_sets": texts(rs.name for rs in seg.policy.rule_sets),
            "monitor_mode": rows(
                {"asset": a, "rule_set": rs} for a, rs in sorted(monitored.items())
            ),
            "wide_open_rules": texts(open_rules),
        },
        remedy=_deny_remedy(bool(seg.policy.rule_sets), open_rules, watchers, len(monitored)),
        affected=len(open_rules) + len(monitored),
    )


def _deny_remedy(
    any_sets: bool, open_rules: list[str], watchers: list[str], monitored: int
) -> Bilingual:
    if not any_sets:
        return Bilingual(
            "write rule sets for the zones (menshen segment suggest proposes them from traffic)",
            "為各區域撰寫規則集（menshen segment suggest 可依流量提出建議）",
        )
    en: list[str] = []
    zh: list[str] = []
    if open_rules:
        en.append(f"narrow or remove rules {names(open_rules)} (every port or the internet)")
        zh.append(f"收斂或移除規則 {names(open_rules)}（全埠或來自網際網路）")
    if watchers:
        en.append(
            f"switch rule sets {names(watchers)} to mode: enforce once menshen segment check "
            f"shows no drift ({count_of(monitored, 'asset')} in monitor mode)"
        )
        zh.append(
            f"於 menshen segment check 無偏離後將規則集 {names(watchers)} 改為 mode: enforce"
            f"（{monitored} 項資產處於監看模式）"
        )
    return Bilingual("; ".join(en), "；".join(zh))


def segmentation_drift(sources: EvidenceSources, ctx: CollectContext) -> Evidence:
    """Observed flows the segmentation policy would drop or only lets through in monitor mode."""
    check = "network.segmentation_drift"
    seg = _model(sources)
    if seg is None:
        return not_assessed(ctx, check, *_NO_MODEL)
    observed = sources.observed_flows()
    if not observed:
        return not_assessed(
            ctx,
            check,
            "No observed flows were supplied, so drift cannot be measured.",
            "未提供觀察到的連線紀錄，無法量測偏離。",
            Bilingual(
                "collect flow logs and run menshen segment check --observed",
                "蒐集連線紀錄並執行 menshen segment check --observed",
            ),
        )
    report = drift_check(seg, ctx.at, observed)
    drift = report.drift
    return make(
        ctx,
        check,
        count_outcome(len(drift)),
        Bilingual(
            f"{len(drift)} of {report.observed} observed flows are not allowed by the policy",
            f"{report.observed} 條觀察到的連線中有 {len(drift)} 條未獲政策允許",
        ),
        value=float(len(drift)),
        data={
            "observed": report.observed,
            "drift": rows(
                {
                    "from": item.source_asset or str(item.observed.source),
                    "to": item.destination_asset or str(item.observed.destination),
                    "port": f"{item.observed.protocol}/{item.observed.port}",
                    "verdict": item.verdict.action.value,
                }
                for item in drift
            ),
            "declared_flows_without_rule": len(report.gaps),
            "expired_exceptions": texts(item.rule_id for item in report.expired),
        },
        remedy=Bilingual(
            f"declare and allow the {len(drift)} drifting flows, or stop them "
            "(menshen segment suggest): flows affected",
            f"申報並允許 {len(drift)} 條偏離連線，或予以阻斷（menshen segment suggest）",
        ),
        affected=len(drift),
    )


def _contractor_assets(seg: Segmentation, groups: tuple[str, ...]) -> list[Asset]:
    found = []
    for asset in seg.inventory.assets:
        values = set(asset.labels.values())
        by_group = any(g in values or g.rstrip("s") in values for g in groups)
        if is_contractor(asset) or (by_group and asset.kind.value == "workstation"):
            found.append(asset)
    return found


def contractor_reach_restricted(sources: EvidenceSources, ctx: CollectContext) -> Evidence:
    """Confidential or restricted data stores within any contractor workstation's blast radius."""
    check = "network.contractor_reach_restricted"
    seg = _model(sources)
    if seg is None:
        return not_assessed(ctx, check, *_NO_MODEL)
    contractors = _contractor_assets(seg, ctx.options.contractor_groups)
    if not contractors:
        return not_applicable(
            ctx,
            check,
            "No contractor or vendor workstation is in the inventory.",
            "資產清冊中沒有外包或廠商工作站。",
        )
    reached: dict[str, dict[str, JsonValue]] = {}
    used: set[str] = set()
    for asset in contractors:
        for item in blast_radius(seg, asset.id, ctx.at).stores:
            store = item.store
            if store.classification.value not in SENSITIVE or store.id in reached:
                continue
            grants = [str(hop.grant) for hop in item.path]
            used.update(grants)
            reached[store.id] = {
                "store": store.id,
                "classification": store.classification.value,
                "from": asset.id,
                "path": " → ".join([asset.id, *(hop.destination for hop in item.path)]),
                "rules": texts(grants),
            }
    rules = sorted(used)
    return make(
        ctx,
        check,
        count_outcome(len(reached)),
        Bilingual(
            f"{len(reached)} restricted data stores are reachable from {len(contractors)} "
            "contractor workstations",
            f"{len(contractors)} 台外包工作站可觸及 {len(reached)} 個機敏資料儲存",
        ),
        value=float(len(reached)),
        data={
            "contractor_assets": texts(asset.id for asset in contractors),
            "reachable": rows(reached.values()),
        },
        remedy=Bilingual(
            f"remove or narrow {names(rules)} (rules, exceptions or monitor-mode sets) so "
            f"contractor devices reach only their gateway: "
            f"{count_of(len(reached), 'data store')} affected",
            f"移除或收斂規則 {names(rules)}，使外包設備僅能連到其閘道："
            f"影響 {len(reached)} 個資料儲存",
        ),
        affected=len(reached),
    )


def exceptions_owned_and_expiring(sources: EvidenceSources, ctx: CollectContext) -> Evidence:
    """Share of segmentation exceptions with an owner that have not expired (an expired one
    left in the policy counts against it)."""
    check = "network.exceptions_owned_and_expiring"
    seg = _model(sources)
    if seg is None:
        return not_assessed(ctx, check, *_NO_MODEL)
    exceptions = [rule for rule in seg.rules if rule.exception]
    if not exceptions:
        return not_applicable(
            ctx, check, "The segmentation policy has no exceptions.", "網路分段政策沒有例外。"
        )
    bad = [r for r in exceptions if not r.owner.strip() or not r.active(ctx.at)]
    good = len(exceptions) - len(bad)
    return make(
        ctx,
        check,
        share_outcome(good, len(exceptions)),
        Bilingual(
            f"{good} of {len(exceptions)} segmentation exceptions have an owner and are unexpired",
            f"{len(exceptions)} 個網路分段例外中有 {good} 個具負責人且未過期",
        ),
        value=good / len(exceptions),
        data={
            "exceptions": rows(
                {
                    "id": r.rule_id,
                    "rule_set": r.rule_set,
                    "owner": r.owner,
                    "expires": None if r.expires is None else r.expires.isoformat(),
                    "expired": not r.active(ctx.at),
                }
                for r in exceptions
            )
        },
        remedy=Bilingual(
            f"remove or renew the expired exceptions {names(r.rule_id for r in bad)} with their "
            f"owners: {len(bad)} exceptions affected",
            f"與負責人確認後移除或展延已過期例外 {names(r.rule_id for r in bad)}："
            f"影響 {len(bad)} 個例外",
        ),
        affected=len(bad),
    )


def encrypted_transport(sources: EvidenceSources, ctx: CollectContext) -> Evidence:
    """Pass when every listener reachable beyond the host serves TLS and one does (plain
    loopback listeners, behind a proxy on the same host, are listed but not counted); only
    plain loopback listeners: not assessed (the TLS in front is not visible)."""
    check = "network.encrypted_transport"
    listeners = sources.listeners()
    if not listeners:
        return not_assessed(ctx, check, "No gateway listener is configured.", "未設定閘道監聽埠。")
    if not sources.apps():
        return not_applicable(
            ctx, check, "No app is behind the gateway yet.", "閘道後方尚無應用程式。"
        )
    plain = [item for item in listeners if not item.tls and not item.loopback]
    if not plain and not any(item.tls for item in listeners):
        return not_assessed(
            ctx,
            check,
            "The gateway listens on the host only, without TLS: whatever terminates TLS in "
            "front of it is not visible here.",
            "閘道僅於本機監聽且未使用 TLS：其前方的 TLS 終結點此處無法得知。",
            Bilingual(
                "give the listener tls_cert and tls_key, or declare the control with the "
                "TLS proxy's configuration",
                "為監聽埠設定 tls_cert 與 tls_key，或以 TLS 代理設定申報此控制項",
            ),
        )
    return make(
        ctx,
        check,
        Outcome.PASS if not plain else Outcome.FAIL,
        Bilingual(
            f"{len(plain)} of {len(listeners)} gateway listeners serve plain HTTP beyond the host",
            f"{len(listeners)} 個閘道監聽埠中有 {len(plain)} 個對外提供未加密 HTTP",
        ),
        value=0.0 if plain else 1.0,
        data={
            "listeners": rows(
                {"address": item.address, "tls": item.tls, "loopback": item.loopback}
                for item in listeners
            )
        },
        remedy=Bilingual(
            f"give tls_cert and tls_key to the listeners {names(i.address for i in plain)}: "
            f"{len(plain)} listeners affected",
            f"為監聽埠 {names(i.address for i in plain)} 設定 tls_cert 與 tls_key："
            f"影響 {len(plain)} 個監聽埠",
        ),
        affected=len(plain),
    )


COLLECTORS: dict[str, Collector] = {
    "network.default_deny": default_deny,
    "network.segmentation_drift": segmentation_drift,
    "network.contractor_reach_restricted": contractor_reach_restricted,
    "network.exceptions_owned_and_expiring": exceptions_owned_and_expiring,
    "network.encrypted_transport": encrypted_transport,
}
