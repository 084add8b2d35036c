"""``menshen inventory``: import, export and validate the asset inventory and its policy.

``import`` takes YAML (``Inventory`` and ``Segmentation`` documents) and CSV files, checks
them together with what is stored, and writes all of it or nothing; ``export`` writes the
stored model back (YAML, or one CSV per item kind); ``validate`` checks files on their own.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from menshen.cli.context import audit_admin_change, console, fail, opened
from menshen.cli.modelio import JsonOpt, options_of, print_json, report_invalid, say
from menshen.errors import MenshenError
from menshen.inventory.csvio import assets_csv, data_stores_csv, flows_csv
from menshen.inventory.problems import InvalidModel
from menshen.segmentation import repository
from menshen.segmentation.files import build, export_yaml, read_files
from menshen.segmentation.repository import Change
from menshen.segmentation.resolve import Segmentation

inventory_app = typer.Typer(
    help="Assets, data stores and data flows (and the segmentation stored with them).",
    no_args_is_help=True,
)
FORMATS = ("yaml", "assets-csv", "data-stores-csv", "flows-csv")


@inventory_app.command("import")
def import_cmd(
    ctx: typer.Context,
    files: Annotated[list[Path], typer.Argument(help="YAML or CSV files.")],
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Check and show; change nothing.")
    ] = False,
    prune: Annotated[
        bool, typer.Option("--prune", help="Also delete stored items the files do not define.")
    ] = False,
    as_json: JsonOpt = False,
) -> None:
    """Add or update assets, data stores, flows, zones and rule sets (all or nothing)."""
    with opened(options_of(ctx)) as platform:
        tenant = platform.store.tenant(platform.settings.tenant)
        try:
            parts = read_files(files)
            if prune:
                seg = build(parts)
            else:
                inventory, policy = repository.load(tenant)
                seg = build(parts, inventory, policy)
        except InvalidModel as exc:
            raise report_invalid(exc, as_json) from None
        report = repository.save(tenant, seg, clock=platform.clock, dry_run=dry_run, prune=prune)
        if report.changed and not dry_run:
            audit_admin_change(
                platform,
                "inventory.import",
                ", ".join(str(path) for path in files),
                summary=report.summary(),
                pruned=str(prune).lower(),
            )
    if as_json:
        print_json(
            {
                "dryRun": dry_run,
                "changes": [
                    {"kind": item.kind, "name": item.name, "change": item.change.value}
                    for item in report.items
                    if item.change is not Change.UNCHANGED
                ],
                "summary": {change.value: report.count(change) for change in Change},
            }
        )
        return
    colour = {Change.CREATED: "green", Change.UPDATED: "yellow", Change.DELETED: "red"}
    for item in report.items:
        if item.change is not Change.UNCHANGED:
            say(f"{item.ref} [{colour[item.change]}]{item.change.value}[/]")
    say(report.summary() + (" (dry run: nothing written)" if dry_run else ""))


@inventory_app.command("export")
def export_cmd(
    ctx: typer.Context,
    fmt: Annotated[str, typer.Option("--format", help=f"One of {', '.join(FORMATS)}.")] = "yaml",
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Write to a file.")] = None,
) -> None:
    """Print the stored model: YAML that `menshen inventory import` takes back unchanged."""
    if fmt not in FORMATS:
        raise fail(f"unknown format {fmt!r}; use one of {', '.join(FORMATS)}")
    with opened(options_of(ctx)) as platform:
        inventory, policy = repository.load(platform.store.tenant(platform.settings.tenant))
        name = platform.settings.tenant
    if fmt == "yaml":
        text = export_yaml(inventory, policy, name)
    elif fmt == "assets-csv":
        text = assets_csv(inventory)
    elif fmt == "data-stores-csv":
        text = data_stores_csv(inventory)
    else:
        text = flows_csv(inventory)
    if output is None:
        sys.stdout.write(text)
        return
    try:
        output.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise fail(f"{output}: {exc.strerror}") from None
    say(f"wrote {output}")


@inventory_app.command("validate")
def validate_cmd(
    files: Annotated[list[Path], typer.Argument(help="YAML or CSV files.")],
    as_json: JsonOpt = False,
) -> None:
    """Check model files on their own: every problem with file, line and column."""
    try:
        seg = build(read_files(files))
    except InvalidModel as exc:
        raise report_invalid(exc, as_json) from None
    except MenshenError as exc:
        raise fail(str(exc)) from None
    inventory, policy = seg.inventory, seg.policy
    counts = {
        "assets": len(inventory.assets),
        "dataStores": len(inventory.data_stores),
        "flows": len(inventory.flows),
        "labelGroups": len(policy.label_groups),
        "zones": len(policy.zones),
        "ruleSets": len(policy.rule_sets),
        "rules": len(seg.rules),
    }
    if as_json:
        print_json({"valid": True, "counts": counts})
        return
    table = Table("what", "count")
    for key, value in counts.items():
        table.add_row(key, str(value))
    console.print(table)
    say("[green]valid[/]" + _empty_zones(seg))


def _empty_zones(seg: Segmentation) -> str:
    empty = [z.name for z in seg.policy.zones if not z.cidrs and not seg.zone_assets(z.name)]
    return f" (zones selecting no asset: {', '.join(empty)})" if empty else ""
