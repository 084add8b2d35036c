"""Incidents, risk scores and response actions as the console's tables show them (pure).

Times are shown in UTC, durations as the CLI shows them (``1h02m03s``, ``4m05s``); the
figures are NIST SP 800-61r2 §3.4.2's time to detect and time to respond.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from menshen.console.desk import RiskView
from menshen.monitor.incidents.model import Incident
from menshen.monitor.incidents.summary import MonthSummary
from menshen.store.monitor_response import ResponseActionRecord

__all__ = [
    "action_row",
    "incident_detail",
    "incident_row",
    "risk_row",
    "span",
    "summary_row",
    "when",
]


def when(at: datetime | None) -> str:
    return "" if at is None else f"{at:%Y-%m-%d %H:%M:%S}"


def span(value: timedelta | None) -> str:
    if value is None:
        return ""
    seconds = max(int(value.total_seconds()), 0)
    hours, rest = divmod(seconds, 3600)
    if hours >= 48:
        return f"{hours // 24}d{hours % 24:02d}h"
    return (
        f"{hours}h{rest // 60:02d}m{rest % 60:02d}s" if hours else f"{rest // 60}m{rest % 60:02d}s"
    )


def incident_row(item: Incident) -> dict[str, Any]:
    return {
        "id": item.id,
        "detected": when(item.detected_at),
        "severity": item.severity.name.lower(),
        "state": item.state.value,
        "subject": item.subject,
        "source": item.source_ip or "",
        "title": item.title,
        "assignee": item.assignee or "",
        "findings": len(item.findings),
        "ttd": span(item.time_to_detect),
        "ttr": span(item.time_to_respond),
    }


def incident_detail(item: Incident) -> dict[str, Any]:
    return {
        **incident_row(item),
        "timeline": [{"step": name, "at": when(at)} for name, at in item.timeline()],
        "pending": [
            name
            for name, at in (
                ("responded", item.responded_at),
                ("acknowledged", item.acknowledged_at),
                ("closed", item.closed_at),
            )
            if at is None
        ],
        "findings_list": [
            {
                "at": when(ref.at),
                "detector": ref.detector,
                "severity": ref.severity,
                "confidence": f"{ref.confidence:.2f}",
                "summary": ref.summary,
                "subject": ref.subject or item.subject,
                "evidence": [{"name": key, "value": value} for key, value in ref.evidence],
                "events": ", ".join(ref.event_ids),
            }
            for ref in item.findings
        ],
        "notes": [{"at": when(n.at), "author": n.author, "text": n.text} for n in item.notes],
        "closed": item.state.value == "closed",
        "acknowledged": item.acknowledged_at is not None,
    }


def summary_row(row: MonthSummary) -> dict[str, Any]:
    return {
        "month": row.month,
        "incidents": row.incidents,
        "responded": row.responded,
        "ttd_median": span(row.detect_median),
        "ttd_p90": span(row.detect_p90),
        "ttr_median": span(row.respond_median),
        "ttr_p90": span(row.respond_p90),
    }


def risk_row(view: RiskView) -> dict[str, Any]:
    return {
        "subject": view.subject,
        "score": f"{view.score_now:.1f}",
        "level": view.level_now,
        "stored": f"{view.stored:.1f}",
        "stored_at": when(view.stored_at),
        "below_low_in": span(view.below_low_in),
        "contributors": [
            {
                "incident": item.incident_id,
                "at": when(item.finding.at),
                "detector": item.finding.detector,
                "severity": item.finding.severity,
                "confidence": f"{item.finding.confidence:.2f}",
                "summary": item.finding.summary,
                "then": f"{item.points_then:.1f}",
                "now": f"{item.points_now:.1f}",
            }
            for item in view.contributors
        ],
    }


def action_row(record: ResponseActionRecord) -> dict[str, Any]:
    return {
        "id": record.id,
        "when": when(record.created_at),
        "playbook": record.playbook,
        "action": record.action,
        "target": record.target,
        "state": record.state,
        "reason": record.reason,
        "incident": record.incident_id or "",
        "expires": when(record.expires_at),
        "undone": f"{when(record.undone_at)} by {record.undone_by}" if record.undone_at else "",
        "details": ", ".join(f"{key}={value}" for key, value in sorted(record.details.items())),
        "undoable": record.state == "done" and record.undone_at is None,
    }
