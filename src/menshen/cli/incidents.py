"""``menshen incident``: list, show, acknowledge, assign, annotate and close incidents, and
the monthly time-to-detect / time-to-respond summary (NIST SP 800-61r2 §3.4.2)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Annotated

import typer
from rich.table import Table

from menshen.app import Platform
from menshen.cli.context import Options, console, opened
from menshen.cli.monitor_response import operator, write_audit
from menshen.events.model import AuditEvent, Outcome
from menshen.monitor.incidents import model as incidents
from menshen.monitor.incidents.book import IncidentBook
from menshen.monitor.incidents.model import Incident
from menshen.monitor.incidents.summary import summarise
from menshen.monitor.response.kinds import INCIDENT_CHANGED

__all__ = ["incident_app"]

incident_app = typer.Typer(
    help="Incidents: grouped findings and their timeline.", no_args_is_help=True
)


def _options(ctx: typer.Context) -> Options:
    options = ctx.find_root().obj
    if not isinstance(options, Options):
        raise typer.Exit(2)
    return options


def _book(platform: Platform) -> IncidentBook:
    return IncidentBook(
        platform.store,
        lambda tenant_id: platform.settings.options(tenant_id).monitor.incident_window,
    )


def _when(at: datetime | None) -> str:
    return "-" if at is None else f"{at:%Y-%m-%d %H:%M:%S}"


def _span(value: timedelta | None) -> str:
    if value is None:
        return "-"
    seconds = int(value.total_seconds())
    hours, rest = divmod(seconds, 3600)
    return (
        f"{hours}h{rest // 60:02d}m{rest % 60:02d}s" if hours else f"{rest // 60}m{rest % 60:02d}s"
    )


@incident_app.command("list")
def incident_list(
    ctx: typer.Context,
    days: Annotated[int, typer.Option(help="Detected in the last N days.", min=1)] = 30,
) -> None:
    """Recent incidents, newest first."""
    with opened(_options(ctx)) as platform:
        since = platform.clock.now() - timedelta(days=days)
        table = Table("id", "detected", "severity", "state", "subject", "title", "assignee")
        for item in _book(platform).list(platform.settings.tenant, since=since):
            table.add_row(
                item.id,
                _when(item.detected_at),
                item.severity.name.lower(),
                item.state.value,
                item.subject,
                item.title[:60],
                item.assignee or "-",
            )
        console.print(table)


@incident_app.command("show")
def incident_show(ctx: typer.Context, incident_id: str) -> None:
    """One incident: its timeline, response times, findings and notes."""
    with opened(_options(ctx)) as platform:
        _print(_book(platform).get(platform.settings.tenant, incident_id))


def _print(item: Incident) -> None:
    console.print(f"[bold]{item.id}[/] {item.title}")
    console.print(
        f"subject {item.subject}  source {item.source_ip or '-'}  state {item.state.value}"
    )
    console.print(f"severity {item.severity.name.lower()}  assignee {item.assignee or '-'}")
    for name, at in item.timeline():
        console.print(f"  {name:<13} {_when(at)}")
    detect, respond = _span(item.time_to_detect), _span(item.time_to_respond)
    console.print(f"time to detect {detect}  time to respond {respond}")
    for ref in item.findings:
        console.print(f"  finding {_when(ref.at)} {ref.detector} {ref.severity} {ref.summary}")
    for note in item.notes:
        console.print(f"  note {_when(note.at)} {note.author}: {note.text}")


def _change(
    ctx: typer.Context,
    incident_id: str,
    what: str,
    edit: Callable[[Incident, datetime, str], Incident],
) -> None:
    with opened(_options(ctx)) as platform:
        tenant_id = platform.settings.tenant
        now = platform.clock.now()
        by = operator()
        changed = _book(platform).change(tenant_id, incident_id, lambda item: edit(item, now, by))
        event = AuditEvent(
            tenant_id=tenant_id,
            kind=INCIDENT_CHANGED,
            outcome=Outcome.SUCCESS,
            at=now,
            actor=by,
            subject=changed.subject,
            reason=what,
            details={"incident": incident_id, "state": changed.state.value},
        )
        write_audit(platform, [event])
        _print(changed)


@incident_app.command("ack")
def incident_ack(ctx: typer.Context, incident_id: str) -> None:
    """Acknowledge: someone is on it (assigned to you unless assigned already)."""
    _change(
        ctx, incident_id, "acknowledged", lambda item, now, by: incidents.acknowledge(item, now, by)
    )


@incident_app.command("assign")
def incident_assign(ctx: typer.Context, incident_id: str, assignee: str) -> None:
    """Assign the incident to someone."""
    _change(
        ctx,
        incident_id,
        f"assigned to {assignee}",
        lambda item, now, by: incidents.assign(item, assignee),
    )


@incident_app.command("note")
def incident_note(ctx: typer.Context, incident_id: str, text: str) -> None:
    """Add a note to the incident's record."""
    _change(
        ctx, incident_id, "note added", lambda item, now, by: incidents.note(item, now, by, text)
    )


@incident_app.command("close")
def incident_close(ctx: typer.Context, incident_id: str) -> None:
    """Close the incident."""
    _change(ctx, incident_id, "closed", lambda item, now, by: incidents.close(item, now))


@incident_app.command("summary")
def incident_summary(
    ctx: typer.Context,
    months: Annotated[int, typer.Option(help="How many months back.", min=1)] = 12,
) -> None:
    """Per month: incidents, median and p90 time to detect and to respond."""
    with opened(_options(ctx)) as platform:
        now = platform.clock.now()
        start = datetime(now.year, now.month, 1, tzinfo=UTC)
        for _ in range(months - 1):
            start = (start - timedelta(days=1)).replace(day=1)
        table = Table(
            "month", "incidents", "responded", "TTD median", "TTD p90", "TTR median", "TTR p90"
        )
        for row in summarise(_book(platform).list(platform.settings.tenant, since=start)):
            table.add_row(
                row.month,
                str(row.incidents),
                str(row.responded),
                _span(row.detect_median),
                _span(row.detect_p90),
                _span(row.respond_median),
                _span(row.respond_p90),
            )
        console.print(table)
