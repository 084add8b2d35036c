"""What the figures were measured on: CPUs, Python, kernel, tool versions, load average."""

from __future__ import annotations

import contextlib
import os
import platform
import subprocess
from pathlib import Path
from typing import Any

_REPO = str(Path(__file__).resolve().parent.parent)


def machine(nginx: str, wrk: str) -> dict[str, Any]:
    cpu = "unknown"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    return {
        "nproc": len(os.sched_getaffinity(0)),
        "cpu": cpu,
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "kernel": platform.release(),
        "loadavg_at_start": [round(x, 2) for x in os.getloadavg()],
        "nginx": _first_line([nginx, "-v"]),
        "wrk": _first_line([wrk, "-v"]).split(" Copyright")[0],
        "source": _first_line(["git", "-C", _REPO, "describe", "--always", "--dirty"]),
        "source_uncommitted_paths": _count_lines(["git", "-C", _REPO, "status", "--porcelain"]),
    }


def _count_lines(command: list[str]) -> int | None:
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=10, check=False)
    except OSError:
        return None
    return len(done.stdout.splitlines()) if done.returncode == 0 else None


def load_average() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def _first_line(command: list[str]) -> str:
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=10, check=False)
    except OSError:
        return "?"
    text = (done.stdout + done.stderr).strip()
    return text.splitlines()[0] if text else "?"
