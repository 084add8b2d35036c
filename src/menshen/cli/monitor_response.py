"""``menshen monitor actions list`` and ``menshen monitor undo ACTION_ID``.

Every action a playbook took (or, in observe-only mode, would have taken), and undoing one:
the block is lifted, the step-up demand dropped, the user enabled, the device's trust given
back. Running gateways pick the change up at their next refresh. Undo is audited.
"""

from __future__ import annotations

import asyncio
import getpass
from datetime import datetime
from typing import Annotated

import typer
from rich.table import Table

from menshen.app import Platform
from menshen.cli.context import Options, console, opened
from menshen.cli.monitor import monitor_app
from menshen.events.model import AuditEvent

__all__ = ["operator", "write_audit"]

actions_app = typer.Typer(help="What automatic response did.", no_args_is_help=True)
monitor_app.add_typer(actions_app, name="actions")


def _options(ctx: typer.Context) -> Options:
    options = ctx.find_root().obj
    if not isinstance(options, Options):
        raise typer.Exit(2)
    return options


def operator() -> str:
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):
        return "cli:unknown"


def write_audit(platform: Platform, events: list[AuditEvent]) -> None:
    """Write ``events`` to the audit log at once (the CLI has no background writer)."""
    platform.write_audit(events)


def _when(at: datetime | None) -> str:
    return "-" if at is None else f"{at:%Y-%m-%d %H:%M:%S}"


@actions_app.command("list")
def actions_list(
    ctx: typer.Context,
    limit: Annotated[int, typer.Option(help="How many, newest first.", min=1)] = 50,
) -> None:
    """The newest actions: what, on whom, by which playbook, and their state."""
    with opened(_options(ctx)) as platform:
        repo = platform.store.tenant(platform.settings.tenant).response_actions
        table = Table("id", "when", "playbook", "action", "target", "state", "incident")
        for record in repo.list(limit=limit):
            table.add_row(
                record.id,
                _when(record.created_at),
                record.playbook,
                record.action,
                record.target,
                record.state,
                record.incident_id or "-",
            )
        console.print(table)


@monitor_app.command("undo")
def undo(ctx: typer.Context, action_id: str) -> None:
    """Reverse an action (ended sessions stay ended: the user signs in again)."""
    with opened(_options(ctx)) as platform:
        events: list[AuditEvent] = []
        runner = platform.undo_runner(events.append)
        try:
            record = asyncio.run(runner.undo(platform.settings.tenant, action_id, by=operator()))
        finally:
            write_audit(platform, events)
        console.print(f"undone: {record.action} {record.target} ({record.playbook})")
