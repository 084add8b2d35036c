"""Small frameworks, controls and evidence for the assessment tests (independent of the
packaged YAML catalogs)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime

from menshen.compliance.model import (
    Bilingual,
    Combine,
    Control,
    Declaration,
    Evidence,
    FirmProfile,
    Framework,
    GroupDef,
    Outcome,
    StageDef,
)

AT = datetime(2026, 5, 1, 9, 0, tzinfo=UTC)
PROFILE = FirmProfile(tenant_id="acme", name="Acme Pay")
STAGES = ("traditional", "initial", "advanced", "optimal")


def text(value: str) -> Bilingual:
    return Bilingual(value, f"{value}（中文）")


def ev(
    check_id: str,
    outcome: Outcome,
    value: float | None = None,
    *,
    remedy: str | None = None,
    affected: int = 0,
    error: str | None = None,
) -> Evidence:
    """Evidence for ``check_id`` collected at ``AT``."""
    return Evidence(
        check_id=check_id,
        collected_at=AT,
        outcome=outcome,
        summary=text(f"{check_id} measured"),
        value=value,
        remedy=text(remedy) if remedy is not None else None,
        affected=affected,
        error=error,
    )


def ctl(
    control_id: str,
    checks: tuple[str, ...] = (),
    *,
    group: str = "identity",
    combine: Combine = "all",
    stage: str | None = None,
    facets: tuple[str, ...] = (),
    applies_if: str | None = None,
    framework: str = "test-fw",
) -> Control:
    return Control(
        id=control_id,
        framework=framework,
        group=group,
        title=text(f"title {control_id}"),
        summary=text(f"summary {control_id}"),
        checks=checks,
        combine=combine,
        stage=stage,
        facets=facets,
        applies_if=applies_if,
    )


def staged(*controls: Control, framework_id: str = "test-fw") -> Framework:
    """A staged framework (ZTMM-like): groups identity and device, facet remote_work."""
    return Framework(
        id=framework_id,
        title=text("Staged test framework"),
        publisher="tests",
        version="1",
        kind="staged",
        binding=text("not binding"),
        groups=(GroupDef("identity", text("Identity")), GroupDef("device", text("Device"))),
        controls=controls,
        stages=tuple(StageDef(s, text(s)) for s in STAGES),
        facets=(GroupDef("remote_work", text("Remote work")),),
    )


def checklist(*controls: Control, framework_id: str = "test-list") -> Framework:
    return Framework(
        id=framework_id,
        title=text("Checklist test framework"),
        publisher="tests",
        version="1",
        kind="checklist",
        binding=text("binding"),
        groups=(GroupDef("identity", text("Identity")),),
        controls=controls,
    )


def declared(
    control_id: str,
    outcome: Outcome = Outcome.PASS,
    *,
    at: datetime = datetime(2026, 4, 1, tzinfo=UTC),
    expires_at: datetime | None = None,
) -> Declaration:
    return Declaration(
        control_id=control_id,
        outcome=outcome,
        justification="Badge readers log every entry to the server room",
        by="ciso@acme.example",
        at=at,
        expires_at=expires_at,
    )


def evidence_of(*items: Evidence) -> Mapping[str, Evidence]:
    return {item.check_id: item for item in items}
