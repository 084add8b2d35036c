"""``menshen compliance``: measure the evidence, read its history, see the gaps, and check the
firm's own catalogs (ISO/IEC 27001:2022 §9.1 monitoring and measurement; NIST SP 800-53 rev5
CA-2 assessments, CA-7 continuous monitoring).

    menshen compliance collect --period-days 30
    menshen compliance evidence identity.mfa_enrolled --history 5
    menshen compliance gaps --framework fsc-zta --lang zh-TW --top 5
    menshen compliance catalog check ./our-catalogs

Declarations (controls handled outside menshen) are in ``menshen.cli.compliance_declare``.
Every change goes through ``ComplianceService``, which writes it to the audit log
(``compliance.evidence_collected``, ``compliance.declared``, ...) before it returns.
"""

from __future__ import annotations

import dataclasses
import difflib
import json
from collections import Counter
from collections.abc import Collection, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Column, Table

from menshen.app import Platform
from menshen.cli.context import Options, console, errors, fail, opened
from menshen.compliance.assess import assess, figure
from menshen.compliance.catalog import CatalogError, load_catalog
from menshen.compliance.checks import CHECKS
from menshen.compliance.gaps import gaps_of, projected
from menshen.compliance.model import Evidence, FrameworkScore, JsonValue, Lang, Outcome
from menshen.compliance.report.service import parse_lang
from menshen.compliance.report.tables import data_tables
from menshen.compliance.service import MAX_PERIOD_DAYS, PERIOD_DAYS, ComplianceService
from menshen.errors import InvalidInput

__all__ = [
    "catalog_app",
    "coloured",
    "compliance_app",
    "near",
    "opened_service",
    "operator_of",
    "options_of",
]

compliance_app = typer.Typer(
    help="Compliance evidence, declarations, gaps and the firm's own catalogs.",
    no_args_is_help=True,
)
catalog_app = typer.Typer(
    help="Control catalogs (the packaged ones and the firm's own).", no_args_is_help=True
)
compliance_app.add_typer(catalog_app, name="catalog")

TenantOpt = Annotated[str | None, typer.Option("--tenant", help="Tenant (firm) id.")]
MAX_HISTORY = 1000
COLOURS = {
    Outcome.PASS: "green",
    Outcome.PARTIAL: "yellow",
    Outcome.FAIL: "red",
    Outcome.NOT_APPLICABLE: "dim",
    Outcome.NOT_ASSESSED: "magenta",
}


def options_of(ctx: typer.Context, tenant: str | None) -> Options:
    """The root options, with ``--tenant`` of the subcommand when given."""
    options = ctx.find_root().obj
    if not isinstance(options, Options):
        raise typer.Exit(2)
    return options if tenant is None else dataclasses.replace(options, tenant=tenant)


def operator_of() -> str:
    """The audit actor of a change made here: ``cli:<login>`` (as ``audit_admin_change``)."""
    import getpass

    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):
        return "cli:unknown"


def near(wanted: str, known: Collection[str]) -> str:
    """``wanted`` is unknown: a message naming the closest known ids."""
    close = difflib.get_close_matches(wanted, sorted(known), n=5, cutoff=0.5)
    if not close:
        prefix = wanted.split("/", 1)[0].split(".", 1)[0]
        close = sorted(k for k in known if k.startswith(prefix))[:5]
    hint = f"; did you mean {', '.join(close)}?" if close else ""
    return f"unknown {wanted!r}{hint}"


@contextmanager
def opened_service(options: Options) -> Iterator[tuple[Platform, ComplianceService]]:
    """The opened platform and its compliance service (errors become exit status 2)."""
    with opened(options) as platform:
        yield platform, ComplianceService(platform.store, platform.settings, platform.clock)


def coloured(outcome: Outcome) -> str:
    return f"[{COLOURS[outcome]}]{outcome.value}[/]"


