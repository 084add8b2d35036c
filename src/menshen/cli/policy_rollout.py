"""``menshen policy versions|show|rollback|shadow``: roll policy out, and back, with evidence.

Versions and rollback: NIST SP 800-53 CM-3 (change control) and CM-2(3) (previous
configurations kept); shadow mode: a candidate judged on live traffic, never enforced
(NIST SP 800-207 §3.3). Registered on ``policy_app`` when ``menshen.cli.main`` imports it.
"""

from __future__ import annotations

import getpass
import sys
from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from menshen.app import Platform
from menshen.cli.context import Options, audit_admin_change, console, fail, opened
from menshen.cli.policy import policy_app
from menshen.errors import ConfigError, NotFound
from menshen.events.shadow_report import ShadowReport, summarise
from menshen.manifest.apply import Action
from menshen.manifest.shadow import load_candidate, start_shadow, stop_shadow
from menshen.manifest.versions import rollback
from menshen.policy.duration import parse_duration
from menshen.store.api import TenantStore

shadow_app = typer.Typer(
    help="Shadow mode: judge live traffic with a candidate policy too, enforce only the active.",
    no_args_is_help=True,
)
policy_app.add_typer(shadow_app, name="shadow")

AuthorOpt = Annotated[
    str | None, typer.Option("--author", help="Who makes the change (default: cli:<OS user>).")
]
MessageOpt = Annotated[str, typer.Option("--message", "-m", help="Why (kept with the version).")]


def author_of(given: str | None) -> str:
    """``given``, or ``cli:<the OS user>`` for changes made from this command line."""
    if given:
        return given
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):
        return "cli:unknown"


def _options(ctx: typer.Context) -> Options:
    # Subcommands of nested groups see the root's Options on the outermost context.
    options = ctx.find_root().obj
    assert isinstance(options, Options)
    return options


def _tenant(platform: Platform) -> TenantStore:
    return platform.store.tenant(platform.settings.tenant)


# -- versions -------------------------------------------------------------------------------
@policy_app.command("versions")
def versions_cmd(ctx: typer.Context) -> None:
    """List recorded versions of the declarative config, oldest first."""
    with opened(_options(ctx)) as platform:
        table = Table("version", "recorded", "author", "source", "message", "sha256")
        for record in _tenant(platform).policy_versions.list():
            table.add_row(
                str(record.version),
                f"{record.created_at:%Y-%m-%d %H:%M:%S}",
                record.author,
                record.source,
                record.message,
                record.sha256[:12],
            )
        console.print(table)


@policy_app.command("show")
def show_cmd(
    ctx: typer.Context, version: Annotated[int, typer.Argument(help="Version number.")]
) -> None:
    """Print a recorded version as YAML (`menshen apply` takes it back)."""
    with opened(_options(ctx)) as platform:
        record = _tenant(platform).policy_versions.get(version)
        if record is None:
            raise NotFound(f"no policy version {version}")
        sys.stdout.write(record.document)


@policy_app.command("rollback")
def rollback_cmd(
    ctx: typer.Context,
    version: Annotated[int, typer.Argument(help="The version to make current again.")],
    message: MessageOpt = "",
    author: AuthorOpt = None,
) -> None:
    """Make apps, policies and IP lists equal to a version (all or nothing); record it."""
    with opened(_options(ctx)) as platform:
        report = rollback(
            _tenant(platform),
            version,
            clock=platform.clock,
            author=author_of(author),
            message=message,
        )
        for item in report.applied.items:
            if item.action is not Action.UNCHANGED:
                console.print(f"{item.ref} {item.action.value}")
        for ref in report.removed:
            console.print(f"{ref} [red]removed[/]")
        for ref in report.kept:
            console.print(f"{ref} kept (rollback never removes groups or memberships)")
        new = report.version.version
        audit_admin_change(
            platform,
            "config.rollback",
            f"version {version}",
            recorded=str(new),
            removed=str(len(report.removed)),
        )
        console.print(f"rolled back to version {version}; recorded as version {new}")


