"""``python -m bench.segmentation``: compile and analyse a 5,000-asset, 50,000-flow firm.

A seeded synthetic firm (``bench.segmentation_firm``) is written as the files a firm would
import (CSV inventory, YAML policy, a CSV of observed flows). A **fresh child process** then
does what the command line does, stage by stage, timing each (wall clock) and reading its
memory high-water mark (``VmHWM``) after each: load and validate the files, resolve zones
and rules, compile to nftables (when the compiler is there), reach and blast radius of five
assets, the drift check of 50,000 observed flows, risk scores, the suggested rules and
discovery. The parent checks the compiled ruleset with ``nft -c -f`` when nft is installed.

Baseline, in the same run: a brute-force reach for two of the five assets (every other
asset probed with ``Segmentation.allows`` on every port a rule names), which must agree
with ``reach`` (a disagreement fails the run) and shows what the rule index buys.
Targets (issue 5): compile and analyse under 5 s, peak memory under 500 MB. The exit code
is 0 when the measurement succeeded, whether or not the targets were met; 1 when the
baseline disagrees or a stage fails. Results go to ``bench/out/segmentation.json``.
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from bench.environment import load_average
from bench.options import OUT_DIR
from bench.report import Figure, Target
from bench.segmentation_firm import T0, generate

TARGET_SECONDS = 5.0
TARGET_MB = 500.0
SAMPLES = ("ws-00000", "ws-00001", "host-00000", "db-00000", "ext-00000")
"""A contractor's laptop, a staff laptop, a web host, a database, an outside party."""
CORE = ("load_validate", "resolve", "compile_nftables", "reach_blast", "drift_check")
FEATURES = ("read_observed", "risks", "suggest", "discover")
_REPO = Path(__file__).resolve().parent.parent


