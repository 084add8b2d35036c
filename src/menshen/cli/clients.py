"""``menshen client …``: machine identities (OAuth2 client credentials, API keys).

A credential is printed once, when it is made, and never again (the store keeps a keyed
hash). Every change is written to the audit log at once. Running gateways see a change at
their next state refresh (``state_refresh_seconds``): a suspended, expired or deleted
client, or a revoked credential, is refused from that moment, tokens issued earlier too.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated

import typer
from rich.table import Table

from menshen.app import Platform
from menshen.cli.context import Options, audit_admin_change, console, fail, opened
from menshen.identity.clients import API_KEY, SECRET, IssuedCredential
from menshen.policy.duration import format_duration, parse_duration
from menshen.store.clients import ClientCredentialRecord

client_app = typer.Typer(
    help="Machine clients: OAuth2 client credentials and API keys.", no_args_is_help=True
)

KindOpt = Annotated[
    str, typer.Option("--kind", help="Credential kind: secret (OAuth2) or api_key.")
]
LifetimeOpt = Annotated[
    str, typer.Option("--credential-lifetime", help="How long the credential is valid (90d).")
]


def _options(ctx: typer.Context) -> Options:
    options = ctx.find_root().obj
    assert isinstance(options, Options)
    return options


def _duration(text: str, *, zero: bool = False) -> timedelta:
    if zero and text in ("0", "0s"):
        return timedelta(0)
    try:
        return parse_duration(text)
    except ValueError as exc:
        raise fail(str(exc)) from None


def _when(at: datetime | None) -> str:
    return "-" if at is None else f"{at:%Y-%m-%d %H:%M}"


def _state(platform: Platform, expires_at: datetime | None, suspended: bool) -> str:
    if suspended:
        return "suspended"
    if expires_at is not None and platform.clock.now() >= expires_at:
        return "expired"
    return "active"


def _credential_state(platform: Platform, record: ClientCredentialRecord) -> str:
    if record.revoked_at is not None:
        return "revoked"
    return _state(platform, record.expires_at, False)


def _show_issued(name: str, issued: IssuedCredential) -> None:
    record = issued.record
    console.print(f"client id:   [bold]{name}[/]")
    label = "API key:    " if record.kind == API_KEY else "secret:     "
    console.print(f"{label} {issued.value}", soft_wrap=True, highlight=False)
    console.print(f"credential:  {record.id} (expires {_when(record.expires_at)})")
    console.print("[yellow]This is the only time it is shown: store it now.[/]")


@client_app.command("create")
def client_create(
    ctx: typer.Context,
    name: str,
    description: Annotated[str, typer.Option(help="What the client is for.")] = "",
    owner: Annotated[str, typer.Option(help="Who answers for it (team, partner).")] = "",
    scope: Annotated[list[str] | None, typer.Option(help="A scope it may ask for.")] = None,
    expires_in: Annotated[
        str | None, typer.Option("--expires-in", help="Client expiry (e.g. 365d).")
    ] = None,
    kind: KindOpt = SECRET,
    lifetime: LifetimeOpt = "90d",
) -> None:
    """Register a machine client and print its first credential (once)."""
    with opened(_options(ctx)) as platform:
        tenant = platform.settings.tenant
        now = platform.clock.now()
        expires_at = None if expires_in is None else now + _duration(expires_in)
        record, issued = platform.machine_clients(tenant).create(
            name,
            by="cli",
            description=description,
            owner=owner,
            scopes=scope or (),
            expires_at=expires_at,
            kind=kind,
            credential_lifetime=_duration(lifetime),
        )
        audit_admin_change(
            platform, "client.create", f"client:{record.name}", credential=issued.record.id
        )
        _show_issued(record.name, issued)


@client_app.command("list")
def client_list(ctx: typer.Context) -> None:
    """List machine clients with their state and last use."""
    with opened(_options(ctx)) as platform:
        repo = platform.store.tenant(platform.settings.tenant).machine_clients
        table = Table("name", "owner", "scopes", "status", "expires", "last used")
        for record in repo.list():
            table.add_row(
                record.name,
                record.owner or "-",
                record.scopes or "-",
                _state(platform, record.expires_at, record.suspended_at is not None),
                _when(record.expires_at),
                _when(record.last_used_at),
            )
        console.print(table)


@client_app.command("show")
def client_show(ctx: typer.Context, name: str) -> None:
    """One client and its credentials (never the secrets)."""
    with opened(_options(ctx)) as platform:
        tenant = platform.settings.tenant
        record = platform.machine_clients(tenant).get(name)
        suspended = record.suspended_at is not None
        rows = [
            ("name (client_id)", record.name),
            ("description", record.description or "-"),
            ("owner", record.owner or "-"),
            ("scopes", record.scopes or "-"),
            ("status", _state(platform, record.expires_at, suspended)),
            ("created", f"{_when(record.created_at)} by {record.created_by}"),
            ("expires", _when(record.expires_at)),
            ("last used", _when(record.last_used_at)),
        ]
        if suspended:
            rows.append(
                (
                    "suspended",
                    f"{_when(record.suspended_at)} by {record.suspended_by}: "
                    f"{record.suspend_reason or ''}",
                )
            )
        table = Table("field", "value")
        for field_name, value in rows:
            table.add_row(field_name, value)
        console.print(table)
        creds = Table("credential", "kind", "created", "expires", "status")
        repo = platform.store.tenant(tenant).machine_clients
        for credential in repo.credentials(name):
            creds.add_row(
                credential.id,
                credential.kind,
                _when(credential.created_at),
                _when(credential.expires_at),
                _credential_state(platform, credential),
            )
        console.print(creds)


@client_app.command("rotate")
def client_rotate(
    ctx: typer.Context,
    name: str,
    kind: KindOpt = SECRET,
    grace: Annotated[
        str, typer.Option(help="How long the old credentials stay valid (0s: at once).")
    ] = "24h",
    lifetime: LifetimeOpt = "90d",
) -> None:
    """Issue a new credential; the old ones of that kind expire after the grace period."""
    with opened(_options(ctx)) as platform:
        grace_period = _duration(grace, zero=True)
        issued = platform.machine_clients(platform.settings.tenant).rotate(
            name, kind=kind, grace=grace_period, lifetime=_duration(lifetime)
        )
        audit_admin_change(
            platform,
            "client.rotate",
            f"client:{name}",
            credential=issued.record.id,
            grace=format_duration(grace_period),
        )
        _show_issued(name, issued)


@client_app.command("revoke-secret")
def client_revoke_secret(ctx: typer.Context, name: str, credential_id: str) -> None:
    """Revoke one credential (secret or API key) at once; its tokens are refused too."""
    with opened(_options(ctx)) as platform:
        platform.machine_clients(platform.settings.tenant).revoke_credential(name, credential_id)
        audit_admin_change(
            platform, "client.revoke_secret", f"client:{name}", credential=credential_id
        )
        console.print(f"revoked credential {credential_id} of [bold]{name}[/]")


@client_app.command("suspend")
def client_suspend(
    ctx: typer.Context,
    name: str,
    reason: Annotated[
        str, typer.Option(help="Why (kept with the client).")
    ] = "suspended by an admin",
) -> None:
    """Refuse the client and every token it holds."""
    with opened(_options(ctx)) as platform:
        done = platform.machine_clients(platform.settings.tenant).suspend(
            name, by="cli", reason=reason
        )
        if done:
            audit_admin_change(platform, "client.suspend", f"client:{name}", reason=reason)
        console.print(f"[bold]{name}[/] {'suspended' if done else 'was suspended already'}")


@client_app.command("resume")
def client_resume(ctx: typer.Context, name: str) -> None:
    """Lift a suspension (tokens issued before it stay refused: ask for new ones)."""
    with opened(_options(ctx)) as platform:
        done = platform.machine_clients(platform.settings.tenant).resume(name)
        if done:
            audit_admin_change(platform, "client.resume", f"client:{name}")
        console.print(f"[bold]{name}[/] {'resumed' if done else 'was not suspended'}")


@client_app.command("delete")
def client_delete(ctx: typer.Context, name: str) -> None:
    """Delete the client and all its credentials."""
    with opened(_options(ctx)) as platform:
        platform.machine_clients(platform.settings.tenant).delete(name)
        audit_admin_change(platform, "client.delete", f"client:{name}")
        console.print(f"deleted [bold]{name}[/]")
