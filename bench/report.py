"""Figures of the gateway benchmark: each with its unit, its baseline beside it, and a verdict.

Pure except for ``print_table`` (Rich) and ``top_functions`` (reads a cProfile dump).
"""

from __future__ import annotations

import io
import pstats
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from rich.console import Console
from rich.table import Table

from bench.wrk import LoadResult


@dataclass(frozen=True, slots=True)
class Target:
    op: Literal[">=", "<"]
    value: float

    def met(self, measured: float) -> bool:
        return measured >= self.value if self.op == ">=" else measured < self.value

    def __str__(self) -> str:
        return f"{self.op} {self.value:g}"


@dataclass(frozen=True, slots=True)
class Figure:
    """One measured figure. ``target`` applies to ``ratio`` when ``on_ratio``, else to menshen."""

    name: str
    unit: str
    menshen: float
    nginx: float | None = None
    upstream: float | None = None
    ratio: float | None = None
    target: Target | None = None
    on_ratio: bool = False
    note: str = ""

    @property
    def judged(self) -> float:
        return self.ratio if self.on_ratio and self.ratio is not None else self.menshen

    @property
    def met(self) -> bool | None:
        return None if self.target is None else self.target.met(self.judged)

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "unit": self.unit,
            "menshen": round(self.menshen, 3),
            "nginx": None if self.nginx is None else round(self.nginx, 3),
            "upstream_direct": None if self.upstream is None else round(self.upstream, 3),
            "ratio": None if self.ratio is None else round(self.ratio, 4),
            "target": None
            if self.target is None
            else f"{'ratio' if self.on_ratio else 'menshen'} {self.target}",
            "met": self.met,
            "note": self.note,
        }


def load_figures(saturated: dict[str, LoadResult], paced: dict[str, LoadResult]) -> list[Figure]:
    """Throughput and latency figures from the saturated and the paced runs.

    Added latency comes twice: menshen over nginx (the target's definition), and each
    proxy over the upstream answered directly (so nginx's own cost is beside menshen's).
    """
    m, n, u = saturated["menshen"], saturated["nginx"], saturated["upstream"]
    figures = [
        Figure(
            "requests_per_second",
            "req/s",
            m.requests_per_second,
            n.requests_per_second,
            u.requests_per_second,
            ratio=m.requests_per_second / n.requests_per_second,
            target=Target(">=", 0.35),
            on_ratio=True,
            note="saturated: every connection sends its next request at once",
        ),
        Figure("p50_saturated", "ms", m.p50_ms, n.p50_ms, u.p50_ms, note="saturated run"),
        Figure("p99_saturated", "ms", m.p99_ms, n.p99_ms, u.p99_ms, note="saturated run"),
        Figure(
            "p99_added_vs_nginx_saturated",
            "ms",
            m.p99_ms - n.p99_ms,
            note="menshen p99 - nginx p99 at saturation: mostly queueing behind lower throughput",
        ),
    ]
    if not paced:
        return figures
    pm, pn, pu = paced["menshen"], paced["nginx"], paced["upstream"]
    return [
        *figures,
        Figure(
            "requests_per_second_paced",
            "req/s",
            pm.requests_per_second,
            pn.requests_per_second,
            pu.requests_per_second,
            ratio=pm.requests_per_second / pn.requests_per_second,
            note="the same offered load for all three targets",
        ),
        Figure("p50_paced", "ms", pm.p50_ms, pn.p50_ms, pu.p50_ms, note="paced run"),
        Figure("p99_paced", "ms", pm.p99_ms, pn.p99_ms, pu.p99_ms, note="paced run"),
        Figure(
            "p99_added_vs_nginx",
            "ms",
            pm.p99_ms - pn.p99_ms,
            target=Target("<", 2.0),
            note="menshen p99 - nginx p99 at the same offered load (paced run)",
        ),
        Figure(
            "p99_added_vs_direct",
            "ms",
            pm.p99_ms - pu.p99_ms,
            pn.p99_ms - pu.p99_ms,
            note="each proxy's p99 - the upstream's own p99 (paced run)",
        ),
    ]


