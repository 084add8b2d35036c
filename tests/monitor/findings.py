"""Findings for the risk, response, incident and engine tests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from menshen.monitor.model import Entity, EntityKind, Finding, Severity

T0 = datetime(2026, 11, 25, 3, 0, tzinfo=UTC)
ALICE = Entity(EntityKind.USER, "u-alice")


def finding(
    *,
    detector: str = "volume",
    severity: Severity = Severity.MEDIUM,
    confidence: float = 1.0,
    at: datetime = T0,
    after: timedelta = timedelta(0),
    subject: Entity = ALICE,
    tenant_id: str = "t1",
    source_ip: str | None = "203.0.113.9",
    session_id: str | None = None,
    event: str = "e1",
    summary: str = "downloaded 40x the usual volume",
) -> Finding:
    return Finding(
        tenant_id=tenant_id,
        detector=detector,
        subject=subject,
        at=at + after,
        severity=severity,
        confidence=confidence,
        summary=summary,
        evidence={"bytes": 4_000_000_000},
        event_ids=(event,),
        source_ip=source_ip,
        session_id=session_id,
    )
