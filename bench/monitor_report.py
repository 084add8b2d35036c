"""Printing of ``bench.monitor``'s result (Rich): the quality table, the target verdicts, what
the figures do not show, and the throughput line. Reads only the result dictionary."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.table import Table

from bench.monitor_quality import target_verdicts


def print_report(console: Console, result: dict[str, Any]) -> None:
    found = result["quality"]
    if "skipped" in found:
        console.print(f"[yellow]quality skipped:[/] {found['skipped']}")
    else:
        table = Table(
            title="LANL host authentication: learn benign days 0-1, judge day 2 and"
            " the red team (same process, same events)",
            title_justify="left",
        )
        for header in (
            "method",
            "operating point",
            "day-2 alerts",
            "day-2 rate",
            "red events",
            "red users",
        ):
            table.add_column(header)
        for row in found["results"]:
            table.add_row(
                row["method"],
                row["threshold"],
                f"{row['day2_alerts']}/{row['day2_events']}",
                f"{row['day2_alert_rate']:.2%}",
                f"{row['redteam_event_share']:.1%}",
                f"{row['redteam_users_flagged']}/{row['redteam_users']}",
            )
        console.print(table)
        console.print(
            "average precision, day-2 + red-team events (base rate 27%, not 1 in 1.4M): "
            + ", ".join(
                f"{k} {v:.3f}" for k, v in found["average_precision_day2_plus_redteam"].items()
            ),
            highlight=False,
        )
        verdict = "[green]MET[/]" if found["target_met"] else "[red]NOT MET[/]"
        console.print(f"target: {found['target']} -> {verdict}", highlight=False)
        for label, met, figures in target_verdicts(found["results"]):
            mark = "[green]MET[/]" if met else "[red]NOT MET[/]"
            console.print(f"  {label}: {figures} -> {mark}", highlight=False)
        console.print(f"rows match the README: {found['rows_match_readme']} {found['rows']}")
        console.print("[bold]What these figures do NOT show:[/]")
        for limit in found["not_shown"]:
            console.print(f"  - {limit}", highlight=False)
    speed = result["throughput"]
    verdict = "[green]MET[/]" if speed["target_met"] else "[red]MISSED[/]"
    console.print(
        f"throughput, one thread, {speed['events']:,} events: "
        f"{speed['events_per_second']:,.0f} events/s (each stage alone: "
        + ", ".join(f"{k} {v:,.0f}/s" for k, v in speed["stage_events_per_second"].items())
        + f"); target >= "
        f"{speed['target_events_per_second']:,.0f} -> {verdict}",
        highlight=False,
    )
    console.print(f"included: {'; '.join(speed['stages'])}", highlight=False)
    ledger = speed.get("risk_ledger_findings_per_second")
    if ledger:
        console.print(
            f"risk ledger alone: {ledger:,.0f} host-auth findings/s; in the whole chain "
            f"{speed['findings_in_whole_chain']:,} findings ({speed['host_auth_findings']:,} "
            f"host-auth) took {speed['whole_chain_seconds_in_risk_ledger']:.1f} s of "
            f"{speed['whole_chain_seconds']:.1f} s in the risk ledger",
            highlight=False,
        )
