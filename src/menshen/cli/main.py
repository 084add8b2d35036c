"""``menshen``: serve, demo, users, sessions, keys, audit, apply/export."""

from __future__ import annotations

import getpass
import secrets
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from menshen.app import Platform
from menshen.cli.agent import agent_app
from menshen.cli.clients import client_app
from menshen.cli.compliance import compliance_app
from menshen.cli.console_serve import console_app
from menshen.cli.context import (
    Options,
    audit_admin_change,
    console,
    fail,
    opened,
)
from menshen.cli.devices import device_app
from menshen.cli.incidents import incident_app
from menshen.cli.inventory import inventory_app
from menshen.cli.monitor import monitor_app
from menshen.cli.policy import policy_app
from menshen.cli.policy_rollout import AuthorOpt, MessageOpt, author_of
from menshen.cli.report import report_app
from menshen.cli.segment import segment_app
from menshen.errors import MenshenError, NotFound
from menshen.events.export import export_jsonl, verify
from menshen.manifest.apply import apply_manifests
from menshen.manifest.export import export_manifests
from menshen.manifest.parse import parse_manifests
from menshen.manifest.versions import apply_and_record
from menshen.store.keys import is_public_only
from menshen.store.records import UserRecord

app = typer.Typer(
    help="menshen (門神): zero-trust access for financial firms.", no_args_is_help=True
)
user_app = typer.Typer(help="Local users.", no_args_is_help=True)
mfa_app = typer.Typer(help="A user's second factor.", no_args_is_help=True)
session_app = typer.Typer(help="Sessions (the policy administrator).", no_args_is_help=True)
keys_app = typer.Typer(help="Identity-assertion signing keys.", no_args_is_help=True)
audit_app = typer.Typer(help="The hash-chained audit log.", no_args_is_help=True)
app.add_typer(user_app, name="user")
user_app.add_typer(mfa_app, name="mfa")
app.add_typer(session_app, name="session")
app.add_typer(keys_app, name="keys")
app.add_typer(audit_app, name="audit")
app.add_typer(policy_app, name="policy")
app.add_typer(inventory_app, name="inventory")
app.add_typer(segment_app, name="segment")
app.add_typer(device_app, name="device")
app.add_typer(client_app, name="client")
app.add_typer(agent_app, name="agent")
app.add_typer(incident_app, name="incident")
app.add_typer(monitor_app, name="monitor")
app.add_typer(console_app, name="console")
app.add_typer(report_app, name="report")
app.add_typer(compliance_app, name="compliance")
# policy command modules (each registers its commands on policy_app):
import menshen.cli.compliance_declare as _compliance_declare  # noqa: F401, E402
import menshen.cli.monitor_baselines as _monitor_baselines  # noqa: F401, E402
import menshen.cli.monitor_response as _monitor_response  # noqa: F401, E402
import menshen.cli.monitor_sources as _monitor_sources  # noqa: F401, E402
import menshen.cli.picture as _picture  # noqa: F401, E402
import menshen.cli.policy_rollout as _policy_rollout  # noqa: F401, E402
import menshen.cli.policy_tools  # noqa: F401, E402
import menshen.cli.segment_compile as _segment_compile  # noqa: F401, E402
from menshen.cli import discover, risks, suggest  # noqa: F401, E402  (inventory/segment commands)

ConfigOpt = Annotated[
    Path | None, typer.Option("--config", "-c", help="Settings file (menshen.yaml).")
]
TenantOpt = Annotated[str | None, typer.Option("--tenant", help="Tenant (firm) id.")]
DataDirOpt = Annotated[Path | None, typer.Option("--data-dir", help="Data directory.")]


@app.callback()
def _root(
    ctx: typer.Context,
    config: ConfigOpt = None,
    tenant: TenantOpt = None,
    data_dir: DataDirOpt = None,
) -> None:
    ctx.obj = Options(config, tenant, data_dir)


