"""Command-line options of ``python -m bench.policy`` (validated; every run is bounded).

``make bench`` hands the same ``BENCH_ARGS`` to every benchmark, so options meant for
another one (``--seconds`` of the gateway benchmark, say) are reported and ignored rather
than fatal; this benchmark's own options have names no other benchmark uses.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path

from bench.options import OUT_DIR


@dataclass(frozen=True, slots=True)
class PolicyOptions:
    sizes: tuple[int, ...]
    requests: int
    seed: int
    menshen_decisions: int
    baseline_decisions: int
    run_seconds: float
    out: Path
    ignored: tuple[str, ...]


def parse_options(argv: list[str] | None) -> PolicyOptions:
    parser = argparse.ArgumentParser(
        prog="python -m bench.policy",
        description="Policy decision latency: menshen beside cedarpy and casbin, in one run.",
    )
    add = parser.add_argument
    add("--sizes", default="20,200,2000", help="tenant sizes in rules (default 20,200,2000)")
    add("--requests", type=int, default=240, help="distinct requests per tenant (240)")
    add("--policy-seed", type=int, default=2025, help="seed of tenants and requests (2025)")
    add("--menshen-decisions", type=int, default=20_000, help="timed menshen decisions (20000)")
    add(
        "--baseline-decisions",
        type=int,
        default=2_000,
        help="timed decisions per baseline and size, at most (2000)",
    )
    add("--run-seconds", type=float, default=2.0, help="time bound of each timed run (2 s)")
    add("--policy-out", type=Path, default=OUT_DIR / "policy.json")
    args, ignored = parser.parse_known_args(argv)
    try:
        sizes = tuple(int(part) for part in args.sizes.split(","))
    except ValueError:
        parser.error("--sizes must be comma-separated integers")
    if not sizes or any(not 1 <= size <= 20_000 for size in sizes):
        parser.error("--sizes must each be 1..20000")
    if list(sizes) != sorted(set(sizes)):
        parser.error("--sizes must be increasing, without repeats")
    if not 10 <= args.requests <= 10_000:
        parser.error("--requests must be 10..10000")
    if not 100 <= args.menshen_decisions <= 1_000_000:
        parser.error("--menshen-decisions must be 100..1000000")
    if not 10 <= args.baseline_decisions <= 100_000:
        parser.error("--baseline-decisions must be 10..100000")
    if not 0.1 <= args.run_seconds <= 60:
        parser.error("--run-seconds must be 0.1..60")
    return PolicyOptions(
        sizes=sizes,
        requests=args.requests,
        seed=args.policy_seed,
        menshen_decisions=args.menshen_decisions,
        baseline_decisions=args.baseline_decisions,
        run_seconds=args.run_seconds,
        out=args.policy_out,
        ignored=tuple(ignored),
    )
