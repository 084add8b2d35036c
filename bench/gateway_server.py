"""The menshen side of the gateway benchmark, run as separate processes by ``bench.gateway``.

``seed`` builds a throw-away firm in a temporary data directory (SQLite): one App in front
of the benchmark's upstream, one group, a policy allowing that group with fresh MFA, a
population of users, and ``--sessions`` live MFA sessions. It runs in its own process so
that the serving process's memory holds only what the server itself keeps.

``serve`` runs the gateway on uvloop in one process (the server loads every active session
at start) and prints a ready line on stdout::

    @bench {"event": "ready", "port": ..., "token": ..., "user_agent": ..., ...}

and obeys one-word commands on stdin, each answered by one ``@bench`` JSON line:
``stats`` (RSS, audit writer backlog, events published by kind as counted by a bus
subscriber, garbage-collector pauses, event-loop lag), ``profile-start`` /
``profile-stop`` (cProfile of the event-loop thread, dumped to ``--profile-out``) and
``quit`` (or end of input): stop the server, drain the audit writer and report how many
rows the audit log holds.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import json
import logging
import os
import secrets
import sys
import threading
import time
from collections import Counter
from dataclasses import asdict, dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import uvloop

from bench.probes import GcWatch, LoopLag
from menshen.app import Platform, Server
from menshen.clock import Clock, SystemClock
from menshen.events.model import AuditEvent
from menshen.manifest.apply import apply_manifests
from menshen.manifest.parse import parse_manifests
from menshen.sessions.cookies import new_token, token_hash
from menshen.sessions.useragent import user_agent_family
from menshen.settings import IngestSettings, Listener, Settings
from menshen.store.records import SessionRecord

TENANT = "bench"
APP = "bench"
GROUP = "bench-staff"
USER_AGENT = (
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/124.0.0.0 Safari/537.36"
)
PREFIX = "@bench "

_MANIFEST = """\
apiVersion: menshen.dev/v1
kind: Group
metadata: {{name: {group}}}
spec: {{description: Benchmark staff, mfaRequired: true}}
---
apiVersion: menshen.dev/v1
kind: App
metadata: {{name: {app}}}
spec:
  title: Benchmark upstream
  hosts: [127.0.0.1]
  pathPrefix: /
  upstream: http://127.0.0.1:{port}
---
apiVersion: menshen.dev/v1
kind: Policy
metadata: {{name: bench-access}}
spec:
  app: {app}
  rules:
    - name: no-admin-paths
      effect: deny
      groups: [{group}]
      paths: [/admin]
    - name: staff-with-fresh-mfa
      groups: [{group}]
      mfa: {{required: true, maxAge: 12h}}
"""


def rss_kib() -> int:
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def say(event: str, **fields: Any) -> None:
    sys.stdout.write(PREFIX + json.dumps({"event": event, **fields}) + "\n")
    sys.stdout.flush()


@dataclass(frozen=True, slots=True)
class Firm:
    token: str
    users: int
    sessions: int
    seed_seconds: float


def seed_firm(platform: Platform, upstream_port: int, users: int, sessions: int) -> Firm:
    """Config, people and live sessions, written through the store's public API."""
    started = time.perf_counter()
    clock = platform.clock
    tenant = platform.store.tenant(TENANT)
    manifest = _MANIFEST.format(group=GROUP, app=APP, port=upstream_port)
    apply_manifests(tenant, parse_manifests(manifest, "<bench>"), clock=clock)
    identity = platform.identity(TENANT)
    user_ids = []
    for n in range(users):
        # No password: hashing thousands of Argon2id passwords would only slow the set-up.
        user = identity.create_user(f"user{n:05d}", f"user{n:05d}@bench.example", f"User {n}")
        identity.add_member(GROUP, user.username)
        user_ids.append(user.id)
    family = user_agent_family(USER_AGENT)
    now = clock.now()
    first_token = ""
    for n in range(sessions):
        token = new_token(secrets.token_bytes)
        first_token = first_token or token
        tenant.sessions.add(
            SessionRecord(
                tenant_id=TENANT,
                id=secrets.token_hex(12),
                token_hash=token_hash(token),
                user_id=user_ids[n % len(user_ids)],
                created_at=now,
                last_seen_at=now,
                absolute_expires_at=now + timedelta(hours=12),
                idle_timeout_seconds=3600,
                user_agent_family=family,
                ip="127.0.0.1",
                auth_level="mfa",
                mfa_method="totp",
                mfa_at=now,
            )
        )
    return Firm(first_token, users, sessions, time.perf_counter() - started)


def firm_file(data_dir: Path) -> Path:
    return data_dir / "bench-firm.json"


