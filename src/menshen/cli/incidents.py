"""``menshen incident``: list, show, acknowledge, assign, annotate and close incidents, and
the monthly time-to-detect / time-to-respond summary (NIST SP 800-61r2 §3.4.2)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated

import typer
from rich.table import Table

from menshen.cli.context import Options, console, opened
from menshen.cli.monitor_response import operator, write_audit
from menshen.monitor.incidents import changes
from menshen.monitor.incidents.model import Incident
from menshen.monitor.incidents.summary import first_month, summarise

__all__ = ["incident_app"]

incident_app = typer.Typer(
    help="Incidents: grouped findings and their timeline.", no_args_is_help=True
)


def _options(ctx: typer.Context) -> Options:
    options = ctx.find_root().obj
    if not isinstance(options, Options):
        raise typer.Exit(2)
    return options


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
        for item in platform.incident_book().list(platform.settings.tenant, since=since):
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
        _print(platform.incident_book().get(platform.settings.tenant, incident_id))


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


def _change(ctx: typer.Context, incident_id: str, change: changes.IncidentChange) -> None:
    with opened(_options(ctx)) as platform:
        tenant_id = platform.settings.tenant
        changed, event = changes.apply_change(
            platform.incident_book(),
            tenant_id,
            incident_id,
            change,
            by=operator(),
            at=platform.clock.now(),
        )
        write_audit(platform, [event])
        _print(changed)


@incident_app.command("ack")
def incident_ack(ctx: typer.Context, incident_id: str) -> None:
    """Acknowledge: someone is on it (assigned to you unless assigned already)."""
    _change(ctx, incident_id, changes.acknowledged())


@incident_app.command("assign")
def incident_assign(ctx: typer.Context, incident_id: str, assignee: str) -> None:
    """Assign the incident to someone."""
    _change(ctx, incident_id, changes.assigned(assignee))


@incident_app.command("note")
def incident_note(ctx: typer.Context, incident_id: str, text: str) -> None:
    """Add a note to the incident's record."""
    _change(ctx, incident_id, changes.noted(text))


@incident_app.command("close")
def incident_close(ctx: typer.Context, incident_id: str) -> None:
    """Close the incident."""
    _change(ctx, incident_id, changes.closed())


@incident_app.command("summary")
def incident_summary(
    ctx: typer.Context,
    months: Annotated[int, typer.Option(help="How many months back.", min=1)] = 12,
) -> None:
    """Per month: incidents, median and p90 time to detect and to respond."""
    with opened(_options(ctx)) as platform:
        start = first_month(platform.clock.now(), months)
        table = Table(
            "month", "incidents", "responded", "TTD median", "TTD p90", "TTR median", "TTR p90"
        )
        for row in summarise(platform.incident_book().list(platform.settings.tenant, since=start)):
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
