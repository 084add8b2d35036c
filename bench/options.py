"""Command-line options of ``python -m bench.gateway`` (validated; every run is bounded)."""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path

OUT_DIR = Path(__file__).resolve().parent / "out"


@dataclass(frozen=True, slots=True)
class Options:
    seconds: float
    rounds: int
    warmup_seconds: float
    paced_seconds: float
    connections: int
    sessions: int
    users: int
    pace_cap: float
    state_refresh: float
    switch_interval: float | None
    profile: bool
    profile_seconds: float
    out: Path
    monitoring: bool = True


def parse_options(argv: list[str] | None) -> Options:
    parser = argparse.ArgumentParser(
        prog="python -m bench.gateway", description="The gateway against nginx, in one run."
    )
    add = parser.add_argument
    add("--seconds", type=float, default=10.0, help="each saturated run (default 10)")
    add("--rounds", type=int, default=2, help="interleaved saturated rounds; best kept (2)")
    add("--warmup", type=float, default=2.0, help="warm-up run per target (default 2)")
    add("--paced-seconds", type=float, default=8.0, help="paced run per target; 0 skips (8)")
    add("--connections", type=int, default=50)
    add("--sessions", type=int, default=10_000, help="live sessions loaded (default 10000)")
    add("--users", type=int, default=500, help="users the sessions belong to (default 500)")
    add("--pace-cap", type=float, default=2000.0, help="paced run's offered load cap, req/s")
    add("--state-refresh", type=float, default=1.0, help="menshen's state_refresh_seconds")
    add(
        "--switch-interval",
        type=float,
        default=None,
        help="diagnostic: menshen's sys.setswitchinterval (default: Python's 0.005 s)",
    )
    add("--profile", action="store_true", help="also profile menshen (cProfile) under load")
    add(
        "--no-monitoring",
        action="store_true",
        help="run menshen without event ingestion and the monitor engine (to see their cost)",
    )
    add("--profile-seconds", type=float, default=8.0)
    add("--out", type=Path, default=OUT_DIR / "gateway.json")
    args = parser.parse_args(argv)
    for name in ("seconds", "warmup", "profile_seconds"):
        if not 1 <= getattr(args, name) <= 120:
            parser.error(f"--{name.replace('_', '-')} must be between 1 and 120 seconds")
    if not 0 <= args.paced_seconds <= 120 or not 1 <= args.rounds <= 5:
        parser.error("--paced-seconds must be 0..120 and --rounds 1..5")
    if not 1 <= args.connections <= 1000 or not 1 <= args.sessions <= 200_000:
        parser.error("--connections must be 1..1000 and --sessions 1..200000")
    if not 1 <= args.users <= args.sessions or not 0.1 <= args.state_refresh <= 60:
        parser.error("--users must be 1..--sessions and --state-refresh 0.1..60")
    if args.switch_interval is not None and not 0.0001 <= args.switch_interval <= 0.1:
        parser.error("--switch-interval must be 0.0001..0.1 seconds")
    return Options(
        seconds=args.seconds,
        rounds=args.rounds,
        warmup_seconds=args.warmup,
        paced_seconds=args.paced_seconds,
        connections=args.connections,
        sessions=args.sessions,
        users=args.users,
        pace_cap=args.pace_cap,
        state_refresh=args.state_refresh,
        switch_interval=args.switch_interval,
        profile=args.profile,
        profile_seconds=args.profile_seconds,
        out=args.out,
        monitoring=not args.no_monitoring,
    )
