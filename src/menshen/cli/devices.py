"""``menshen device list|show|approve|revoke``: the tenant's device registry, for admins.

Approval is the most an admin vouches for (the trust ceiling, NIST SP 800-207 §3.3.1);
revocation is final and ends every session bound to the device (§2.1 tenet 5). Running
gateways refuse a revoked device at their next state refresh; sessions they have bound in
memory but not yet written are ended by the gateway itself when it sees the revocation.
"""

from __future__ import annotations

import getpass
from datetime import datetime
from typing import Annotated

import typer
from rich.table import Table

from menshen.app import Platform
from menshen.cli.context import Options, console, opened
from menshen.errors import NotFound
from menshen.events.bus import EventBus
from menshen.events.model import AuditEvent, Outcome
from menshen.events.writer import AuditWriter
from menshen.identity.devices.model import APPROVABLE_TRUST, DeviceEvents
from menshen.identity.devices.rules import trust_level
from menshen.store.records import DeviceRecord

device_app = typer.Typer(help="Enrolled devices (device trust).", no_args_is_help=True)


def _options(ctx: typer.Context) -> Options:
    options = ctx.find_root().obj
    assert isinstance(options, Options)
    return options


def _when(at: datetime | None) -> str:
    return "-" if at is None else f"{at:%Y-%m-%d %H:%M}"


def _names(platform: Platform) -> dict[str, str]:
    users = platform.store.tenant(platform.settings.tenant).users.list()
    return {user.id: user.username for user in users}


def _audit(
    platform: Platform, kind: str, record: DeviceRecord, reason: str, **details: str
) -> None:
    """Record a change made from the command line (written at once)."""
    try:
        operator = getpass.getuser()
    except (KeyError, OSError):
        operator = "unknown"
    writer = AuditWriter(platform.store, EventBus(), platform.clock)
    writer.write_now(
        [
            AuditEvent(
                tenant_id=platform.settings.tenant,
                kind=kind,
                outcome=Outcome.SUCCESS,
                at=platform.clock.now(),
                actor=f"cli:{operator}",
                subject=record.user_id,
                reason=reason,
                details={"device": record.id, **details},
            )
        ]
    )


def _device(platform: Platform, device_id: str) -> DeviceRecord:
    record = platform.store.tenant(platform.settings.tenant).devices.get(device_id)
    if record is None:
        raise NotFound(f"no device {device_id!r}")
    return record


@device_app.command("list")
def device_list(
    ctx: typer.Context,
    username: Annotated[str | None, typer.Option("--user", help="Only this user's.")] = None,
) -> None:
    """List devices with the trust the policy sees now."""
    with opened(_options(ctx)) as platform:
        tenant_id = platform.settings.tenant
        service = platform.devices(tenant_id)
        names = _names(platform)
        if username is None:
            records = service.list_all()
        else:
            user = platform.store.tenant(tenant_id).users.by_username(username.lower())
            if user is None:
                raise NotFound(f"no user {username!r}")
            records = service.list_for_user(user.id)
        now = platform.clock.now()
        table = Table("id", "user", "name", "approved", "trust now", "last report", "status")
        for record in records:
            table.add_row(
                record.id,
                names.get(record.user_id, record.user_id),
                record.name,
                record.approved_trust,
                trust_level(record, service.rules, now),
                _when(record.posture_reported_at),
                "revoked" if record.revoked_at is not None else "active",
            )
        console.print(table)


@device_app.command("show")
def device_show(ctx: typer.Context, device_id: str) -> None:
    """Everything the registry knows about one device."""
    with opened(_options(ctx)) as platform:
        record = _device(platform, device_id)
        service = platform.devices(platform.settings.tenant)
        rows = [
            ("id", record.id),
            ("user", _names(platform).get(record.user_id, record.user_id)),
            ("name", record.name),
            ("key thumbprint", record.key_thumbprint),
            ("certificate serial", record.certificate_serial or "-"),
            ("certificate expires", _when(record.certificate_not_after)),
            ("approved trust", record.approved_trust),
            ("approved by", f"{record.approved_by or '-'} at {_when(record.approved_at)}"),
            ("trust now", trust_level(record, service.rules, platform.clock.now())),
            ("posture", ", ".join(f"{k}={v}" for k, v in sorted(record.posture.items())) or "-"),
            ("last report", _when(record.posture_reported_at)),
            ("enrolled", _when(record.created_at)),
            ("revoked", f"{_when(record.revoked_at)} {record.revoke_reason or ''}".strip()),
        ]
        table = Table("field", "value")
        for field_name, value in rows:
            table.add_row(field_name, value)
        console.print(table)


@device_app.command("approve")
def device_approve(
    ctx: typer.Context,
    device_id: str,
    trust: Annotated[
        str, typer.Option(help=f"The most you vouch for: {', '.join(APPROVABLE_TRUST)}.")
    ] = "managed",
) -> None:
    """Vouch for a device up to a trust level (managed also needs fresh posture reports)."""
    with opened(_options(ctx)) as platform:
        service = platform.devices(platform.settings.tenant)
        record = service.approve(device_id, by="cli", trust=trust)
        _audit(platform, DeviceEvents.APPROVED, record, f"approved up to {trust}", trust=trust)
        now_trust = trust_level(record, service.rules, platform.clock.now())
        console.print(f"approved {device_id} up to [bold]{trust}[/]; trust now: {now_trust}")


@device_app.command("revoke")
def device_revoke(
    ctx: typer.Context,
    device_id: str,
    reason: Annotated[str, typer.Option(help="Why (kept on record).")] = "revoked by admin",
) -> None:
    """Revoke a device and end every session bound to it."""
    with opened(_options(ctx)) as platform:
        tenant_id = platform.settings.tenant
        record = _device(platform, device_id)
        revoked = platform.devices(tenant_id).revoke(device_id, by="cli", reason=reason)
        sessions = platform.store.tenant(tenant_id).sessions.revoke_for_device(
            device_id, at=revoked.revoked_at, by="cli", reason="device revoked"
        )
        _audit(platform, DeviceEvents.REVOKED, record, reason, sessions_ended=str(len(sessions)))
        console.print(f"revoked {device_id}; ended {len(sessions)} session(s)")