# -- shadow ---------------------------------------------------------------------------------
@shadow_app.command("start")
def shadow_start(
    ctx: typer.Context,
    file: Annotated[Path, typer.Option("--file", "-f", help="Candidate YAML (like apply).")],
    author: AuthorOpt = None,
) -> None:
    """Validate a candidate and judge every live request with it too (nothing enforced)."""
    try:
        text = file.read_text(encoding="utf-8")
    except OSError as exc:
        raise fail(f"{file}: {exc.strerror}") from None
    with opened(_options(ctx)) as platform:
        candidate = start_shadow(
            _tenant(platform), text, str(file), clock=platform.clock, author=author_of(author)
        )
        audit_admin_change(
            platform, "policy.shadow.start", str(file), sha256=candidate.record.sha256
        )
        apps = ", ".join(sorted(candidate.policy.apps)) or "no apps"
        console.print(
            f"shadowing [bold]{file}[/] (judges {apps}); "
            "gateways pick it up on their next refresh; nobody's access changes"
        )


@shadow_app.command("stop")
def shadow_stop(ctx: typer.Context) -> None:
    """Stop judging with the candidate."""
    with opened(_options(ctx)) as platform:
        removed = stop_shadow(_tenant(platform))
        if removed is None:
            raise fail("no candidate is being shadowed")
        audit_admin_change(platform, "policy.shadow.stop", removed.source)
        console.print(f"stopped shadowing {removed.source}")


@shadow_app.command("report")
def shadow_report(
    ctx: typer.Context,
    since: Annotated[
        str | None,
        typer.Option(
            help="From when: a duration back (2h, 7d) or an ISO time "
            "(default: since the current candidate started, else everything)."
        ),
    ] = None,
    examples: Annotated[int, typer.Option(help="How many recent examples to show.")] = 10,
) -> None:
    """Requests the candidate would have judged differently, by rule and user, with examples."""
    with opened(_options(ctx)) as platform:
        tenant = _tenant(platform)
        start = _since(since, platform.clock.now())
        if start is None:
            current = tenant.policy_candidate.get()
            start = None if current is None else current.created_at
        names: dict[str, str] = {}

        def username(user_id: str) -> str:
            if user_id not in names:
                user = tenant.users.get(user_id)
                names[user_id] = user_id if user is None else user.username
            return names[user_id]

        report = summarise(
            tenant.audit.iterate(), username=username, since=start, examples=examples
        )
        _print_report(report, start, _status(tenant))


def _status(tenant: TenantStore) -> str:
    try:
        candidate = load_candidate(tenant)
    except ConfigError as exc:
        return f"candidate no longer compiles ({exc}); gateways ignore it"
    if candidate is None:
        return "no candidate is being shadowed"
    record = candidate.record
    return (
        f"shadowing {record.source} since {record.created_at:%Y-%m-%d %H:%M:%S} ({record.author})"
    )


def _since(text: str | None, now: datetime) -> datetime | None:
    if text is None:
        return None
    try:
        return now - parse_duration(text)
    except ValueError:
        pass
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise fail(f"--since {text!r}: give a duration (2h, 7d) or an ISO time") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=now.tzinfo)
    return moment


def _print_report(report: ShadowReport, since: datetime | None, status: str) -> None:
    console.print(status)
    window = "ever" if since is None else f"since {since:%Y-%m-%d %H:%M:%S}"
    console.print(f"{report.total} disagreement(s) {window}")
    if not report.total:
        return
    rules = Table("app", "active -> candidate", "requests", title="by rule")
    for app, change, count in report.by_rule:
        rules.add_row(app, change, str(count))
    console.print(rules)
    users = Table("user", "requests", title="by user")
    for user, count in report.by_user:
        users.add_row(user, str(count))
    console.print(users)
    recent = Table("time", "user", "app", "request", "active -> candidate", title="examples")
    for item in report.examples:
        recent.add_row(
            f"{item.at:%Y-%m-%d %H:%M:%S}",
            item.user,
            item.app,
            f"{item.method} {item.path}",
            item.change,
        )
    console.print(recent)