def _options(ctx: typer.Context) -> Options:
    options = ctx.obj
    assert isinstance(options, Options)
    return options


# -- serve / demo ---------------------------------------------------------------------------
@app.command()
def serve(ctx: typer.Context) -> None:
    """Run the gateway until interrupted."""
    from menshen.cli.run import run_server

    try:
        settings = _options(ctx).settings()
    except MenshenError as exc:
        raise fail(str(exc)) from None
    run_server(settings)


@app.command()
def demo(
    data_dir: Annotated[Path, typer.Option(help="Where the demo keeps its state.")] = Path(
        ".menshen-demo"
    ),
    port: Annotated[int, typer.Option(help="HTTP port of the gateway.")] = 8800,
    tls_port: Annotated[int, typer.Option(help="HTTPS port of the gateway.")] = 8843,
) -> None:
    """Start the demo firm Formosa Pay: the gateway and two sample apps, in one process."""
    from menshen.cli.run import run_demo

    run_demo(data_dir, port=port, tls_port=tls_port)


# -- users ----------------------------------------------------------------------------------
@user_app.command("add")
def user_add(
    ctx: typer.Context,
    username: str,
    email: Annotated[str, typer.Option(help="E-mail address.")],
    name: Annotated[str, typer.Option(help="Display name.")] = "",
    group: Annotated[list[str] | None, typer.Option(help="Group to join (repeatable).")] = None,
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the password from standard input.")
    ] = False,
) -> None:
    """Create a local user (asks for the password, or reads it from stdin)."""
    if password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = getpass.getpass("Password: ")
    with opened(_options(ctx)) as platform:
        tenant = platform.settings.tenant
        identity = platform.identity(tenant)
        for name_of_group in group or []:
            if platform.store.tenant(tenant).groups.by_name(name_of_group) is None:
                raise NotFound(f"no group {name_of_group!r} (create it with menshen apply)")
        user = identity.create_user(username, email, name or username, password)
        for name_of_group in group or []:
            identity.add_member(name_of_group, user.username)
        audit_admin_change(platform, "user.add", user.id, username=user.username)
        console.print(f"created user [bold]{user.username}[/] ({user.id})")


@user_app.command("list")
def user_list(ctx: typer.Context) -> None:
    """List users with their groups and second factor."""
    with opened(_options(ctx)) as platform:
        tenant = platform.settings.tenant
        identity = platform.identity(tenant)
        table = Table("username", "email", "groups", "MFA", "status")
        for user in platform.store.tenant(tenant).users.list():
            table.add_row(
                user.username,
                user.email,
                ", ".join(sorted(identity.groups_of(user.id))),
                "totp" if identity.has_totp(user.id) else "-",
                "disabled" if user.disabled else "active",
            )
        console.print(table)


@user_app.command("disable")
def user_disable(ctx: typer.Context, username: str) -> None:
    """Disable a user and revoke every session they hold."""
    with opened(_options(ctx)) as platform:
        tenant = platform.settings.tenant
        user = _user(platform, username)
        platform.identity(tenant).disable_user(user.id)
        revoked = platform.store.tenant(tenant).sessions.revoke_for_user(
            user.id, at=platform.clock.now(), by="cli", reason="user disabled"
        )
        audit_admin_change(platform, "user.disable", user.id, sessions_revoked=str(len(revoked)))
        console.print(f"disabled [bold]{username}[/]; revoked {len(revoked)} session(s)")


@mfa_app.command("reset")
def user_mfa_reset(ctx: typer.Context, username: str) -> None:
    """Remove a user's TOTP and recovery codes (they enrol again at next sign-in)."""
    with opened(_options(ctx)) as platform:
        tenant = platform.settings.tenant
        user = _user(platform, username)
        platform.identity(tenant).reset_mfa(user.id)
        revoked = platform.store.tenant(tenant).sessions.revoke_for_user(
            user.id, at=platform.clock.now(), by="cli", reason="MFA reset"
        )
        audit_admin_change(platform, "user.mfa.reset", user.id)
        console.print(f"reset MFA of [bold]{username}[/]; revoked {len(revoked)} session(s)")


