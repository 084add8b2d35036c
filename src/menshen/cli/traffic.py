"""What ``inventory discover`` and ``segment suggest`` share: the model and the traffic.

The model comes from ``-f`` files or the tenant's store (then the platform stays open, for
the audit log, the stored Apps' upstreams, and ``--apply``). Traffic comes from files in
one format, or — format ``audit`` with no file — from the tenant's own audit log.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from menshen.app import Platform
from menshen.cli.context import errors, fail, opened
from menshen.cli.modelio import options_of, report_invalid
from menshen.errors import MenshenError
from menshen.inventory.discovery.audit import AccessTally, Upstream, gateway_flows
from menshen.inventory.discovery.records import ParseReport
from menshen.inventory.discovery.sources import FORMATS, read_observations
from menshen.inventory.problems import InvalidModel
from menshen.manifest.load import stored_apps
from menshen.segmentation.files import load_files
from menshen.segmentation.repository import load_segmentation
from menshen.segmentation.resolve import Segmentation

FormatOpt = Annotated[
    str,
    typer.Option("--format", help=f"Input format: {', '.join(FORMATS)}."),
]
GatewayOpt = Annotated[
    str | None,
    typer.Option(
        "--gateway", help="Audit events: the asset the gateway runs on (default: by host name)."
    ),
]
SHOWN_REJECTED = 50


@contextmanager
def model_and_platform(
    ctx: typer.Context, files: list[Path] | None, as_json: bool
) -> Iterator[tuple[Segmentation, Platform | None]]:
    """The model of ``files`` (no platform), or the stored model with the open platform."""
    if files:
        try:
            seg = load_files(files)
        except InvalidModel as exc:
            raise report_invalid(exc, as_json) from None
        except MenshenError as exc:
            raise fail(str(exc)) from None
        try:
            yield seg, None
        except MenshenError as exc:
            raise fail(str(exc)) from None
        return
    with opened(options_of(ctx)) as platform:
        yield load_segmentation(platform.store.tenant(platform.settings.tenant)), platform


def read_traffic(
    paths: Sequence[Path],
    fmt: str,
    seg: Segmentation,
    platform: Platform | None,
    gateway: str | None,
) -> list[ParseReport]:
    """One report per input; ``audit`` with no path reads the tenant's audit log."""
    if fmt not in FORMATS:
        raise fail(f"unknown format {fmt!r}; use one of {', '.join(FORMATS)}")
    if gateway is not None and seg.inventory.asset(gateway) is None:
        raise fail(f"--gateway {gateway!r} is not an asset of the inventory")
    upstreams = _upstreams(platform)
    if not paths:
        if fmt != "audit" or platform is None:
            raise fail("give the traffic files (only --format audit reads the stored audit log)")
        tenant = platform.store.tenant(platform.settings.tenant)
        tally = AccessTally("<audit log>")
        for record in tenant.audit.iterate():
            tally.lines += 1
            event = {"kind": record.kind, "ip": record.ip, "app": record.app}
            tally.add_event(record.seq, event | {"details": dict(record.details)})
        log = tally.log()
        return [gateway_flows(log, seg.inventory, gateway=gateway, upstreams=upstreams)]
    try:
        return [
            read_observations(path, fmt, seg.inventory, gateway=gateway, upstreams=upstreams)
            for path in paths
        ]
    except MenshenError as exc:
        raise fail(str(exc)) from None


def _upstreams(platform: Platform | None) -> dict[str, Upstream]:
    if platform is None:
        return {}
    apps = stored_apps(platform.store.tenant(platform.settings.tenant))
    return {app.name: Upstream(app.upstream_host, app.upstream_port) for app in apps}


def rejected_count(reports: Sequence[ParseReport]) -> int:
    return sum(report.rejected_count for report in reports)


def print_rejected(reports: Sequence[ParseReport]) -> None:
    """The first rejected lines, ``file:line: reason``, on standard error."""
    shown = 0
    for report in reports:
        for item in report.rejected:
            if shown == SHOWN_REJECTED:
                break
            errors.print(f"  {escape(report.source)}:{item.line}: {escape(item.reason)}")
            shown += 1
    total = rejected_count(reports)
    if total > shown:
        errors.print(
            f"  … and {total - shown:,} more rejected line(s) (--json lists the kept ones)"
        )
