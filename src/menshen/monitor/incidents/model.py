"""An incident and its timeline (NIST SP 800-61r2 §3.2.5 documentation, §3.4.2 metrics).

Findings about the same subject, or from the same source address, within the tenant's
window (``tenants.<id>.monitor.incident_window_minutes``) of the incident's last finding
belong to one open incident. The timeline is first event → detected → responded (the first
action taken or observed) → acknowledged → closed; *time to detect* is first event →
detected and *time to respond* is detected → responded. Pure values and functions.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum

from menshen.errors import InvalidInput
from menshen.monitor.model import Finding, Severity

__all__ = [
    "Incident",
    "IncidentState",
    "Note",
    "acknowledge",
    "add_finding",
    "assign",
    "close",
    "matches",
    "new_incident",
    "note",
    "responded",
]

MAX_FINDINGS = 200  # the first ones are kept; the count goes on
MAX_EVIDENCE = 20  # items of a finding's evidence kept, as the audit event keeps them
MAX_EVIDENCE_TEXT = 300


class IncidentState(StrEnum):
    OPEN = "open"
    ACKNOWLEDGED = "acknowledged"
    CLOSED = "closed"


@dataclass(frozen=True, slots=True)
class Note:
    at: datetime
    author: str
    text: str


@dataclass(frozen=True, slots=True)
class FindingRef:
    """What the incident keeps of a finding."""

    detector: str
    severity: str
    confidence: float
    summary: str
    at: datetime
    event_ids: tuple[str, ...]
    subject: str = ""  # "kind:id"; empty in incidents stored before it was kept
    evidence: tuple[tuple[str, str], ...] = ()  # the detector's figures, as text


@dataclass(frozen=True, slots=True)
class Incident:
    tenant_id: str
    id: str
    subject: str
    source_ip: str | None
    title: str
    severity: Severity
    state: IncidentState
    first_event_at: datetime
    detected_at: datetime
    last_finding_at: datetime
    findings: tuple[FindingRef, ...] = ()
    responded_at: datetime | None = None
    acknowledged_at: datetime | None = None
    closed_at: datetime | None = None
    assignee: str | None = None
    notes: tuple[Note, ...] = ()

    @property
    def time_to_detect(self) -> timedelta:
        return self.detected_at - self.first_event_at

    @property
    def time_to_respond(self) -> timedelta | None:
        return None if self.responded_at is None else self.responded_at - self.detected_at

    def timeline(self) -> list[tuple[str, datetime]]:
        """The milestones reached so far, in order."""
        steps = [
            ("first event", self.first_event_at),
            ("detected", self.detected_at),
            ("responded", self.responded_at),
            ("acknowledged", self.acknowledged_at),
            ("closed", self.closed_at),
        ]
        return [(name, at) for name, at in steps if at is not None]


def _ref(finding: Finding) -> FindingRef:
    return FindingRef(
        finding.detector,
        finding.severity.name.lower(),
        finding.confidence,
        finding.summary,
        finding.at,
        finding.event_ids,
        str(finding.subject),
        tuple(
            (str(key), str(value)[:MAX_EVIDENCE_TEXT])
            for key, value in list(finding.evidence.items())[:MAX_EVIDENCE]
        ),
    )


def matches(incident: Incident, finding: Finding, window: timedelta) -> bool:
    """Whether ``finding`` belongs to ``incident`` (same subject or source, within window)."""
    if incident.state is IncidentState.CLOSED or incident.tenant_id != finding.tenant_id:
        return False
    if finding.at - incident.last_finding_at > window:
        return False
    same_source = finding.source_ip is not None and finding.source_ip == incident.source_ip
    return incident.subject == str(finding.subject) or same_source


def new_incident(
    incident_id: str, finding: Finding, *, first_event_at: datetime, detected_at: datetime
) -> Incident:
    return Incident(
        tenant_id=finding.tenant_id,
        id=incident_id,
        subject=str(finding.subject),
        source_ip=finding.source_ip,
        title=finding.summary,
        severity=finding.severity,
        state=IncidentState.OPEN,
        first_event_at=min(first_event_at, finding.at),
        detected_at=detected_at,
        last_finding_at=finding.at,
        findings=(_ref(finding),),
    )


def add_finding(incident: Incident, finding: Finding, first_event_at: datetime) -> Incident:
    findings = incident.findings
    if len(findings) < MAX_FINDINGS:
        findings = (*findings, _ref(finding))
    return replace(
        incident,
        findings=findings,
        severity=max(incident.severity, finding.severity),
        title=finding.summary if finding.severity > incident.severity else incident.title,
        first_event_at=min(incident.first_event_at, first_event_at, finding.at),
        last_finding_at=max(incident.last_finding_at, finding.at),
    )


def responded(incident: Incident, at: datetime) -> Incident:
    """The first response counts; later actions do not move it."""
    return incident if incident.responded_at is not None else replace(incident, responded_at=at)


def acknowledge(incident: Incident, at: datetime, by: str) -> Incident:
    if incident.state is IncidentState.CLOSED:
        raise InvalidInput(f"incident {incident.id} is closed")
    if incident.acknowledged_at is not None:
        return incident
    state = IncidentState.ACKNOWLEDGED
    assignee = incident.assignee or by
    return replace(incident, state=state, acknowledged_at=at, assignee=assignee)


def assign(incident: Incident, assignee: str) -> Incident:
    if not assignee.strip():
        raise InvalidInput("name whom the incident is assigned to")
    return replace(incident, assignee=assignee.strip())


def note(incident: Incident, at: datetime, author: str, text: str) -> Incident:
    if not text.strip():
        raise InvalidInput("a note needs text")
    return replace(incident, notes=(*incident.notes, Note(at, author, text.strip()[:2000])))


def close(incident: Incident, at: datetime) -> Incident:
    if incident.state is IncidentState.CLOSED:
        return incident
    acknowledged = incident.acknowledged_at or at
    return replace(incident, state=IncidentState.CLOSED, closed_at=at, acknowledged_at=acknowledged)
