"""The driver's handle on ``bench.gateway_server``: seed, start, talk over stdin/stdout, stop.

Every wait is bounded; ``stop`` always ends the process (``quit``, then SIGTERM, then SIGKILL).
"""

from __future__ import annotations

import contextlib
import json
import queue
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import IO, Any

from bench.gateway_server import PREFIX


class MenshenError(RuntimeError):
    """The menshen server process failed or did not answer in time."""


def seed(
    data_dir: Path, upstream_port: int, users: int, sessions: int, timeout: float
) -> dict[str, Any]:
    """Run ``gateway_server seed`` to completion; returns its report line."""
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "bench.gateway_server",
            "seed",
            "--data-dir",
            str(data_dir),
            "--upstream-port",
            str(upstream_port),
            "--users",
            str(users),
            "--sessions",
            str(sessions),
        ],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if done.returncode != 0:
        raise MenshenError(f"seeding failed ({done.returncode}):\n{done.stderr[-3000:]}")
    for line in done.stdout.splitlines():
        if line.startswith(PREFIX):
            report: dict[str, Any] = json.loads(line.removeprefix(PREFIX))
            return report
    raise MenshenError("seeding printed no report")


class MenshenServer:
    """``gateway_server serve`` as a subprocess with a line protocol."""

    def __init__(
        self,
        data_dir: Path,
        profile_out: Path,
        log_path: Path,
        *,
        state_refresh: float = 1.0,
        switch_interval: float | None = None,
        monitoring: bool = True,
    ) -> None:
        extra = [] if switch_interval is None else ["--switch-interval", str(switch_interval)]
        if not monitoring:
            extra.append("--no-monitoring")
        self._log = log_path.open("wb")
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "bench.gateway_server",
                "serve",
                "--data-dir",
                str(data_dir),
                "--profile-out",
                str(profile_out),
                "--refresh",
                str(state_refresh),
                *extra,
            ],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._log,
            text=True,
            bufsize=1,
        )
        self._log_path = log_path
        self._lines: queue.Queue[str | None] = queue.Queue()
        assert self.process.stdout is not None
        threading.Thread(
            target=self._pump, args=(self.process.stdout,), name="menshen-stdout", daemon=True
        ).start()

    @property
    def pid(self) -> int:
        return self.process.pid

    def _pump(self, stream: IO[str]) -> None:
        for line in stream:
            if line.startswith(PREFIX):
                self._lines.put(line.removeprefix(PREFIX))
        self._lines.put(None)

    def expect(self, event: str, timeout: float) -> dict[str, Any]:
        """The next protocol line, which must be ``event``."""
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise MenshenError(
                    f"no {event!r} from menshen within {timeout:.0f}s{self.log_tail()}"
                )
            try:
                line = self._lines.get(timeout=left)
            except queue.Empty:
                continue
            if line is None:
                raise MenshenError(f"menshen exited before {event!r}{self.log_tail()}")
            message: dict[str, Any] = json.loads(line)
            if message.get("event") == event:
                return message
            raise MenshenError(f"expected {event!r} from menshen, got {message!r}")

    def ask(self, command: str, reply: str, timeout: float = 10.0) -> dict[str, Any]:
        stdin = self.process.stdin
        if stdin is None or self.process.poll() is not None:
            raise MenshenError(f"menshen is not running{self.log_tail()}")
        stdin.write(command + "\n")
        stdin.flush()
        return self.expect(reply, timeout)

    def log_tail(self) -> str:
        self._log.flush()
        try:
            text = self._log_path.read_text(errors="replace")[-3000:]
        except OSError:
            return ""
        return f"\n--- menshen stderr ---\n{text}" if text.strip() else ""

    def stop(self, timeout: float = 30.0) -> dict[str, Any] | None:
        """Quit cleanly and return the ``stopped`` report; kill if it does not come."""
        report: dict[str, Any] | None = None
        try:
            if self.process.poll() is None:
                report = self.ask("quit", "stopped", timeout)
                self.process.wait(timeout=10)
        except (MenshenError, OSError, subprocess.TimeoutExpired):
            report = None
        finally:
            if self.process.poll() is None:
                self.process.terminate()
                try:
                    self.process.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    self.process.kill()
                    self.process.wait(timeout=5)
            for stream in (self.process.stdin, self.process.stdout):
                if stream is not None:
                    with contextlib.suppress(OSError):
                        stream.close()
            self._log.close()
        return report
