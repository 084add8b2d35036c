"""``menshen compliance declare | declarations | undeclare``: controls the firm handles outside
menshen, each with a justification and an optional attached file (ISO/IEC 27001:2022 §7.5
documented information). A declaration is always shown as declared, never as measured.

    menshen compliance declare iso-27001/A.7.2 --outcome pass \\
        --justification "Badge readers at both doors" --attach badge-audit.pdf \\
        --expires 2027-06-30 --by ciso@formosa-pay.example
    menshen compliance declarations
    menshen compliance undeclare iso-27001/A.7.2

The control must exist in the tenant's catalog (packaged and ``catalog_dirs``); the service
refuses an empty justification and an attachment over the store's limit, and audits each
change (``compliance.declared``, ``compliance.declaration_withdrawn``).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Column, Table

from menshen.cli.compliance import (
    TenantOpt,
    coloured,
    compliance_app,
    near,
    opened_service,
    operator_of,
    options_of,
)
from menshen.cli.context import console, fail
from menshen.compliance.model import Catalog, Outcome
from menshen.store.compliance import MAX_ATTACHMENT_BYTES, MAX_JUSTIFICATION_CHARS

__all__ = ["Declarable", "declarations", "declare", "undeclare"]


class Declarable(StrEnum):
    """What a firm may declare: never ``not_assessed`` (and a failure is simply measured)."""

    PASS = "pass"  # noqa: S105 - an outcome, not a password
    PARTIAL = "partial"
    NOT_APPLICABLE = "not_applicable"


@compliance_app.command("declare")
def declare(
    ctx: typer.Context,
    control_id: Annotated[str, typer.Argument(help="Control id, e.g. iso-27001/A.7.2.")],
    outcome: Annotated[Declarable, typer.Option("--outcome", help="What the firm declares.")],
    justification: Annotated[
        str, typer.Option("--justification", help="Why (shown beside the control).")
    ],
    by: Annotated[str, typer.Option("--by", help="Who answers for the declaration.")],
    attach: Annotated[
        Path | None, typer.Option("--attach", help="A file that supports it (at most 5 MiB).")
    ] = None,
    expires: Annotated[
        str | None, typer.Option("--expires", help="YYYY-MM-DD: it lapses at 00:00 UTC then.")
    ] = None,
    tenant: TenantOpt = None,
) -> None:
    """Mark a control as handled outside menshen (shown as declared, never as measured)."""
    if not justification.strip():
        raise fail("a declaration needs a justification (--justification TEXT)")
    if len(justification) > MAX_JUSTIFICATION_CHARS:
        raise fail(f"the justification is longer than {MAX_JUSTIFICATION_CHARS} characters")
    if not by.strip():
        raise fail("say who answers for the declaration (--by NAME)")
    expires_at = None if expires is None else _expiry(expires)
    attachment = None if attach is None else (attach.name, _attachment(attach))
    with opened_service(options_of(ctx, tenant)) as (platform, service):
        tenant_id = platform.settings.tenant
        _known_control(service.catalog(tenant_id), control_id)
        made = service.declare(
            tenant_id,
            control_id,
            outcome=Outcome(outcome.value),
            justification=justification,
            by=by.strip(),
            attachment=attachment,
            expires_at=expires_at,
        )
    console.print(f"declared {made.control_id} {coloured(made.outcome)} by {made.by}")
    if made.attachment_sha256 is not None:
        console.print(f"attached {made.attachment_name} sha256 {made.attachment_sha256}")


@compliance_app.command("declarations")
def declarations(ctx: typer.Context, tenant: TenantOpt = None) -> None:
    """The firm's declarations: outcome, who, when, until when, attachment, why."""
    with opened_service(options_of(ctx, tenant)) as (platform, service):
        tenant_id = platform.settings.tenant
        found = service.declarations(tenant_id)
        now = platform.clock.now()
    if not found:
        console.print("no declarations")
        return
    table = Table(
        Column("control", no_wrap=True),
        "declared",
        "by",
        "at",
        "expires",
        "attachment",
        "justification",
    )
    for item in found.values():
        lapsed = item.expires_at is not None and item.expires_at <= now
        expiry = "-" if item.expires_at is None else f"{item.expires_at:%Y-%m-%d}"
        attached = "-"
        if item.attachment_name is not None and item.attachment_sha256 is not None:
            attached = f"{item.attachment_name} ({item.attachment_sha256[:12]}…)"
        table.add_row(
            item.control_id,
            coloured(item.outcome),
            item.by,
            f"{item.at:%Y-%m-%d}",
            f"[red]{expiry} (expired)[/]" if lapsed else expiry,
            attached,
            item.justification if len(item.justification) <= 80 else item.justification[:79] + "…",
        )
    console.print(table)
    console.print("declared: the firm's word, not measured by menshen")


@compliance_app.command("undeclare")
def undeclare(
    ctx: typer.Context,
    control_id: Annotated[str, typer.Argument(help="Control id of the declaration.")],
    tenant: TenantOpt = None,
) -> None:
    """Withdraw a declaration (audited); the control is measured again."""
    with opened_service(options_of(ctx, tenant)) as (platform, service):
        tenant_id = platform.settings.tenant
        current = service.declarations(tenant_id)
        if control_id not in current:
            raise fail(near(control_id, current.keys()) + " (no such declaration)", code=1)
        service.withdraw(tenant_id, control_id, by=operator_of())
    console.print(f"withdrew the declaration of {control_id}")


def _known_control(catalog: Catalog, control_id: str) -> None:
    known = {c.id for f in catalog.frameworks.values() for c in f.controls}
    if control_id not in known:
        raise fail(near(control_id, known) + " (a control id)")


def _expiry(text: str) -> datetime:
    try:
        day = date.fromisoformat(text)
    except ValueError:
        raise fail(f"--expires {text!r}: give a date as YYYY-MM-DD") from None
    return datetime.combine(day, time(0, 0), tzinfo=UTC)


def _attachment(path: Path) -> bytes:
    """The file's bytes, refused over the store's limit before anything is opened."""
    try:
        if not path.is_file():
            raise fail(f"{path} is not a file")
        if path.stat().st_size > MAX_ATTACHMENT_BYTES:
            raise fail(f"{path} is larger than {MAX_ATTACHMENT_BYTES // (1024 * 1024)} MiB")
        with path.open("rb") as handle:
            body = handle.read(MAX_ATTACHMENT_BYTES + 1)
    except OSError as exc:
        raise fail(f"{path}: {exc.strerror}") from None
    if len(body) > MAX_ATTACHMENT_BYTES:
        raise fail(f"{path} is larger than {MAX_ATTACHMENT_BYTES // (1024 * 1024)} MiB")
    return body