# -- collect / evidence ---------------------------------------------------------------------
@compliance_app.command("collect")
def collect(
    ctx: typer.Context,
    tenant: TenantOpt = None,
    period_days: Annotated[
        int,
        typer.Option(
            "--period-days",
            min=1,
            max=MAX_PERIOD_DAYS,
            help="Measure admin actions, sessions and incidents of the last N days.",
        ),
    ] = PERIOD_DAYS,
) -> None:
    """Measure every check now, store it as evidence history (audited), and print it."""
    with opened_service(options_of(ctx, tenant)) as (platform, service):
        tenant_id = platform.settings.tenant
        found = service.collect(tenant_id, by=operator_of(), days=period_days)
    table = Table(
        Column("check", no_wrap=True),
        "outcome",
        "value",
        "summary",
        title=f"evidence of {tenant_id}",
    )
    for check_id, item in sorted(found.items()):
        table.add_row(check_id, coloured(item.outcome), figure(item), item.summary.en)
    console.print(table)
    counts = Counter(item.outcome for item in found.values())
    said = ", ".join(f"{counts[o]} {o.value}" for o in Outcome if counts[o])
    console.print(f"{len(found)} checks over the last {period_days} days: {said}")


@compliance_app.command("evidence")
def evidence(
    ctx: typer.Context,
    check: Annotated[str | None, typer.Argument(help="A check id; all checks if omitted.")] = None,
    history: Annotated[
        int, typer.Option("--history", min=1, max=MAX_HISTORY, help="Show N past measurements.")
    ] = 1,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    tenant: TenantOpt = None,
) -> None:
    """The stored evidence: the latest of every check, or one check's history with its data."""
    if check is not None and check not in CHECKS:
        raise fail(near(check, CHECKS.keys()) + " (a check id)")
    with opened_service(options_of(ctx, tenant)) as (platform, service):
        tenant_id = platform.settings.tenant
        if check is None:
            items = list(service.latest_evidence(tenant_id).values())
        else:
            items = service.history(tenant_id, check, limit=history)
    if as_json:
        print(json.dumps([evidence_json(item) for item in items], ensure_ascii=False, indent=2))
        return
    if not items:
        console.print("no evidence yet: run `menshen compliance collect`")
        return
    if check is None:
        _latest_table(items)
        return
    for item in items:
        _print_one(item)


def _latest_table(items: Iterable[Evidence]) -> None:
    table = Table(Column("check", no_wrap=True), "outcome", "value", "collected", "summary")
    for item in items:
        table.add_row(
            item.check_id,
            coloured(item.outcome),
            figure(item),
            f"{item.collected_at:%Y-%m-%d %H:%M}",
            item.summary.en,
        )
    console.print(table)


def _print_one(item: Evidence) -> None:
    console.print(
        f"[bold]{item.check_id}[/] {coloured(item.outcome)} {figure(item)}"
        f"  collected {item.collected_at:%Y-%m-%d %H:%M:%S} UTC"
    )
    console.print(f"  {item.summary.en}")
    if item.remedy is not None:
        console.print(f"  next step: {item.remedy.en}")
    if item.error:
        console.print(f"  [red]error[/]: {item.error}")
    for part in data_tables(item.data):
        headed = any(part.columns)
        table = Table(*(part.columns if headed else ("", "")), title=part.name or None)
        table.show_header = headed
        for cells in part.rows:
            table.add_row(*cells)
        console.print(table)
        if part.cut:
            console.print(f"  {part.more} more not shown ({len(part.rows)} of {part.total})")


def evidence_json(item: Evidence) -> dict[str, JsonValue]:
    """One measurement as JSON (what ``--json`` prints)."""

    def both(text: object) -> JsonValue:
        en, zh = getattr(text, "en", None), getattr(text, "zh_tw", None)
        return None if en is None else {"en": en, "zh_tw": zh}

    return {
        "check": item.check_id,
        "collected_at": item.collected_at.isoformat(),
        "outcome": item.outcome.value,
        "value": item.value,
        "summary": both(item.summary),
        "remedy": both(item.remedy),
        "affected": item.affected,
        "error": item.error,
        "data": dict(item.data),
    }


