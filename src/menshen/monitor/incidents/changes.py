"""An administrator's changes to an incident, applied and audited alike from every interface.

The CLI (``menshen incident ack|assign|note|close``) and the console's forms make the same
``IncidentChange`` values, apply them with ``apply_change`` and write the audit event it
returns (``monitor.incident.changed``), so both leave the same record (NIST SP 800-61r2
§3.2.5, incident documentation; NIST SP 800-92 §2.1, who changed what). A change the model
refuses (a closed incident acknowledged, an empty note) raises ``InvalidInput`` before
anything is stored. Blocking (the store), like ``IncidentBook``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from menshen.events.model import AuditEvent, Outcome
from menshen.monitor.incidents import model
from menshen.monitor.incidents.book import IncidentBook
from menshen.monitor.incidents.model import Incident
from menshen.monitor.response.kinds import INCIDENT_CHANGED

__all__ = ["IncidentChange", "acknowledged", "apply_change", "assigned", "closed", "noted"]

Edit = Callable[[Incident, datetime, str], Incident]
"""(incident, now, by) -> the changed incident; a pure function of ``incidents.model``."""


@dataclass(frozen=True, slots=True)
class IncidentChange:
    what: str  # the audit event's reason: "acknowledged", "assigned to ben", ...
    edit: Edit


def acknowledged() -> IncidentChange:
    """Someone is on it (assigned to them unless assigned already)."""
    return IncidentChange("acknowledged", lambda item, now, by: model.acknowledge(item, now, by))


def assigned(assignee: str) -> IncidentChange:
    return IncidentChange(
        f"assigned to {assignee.strip()}", lambda item, now, by: model.assign(item, assignee)
    )


def noted(text: str) -> IncidentChange:
    return IncidentChange("note added", lambda item, now, by: model.note(item, now, by, text))


def closed() -> IncidentChange:
    return IncidentChange("closed", lambda item, now, by: model.close(item, now))


def apply_change(
    book: IncidentBook,
    tenant_id: str,
    incident_id: str,
    change: IncidentChange,
    *,
    by: str,
    at: datetime,
) -> tuple[Incident, AuditEvent]:
    """Store the changed incident; it and the audit event the caller writes."""
    changed = book.change(tenant_id, incident_id, lambda item: change.edit(item, at, by))
    event = AuditEvent(
        tenant_id=tenant_id,
        kind=INCIDENT_CHANGED,
        outcome=Outcome.SUCCESS,
        at=at,
        actor=by,
        subject=changed.subject,
        reason=change.what[:500],
        details={"incident": incident_id, "state": changed.state.value},
    )
    return changed, event
