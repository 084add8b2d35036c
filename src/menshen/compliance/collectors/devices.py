"""Device evidence: restricted apps that demand a managed device, devices enrolled and
healthy, and the posture rules (NIST SP 800-207 §2.1 tenet 5; CISA ZTMM v2.0 Devices pillar;
FSC zero-trust guidelines, device dimension; NIST SP 800-53 rev5 CM-8, AC-19).
"""

from __future__ import annotations

from menshen.compliance.collectors.common import (
    Collector,
    app_share,
    make,
    managed,
    names,
    no_sensitive_apps,
    not_applicable,
    reached_by,
    rows,
    sensitive_apps,
    share_outcome,
)
from menshen.compliance.model import Bilingual, Evidence, Outcome
from menshen.compliance.sources import CollectContext, EvidenceSources


def managed_required_restricted_apps(sources: EvidenceSources, ctx: CollectContext) -> Evidence:
    """Share of restricted-data apps whose every people allow rule demands a managed device."""
    check = "device.managed_required_restricted_apps"
    apps = sensitive_apps(sources.apps())
    if not apps:
        return no_sensitive_apps(ctx, check)
    users = sources.users()
    failing = []
    for app in apps:
        loose = [rule for rule in app.allows() if not managed(rule.device_trust)]
        if loose:
            failing.append((app, [rule.name for rule in loose], reached_by(loose, users)))
    return app_share(
        ctx,
        check,
        apps,
        failing,
        ("demand a managed device", "要求受管理設備"),
        ("require device trust managed on", "要求設備信任等級 managed"),
    )


def enrolled_and_healthy(sources: EvidenceSources, ctx: CollectContext) -> Evidence:
    """Share of enrolled (not revoked) devices the policy sees as managed or compliant now:
    approved by an admin and reporting a healthy posture within the report limit."""
    check = "device.enrolled_and_healthy"
    devices = [device for device in sources.devices(ctx.at) if not device.revoked]
    if not devices:
        return not_applicable(
            ctx,
            check,
            "No devices are enrolled (device trust is not in use).",
            "沒有已註冊的設備（未使用設備信任）。",
        )
    unhealthy = [device for device in devices if not managed(device.trust)]
    good = len(devices) - len(unhealthy)
    owners = sorted({device.owner for device in unhealthy})
    return make(
        ctx,
        check,
        share_outcome(good, len(devices)),
        Bilingual(
            f"{good} of {len(devices)} enrolled devices are approved and healthy",
            f"{len(devices)} 台已註冊設備中有 {good} 台已核准且狀態健康",
        ),
        value=good / len(devices),
        data={
            "unhealthy": rows(
                {
                    "device": device.id,
                    "owner": device.owner,
                    "approved": device.approved,
                    "trust": device.trust,
                    "reported_at": None
                    if device.reported_at is None
                    else device.reported_at.isoformat(),
                }
                for device in unhealthy
            )
        },
        remedy=Bilingual(
            f"approve or fix the posture of the devices of {names(owners)} (menshen devices "
            f"approve; the agent reports disk encryption and screen lock): "
            f"{len(unhealthy)} devices affected",
            f"核准或修正 {names(owners)} 的設備狀態（menshen devices approve；代理程式回報"
            f"磁碟加密與螢幕鎖定）：影響 {len(unhealthy)} 台設備",
        ),
        affected=len(unhealthy),
    )


def posture_rules(sources: EvidenceSources, ctx: CollectContext) -> Evidence:
    """Pass when the posture rules demand disk encryption and a screen lock; partial: one."""
    check = "device.posture_rules"
    if not any(not device.revoked for device in sources.devices(ctx.at)):
        return not_applicable(
            ctx,
            check,
            "No devices are enrolled, so no posture rule is applied.",
            "沒有已註冊的設備，設備狀態規則未被套用。",
        )
    facts = sources.posture()
    demanded = [
        name
        for name, on in (
            ("disk encryption", facts.require_disk_encryption),
            ("screen lock", facts.require_screen_lock),
        )
        if on
    ]
    outcome = (Outcome.FAIL, Outcome.PARTIAL, Outcome.PASS)[len(demanded)]
    zh = {"disk encryption": "磁碟加密", "screen lock": "螢幕鎖定"}
    return make(
        ctx,
        check,
        outcome,
        Bilingual(
            f"Device posture rules demand: {', '.join(demanded) or 'nothing'}",
            f"設備狀態規則要求：{'、'.join(zh[d] for d in demanded) or '無'}",
        ),
        value=len(demanded) / 2,
        data={
            "require_disk_encryption": facts.require_disk_encryption,
            "require_screen_lock": facts.require_screen_lock,
            "max_report_age_seconds": int(facts.max_report_age.total_seconds()),
        },
        remedy=Bilingual(
            "set devices.require_disk_encryption and devices.require_screen_lock to true "
            "in the tenant's options",
            "於租戶選項將 devices.require_disk_encryption 與 devices.require_screen_lock 設為 true",
        ),
    )


COLLECTORS: dict[str, Collector] = {
    "device.managed_required_restricted_apps": managed_required_restricted_apps,
    "device.enrolled_and_healthy": enrolled_and_healthy,
    "device.posture_rules": posture_rules,
}
