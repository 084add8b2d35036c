"""``menshen monitor rebuild`` and ``menshen monitor badips``: baselines and bad-address lists.

``rebuild`` forgets a tenant's baselines and re-learns them from its audit log (with a
progress bar), placing addresses with the tenant's geo-IP databases
(``tenants.<id>.monitor.geoip_city``/``geoip_asn``, as the running engine does) unless
``--geoip-city``/``--geoip-asn`` name others, so re-learnt profiles keep their countries and
networks' ASNs (``vpn_asns`` is not learnt: detectors apply it when they judge).
``badips import`` replaces a named list of CIDR prefixes the known-bad-IP detector matches.
Both are administrative changes and are audited.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from menshen.cli.context import Options, audit_admin_change, console, fail, opened
from menshen.cli.monitor import monitor_app
from menshen.errors import InvalidInput
from menshen.monitor.baselines import BaselineBook, BaselineConfig, GeoLookup
from menshen.monitor.baselines.persist import peer_groups, save_book
from menshen.monitor.baselines.rebuild import relearn
from menshen.monitor.detectors.bad_ip import parse_cidrs
from menshen.monitor.ingest.gateway_map import map_audit_record
from menshen.sessions.useragent import user_agent_family
from menshen.settings import MonitorOptions

badips_app = typer.Typer(help="Known-bad address lists the firm imports.", no_args_is_help=True)
monitor_app.add_typer(badips_app, name="badips")

GeoOpt = Annotated[
    Path | None,
    typer.Option(
        "--geoip-city", help="MaxMind City database (.mmdb); default: the tenant's geoip_city."
    ),
]
AsnOpt = Annotated[
    Path | None,
    typer.Option(
        "--geoip-asn", help="MaxMind ASN database (.mmdb); default: the tenant's geoip_asn."
    ),
]


def _options(ctx: typer.Context) -> Options:
    options = ctx.find_root().obj
    assert isinstance(options, Options)
    return options


def _geo(
    city: Path | None, asn: Path | None, monitor: MonitorOptions
) -> tuple[GeoLookup | None, str]:
    """The databases named on the command line, else the tenant's (as the engine opens
    them); with a phrase saying which were used."""
    if city is None:  # (``rebuild`` refused an ASN database alone before opening anything)
        city, asn = monitor.geoip_city, monitor.geoip_asn
    if city is None:
        return None, "no geo-IP database"
    from menshen.monitor.detectors.geoip import MaxMindGeo

    named = city.name if asn is None else f"{city.name} + {asn.name}"
    return MaxMindGeo(city, asn), f"geo-IP {named}"


@monitor_app.command("rebuild")
def rebuild(ctx: typer.Context, geoip_city: GeoOpt = None, geoip_asn: AsnOpt = None) -> None:
    """Forget the tenant's baselines and re-learn them from its audit log."""
    if geoip_city is None and geoip_asn is not None:
        raise fail("--geoip-asn needs --geoip-city")
    with opened(_options(ctx)) as platform:
        tenant_id = platform.settings.tenant
        tenant = platform.store.tenant(tenant_id)
        options = platform.settings.options(tenant_id)
        zone = options.time_zone
        geo, geo_used = _geo(geoip_city, geoip_asn, options.monitor)
        book = BaselineBook(BaselineConfig.for_zone(zone))
        last = tenant.audit.last()
        total = 0 if last is None else last.seq
        columns = (
            TextColumn("re-learning"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
        )
        with Progress(*columns, console=console, transient=False) as progress:
            task = progress.add_task("audit", total=total or None)
            report = relearn(
                book,
                tenant.audit.iterate(),
                map_audit_record,
                geo=geo,
                agent_family=user_agent_family,
                peer_group=peer_groups(tenant),
                progress=lambda rows: progress.update(task, completed=rows),
            )
        with tenant.transaction():  # the old baselines stay unless the new ones are saved
            removed = tenant.baselines.clear()
            saved = save_book(book, tenant.baselines, platform.clock.now(), tenant_id=tenant_id)
        audit_admin_change(
            platform,
            "monitor.rebuild",
            tenant_id,
            rows=str(report.rows),
            learnt=str(report.learnt),
            entities=str(report.entities),
        )
        console.print(
            f"re-learnt {report.entities} baseline(s) from {report.learnt} of {report.rows} "
            f"audit event(s); replaced {removed}, saved {saved} row(s) (time zone {zone}, "
            f"{geo_used})"
        )


@badips_app.command("import")
def badips_import(
    ctx: typer.Context,
    file: Annotated[Path, typer.Argument(help="One CIDR or address per line; # comments.")],
    name: Annotated[
        str | None, typer.Option("--name", help="List name (default: file name).")
    ] = None,
) -> None:
    """Replace the named list with the prefixes in FILE."""
    list_name = name or file.stem
    try:
        with file.open(encoding="utf-8") as lines:
            entries = parse_cidrs(lines, str(file))
    except OSError as exc:
        raise fail(f"{file}: {exc.strerror}") from None
    except (InvalidInput, UnicodeDecodeError) as exc:
        raise fail(str(exc)) from None
    with opened(_options(ctx)) as platform:
        tenant = platform.store.tenant(platform.settings.tenant)
        count = tenant.bad_networks.replace(list_name, entries, platform.clock.now())
        audit_admin_change(platform, "monitor.badips.import", list_name, prefixes=str(count))
        console.print(f"list [bold]{list_name}[/] now holds {count} prefix(es)")


@badips_app.command("list")
def badips_list(ctx: typer.Context) -> None:
    """Show the imported lists and their sizes."""
    with opened(_options(ctx)) as platform:
        lists = platform.store.tenant(platform.settings.tenant).bad_networks.lists()
        table = Table("list", "prefixes")
        for list_name, count in lists.items():
            table.add_row(list_name, str(count))
        console.print(table)


@badips_app.command("remove")
def badips_remove(ctx: typer.Context, name: str) -> None:
    """Delete a list."""
    with opened(_options(ctx)) as platform:
        removed = platform.store.tenant(platform.settings.tenant).bad_networks.delete_list(name)
        if removed == 0:
            raise fail(f"no list {name!r}")
        audit_admin_change(platform, "monitor.badips.remove", name, prefixes=str(removed))
        console.print(f"removed list [bold]{name}[/] ({removed} prefix(es))")