def cpu_figures(saturated: dict[str, float | None], paced: dict[str, float | None]) -> list[Figure]:
    """CPU time per request: what each target costs, whatever the other processes took."""
    figures = []
    for name, runs, note in (
        ("cpu_per_request_saturated", saturated, "saturated run; nginx: master + worker"),
        ("cpu_per_request_paced", paced, "paced run; nginx: master + worker"),
    ):
        menshen, nginx = runs.get("menshen"), runs.get("nginx")
        if menshen is None:
            continue
        figures.append(
            Figure(
                name,
                "µs",
                menshen,
                nginx,
                runs.get("upstream"),
                ratio=None if not nginx else menshen / nginx,
                note=note,
            )
        )
    return figures


def memory_figures(rss_kib: dict[str, int], nginx_kib: int | None) -> list[Figure]:
    """RSS of the menshen process at each stage; nginx proxy (master + worker) beside it."""
    nginx_mb = None if nginx_kib is None else nginx_kib / 1024
    labels = {
        "before_start": ("rss_before_start", None, "store open, imports done, no sessions loaded"),
        "ready": ("rss_ready", Target("<", 150), "10,000 live sessions loaded, before load"),
        "after_load": (
            "rss_after_load",
            Target("<", 150),
            "after the saturated and paced runs (before any profiling)",
        ),
    }
    figures = []
    for key, (name, target, note) in labels.items():
        if key in rss_kib:
            figures.append(
                Figure(
                    name,
                    "MB",
                    rss_kib[key] / 1024,
                    nginx_mb,
                    ratio=None if nginx_mb is None else rss_kib[key] / 1024 / nginx_mb,
                    target=target,
                    note=note,
                )
            )
    return figures


def _num(value: float | None, unit: str) -> str:
    if value is None:
        return "-"
    if unit == "req/s":
        return f"{value:,.0f}"
    return f"{value:,.2f}"


def print_table(console: Console, figures: list[Figure], title: str) -> None:
    table = Table(title=title, title_justify="left")
    for header, justify in (
        ("figure", "left"),
        ("unit", "left"),
        ("menshen", "right"),
        ("nginx proxy", "right"),
        ("upstream direct", "right"),
        ("ratio", "right"),
        ("target", "left"),
        ("verdict", "left"),
    ):
        table.add_column(header, justify=justify)  # type: ignore[arg-type]
    for figure in figures:
        verdict = {None: "", True: "[green]met[/]", False: "[red]missed[/]"}[figure.met]
        target = (
            ""
            if figure.target is None
            else (f"{'ratio' if figure.on_ratio else 'menshen'} {figure.target}")
        )
        table.add_row(
            figure.name,
            figure.unit,
            _num(figure.menshen, figure.unit),
            _num(figure.nginx, figure.unit),
            _num(figure.upstream, figure.unit),
            "" if figure.ratio is None else f"{figure.ratio:.2f}",
            target,
            verdict,
        )
    console.print(table)


def top_functions(
    profile: Path, limit: int = 25
) -> tuple[list[dict[str, Any]], list[dict[str, Any]], str]:
    """The functions with the most own time, own time summed per area, and pstats' text."""
    stats = pstats.Stats(str(profile))
    raw: dict[tuple[str, int, str], tuple[int, int, float, float, Any]]
    raw = stats.stats  # type: ignore[attr-defined]
    total = sum(own for (_cc, _n, own, _cum, _callers) in raw.values())
    entries: list[dict[str, Any]] = []
    areas: dict[str, float] = {}
    for (filename, line, function), (_cc, calls, own, cumulative, _callers) in raw.items():
        area = _area(filename, function)
        areas[area] = areas.get(area, 0.0) + own
        entries.append(
            {
                "function": function,
                "where": f"{_short(filename)}:{line}",
                "calls": calls,
                "own_seconds": round(own, 4),
                "own_percent": _percent(own, total),
                "cumulative_seconds": round(cumulative, 4),
            }
        )
    entries.sort(key=lambda entry: entry["own_seconds"], reverse=True)
    by_area = [
        {"area": area, "own_seconds": round(own, 4), "own_percent": _percent(own, total)}
        for area, own in sorted(areas.items(), key=lambda item: item[1], reverse=True)
    ]
    text = io.StringIO()
    pstats.Stats(str(profile), stream=text).sort_stats("cumulative").print_stats(40)
    pstats.Stats(str(profile), stream=text).sort_stats("tottime").print_stats(40)
    return entries[:limit], by_area, text.getvalue()


