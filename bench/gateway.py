"""``python -m bench.gateway``: the gateway's full request path against nginx, in one run.

Three targets serve the same 1 KiB body on 127.0.0.1, each with one worker process:

* ``upstream``: nginx answering directly (the floor);
* ``nginx``: a second nginx reverse-proxying to it with upstream keep-alive and an access
  log line per request (the baseline);
* ``menshen``: the gateway in front of the same upstream, the full path on every request:
  session cookie looked up among 10,000 live sessions, the compiled policy decided, a
  signed identity assertion attached (cached per session), an audit event published and
  written to the hash-chained log.

wrk loads each target saturated (every connection sends its next request at once:
throughput), in interleaved rounds, and then paced (the same offered load everywhere: added
latency). Figures are printed beside their baselines and written to
``bench/out/gateway.json``. The exit code is 0 whenever the measurement succeeded, whether
or not the targets were met; 1 when a check shows the benchmark would be meaningless
(menshen not answering 200 with the upstream's body, say). See docs/benchmarks.md.
"""

from __future__ import annotations

import contextlib
import json
import math
import shutil
import signal
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType
from typing import Any

from rich.console import Console

from bench import checks
from bench.environment import load_average, machine
from bench.menshen_process import MenshenError, MenshenServer, seed
from bench.net import (
    CpuShare,
    cpu_share,
    free_port,
    process_cpu_seconds,
    rss_kib,
    thread_cpu_seconds,
)
from bench.nginx import (
    Nginx,
    find_nginx,
    fixed_body,
    missing_modules,
    proxy_config,
    upstream_config,
)
from bench.options import Options, parse_options
from bench.report import (
    Figure,
    cpu_figures,
    load_figures,
    memory_figures,
    print_summary,
    top_functions,
)
from bench.wrk import LoadResult, Wrk, WrkError

TARGETS = ("upstream", "nginx", "menshen")


def _terminate(signum: int, frame: FrameType | None) -> None:
    raise SystemExit(128 + signum)  # unwinds the ExitStack: every process is stopped


@dataclass(frozen=True, slots=True)
class Outcome:
    load: LoadResult
    cpu_us: float | None  # CPU time of the target's processes per completed request
    threads: CpuShare | None  # menshen only: cores of the event loop and the other threads
    stats: dict[str, Any]  # menshen only: its stats right after the run