def _user(platform: Platform, username: str) -> UserRecord:
    user = platform.store.tenant(platform.settings.tenant).users.by_username(username.lower())
    if user is None:
        raise NotFound(f"no user {username!r}")
    return user


# -- sessions -------------------------------------------------------------------------------
@session_app.command("list")
def session_list(
    ctx: typer.Context,
    username: Annotated[str | None, typer.Option("--user", help="Only this user's.")] = None,
) -> None:
    """List active sessions."""
    with opened(_options(ctx)) as platform:
        tenant = platform.store.tenant(platform.settings.tenant)
        now = platform.clock.now()
        if username is not None:
            records = list(tenant.sessions.list_for_user(_user(platform, username).id))
        else:
            records = list(tenant.sessions.list_active(now))
        names = {user.id: user.username for user in tenant.users.list()}
        table = Table("id", "user", "level", "MFA", "browser", "ip", "started", "last seen")
        for record in records:
            table.add_row(
                record.id,
                names.get(record.user_id, record.user_id),
                record.auth_level,
                record.mfa_method or "-",
                record.user_agent_family,
                record.ip,
                f"{record.created_at:%Y-%m-%d %H:%M}",
                f"{record.last_seen_at:%Y-%m-%d %H:%M}",
            )
        console.print(table)


@session_app.command("revoke")
def session_revoke(
    ctx: typer.Context,
    session_id: Annotated[str | None, typer.Argument(help="Session id.")] = None,
    username: Annotated[str | None, typer.Option("--user", help="Every session of a user.")] = None,
) -> None:
    """Revoke a session, or all of a user's; running gateways refuse it within a second."""
    if (session_id is None) == (username is None):
        raise fail("give a session id or --user, not both")
    with opened(_options(ctx)) as platform:
        tenant = platform.store.tenant(platform.settings.tenant)
        now = platform.clock.now()
        if session_id is not None:
            if not tenant.sessions.revoke(session_id, at=now, by="cli", reason="revoked by admin"):
                raise NotFound(f"no active session {session_id!r}")
            audit_admin_change(platform, "session.revoke", session_id)
            console.print(f"revoked session {session_id}")
        else:
            assert username is not None
            user = _user(platform, username)
            ids = tenant.sessions.revoke_for_user(
                user.id, at=now, by="cli", reason="revoked by admin"
            )
            audit_admin_change(platform, "session.revoke_user", user.id, count=str(len(ids)))
            console.print(f"revoked {len(ids)} session(s) of {username}")


# -- keys -----------------------------------------------------------------------------------
@keys_app.command("rotate")
def keys_rotate(ctx: typer.Context) -> None:
    """Start signing with a new key; the old one stays published until its tokens expire.

    A pruned key that signed compliance reports keeps its public half so they still verify.
    """
    with opened(_options(ctx)) as platform:
        keyring = platform.keyring(platform.settings.tenant)
        new = keyring.rotate()
        pruned = keyring.prune()
        kept = [
            key.kid
            for key in platform.store.tenant(platform.settings.tenant).keys.list()
            if key.kid in pruned and is_public_only(key)
        ]
        audit_admin_change(platform, "keys.rotate", new.kid, pruned=str(pruned), kept=str(kept))
        console.print(
            f"new signing key [bold]{new.kid}[/]; pruned {len(pruned)} expired key(s), of which"
            f" {len(kept)} kept (public half only) to verify signed reports"
        )


@keys_app.command("list")
def keys_list(ctx: typer.Context) -> None:
    """List signing keys."""
    with opened(_options(ctx)) as platform:
        table = Table("kid", "created", "retired", "kept for reports")
        for key in platform.store.tenant(platform.settings.tenant).keys.list():
            retired = "-" if key.retired_at is None else f"{key.retired_at:%Y-%m-%d %H:%M}"
            kept = "yes (public only)" if is_public_only(key) else "-"
            table.add_row(key.kid, f"{key.created_at:%Y-%m-%d %H:%M}", retired, kept)
        console.print(table)


