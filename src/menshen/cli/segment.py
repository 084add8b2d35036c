"""``menshen segment``: the Batfish-style questions on the firm's own model.

``reach`` (what can this asset open a connection to, by which rule), ``blast-radius``
(what data an attacker holding it gets to, and by which path), ``check`` (observed flows the
policy would drop; declared flows no rule allows; expired exceptions). Each works on the
stored model or, with ``-f``, on files — so a pull request can be checked in CI.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from menshen.cli.context import console, fail
from menshen.cli.modelio import (
    AtOpt,
    FilesOpt,
    JsonOpt,
    model,
    parse_at,
    print_json,
    report_invalid,
    say,
)
from menshen.errors import MenshenError
from menshen.inventory.csvio import parse_observed_csv
from menshen.inventory.loader import read_text
from menshen.inventory.model import ObservedFlow, endpoint_text
from menshen.inventory.problems import InvalidModel
from menshen.segmentation.blast import Hop, blast_radius
from menshen.segmentation.drift import CheckReport, check
from menshen.segmentation.reach import reach
from menshen.segmentation.views import blast_json, check_json, reach_json

segment_app = typer.Typer(
    help="Micro-segmentation analysis: reach, blast radius, drift.", no_args_is_help=True
)


@segment_app.command("reach")
def reach_cmd(
    ctx: typer.Context,
    source: Annotated[str, typer.Option("--from", help="Asset id.")],
    files: FilesOpt = None,
    at: AtOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Everything an asset can reach, and the rule that allows each."""
    when = parse_at(at)
    with model(ctx, files, as_json) as seg:
        result = reach(seg, source, when)
        if as_json:
            print_json(reach_json(seg, result))
            return
        table = Table("destination", "zones", "ports", "allowed by", title=f"reach of {source}")
        for item in result.assets:
            for grant in item.grants:
                ports = ", ".join(str(port) for port in grant.ports)
                zones = ", ".join(sorted(seg.zones_of(item.asset)))
                table.add_row(item.asset, zones, ports, _by(str(grant), grant.expires))
        for network in result.networks:
            for grant in network.grants:
                ports = ", ".join(str(port) for port in grant.ports)
                cidrs = ", ".join(str(net) for net in network.cidrs)
                table.add_row(cidrs, network.zone, ports, _by(str(grant), grant.expires))
        console.print(table)
        if not result.assets and not result.networks:
            say(f"{source} reaches nothing (default deny)")


@segment_app.command("blast-radius")
def blast_cmd(
    ctx: typer.Context,
    compromised: Annotated[str, typer.Option("--compromised", help="Asset id.")],
    files: FilesOpt = None,
    at: AtOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Data an attacker holding one asset can reach, directly or hop by hop; worst first."""
    when = parse_at(at)
    with model(ctx, files, as_json) as seg:
        result = blast_radius(seg, compromised, when)
        if as_json:
            print_json(blast_json(seg, result))
            return
        stores = Table("data store", "class", "tags", "records", "hops", "path",
                       title=f"blast radius of {compromised}")  # fmt: skip
        for item in result.stores:
            store = item.store
            stores.add_row(
                f"{store.id} on {store.asset}",
                store.classification.value,
                ", ".join(store.tags),
                "" if store.records is None else f"{store.records:,}",
                str(item.hops),
                _path(item.path),
            )
        console.print(stores)
        classes = ", ".join(_class(c.name, c.highest.value) for c in result.classes) or "none"
        say(f"data classes exposed: {classes}")
        others = sorted(result.asset_ids() - {compromised})
        say(f"assets within reach ({len(others)}): {', '.join(others) or 'none'}")


@segment_app.command("check")
def check_cmd(
    ctx: typer.Context,
    observed: Annotated[
        Path | None,
        typer.Option("--observed", help="Observed flows: CSV of src,dst,port[,protocol,count]."),
    ] = None,
    files: FilesOpt = None,
    at: AtOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Drift (observed flows the policy would drop) and gaps (declared flows no rule allows).

    Exit status 1 when there is drift or a gap.
    """
    when = parse_at(at)
    flows: tuple[ObservedFlow, ...] = ()
    if observed is not None:
        try:
            flows = parse_observed_csv(read_text(observed), str(observed))
        except InvalidModel as exc:
            raise report_invalid(exc, as_json) from None
        except MenshenError as exc:
            raise fail(str(exc)) from None
    with model(ctx, files, as_json) as seg:
        try:
            report = check(seg, when, flows)
        except InvalidModel as exc:
            raise report_invalid(exc, as_json) from None
    if as_json:
        print_json(check_json(report))
    else:
        _print_check(report)
    if not report.clean:
        raise typer.Exit(1)


def _print_check(report: CheckReport) -> None:
    drift = Table("source", "destination", "port", "seen", "verdict", title="drift")
    for item in report.drift:
        seen = item.observed
        verdict = item.verdict.action.value
        if item.verdict.monitored_by:
            verdict += f" (passing: {item.verdict.monitored_by} in monitor mode)"
        drift.add_row(
            _end(endpoint_text(seen.source), item.source_asset),
            _end(endpoint_text(seen.destination), item.destination_asset),
            f"{seen.protocol}/{seen.port}",
            str(seen.count),
            verdict,
        )
    if report.drift:
        console.print(drift)
    gaps = Table("declared flow", "from", "to", "not allowed", title="gaps")
    for gap in report.gaps:
        missing = ", ".join(str(port) for port in gap.missing)
        gaps.add_row(gap.flow.id, gap.flow.source, gap.flow.destination, missing)
    if report.gaps:
        console.print(gaps)
    for old in report.expired:
        say(f"expired exception {old.rule_id} ({old.rule_set}, owner {old.owner}): remove it")
    say(
        f"{report.observed} observed flow(s), {len(report.drift)} drift, "
        f"{len(report.gaps)} gap(s)" + (" — clean" if report.clean else "")
    )


def _class(name: str, highest: str) -> str:
    return name if name == highest else f"{name} ({highest})"


def _end(text: str, asset: str | None) -> str:
    return text if asset is None or asset == text else f"{text} ({asset})"


def _by(rule: str, expires: datetime | None) -> str:
    return rule if expires is None else f"{rule} (exception, until {expires:%Y-%m-%d %H:%M %Z})"


def _path(path: tuple[Hop, ...]) -> str:
    if not path:
        return "(the asset itself)"
    steps = [path[0].source] + [f"-[{hop.grant}]→ {hop.destination}" for hop in path]
    return escape(" ".join(steps))
