"""CPU per request of the gateway's event-loop thread: a quick, low-noise micro-benchmark.

Wall-clock requests/s swings with whatever else the two shared cores are doing; the CPU time
the event-loop thread spends per request barely does. This runs the full request path
(``menshen.app.Server`` on uvloop: session lookup, policy, assertion, audit event) in this
process in front of an nginx upstream, drives it with ``wrk`` for a few rounds and reports,
per round, the event-loop thread's CPU time (``time.thread_time``) and the whole process's
(``time.process_time``, which includes the audit writer's thread) divided by the requests
wrk completed::

    .venv/bin/python -m bench.gateway_cpu                 # 5 rounds of 3 s, 20 connections
    .venv/bin/python -m bench.gateway_cpu --profile 30    # plus cProfile of one more round

The median of the rounds is the figure to compare before and after a change.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import io
import pstats
import statistics
import tempfile
import time
from pathlib import Path

from bench.gateway_server import USER_AGENT, bench_settings, seed_firm
from bench.net import free_port, get
from bench.nginx import Nginx, find_nginx, fixed_body, missing_modules, upstream_config
from bench.wrk import Wrk
from menshen.app import Platform, Server
from menshen.clock import SystemClock
from menshen.gateway.server import install_event_loop_policy


async def measure(args: argparse.Namespace, data_dir: Path) -> None:
    platform = await asyncio.to_thread(Platform.open, bench_settings(data_dir, 1.0), SystemClock())
    server = Server(platform)
    await server.start()
    try:
        port = server.listeners[0].port
        headers = {"Cookie": f"menshen_session={args.token}", "User-Agent": USER_AGENT}
        reply = await asyncio.to_thread(get, port, "/", headers)
        if reply.status != 200:
            raise SystemExit(f"the gateway answered {reply.status}, not 200")
        wrk = Wrk.find(args.connections, 1, headers)
        await asyncio.to_thread(wrk.run, port, "/", 1.0)  # warm-up
        loop_us: list[float] = []
        for n in range(args.rounds):
            thread0, process0 = time.thread_time(), time.process_time()
            result = await asyncio.to_thread(wrk.run, port, "/", args.seconds)
            thread1, process1 = time.thread_time(), time.process_time()
            per_loop = (thread1 - thread0) / result.requests * 1e6
            per_process = (process1 - process0) / result.requests * 1e6
            loop_us.append(per_loop)
            print(
                f"round {n + 1}: {result.requests_per_second:8.0f} req/s  "
                f"event loop {per_loop:6.1f} µs/req  process {per_process:6.1f} µs/req  "
                f"non-2xx {result.non_2xx_3xx}  errors {result.socket_errors}"
            )
        print(
            f"event-loop CPU per request: median {statistics.median(loop_us):.1f} µs, "
            f"min {min(loop_us):.1f} µs"
        )
        if args.profile:
            # Timed by the thread's CPU clock: a wall-clock profile charges a write's
            # function with the time other processes ran after it woke them.
            profiler = cProfile.Profile(time.thread_time)
            profiler.enable()
            result = await asyncio.to_thread(wrk.run, port, "/", args.seconds)
            profiler.disable()
            out = io.StringIO()
            stats = pstats.Stats(profiler, stream=out)
            stats.sort_stats("tottime").print_stats(args.profile)
            print(f"profiled round: {result.requests} requests")
            print(out.getvalue())
    finally:
        await server.stop()
        platform.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--connections", type=int, default=20)
    parser.add_argument("--sessions", type=int, default=1000)
    parser.add_argument("--profile", type=int, default=0, help="print the N top functions")
    args = parser.parse_args()
    nginx = find_nginx()
    with tempfile.TemporaryDirectory(prefix="menshen-cpu-") as scratch:
        root = Path(scratch)
        upstream_port = free_port()
        config = upstream_config(
            root / "upstream", upstream_port, fixed_body(), missing_modules(nginx)
        )
        with Nginx(nginx, root / "upstream", config, upstream_port):
            data_dir = root / "data"
            data_dir.mkdir()
            platform = Platform.open(bench_settings(data_dir, 1.0), SystemClock())
            try:
                firm = seed_firm(platform, upstream_port, 100, args.sessions)
            finally:
                platform.close()
            args.token = firm.token
            install_event_loop_policy()
            asyncio.run(measure(args, data_dir))


if __name__ == "__main__":
    main()
