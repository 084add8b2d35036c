"""``menshen inventory discover``: what traffic shows that the inventory does not.

Reads flow logs (conntrack dump, AWS VPC flow logs, a CSV of src,dst,port) or the gateway's
access events, proposes an unclassified asset for each unknown address inside the firm,
and matches observed flows with the declared data map. Nothing is stored without
``--apply``; with it, the proposed assets are added (all or nothing, audited), labelled
``review=unclassified``. Exit status 1 when an input line was rejected (2 for bad input).
Registered when ``menshen.cli.main`` imports it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from menshen.app import Platform
from menshen.cli.context import audit_admin_change, console, fail
from menshen.cli.inventory import inventory_app
from menshen.cli.modelio import FilesOpt, JsonOpt, print_json, report_invalid, say
from menshen.cli.traffic import (
    FormatOpt,
    GatewayOpt,
    model_and_platform,
    print_rejected,
    read_traffic,
    rejected_count,
)
from menshen.inventory.catalog import merge_items
from menshen.inventory.discovery.match import Discovery, SeenFlow, discover
from menshen.inventory.discovery.records import ParseReport, merged
from menshen.inventory.discovery.views import discovery_json
from menshen.inventory.model import endpoint_text
from menshen.inventory.problems import InvalidModel
from menshen.segmentation import repository
from menshen.segmentation.resolve import Segmentation

LimitOpt = Annotated[int, typer.Option("--limit", min=1, help="Rows shown per table.")]


@inventory_app.command("discover")
def discover_cmd(
    ctx: typer.Context,
    paths: Annotated[
        list[Path] | None,
        typer.Argument(help="Traffic files (.gz read too); none with --format audit: the log."),
    ] = None,
    fmt: FormatOpt = "csv",
    apply: Annotated[
        bool, typer.Option("--apply", help="Store the proposed unclassified assets.")
    ] = False,
    skip_rejected: Annotated[
        bool, typer.Option("--skip-rejected", help="Apply even though some lines were rejected.")
    ] = False,
    include_public: Annotated[
        bool,
        typer.Option("--include-public", help="Propose assets for addresses outside the firm."),
    ] = False,
    gateway: GatewayOpt = None,
    files: FilesOpt = None,
    limit: LimitOpt = 20,
    as_json: JsonOpt = False,
) -> None:
    """Unknown endpoints and undeclared flows seen in traffic (add them with --apply)."""
    if apply and files:
        raise fail("--apply stores into the tenant's inventory: use it without -f")
    with model_and_platform(ctx, files, as_json) as (seg, platform):
        reports = read_traffic(paths or [], fmt, seg, platform, gateway)
        networks = [(zone.name, net) for zone in seg.policy.zones for net in zone.cidrs]
        found = discover(
            merged(reports),
            seg.inventory,
            fmt=fmt,
            known_networks=networks,
            include_public=include_public,
        )
        rejected = rejected_count(reports)
        applied = False
        if apply and found.new_assets:
            if rejected and not skip_rejected:
                print_rejected(reports)
                raise fail(
                    f"{rejected:,} line(s) rejected; nothing was stored (fix the input or "
                    "pass --skip-rejected)",
                    1,
                )
            assert platform is not None
            _store(platform, seg, found, paths or [], fmt, as_json)
            applied = True
    if as_json:
        print_json(discovery_json(reports, found, applied=applied))
    else:
        _print(reports, found, limit, applied, apply)
    if rejected and not skip_rejected:
        raise typer.Exit(1)


def _store(
    platform: Platform,
    seg: Segmentation,
    found: Discovery,
    paths: list[Path],
    fmt: str,
    as_json: bool,
) -> None:
    """Add the proposed assets to the stored inventory, checked whole, in one transaction."""
    tenant = platform.store.tenant(platform.settings.tenant)
    try:
        inventory = merge_items(seg.inventory, found.items())
        updated = Segmentation(inventory, seg.policy)
    except InvalidModel as exc:
        raise report_invalid(exc, as_json) from None
    report = repository.save(tenant, updated, clock=platform.clock)
    if report.changed:
        audit_admin_change(
            platform,
            "inventory.discover",
            ", ".join(str(path) for path in paths) or "<audit log>",
            summary=report.summary(),
            format=fmt,
            added=str(len(found.new_assets)),
        )


def _print(
    reports: list[ParseReport], found: Discovery, limit: int, applied: bool, apply: bool
) -> None:
    for report in reports:
        skipped = ", ".join(f"{reason} ×{count:,}" for reason, count in report.skipped)
        say(
            f"{escape(report.source)}: {report.lines:,} line(s), {len(report.observations):,} "
            f"distinct flow(s), {report.connections:,} seen, {report.rejected_count:,} rejected"
            + (f"; skipped: {escape(skipped)}" if skipped else "")
        )
    print_rejected(reports)
    if found.new_assets:
        verb = "added" if applied else "would be added" + ("" if apply else " (use --apply)")
        table = Table("asset", "address", "flows", "seen", "first seen",
                      title=f"unclassified assets {verb}", title_justify="left")  # fmt: skip
        for item in found.new_assets[:limit]:
            table.add_row(
                item.asset.id,
                ", ".join(item.asset.addresses),
                str(item.flows),
                f"{item.connections:,}",
                escape(str(item.first_seen or "")),
            )
        console.print(table)
        _more(len(found.new_assets), limit)
    if found.outside:
        shown = ", ".join(
            f"{item.address}" + (f" (zone {item.zone})" if item.zone else "")
            for item in found.outside[:limit]
        )
        say(f"outside parties, not proposed ({len(found.outside)}): {shown}")
    _flows("undeclared flows", found.undeclared, limit, note=True)
    _flows("matched with declared flows", found.matched, limit, note=False)
    unseen = ", ".join(flow.id for flow in found.unseen[:limit])
    say(f"declared flows not seen in these inputs ({len(found.unseen)}): {unseen or 'none'}")


def _flows(title: str, items: tuple[SeenFlow, ...], limit: int, *, note: bool) -> None:
    if not items:
        return
    table = Table("source", "destination", "port", "seen", "declared" if not note else "why",
                  title=f"{title} ({len(items)})", title_justify="left")  # fmt: skip
    for item in items[:limit]:
        seen = item.observation
        table.add_row(
            _end(endpoint_text(seen.source), item.source),
            _end(endpoint_text(seen.destination), item.destination),
            f"{seen.protocol}/{seen.port}",
            f"{seen.count:,}" + (" (refused)" if seen.refused else ""),
            escape(item.note if note else ", ".join(item.declared)),
        )
    console.print(table)
    _more(len(items), limit)


def _more(total: int, limit: int) -> None:
    if total > limit:
        say(f"  … and {total - limit:,} more (--limit, or --json for all)")


def _end(text: str, asset: str | None) -> str:
    return text if asset is None or asset == text else f"{text} ({asset})"