def write_firm(data_dir: Path, firm: Firm) -> None:
    fd = os.open(firm_file(data_dir), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        json.dump(asdict(firm), out)


def read_firm(data_dir: Path) -> Firm:
    data = json.loads(firm_file(data_dir).read_text(encoding="utf-8"))
    return Firm(data["token"], data["users"], data["sessions"], data["seed_seconds"])


class Commands:
    """stdin lines, read on a thread and handed to the event loop."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self.queue: asyncio.Queue[str] = asyncio.Queue()
        threading.Thread(target=self._read, name="bench-stdin", daemon=True).start()

    def _read(self) -> None:
        for line in sys.stdin:
            self._loop.call_soon_threadsafe(self.queue.put_nowait, line.strip())
        self._loop.call_soon_threadsafe(self.queue.put_nowait, "quit")


def bench_settings(data_dir: Path, refresh: float, *, monitoring: bool = True) -> Settings:
    """The benchmark firm's settings; ``monitoring`` False turns off event ingestion and the
    monitor engine (``--no-monitoring``: what monitoring costs the gateway)."""
    return Settings(
        data_dir=data_dir,
        database_url=None,
        tenant=TENANT,
        tenant_name="Benchmark firm",
        listeners=(Listener("127.0.0.1", 0),),
        state_refresh_seconds=refresh,
        monitor_engine=monitoring,
        monitor=IngestSettings(enabled=monitoring),
    )


def seed(args: argparse.Namespace, clock: Clock) -> None:
    data_dir = Path(args.data_dir)
    platform = Platform.open(bench_settings(data_dir, args.refresh), clock)
    try:
        firm = seed_firm(platform, args.upstream_port, args.users, args.sessions)
    finally:
        platform.close()
    write_firm(data_dir, firm)
    say(
        "seeded", users=firm.users, sessions=firm.sessions, seed_seconds=round(firm.seed_seconds, 2)
    )


async def serve(args: argparse.Namespace, clock: Clock) -> None:
    data_dir = Path(args.data_dir)
    firm = read_firm(data_dir)
    settings = bench_settings(data_dir, args.refresh, monitoring=not args.no_monitoring)
    platform = await asyncio.to_thread(Platform.open, settings, clock)
    rss_before = rss_kib()
    server = Server(platform)
    load_started = time.perf_counter()
    await server.start()
    say(
        "ready",
        pid=os.getpid(),
        port=server.listeners[0].port,
        token=firm.token,
        user_agent=USER_AGENT,
        users=firm.users,
        sessions_seeded=firm.sessions,
        sessions_live=server.sessions.live_count,
        seed_seconds=round(firm.seed_seconds, 2),
        start_seconds=round(time.perf_counter() - load_started, 2),
        rss_kib_before_start=rss_before,
        rss_kib_ready=rss_kib(),
        event_loop=type(asyncio.get_running_loop()).__module__,
        switch_interval=sys.getswitchinterval(),
    )
    kinds: Counter[str] = Counter()

    def count(event: AuditEvent) -> None:
        kinds[event.kind] += 1

    server.bus.subscribe(count)
    commands = Commands(asyncio.get_running_loop())
    gc_watch = GcWatch()
    lag = LoopLag()
    lag.start()
    profiler: cProfile.Profile | None = None
    try:
        while True:
            command = await commands.queue.get()
            if command == "stats":
                say(
                    "stats",
                    rss_kib=rss_kib(),
                    audit_pending=server.writer.pending,
                    audit_written=server.writer.written,
                    sessions_live=server.sessions.live_count,
                    audit_high_water=server.bus.high_water,
                    events_by_kind=dict(kinds),
                    **gc_watch.report(),
                    **lag.report(),
                )
            elif command == "profile-start" and profiler is None:
                profiler = cProfile.Profile()
                profiler.enable()
                say("profiling")
            elif command == "profile-stop" and profiler is not None:
                profiler.disable()
                profiler.dump_stats(args.profile_out)
                profiler = None
                say("profile", path=args.profile_out)
            elif command == "quit":
                break
    finally:
        await lag.stop()
        pending = server.writer.pending
        stopped = time.perf_counter()
        await server.stop()
        last = await asyncio.to_thread(platform.store.tenant(TENANT).audit.last)
        platform.close()
        say(
            "stopped",
            audit_pending_at_stop=pending,
            audit_written=server.writer.written,
            audit_unwritten_after_stop=server.writer.pending,
            audit_rows=0 if last is None else last.seq,
            events_by_kind=dict(kinds),
            stop_seconds=round(time.perf_counter() - stopped, 2),
        )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("mode", choices=("seed", "serve"))
    parser.add_argument("--data-dir", required=True)
    parser.add_argument("--upstream-port", type=int, default=0, help="seed: the upstream's port")
    parser.add_argument("--users", type=int, default=500)
    parser.add_argument("--sessions", type=int, default=10_000)
    parser.add_argument("--refresh", type=float, default=1.0)
    parser.add_argument("--profile-out", default="menshen.prof")
    parser.add_argument(
        "--no-monitoring", action="store_true", help="serve: ingestion and engine off"
    )
    parser.add_argument(
        "--switch-interval",
        type=float,
        default=None,
        help="diagnostic: sys.setswitchinterval for the serving process (Python's default: 0.005)",
    )
    args = parser.parse_args(argv)
    if args.users < 1 or args.sessions < 1:
        parser.error("--users and --sessions must be at least 1")
    if args.mode == "seed" and not 0 < args.upstream_port < 65536:
        parser.error("seed needs --upstream-port")
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    if args.mode == "seed":
        seed(args, SystemClock())
    else:
        if args.switch_interval is not None:
            # How long a background thread may hold the GIL while the event loop waits.
            sys.setswitchinterval(args.switch_interval)
        uvloop.run(serve(args, SystemClock()))


if __name__ == "__main__":
    main()