# -- audit ----------------------------------------------------------------------------------
@audit_app.command("verify")
def audit_verify(ctx: typer.Context) -> None:
    """Prove the audit log's hash chain intact (exit 1 and the first bad row if not)."""
    with opened(_options(ctx)) as platform:
        report = verify(platform.store.tenant(platform.settings.tenant))
        if not report.ok:
            console.print(
                f"[bold red]audit chain BROKEN[/] at seq {report.first_bad_seq}: {report.reason}"
            )
            raise typer.Exit(1)
        console.print(f"[green]audit chain intact[/]: {report.count} event(s)")


@audit_app.command("export")
def audit_export(
    ctx: typer.Context,
    fmt: Annotated[str, typer.Option("--format", help="Only jsonl for now.")] = "jsonl",
    output: Annotated[Path | None, typer.Option("--output", "-o")] = None,
    after: Annotated[int, typer.Option(help="Only events after this seq.")] = 0,
) -> None:
    """Export the audit log for a SIEM (JSON lines, with seq and hashes)."""
    if fmt != "jsonl":
        raise fail(f"unknown format {fmt!r}; use jsonl")
    with opened(_options(ctx)) as platform:
        tenant = platform.store.tenant(platform.settings.tenant)
        if output is None:
            export_jsonl(tenant, sys.stdout, after_seq=after)
        else:
            with output.open("w", encoding="utf-8") as out:
                count = export_jsonl(tenant, out, after_seq=after)
            console.print(f"wrote {count} event(s) to {output}")


# -- declarative config ---------------------------------------------------------------------
@app.command("apply")
def apply_cmd(
    ctx: typer.Context,
    file: Annotated[Path, typer.Option("--file", "-f", help="YAML with App, Group, Policy.")],
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Validate and show, change nothing.")
    ] = False,
    message: MessageOpt = "",
    author: AuthorOpt = None,
) -> None:
    """Create or update apps, groups and policies (idempotent; all or nothing; versioned)."""
    try:
        text = file.read_text(encoding="utf-8")
    except OSError as exc:
        raise fail(f"{file}: {exc.strerror}") from None
    with opened(_options(ctx)) as platform:
        manifests = parse_manifests(text, str(file), known_apps=None)
        tenant = platform.store.tenant(platform.settings.tenant)
        version = None
        if dry_run:
            report = apply_manifests(tenant, manifests, dry_run=True, clock=platform.clock)
        else:
            recorded = apply_and_record(
                tenant,
                manifests,
                clock=platform.clock,
                author=author_of(author),
                source=file.name,
                message=message,
            )
            report, version = recorded.report, recorded.version
        verb = {"created": "[green]created[/]", "updated": "[yellow]updated[/]"}
        for item in report.items:
            action = str(item.action.value if hasattr(item.action, "value") else item.action)
            console.print(
                f"{item.ref} {verb.get(action, action)}" + (" (dry run)" if dry_run else "")
            )
        if not dry_run and report.changed:
            summary = f"created {len(report.created)}, updated {len(report.updated)}"
            recorded_as = "" if version is None else str(version.version)
            audit_admin_change(
                platform, "config.apply", str(file), summary=summary, version=recorded_as
            )
        if version is not None:
            console.print(f"recorded as policy version {version.version}")


@app.command("export")
def export_cmd(ctx: typer.Context) -> None:
    """Print apps, groups and policies as YAML that `menshen apply` takes back unchanged."""
    with opened(_options(ctx)) as platform:
        sys.stdout.write(export_manifests(platform.store.tenant(platform.settings.tenant)))


def new_password() -> str:
    return secrets.token_urlsafe(15)


def main() -> None:
    app()
