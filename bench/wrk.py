"""Drive ``wrk`` and read its report.

``parse_report`` is pure: it turns wrk 4's ``--latency`` text into a ``LoadResult``.
A paced run adds a Lua ``delay()`` hook so every connection waits a random time (fixed
mean) between requests: the same offered load for every target, which is where added latency is read
(at saturation, latency is throughput in disguise: it is queueing).
"""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

_UNITS_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0, "h": 3_600_000.0}
_SIZE = {"B": 1, "KB": 1024, "MB": 1024**2, "GB": 1024**3, "TB": 1024**4}
_PERCENTILE = re.compile(r"^\s*(50|75|90|99)(?:\.0+)?%\s+([\d.]+)(us|ms|s|m|h)\s*$", re.M)
_RPS = re.compile(r"^Requests/sec:\s+([\d.]+)\s*$", re.M)
_TOTAL = re.compile(
    r"^\s*(\d+) requests in ([\d.]+)(us|ms|s|m|h), ([\d.]+)(B|KB|MB|GB|TB) read", re.M
)
_NON_2XX = re.compile(r"Non-2xx or 3xx responses:\s+(\d+)")
_SOCKET = re.compile(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)")


class WrkError(RuntimeError):
    """wrk failed or printed something this parser does not understand."""


@dataclass(frozen=True, slots=True)
class LoadResult:
    requests: int
    seconds: float
    requests_per_second: float
    p50_ms: float
    p75_ms: float
    p90_ms: float
    p99_ms: float
    bytes_read: int
    non_2xx_3xx: int
    socket_errors: int

    @property
    def bytes_per_response(self) -> float:
        return self.bytes_read / self.requests if self.requests else 0.0


def parse_report(text: str) -> LoadResult:
    """Read requests/s, the latency percentiles and the error counts from wrk's output."""
    percentiles = {int(p): float(v) * _UNITS_MS[u] for p, v, u in _PERCENTILE.findall(text)}
    rps = _RPS.search(text)
    total = _TOTAL.search(text)
    if rps is None or total is None or set(percentiles) != {50, 75, 90, 99}:
        raise WrkError(f"unexpected wrk output:\n{text}")
    non_2xx = _NON_2XX.search(text)
    socket = _SOCKET.search(text)
    return LoadResult(
        requests=int(total.group(1)),
        seconds=float(total.group(2)) * _UNITS_MS[total.group(3)] / 1000.0,
        requests_per_second=float(rps.group(1)),
        p50_ms=percentiles[50],
        p75_ms=percentiles[75],
        p90_ms=percentiles[90],
        p99_ms=percentiles[99],
        bytes_read=int(float(total.group(4)) * _SIZE[total.group(5)]),
        non_2xx_3xx=int(non_2xx.group(1)) if non_2xx else 0,
        socket_errors=sum(int(n) for n in socket.groups()) if socket else 0,
    )


def pacing_script(delay_ms: int, seed: int = 20260105) -> str:
    """A wrk Lua script: each connection waits ``delay_ms`` on average before its next request.

    The wait is drawn uniformly from [0, 2 x delay_ms] (a fixed seed: runs are repeatable), so
    the connections drift apart; a fixed wait keeps them in step, and the requests then
    arrive in bursts of one per connection, which measures queueing, not added latency.
    """
    if delay_ms < 1:
        raise ValueError("the delay must be at least 1 ms")
    return (
        f"math.randomseed({seed})\nfunction delay()\n  return math.random(0, {2 * delay_ms})\nend\n"
    )


@dataclass(frozen=True, slots=True)
class Wrk:
    """``wrk -t1 -cN -dS --latency`` against 127.0.0.1 with fixed request headers."""

    connections: int
    threads: int
    headers: Mapping[str, str]
    executable: str = "wrk"

    @classmethod
    def find(cls, connections: int, threads: int, headers: Mapping[str, str]) -> Wrk:
        found = shutil.which("wrk")
        if found is None:
            raise WrkError("wrk is not installed (run scripts/ensure-system-deps.sh bench)")
        return cls(connections, threads, dict(headers), found)

    def run(self, port: int, path: str, seconds: float, delay_ms: int | None = None) -> LoadResult:
        args = [
            self.executable,
            f"-t{self.threads}",
            f"-c{self.connections}",
            f"-d{max(1, round(seconds))}s",
            "--timeout",
            "5s",
            "--latency",
        ]
        for name, value in self.headers.items():
            args += ["-H", f"{name}: {value}"]
        with tempfile.TemporaryDirectory(prefix="menshen-wrk-") as scratch:
            if delay_ms is not None:
                script = Path(scratch) / "pace.lua"
                script.write_text(pacing_script(delay_ms), encoding="ascii")
                args += ["-s", str(script)]
            args.append(f"http://127.0.0.1:{port}{path}")
            try:
                done = subprocess.run(
                    args, capture_output=True, text=True, timeout=seconds + 30, check=False
                )
            except subprocess.TimeoutExpired as exc:
                raise WrkError(f"wrk did not finish within {seconds + 30:.0f}s") from exc
        if done.returncode != 0:
            raise WrkError(f"wrk exited {done.returncode}: {done.stderr or done.stdout}")
        return parse_report(done.stdout)