class Bench:
    """One run: start everything, check it, load it, measure it, stop everything."""

    def __init__(self, options: Options, console: Console) -> None:
        self.options = options
        self.console = console
        self.warmups: dict[str, LoadResult] = {}
        self.rounds: dict[str, list[LoadResult]] = {name: [] for name in TARGETS}
        self.round_cpu_us: dict[str, list[float | None]] = {name: [] for name in TARGETS}
        self.paced_cpu_us: dict[str, float | None] = {}
        self.target_pids: dict[str, list[int]] = {}
        self.paced: dict[str, LoadResult] = {}
        self.profiled: LoadResult | None = None
        self.menshen_rounds: list[dict[str, Any]] = []
        self.menshen_pid: int | None = None
        self.rss: dict[str, int] = {}
        self.result: dict[str, Any] = {}
        self.figures: list[Figure] = []

    def say(self, text: str) -> None:
        self.console.print(f"[dim]{time.strftime('%H:%M:%S')}[/] {text}", highlight=False)

    def _best_round(self, name: str) -> int:
        """The round with the highest throughput (noise only ever slows a run)."""
        runs = self.rounds[name]
        return max(range(len(runs)), key=lambda i: runs[i].requests_per_second)

    @property
    def saturated(self) -> dict[str, LoadResult]:
        return {name: runs[self._best_round(name)] for name, runs in self.rounds.items() if runs}

    @property
    def saturated_cpu_us(self) -> dict[str, float | None]:
        return {
            name: self.round_cpu_us[name][self._best_round(name)]
            for name, runs in self.rounds.items()
            if runs
        }

    def run(self) -> dict[str, Any]:
        options = self.options
        nginx, wrk_path = find_nginx(), shutil.which("wrk") or "wrk"
        self.result = {
            "benchmark": "gateway",
            "date": datetime.now(UTC).isoformat(timespec="seconds"),
            "command": " ".join(["python -m bench.gateway", *sys.argv[1:]]),
            "machine": machine(nginx, wrk_path),
            "settings": {
                **asdict(options),
                "out": str(options.out),
                "wrk_threads": 1,
                "worker_processes": {"nginx": 1, "menshen": 1},
                "response_body_bytes": 1024,
            },
        }
        with contextlib.ExitStack() as stack:
            scratch = Path(
                stack.enter_context(tempfile.TemporaryDirectory(prefix="menshen-bench-"))
            )
            body, missing = fixed_body(), missing_modules(nginx)
            up_port, proxy_port = free_port(), free_port()
            up_dir, proxy_dir = scratch / "upstream", scratch / "proxy"
            upstream = Nginx(
                nginx, up_dir, upstream_config(up_dir, up_port, body, missing), up_port
            )
            stack.enter_context(upstream)
            proxy = Nginx(
                nginx, proxy_dir, proxy_config(proxy_dir, proxy_port, up_port, missing), proxy_port
            )
            stack.enter_context(proxy)
            self.say(f"nginx upstream on :{up_port}, nginx proxy on :{proxy_port} (1 worker each)")
            data_dir = scratch / "menshen"
            seeded = seed(data_dir, up_port, options.users, options.sessions, timeout=300)
            self.say(f"seeded {seeded['users']} users, {seeded['sessions']} sessions")
            server = MenshenServer(
                data_dir,
                scratch / "menshen.prof",
                scratch / "menshen.log",
                state_refresh=options.state_refresh,
                switch_interval=options.switch_interval,
                monitoring=options.monitoring,
            )
            self.target_pids = {"upstream": upstream.pids(), "nginx": proxy.pids()}
            try:
                self._measure(server, {"upstream": up_port, "nginx": proxy_port}, body, scratch)
                proxy_kib = sum(filter(None, map(rss_kib, [*proxy.pids()])))
            finally:
                stopped = server.stop()
            self._audit(stopped)
        self.result["machine"]["loadavg_at_end"] = load_average()
        self.result["runs"] = {
            "warmup": {name: asdict(r) for name, r in self.warmups.items()},
            "saturated_rounds": {
                name: [asdict(r) for r in runs] for name, runs in self.rounds.items()
            },
            "paced": {name: asdict(r) for name, r in self.paced.items()},
            "cpu_us_per_request": {
                "saturated_rounds": self.round_cpu_us,
                "paced": self.paced_cpu_us,
            },
        }
        figures = load_figures(self.saturated, self.paced)
        figures += cpu_figures(self.saturated_cpu_us, self.paced_cpu_us)
        figures += memory_figures(self.rss, proxy_kib or None)
        self.result["figures"] = [figure.to_json() for figure in figures]
        self.figures = figures
        return self.result

    def _measure(
        self, server: MenshenServer, ports: dict[str, int], body: bytes, scratch: Path
    ) -> None:
        ready = server.expect("ready", timeout=120)
        self.menshen_pid = server.pid
        self.target_pids["menshen"] = [server.pid]
        self.result["menshen"] = {k: v for k, v in ready.items() if k not in ("event", "token")}
        self.rss["before_start"] = ready["rss_kib_before_start"]
        self.rss["ready"] = ready["rss_kib_ready"]
        self.say(
            f"menshen on :{ready['port']} ({ready['event_loop']}), "
            f"{ready['sessions_live']:,} live sessions, RSS {ready['rss_kib_ready'] / 1024:.1f} MB"
        )
        headers = {"Cookie": f"menshen_session={ready['token']}", "User-Agent": ready["user_agent"]}
        ports = {**ports, "menshen": int(ready["port"])}
        problems = checks.before_load(ports, headers, body)
        self.result["checks"] = {"before_load": problems or "ok"}
        if problems:
            raise checks.CheckFailed("; ".join(problems))
        self.say("checks passed: menshen answers 200 with the upstream's body and an assertion")
        wrk = Wrk.find(self.options.connections, 1, headers)
        self._saturate(wrk, ports, server)
        self._pace(wrk, ports, server)
        self.rss["after_load"] = server.ask("stats", "stats")["rss_kib"]
        if self.options.profile:
            self._profile(wrk, ports["menshen"], server, scratch / "menshen.prof")

    def _run(
        self,
        wrk: Wrk,
        port: int,
        seconds: float,
        server: MenshenServer,
        name: str,
        delay_ms: int | None = None,
    ) -> Outcome:
        """One wrk run, the CPU the target's processes used, and for menshen its stats."""
        pids = self.target_pids.get(name, [])
        is_menshen = name == "menshen" and self.menshen_pid is not None
        if is_menshen:
            server.ask("stats", "stats")  # opens a new window for the longest GC pause
        threads_before = thread_cpu_seconds(self.menshen_pid) if self.menshen_pid else {}
        cpu_before, started = process_cpu_seconds(pids), time.monotonic()
        result = wrk.run(port, "/", seconds, delay_ms=delay_ms)
        wall = time.monotonic() - started
        used = process_cpu_seconds(pids) - cpu_before
        cpu_us = round(used * 1e6 / result.requests, 1) if result.requests and pids else None
        if not is_menshen or self.menshen_pid is None:
            return Outcome(result, cpu_us, None, {})
        after = thread_cpu_seconds(self.menshen_pid)
        threads = cpu_share(self.menshen_pid, threads_before, after, wall)
        return Outcome(result, cpu_us, threads, server.ask("stats", "stats"))

    def _report(self, label: str, outcome: Outcome) -> None:
        result, threads, stats = outcome.load, outcome.threads, outcome.stats
        cpu = "" if outcome.cpu_us is None else f", {outcome.cpu_us:.0f} µs CPU/request"
        extra = ""
        if threads is not None and stats:
            extra = (
                f"; cores: event loop {threads.main_thread:.2f}, other threads "
                f"{threads.other_threads:.2f}; audit backlog {stats['audit_pending']:,}; "
                f"loop lag max {stats['loop_lag_max_ms']:.1f} ms "
                f"({stats['loop_stalls_over_5ms']} stalls > 5 ms); longest GC pause "
                f"{stats['gc_longest_pause_ms']:.1f} ms"
            )
        self.say(
            f"  {label}: {result.requests_per_second:,.0f} req/s, p50 {result.p50_ms:.2f} ms, "
            f"p99 {result.p99_ms:.2f} ms{cpu}{extra}"
        )

    def _saturate(self, wrk: Wrk, ports: dict[str, int], server: MenshenServer) -> None:
        options = self.options
        for name in TARGETS:
            self.warmups[name] = wrk.run(ports[name], "/", options.warmup_seconds)
        self.say(
            f"saturated: wrk -t1 -c{options.connections}, {options.rounds} round(s) of "
            f"{options.seconds:.0f} s per target (after {options.warmup_seconds:.0f} s warm-ups)"
        )
        for round_no in range(options.rounds):
            for name in TARGETS:
                outcome = self._run(wrk, ports[name], options.seconds, server, name)
                self.rounds[name].append(outcome.load)
                self.round_cpu_us[name].append(outcome.cpu_us)
                self._report(f"round {round_no + 1} {name}", outcome)
                if outcome.stats:
                    self.menshen_rounds.append(_window(outcome.stats, outcome.threads))
        after = server.ask("stats", "stats")
        self.result["audit_after_saturated"] = {
            "pending_right_after_load": after["audit_pending"],
            "bus_high_water": after["audit_high_water"],
            "drain_seconds": self._drain(server, after["audit_pending"]),
            "after_each_menshen_round": self.menshen_rounds,
        }

    def _pace(self, wrk: Wrk, ports: dict[str, int], server: MenshenServer) -> None:
        options = self.options
        if options.paced_seconds <= 0:
            return
        rate = min(options.pace_cap, 0.5 * self.saturated["menshen"].requests_per_second)
        delay_ms = max(1, math.ceil(options.connections * 1000 / max(rate, 1.0)))
        offered = options.connections * 1000 / delay_ms
        self.result["paced"] = {"delay_ms_per_connection": delay_ms, "offered_rps_at_most": offered}
        self.say(
            f"paced: {options.connections} connections x 1 request per {delay_ms} ms "
            f"(<= {offered:,.0f} req/s), {options.paced_seconds:.0f} s per target"
        )
        for name in TARGETS:
            outcome = self._run(wrk, ports[name], options.paced_seconds, server, name, delay_ms)
            self.paced[name] = outcome.load
            self.paced_cpu_us[name] = outcome.cpu_us
            self._report(name, outcome)
            if outcome.stats:
                self.result["paced"]["menshen"] = _window(outcome.stats, outcome.threads)

    def _drain(self, server: MenshenServer, pending: int, timeout: float = 30.0) -> float | None:
        started = time.monotonic()
        while pending > 0:
            if time.monotonic() - started > timeout:
                return None
            time.sleep(0.1)
            pending = server.ask("stats", "stats")["audit_pending"]
        return round(time.monotonic() - started, 2)

    def _profile(self, wrk: Wrk, port: int, server: MenshenServer, dump: Path) -> None:
        seconds = self.options.profile_seconds
        self.say(f"profiling menshen (cProfile, event-loop thread) under {seconds:.0f} s of load")
        server.ask("profile-start", "profiling")
        self.profiled = wrk.run(port, "/", seconds)
        server.ask("profile-stop", "profile", timeout=60)
        rows, areas, text = top_functions(dump)
        self.options.out.parent.mkdir(parents=True, exist_ok=True)
        (self.options.out.parent / "gateway-profile.txt").write_text(text, encoding="utf-8")
        self.result["profile"] = {
            "tool": "cProfile, event-loop thread only (the audit writer's thread is not seen)",
            "requests_per_second_under_profiler": self.profiled.requests_per_second,
            "requests": self.profiled.requests,
            "own_time_by_area": areas,
            "top_own_time": rows,
        }

    def _audit(self, stopped: dict[str, Any] | None) -> None:
        if stopped is None:
            self.result["audit"] = {"error": "menshen did not report on stop"}
            return
        kinds: dict[str, int] = stopped["events_by_kind"]
        published = sum(kinds.values())
        runs = [self.warmups.get("menshen"), self.paced.get("menshen"), self.profiled]
        completed = sum(r.requests for r in [*runs, *self.rounds["menshen"]] if r is not None)
        self.result["audit"] = {
            **{k: v for k, v in stopped.items() if k != "event"},
            "events_published": published,
            "menshen_requests_completed_by_wrk": completed,
            "every_event_written": stopped["audit_unwritten_after_stop"] == 0
            and stopped["audit_rows"] == published,
            "every_load_request_allowed": kinds.get("access.allow", 0) >= completed,
        }


