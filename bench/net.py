"""Small helpers for the benchmark driver: free ports, readiness, one GET, RSS from /proc."""

from __future__ import annotations

import http.client
import os
import socket
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass

LOOPBACK = "127.0.0.1"


def free_port() -> int:
    """A port the kernel considers free on 127.0.0.1 right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((LOOPBACK, 0))
        port: int = sock.getsockname()[1]
        return port


def wait_for_port(port: int, timeout: float, alive: Callable[[], bool] = lambda: True) -> None:
    """Return once 127.0.0.1:``port`` accepts a connection; raise after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not alive():
            raise RuntimeError(f"process died before listening on {port}")
        try:
            with socket.create_connection((LOOPBACK, port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise TimeoutError(f"nothing listens on {LOOPBACK}:{port} after {timeout:.0f}s")


@dataclass(frozen=True, slots=True)
class Reply:
    status: int
    body: bytes
    headers: dict[str, str]


def get(port: int, path: str, headers: Mapping[str, str], timeout: float = 5.0) -> Reply:
    """One HTTP/1.1 GET to 127.0.0.1:``port`` (no redirects followed)."""
    conn = http.client.HTTPConnection(LOOPBACK, port, timeout=timeout)
    try:
        conn.request("GET", path, headers=dict(headers))
        response = conn.getresponse()
        body = response.read()
        return Reply(response.status, body, {k.lower(): v for k, v in response.getheaders()})
    finally:
        conn.close()


def rss_kib(pid: int) -> int | None:
    """Resident set size of ``pid`` in KiB (``VmRSS`` in /proc/PID/status); None if gone."""
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except (OSError, ValueError):
        return None
    return None


def thread_cpu_seconds(pid: int) -> dict[int, float]:
    """CPU time (user + system) of each thread of ``pid``, by thread id; empty if gone."""
    ticks = os.sysconf("SC_CLK_TCK")
    times: dict[int, float] = {}
    try:
        tids = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return times
    for tid in tids:
        try:
            with open(f"/proc/{pid}/task/{tid}/stat", encoding="ascii") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        # After "pid (comm)": state is field 3, utime 14 and stime 15 (proc(5)).
        times[int(tid)] = (int(fields[11]) + int(fields[12])) / ticks
    return times


@dataclass(frozen=True, slots=True)
class CpuShare:
    """Cores used during a wall-clock interval by the main thread and by all the others."""

    main_thread: float
    other_threads: float


def cpu_share(pid: int, before: dict[int, float], after: dict[int, float], wall: float) -> CpuShare:
    main = after.get(pid, 0.0) - before.get(pid, 0.0)
    others = sum(t - before.get(tid, 0.0) for tid, t in after.items() if tid != pid)
    return CpuShare(round(main / wall, 3), round(others / wall, 3))


def process_cpu_seconds(pids: list[int]) -> float:
    """CPU time (user + system, all threads) of these processes; a vanished one counts 0."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat", encoding="ascii") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        total += int(fields[11]) + int(fields[12])
    return total / ticks