# -- gaps -----------------------------------------------------------------------------------
@compliance_app.command("gaps")
def gaps(
    ctx: typer.Context,
    framework: Annotated[str, typer.Option("--framework", help="Framework id, e.g. fsc-zta.")],
    lang: Annotated[str, typer.Option("--lang", help="en or zh-TW.")] = "en",
    top: Annotated[
        int, typer.Option("--top", min=1, max=100, help="Project the standing if these pass.")
    ] = 5,
    tenant: TenantOpt = None,
) -> None:
    """The next steps, ranked by risk and effort, and the standing if the top N were done
    (from the latest stored evidence)."""
    try:
        language = parse_lang(lang)
    except InvalidInput as exc:
        raise fail(str(exc)) from None
    with opened_service(options_of(ctx, tenant)) as (platform, service):
        tenant_id = platform.settings.tenant
        chosen = service.catalog(tenant_id).framework(framework)
        found = service.latest_evidence(tenant_id)
        if not found:
            raise fail("no evidence yet: run `menshen compliance collect` first")
        at = platform.clock.now()
        result = assess(
            chosen, found, service.declarations(tenant_id), service.profile(tenant_id), at
        )
    ranked = gaps_of(result)
    console.print(f"[bold]{escape(chosen.title.get(language))}[/]: {len(ranked)} gap(s)")
    for gap in ranked:
        # A block per gap, not a table: the next step is a sentence and must stay readable in
        # an 80-column terminal.
        console.print(
            f"{gap.rank:>3}. [bold]{escape(gap.control_id)}[/]  risk {gap.risk}, "
            f"effort {gap.effort}, {gap.affected} affected"
        )
        console.print(f"     {escape(gap.step.get(language))}", soft_wrap=False)
    newest = max(item.collected_at for item in found.values())
    console.print(f"evidence collected {newest:%Y-%m-%d %H:%M} UTC")
    stages = {stage.id: stage.title.get(language) for stage in chosen.stages}
    _standings(result.score, projected(result, ranked, top=top), top, stages, language)


def _standings(
    now: FrameworkScore, then: FrameworkScore, top: int, stages: dict[str, str], lang: Lang
) -> None:
    """Current and projected standing per group and facet, and the pass counts — menshen's
    own count, never a regulator's percentage."""
    rows = [
        (
            "controls passing",
            f"{now.passed} of {now.assessed}",
            f"{then.passed} of {then.assessed}",
        )
    ]
    before = {s.key: s for s in (*now.groups, *now.facets)}
    for standing in (*then.groups, *then.facets):
        old = before.get(standing.key)
        rows.append(
            (
                standing.title.get(lang),
                stages.get(old.stage, old.stage) if old is not None and old.stage else "-",
                stages.get(standing.stage, standing.stage) if standing.stage else "-",
            )
        )
    table = Table("", "now", f"if the top {top} are done", title="projected standing")
    for row in rows:
        table.add_row(*row)
    console.print(table)
    console.print("(counts are menshen's own, not a regulator's score)")


# -- catalog check --------------------------------------------------------------------------
@catalog_app.command("check")
def catalog_check(
    directory: Annotated[Path, typer.Argument(help="A directory of catalog/mapping files.")],
) -> None:
    """Validate the firm's own catalog and mapping files together with the packaged ones
    (exit 1 with every problem)."""
    if not directory.is_dir():
        raise fail(f"{directory} is not a directory")
    try:
        catalog = load_catalog(extra=[directory])
    except CatalogError as exc:
        errors.print("catalog NOT valid:", style="bold red")
        errors.print(str(exc), markup=False, highlight=False)
        raise typer.Exit(1) from None
    own = _own_frameworks(directory)
    controls = sum(len(catalog.frameworks[f].controls) for f in own if f in catalog.frameworks)
    console.print(
        f"[green]catalog valid[/]: {directory} adds {len(own)} framework(s), {controls}"
        f" control(s); {len(catalog.frameworks)} frameworks and {len(catalog.mappings)}"
        " mappings in all"
    )


def _own_frameworks(directory: Path) -> list[str]:
    names = sorted(p.name for p in directory.iterdir() if p.name.endswith(".yaml"))
    return [
        n.removesuffix(".yaml")
        for n in names
        if n != "mappings.yaml" and not n.endswith(".mappings.yaml")
    ]