def _window(stats: dict[str, Any], cpu: CpuShare | None) -> dict[str, Any]:
    """What menshen reported right after one load run."""
    keep = ("audit_pending", "audit_written", "rss_kib", "gc_collections", "gc_total_ms")
    return {
        **{key: stats[key] for key in keep},
        "gc_longest_pause_ms_during_run": stats["gc_longest_pause_ms"],
        "gc_longest_pause_generation": stats["gc_longest_pause_generation"],
        "loop_lag_max_ms_during_run": stats["loop_lag_max_ms"],
        "loop_stalls_over_5ms_during_run": stats["loop_stalls_over_5ms"],
        **({} if cpu is None else {"cpu_cores": asdict(cpu)}),
    }


def main(argv: list[str] | None = None) -> int:
    options = parse_options(argv)
    console = Console(width=None if sys.stdout.isatty() else 132)
    signal.signal(signal.SIGTERM, _terminate)
    bench = Bench(options, console)
    try:
        result = bench.run()
    except (checks.CheckFailed, MenshenError, WrkError, RuntimeError, TimeoutError) as exc:
        console.print(f"[red]benchmark failed:[/] {exc}")
        return 1
    options.out.parent.mkdir(parents=True, exist_ok=True)
    options.out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print_summary(console, result, bench.figures)
    console.print(f"written: {options.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
