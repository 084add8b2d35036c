"""``menshen monitor source add|list|remove`` and ``menshen monitor quarantine``.

A source is a named sender of events over HTTP (``POST /.menshen/ingest/v1/events``) with its
own bearer token (RFC 6750) and format. The token is printed once, at ``add``; the store
keeps only its SHA-256. ``quarantine`` lists input the pipeline refused, newest first, with
the reason and an excerpt.
"""

from __future__ import annotations

import secrets
from typing import Annotated

import typer
from rich.table import Table

from menshen.cli.context import Options, audit_admin_change, console, fail, opened
from menshen.cli.monitor import monitor_app
from menshen.errors import Conflict
from menshen.monitor.ingest.http_endpoint import INGEST_PATH, hash_token
from menshen.monitor.ingest.mappers.registry import MAPPERS
from menshen.store.monitor_ingest import MonitorSourceRecord

source_app = typer.Typer(
    help="External event sources (JSON lines over HTTP).", no_args_is_help=True
)
monitor_app.add_typer(source_app, name="source")

_NAME = "abcdefghijklmnopqrstuvwxyz0123456789-_."


def _options(ctx: typer.Context) -> Options:
    options = ctx.find_root().obj
    assert isinstance(options, Options)
    return options


@source_app.command("add")
def source_add(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="A short name (lower case, digits, - _ .).")],
    format_: Annotated[
        str, typer.Option("--format", help=f"One of: {', '.join(sorted(MAPPERS))}.")
    ] = "menshen",
) -> None:
    """Register a source and print its token (shown once)."""
    if not 0 < len(name) <= 64 or any(char not in _NAME for char in name) or name == "gateway":
        raise fail("the name must be 1-64 of a-z 0-9 - _ . (and not 'gateway')")
    if format_ not in MAPPERS:
        raise fail(f"unknown format {format_!r}; one of: {', '.join(sorted(MAPPERS))}")
    token = "msrc_" + secrets.token_urlsafe(32)
    with opened(_options(ctx)) as platform:
        tenant = platform.store.tenant(platform.settings.tenant)
        record = MonitorSourceRecord(
            tenant_id=platform.settings.tenant,
            name=name,
            format=format_,
            token_hash=hash_token(token),
            created_at=platform.clock.now(),
        )
        try:
            tenant.monitor_sources.add(record)
        except Conflict:
            raise fail(f"a source named {name!r} exists already") from None
        audit_admin_change(platform, "monitor.source_add", name, format=format_)
    console.print(f"Source {name} ({format_}) added. Its token (shown only now):")
    console.print(token, markup=False, highlight=False)
    console.print(f"Send JSON lines: POST {INGEST_PATH} with Authorization: Bearer <token>")


@source_app.command("list")
def source_list(ctx: typer.Context) -> None:
    """The tenant's sources (never their tokens)."""
    with opened(_options(ctx)) as platform:
        sources = platform.store.tenant(platform.settings.tenant).monitor_sources.list()
    table = Table("name", "format", "created")
    for source in sources:
        table.add_row(source.name, source.format, f"{source.created_at:%Y-%m-%d %H:%M}")
    console.print(table)


@source_app.command("remove")
def source_remove(ctx: typer.Context, name: str) -> None:
    """Delete a source; its token stops working within half a minute."""
    with opened(_options(ctx)) as platform:
        removed = platform.store.tenant(platform.settings.tenant).monitor_sources.remove(name)
        if not removed:
            raise fail(f"no source named {name!r}")
        audit_admin_change(platform, "monitor.source_remove", name)
    console.print(f"Source {name} removed.")


@monitor_app.command("quarantine")
def quarantine(
    ctx: typer.Context,
    source: Annotated[str | None, typer.Option("--source", help="Only this source.")] = None,
    limit: Annotated[int, typer.Option("--limit", min=1, max=10_000)] = 50,
) -> None:
    """Input the pipeline refused, newest first: when, source, reason, excerpt."""
    with opened(_options(ctx)) as platform:
        tenant = platform.store.tenant(platform.settings.tenant)
        entries = tenant.monitor_quarantine.list(source=source, limit=limit)
    table = Table("at", "source", "reason", "detail", "excerpt")
    for entry in entries:
        table.add_row(
            f"{entry.at:%Y-%m-%d %H:%M:%S}", entry.source, entry.reason, entry.detail, entry.excerpt
        )
    console.print(table)
    if not entries:
        console.print("Nothing quarantined.")