def _percent(part: float, total: float) -> float:
    return round(100 * part / total, 1) if total else 0.0


def _area(filename: str, function: str) -> str:
    """``menshen.gateway``, ``stdlib``, a third-party distribution, or a builtin's name."""
    if filename == "~":
        return f"builtin {function.removeprefix('<built-in method ').removesuffix('>')}"
    if "/src/menshen/" in filename:
        package = filename.split("/src/menshen/", 1)[1].split("/", 1)[0].removesuffix(".py")
        return f"menshen.{package}"
    if "/site-packages/" in filename:
        return filename.split("/site-packages/", 1)[1].split("/", 1)[0]
    return "stdlib"


def _short(filename: str) -> str:
    for marker in ("/site-packages/", "/src/", "/lib/python3.11/"):
        if marker in filename:
            return filename.split(marker, 1)[1]
    return filename


def print_summary(console: Console, result: dict[str, Any], figures: list[Figure]) -> None:
    """The table, the audit writer's verdict, each target's verdict, the profile's top."""
    machine = result["machine"]
    print_table(
        console,
        figures,
        f"menshen gateway vs nginx: {result['settings']['connections']} connections, 1 worker "
        f"each, {machine['nproc']} CPUs, Python {machine['python']}, load average at start "
        f"{machine['loadavg_at_start'][0]:.2f}",
    )
    audit = result.get("audit", {})
    if "events_published" in audit:
        after = result.get("audit_after_saturated", {})
        drained = after.get("drain_seconds")
        kept_up = "[green]kept up[/]" if audit["every_event_written"] else "[red]fell behind[/]"
        console.print(
            f"audit log: {audit['audit_rows']:,} rows for {audit['events_published']:,} events "
            f"published ({audit['menshen_requests_completed_by_wrk']:,} load requests completed); "
            f"backlog right after the saturated runs {after.get('pending_right_after_load', 0):,}, "
            f"drained in {'> 30' if drained is None else drained} s; unwritten at exit "
            f"{audit['audit_unwritten_after_stop']}: {kept_up}",
            highlight=False,
        )
        if not audit["every_load_request_allowed"]:
            console.print("[red]warning:[/] fewer access.allow events than load requests")
    elif audit:
        console.print(f"[red]audit log:[/] {audit.get('error')}")
    all_runs = result.get("runs", {})
    for kind in ("warmup", "saturated_rounds", "paced"):
        for name, run in all_runs.get(kind, {}).items():
            for one in run if isinstance(run, list) else [run]:
                if one["non_2xx_3xx"] or one["socket_errors"]:
                    console.print(
                        f"[red]warning:[/] {kind} {name}: {one['non_2xx_3xx']} non-2xx/3xx "
                        f"responses, {one['socket_errors']} socket errors",
                        highlight=False,
                    )
    for figure in figures:
        if figure.met is not None:
            verdict = "[green]MET[/]" if figure.met else "[red]MISSED[/]"
            subject = "ratio" if figure.on_ratio else "menshen"
            console.print(
                f"target {figure.name}: {subject} {figure.target} -> {verdict} "
                f"(measured {figure.judged:.3g})",
                highlight=False,
            )
    profile = result.get("profile")
    if profile:
        console.print(
            f"profile ({profile['tool']}; {profile['requests_per_second_under_profiler']:,.0f} "
            "req/s under the profiler), own time by area:",
            highlight=False,
        )
        for row in profile["own_time_by_area"][:8]:
            console.print(f"  {row['own_percent']:5.1f}%  {row['area']}", highlight=False)
        console.print("top functions by own time:")
        for row in profile["top_own_time"][:15]:
            console.print(
                f"  {row['own_percent']:5.1f}%  {row['calls']:>8,}  {row['function']}  "
                f"[dim]{row['where']}[/]",
                highlight=False,
            )