def _high_water_mb() -> float:
    """The process's peak resident memory so far (VmHWM), in MB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def child(folder: Path) -> dict[str, Any]:
    """Run every stage on the files in ``folder``; seconds and memory per stage."""
    from menshen.inventory.catalog import Inventory, merge_items
    from menshen.inventory.discovery.flowcsv import parse_flow_csv
    from menshen.inventory.discovery.match import discover
    from menshen.inventory.discovery.records import bounded_lines
    from menshen.segmentation import blast_radius, check, reach
    from menshen.segmentation.files import merge_policy, read_files
    from menshen.segmentation.model import SegmentationPolicy
    from menshen.segmentation.resolve import Segmentation
    from menshen.segmentation.risk import assess
    from menshen.segmentation.suggest import suggest

    stages: dict[str, dict[str, float]] = {}
    counts: dict[str, Any] = {"baseline_mb": round(_high_water_mb(), 1)}

    def timed(name: str, work: Callable[[], Any]) -> Any:
        start, cpu = time.perf_counter(), time.process_time()
        result = work()
        stages[name] = {
            "cpu_seconds": round(time.process_time() - cpu, 4),
            "wall_seconds": round(time.perf_counter() - start, 4),
            "high_water_mb": round(_high_water_mb(), 1),
        }
        return result

    paths = sorted(folder.glob("*.csv"))
    paths = [p for p in paths if p.name != "observed.csv"] + [folder / "policy.yaml"]

    def load() -> Segmentation:
        parts = read_files(paths)
        inventory = merge_items(Inventory(), parts.inventory)
        return Segmentation(inventory, merge_policy(SegmentationPolicy(), parts))

    loaded = timed("load_validate", load)
    seg = timed("resolve", lambda: Segmentation(loaded.inventory, loaded.policy))
    counts |= {"rules": len(seg.rules), "zones": len(seg.policy.zones)}
    try:
        from menshen.segmentation.compile import compile_nftables
    except ImportError:
        counts["compile_nftables"] = "not available"
    else:
        text = timed("compile_nftables", lambda: compile_nftables(seg, T0))
        (folder / "ruleset.nft").write_text(text, encoding="utf-8")
        counts["nftables_bytes"] = len(text)

    def questions() -> dict[str, Any]:
        found = {}
        for asset in SAMPLES:
            result = reach(seg, asset, T0)
            blast = blast_radius(seg, asset, T0)
            found[asset] = {"reach": len(result.assets), "blast_assets": len(blast.assets)}
        return found

    counts["samples"] = timed("reach_blast", questions)

    def read_observed() -> Any:
        with (folder / "observed.csv").open(encoding="utf-8") as handle:
            return parse_flow_csv(bounded_lines(handle), "observed.csv")

    observed = timed("read_observed", read_observed).observations
    flows = [item.observed_flow() for item in observed]
    report = timed("drift_check", lambda: check(seg, T0, flows))
    counts |= {"observed": len(flows), "drift": len(report.drift), "gaps": len(report.gaps)}
    counts["risk_items"] = len(timed("risks", lambda: assess(seg, T0)))
    counts["suggested_rules"] = len(timed("suggest", lambda: suggest(seg, observed, T0)).rules)
    found = timed("discover", lambda: discover(observed, seg.inventory, fmt="csv"))
    counts |= {"new_assets": len(found.new_assets), "matched": len(found.matched)}
    counts["baseline"] = _brute_force(seg, reach)
    counts["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    return {"stages": stages, "counts": counts}


def _brute_force(seg: Any, reach: Callable[..., Any]) -> dict[str, Any]:
    """Probe every asset on every port a rule names; time it beside ``reach``."""
    ports = sorted({(p.protocol, p.first) for rule in seg.rules for p in rule.ports})
    monitored = seg.monitored_assets()
    result: dict[str, Any] = {"probe_ports": len(ports), "assets": {}}
    for source in SAMPLES[:2]:
        start = time.perf_counter()
        indexed = set(reach(seg, source, T0).asset_ids())
        indexed_s = time.perf_counter() - start
        start = time.perf_counter()
        brute = {
            target.id
            for target in seg.inventory.assets
            if target.id != source
            and (
                target.id in monitored
                or any(seg.allows(source, target.id, p, proto, T0) for proto, p in ports)
            )
        }
        brute_s = time.perf_counter() - start
        result["assets"][source] = {
            "reach_seconds": round(indexed_s, 5),
            "brute_force_seconds": round(brute_s, 4),
            "agree": indexed == brute,
            "reached": len(indexed),
        }
    return result


def figures(measured: dict[str, Any], nft: dict[str, Any]) -> list[Figure]:
    stages = measured["stages"]
    counts = measured["counts"]
    seconds = {name: stage["cpu_seconds"] for name, stage in stages.items()}
    wall = sum(stage["wall_seconds"] for name, stage in stages.items() if name in CORE)
    core = sum(seconds.get(name, 0.0) for name in CORE)
    every = core + sum(seconds.get(name, 0.0) for name in FEATURES)
    target_s, target_mb = Target("<", TARGET_SECONDS), Target("<", TARGET_MB)
    found = [
        Figure(f"{name}_s", "s", value, note=f"wall {stages[name]['wall_seconds']:.3f} s")
        for name, value in seconds.items()
    ]
    found += [
        Figure(
            "compile_and_analyse_s",
            "s",
            core,
            target=target_s,
            note=f"{' + '.join(CORE)}; wall {wall:.2f} s",
        ),
        Figure(
            "every_feature_s",
            "s",
            every,
            target=target_s,
            note="the above + read observed, risks, suggest, discover",
        ),
        Figure(
            "peak_rss_mb",
            "MB",
            counts["peak_rss_mb"],
            target=target_mb,
            note=f"child process, interpreter included ({counts['baseline_mb']} MB at start)",
        ),
    ]
    for source, item in counts["baseline"]["assets"].items():
        ratio = item["brute_force_seconds"] / max(item["reach_seconds"], 1e-6)
        found.append(
            Figure(
                f"reach_{source}_ms",
                "ms",
                item["reach_seconds"] * 1000,
                ratio=ratio,
                note=f"brute force {item['brute_force_seconds'] * 1000:.0f} ms "
                f"({ratio:.0f}x); agree={item['agree']}",
            )
        )
    if "seconds" in nft:
        found.append(Figure("nft_check_s", "s", nft["seconds"], note=f"nft -c -f: {nft['result']}"))
    return found


def _nft_check(folder: Path) -> dict[str, Any]:
    nft = shutil.which("nft") or ("/usr/sbin/nft" if Path("/usr/sbin/nft").exists() else None)
    ruleset = folder / "ruleset.nft"
    if nft is None or not ruleset.exists():
        return {"skipped": "nft or the compiler is not installed"}
    start = time.perf_counter()
    done = subprocess.run(
        [nft, "-c", "-f", str(ruleset)], capture_output=True, text=True, timeout=120, check=False
    )
    elapsed = time.perf_counter() - start
    result = "ok" if done.returncode == 0 else f"exit {done.returncode}: {done.stderr[:300]}"
    return {"seconds": round(elapsed, 4), "result": result}


def print_figures(console: Console, found: list[Figure], title: str) -> None:
    table = Table(title=title, title_justify="left")
    for header in ("figure", "unit", "measured", "target", "verdict", "note"):
        table.add_column(header, justify="right" if header == "measured" else "left")
    for figure in found:
        verdict = {None: "", True: "[green]met[/]", False: "[red]missed[/]"}[figure.met]
        target = "" if figure.target is None else str(figure.target)
        table.add_row(
            figure.name, figure.unit, f"{figure.menshen:,.3f}", target, verdict, figure.note
        )
    console.print(table)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.segmentation", description=__doc__)
    parser.add_argument("--assets", type=int, default=5_000, help="assets (5000)")
    parser.add_argument("--flows", type=int, default=50_000, help="declared and observed (50000)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--out", type=Path, default=OUT_DIR / "segmentation.json")
    parser.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child is not None:
        print(json.dumps(child(args.child)))
        return 0
    if not 100 <= args.assets <= 100_000 or not 100 <= args.flows <= 1_000_000:
        parser.error("--assets must be 100..100000 and --flows 100..1000000")
    console = Console()
    result: dict[str, Any] = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {"python": sys.version.split()[0], "loadavg_at_start": load_average()},
        "settings": {
            "assets": args.assets,
            "flows": args.flows,
            "seed": args.seed,
            "at": T0.isoformat(),
        },
    }
    with tempfile.TemporaryDirectory(prefix="menshen-bench-seg-") as name:
        folder = Path(name)
        console.print(f"generating a firm of {args.assets:,} assets, {args.flows:,} flows ...")
        firm = generate(args.assets, args.flows, args.seed)
        firm.write(folder)
        result["firm"] = {
            "assets": len(firm.inventory.assets),
            "data_stores": len(firm.inventory.data_stores),
            "declared_flows": len(firm.inventory.flows),
            "observed_flows": len(firm.observed),
            "file_bytes": {p.name: p.stat().st_size for p in sorted(folder.iterdir())},
        }
        del firm
        console.print("measuring in a fresh process ...")
        done = subprocess.run(
            [sys.executable, "-m", "bench.segmentation", "--child", str(folder)],
            capture_output=True,
            text=True,
            cwd=_REPO,
            timeout=900,
            check=False,
        )
        if done.returncode != 0:
            console.print(f"[red]the measuring process failed:[/]\n{done.stderr[-3000:]}")
            return 1
        measured = json.loads(done.stdout)
        nft = _nft_check(folder)
    result |= {"measured": measured, "nft_check": nft}
    result["machine"]["loadavg_at_end"] = load_average()
    found = figures(measured, nft)
    result["figures"] = [figure.to_json() for figure in found]
    print_figures(console, found, f"segmentation: {args.assets:,} assets, {args.flows:,} flows")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    console.print(f"written to {args.out}")
    agree = all(item["agree"] for item in measured["counts"]["baseline"]["assets"].values())
    if not agree:
        console.print("[red]reach disagrees with the brute-force baseline: the run is invalid[/]")
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
