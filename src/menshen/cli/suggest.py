"""``menshen segment suggest``: an allow-list proposed from observed traffic.

Writes a ``Segmentation`` document (``menshen.segmentation.suggest``): one rule per pair of
groups seen talking, each commented with the flows that support it; flows from workstations
into restricted data are flagged and written disabled. Before it is printed, the document
is read back with the model it was made for, so what comes out always loads. Traffic comes
from ``--observed`` files, or the tenant's audit log (the gateway's access events).
Registered when ``menshen.cli.main`` imports it.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from menshen.cli.context import errors, fail
from menshen.cli.modelio import AtOpt, FilesOpt, JsonOpt, parse_at, print_json
from menshen.cli.segment import segment_app
from menshen.cli.traffic import (
    FormatOpt,
    GatewayOpt,
    model_and_platform,
    print_rejected,
    read_traffic,
    rejected_count,
)
from menshen.errors import MenshenError
from menshen.inventory.discovery.records import merged
from menshen.inventory.problems import InvalidModel
from menshen.segmentation.files import merge_policy, parse_text
from menshen.segmentation.model import Mode
from menshen.segmentation.resolve import Segmentation
from menshen.segmentation.suggest import Suggestion, suggest
from menshen.segmentation.suggest_yaml import suggestion_json, suggestion_yaml

MODES = ("monitor", "enforce")


@segment_app.command("suggest")
def suggest_cmd(
    ctx: typer.Context,
    observed: Annotated[
        list[Path] | None,
        typer.Option("--observed", help="Traffic files (repeat); default: the audit log."),
    ] = None,
    fmt: FormatOpt = "csv",
    mode: Annotated[str, typer.Option("--mode", help="monitor or enforce.")] = "monitor",
    name: Annotated[str, typer.Option("--name", help="Name of the rule set.")] = "suggested",
    include_allowed: Annotated[
        bool,
        typer.Option("--include-allowed", help="Also write rules for flows already allowed."),
    ] = False,
    min_connections: Annotated[
        int, typer.Option("--min-connections", min=1, help="Ignore rarer pairs of groups.")
    ] = 1,
    gateway: GatewayOpt = None,
    files: FilesOpt = None,
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Write to a file.")] = None,
    at: AtOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Propose rules from observed flows (YAML for `menshen inventory import`)."""
    if mode not in MODES:
        raise fail(f"--mode {mode!r}: use monitor or enforce")
    when = parse_at(at)
    if not observed:
        fmt = "audit"
    with model_and_platform(ctx, files, as_json) as (seg, platform):
        reports = read_traffic(observed or [], fmt, seg, platform, gateway)
        try:
            found = suggest(
                seg,
                merged(reports),
                when,
                name=name,
                mode=Mode(mode),
                include_allowed=include_allowed,
                min_connections=min_connections,
            )
        except ValueError as exc:
            raise fail(str(exc)) from None
        text = suggestion_yaml(found, when)
        _check_loads(seg, text)
    if rejected_count(reports):
        errors.print(f"{rejected_count(reports):,} input line(s) rejected (not used):")
        print_rejected(reports)
    if as_json:
        print_json(suggestion_json(found))
        return
    if output is None:
        sys.stdout.write(text)
        return
    try:
        output.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise fail(f"{output}: {exc.strerror}") from None
    _summary(found, output)


def _check_loads(seg: Segmentation, text: str) -> None:
    """Read the document back onto the model, as ``inventory import`` would."""
    try:
        parts = parse_text(text, "<suggestion>")
        Segmentation(seg.inventory, merge_policy(seg.policy, parts))
    except (InvalidModel, MenshenError) as exc:  # a bug here, never the user's input
        raise fail(f"internal error: the suggestion does not load: {exc}") from None


def _summary(found: Suggestion, output: Path) -> None:
    errors.print(
        f"wrote {output}: {len(found.enabled)} rule(s) in {found.mode.value} mode, "
        f"{len(found.flagged)} flagged (disabled) from {found.observed:,} observed flow(s)"
    )
    for item in found.flagged:
        errors.print(f"  [yellow]flagged[/] {item.rule.id}: {escape(item.flag)}", highlight=False)
    for note in found.notes:
        errors.print(f"  note: {escape(note)}", highlight=False)
