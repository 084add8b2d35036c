"""``menshen report``: a signed, auditor-ready compliance report, and ``menshen report verify``.

    menshen report --framework fsc-zta --lang zh-TW --format pdf --out report.pdf
    menshen report verify report.pdf

Formats: ``pdf`` and ``html`` (the printable report), ``json`` (the canonical report in a
signed envelope), ``oscal`` (NIST OSCAL 1.1 assessment-results JSON). The content hash is
signed with the tenant's ES256 key; HTML, PDF and OSCAL files get a detached ``FILE.sig``.
Each report is recorded so the next one shows the trend.
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path
from typing import Annotated

import typer

from menshen.cli.context import Options, console, fail, opened
from menshen.compliance.report.service import Format, ReportService, parse_lang
from menshen.compliance.report.sign import report_key_set, verify_bytes
from menshen.compliance.roi import roi_inputs
from menshen.compliance.service import ComplianceService
from menshen.errors import InvalidInput

__all__ = ["report_app"]

MAX_REPORT_BYTES = 64 * 1024 * 1024

report_app = typer.Typer(
    help="Signed compliance reports (PDF, HTML, JSON, OSCAL) and their verification.",
    invoke_without_command=True,
)

FrameworkOpt = Annotated[
    str | None, typer.Option("--framework", help="Framework id, e.g. fsc-zta, cisa-ztmm.")
]
LangOpt = Annotated[str, typer.Option("--lang", help="Report language: en or zh-TW.")]
FormatOpt = Annotated[str, typer.Option("--format", help="pdf, html, json or oscal.")]
OutOpt = Annotated[Path | None, typer.Option("--out", "-o", help="File to write.")]
DaysOpt = Annotated[int, typer.Option("--period-days", help="Length of the report period.")]
TenantOpt = Annotated[str | None, typer.Option("--tenant", help="Tenant (firm) id.")]


def _options(ctx: typer.Context, tenant: str | None) -> Options:
    options = ctx.find_root().obj
    if not isinstance(options, Options):
        raise typer.Exit(2)
    return options if tenant is None else dataclasses.replace(options, tenant=tenant)


@report_app.callback()
def report(
    ctx: typer.Context,
    framework: FrameworkOpt = None,
    lang: LangOpt = "en",
    fmt: FormatOpt = "html",
    out: OutOpt = None,
    period_days: DaysOpt = 30,
    tenant: TenantOpt = None,
) -> None:
    """Measure the live system now and write a signed report of one framework."""
    if ctx.invoked_subcommand is not None:
        return
    try:
        language = parse_lang(lang)
        kind = _format(fmt)
    except InvalidInput as exc:
        raise fail(str(exc)) from None
    if out is None:
        raise fail("give the file to write with --out FILE")
    _check_out(out)
    with opened(_options(ctx, tenant)) as platform:
        tenant_id = platform.settings.tenant
        compliance = ComplianceService(platform.store, platform.settings, platform.clock)
        catalog = compliance.catalog(tenant_id)  # packaged + the firm's catalog_dirs
        if framework is None:
            raise fail(f"give --framework (known: {', '.join(sorted(catalog.frameworks))})")
        catalog.framework(framework)  # InvalidInput names the known ones
        service = ReportService(
            catalog,
            compliance,
            platform.store.tenant(tenant_id),
            lambda: platform.keyring(tenant_id).active_signing_key(),
            platform.clock,
            roi_inputs=roi_inputs(platform.settings.options(tenant_id).compliance),
        )
        made = service.produce(framework, language, kind, period_days=period_days)
        _write(out, made.body)
        if made.detached is not None:
            _write(_sig_path(out), made.detached)
    score = made.document.assessment.score
    console.print(
        f"wrote {out} ({kind.value}, {language.value}): {score.passed} of {score.assessed}"
        f" assessed controls pass (menshen's own count, not a regulator's score)"
    )
    console.print(f"content sha256 {made.signature.content_sha256}  key {made.signature.key_id}")
    if made.detached is not None:
        console.print(f"signature beside it: {_sig_path(out)}")


@report_app.command("verify")
def verify(
    ctx: typer.Context,
    file: Annotated[Path, typer.Argument(help="A report written by `menshen report`.")],
    tenant: TenantOpt = None,
) -> None:
    """Check a report's signature with the tenant's keys, retired ones too (exit 1 if not)."""
    data = _read(file)
    sig_path = _sig_path(file)
    detached = _read(sig_path) if sig_path.exists() else None
    if detached is None and not data.lstrip().startswith(b"{"):
        raise fail(f"{file} is not a JSON report and has no signature {sig_path.name} beside it")
    with opened(_options(ctx, tenant)) as platform:
        tenant_id = platform.settings.tenant
        # every key the store holds, including retired ones kept for their signed reports
        jwks = report_key_set(platform.store.tenant(tenant_id).keys.list())
        try:
            verified = verify_bytes(data, jwks, detached=detached)
            if verified.tenant_id != tenant_id:
                raise InvalidInput(f"the report is signed for tenant {verified.tenant_id!r}")
        except InvalidInput as exc:
            console.print(f"[bold red]report NOT verified[/]: {exc}")
            raise typer.Exit(1) from None
    console.print(
        f"[green]report verified[/]: tenant {verified.tenant_id}, content sha256"
        f" {verified.content_sha256}, key {verified.key_id}"
    )
    if verified.key_retired_at is not None:
        console.print(
            f"the key was retired at {verified.key_retired_at}; it is kept (public half only)"
            " so the reports it signed stay verifiable"
        )


def _format(value: str) -> Format:
    try:
        return Format(value.strip().lower())
    except ValueError:
        known = ", ".join(f.value for f in Format)
        raise InvalidInput(f"unknown format {value!r} (known: {known})") from None


def _sig_path(path: Path) -> Path:
    return path.with_name(path.name + ".sig")


def _check_out(out: Path) -> None:
    """Refuse an output path that cannot be written, before anything is measured."""
    if out.is_dir():
        raise fail(f"{out} is a directory; give a file name")
    parent = out.parent
    if not parent.is_dir():
        raise fail(f"{parent} does not exist; create it or write elsewhere")
    if not os.access(parent, os.W_OK) or (out.exists() and not os.access(out, os.W_OK)):
        raise fail(f"{out} cannot be written (permission denied)")


def _write(path: Path, data: bytes) -> None:
    try:
        path.write_bytes(data)
    except OSError as exc:
        raise fail(f"{path}: {exc.strerror}") from None


def _read(path: Path) -> bytes:
    try:
        if path.stat().st_size > MAX_REPORT_BYTES:
            raise fail(f"{path} is larger than any report menshen writes")
        return path.read_bytes()
    except OSError as exc:
        raise fail(f"{path}: {exc.strerror}") from None
