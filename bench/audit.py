"""``python -m bench.audit``: what the audit writer costs per row, on SQLite and PostgreSQL.

The gateway publishes one ``access.allow`` event per request, so the audit log must seal and
append rows faster than the gateway serves requests, on the share of a core it gets. This
measures, for synthetic gateway events (the same fields and details the gateway fills in):

* ``seal``: ``chain.seal_batch`` (canonical JSON + SHA-256 per row), CPU time per row;
* ``append``: ``SqlAuditRepository.append`` of sealed batches, CPU time per row of the
  calling thread (the database server's own CPU is not counted; wall time is reported);
* ``writer``: the ``AuditWriter`` draining a backlog through the bus, CPU time of the whole
  process per row, and rows/s;
* ``writer_contended``: the same while another thread runs Python code non-stop, as the
  gateway's event loop does at saturation: both threads want the GIL, so rows/s show how
  well the writer keeps going when it gets the interpreter only part of the time.

CPU times (``time.thread_time`` / ``time.process_time``) keep the figures steady on a busy
machine. PostgreSQL runs in a private schema that is dropped afterwards; without a server
the PostgreSQL figures are skipped. Results go to ``bench/out/audit.json``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import secrets
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table
from sqlalchemy import text

from bench.environment import load_average
from bench.options import OUT_DIR
from bench.report import Figure, Target
from menshen.clock import SystemClock
from menshen.errors import StoreUnavailable
from menshen.events.bus import EventBus
from menshen.events.chain import seal_batch
from menshen.events.model import AuditEvent, Kind, Outcome, SequentialEventIds
from menshen.events.writer import AuditWriter
from menshen.store.db import Database
from menshen.store.migrate import migrate
from menshen.store.records import AuditRecord, TenantRecord
from menshen.store.sql import SqlStore

TENANT = "bench"
POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
TARGET_ROWS_PER_SECOND = 30_000.0
_T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


def gateway_events(count: int) -> list[AuditEvent]:
    """Events shaped like the gateway's ``access.allow`` (menshen.access.guard)."""
    ids = SequentialEventIds()
    return [
        AuditEvent(
            tenant_id=TENANT,
            kind=Kind.ACCESS_ALLOW,
            outcome=Outcome.ALLOW,
            at=_T0 + timedelta(microseconds=37 * n),
            actor=f"u-{n % 500:04d}-7f3a9c1e",
            app="settlement-admin",
            ip=f"10.0.{n % 250}.{n % 200 + 1}",
            session_id=f"s-{n % 10_000:05d}-5b8e2d41c0a9",
            reason="rule staff-may-read-settlements",
            details={"method": "GET", "path": f"/settlements/{n % 977}", "host": "admin.corp"},
            id=ids(),
        )
        for n in range(count)
    ]


@contextmanager
def opened(backend: str, url: str) -> Iterator[SqlStore]:
    """A migrated store with one tenant; a private PostgreSQL schema is dropped afterwards."""
    if backend == "sqlite":
        with tempfile.TemporaryDirectory(prefix="menshen-bench-audit-") as directory:
            database = Database.for_data_dir(directory)
            try:
                yield _ready(database)
            finally:
                database.dispose()
        return
    schema = f"bench_audit_{secrets.token_hex(6)}"
    admin = Database(url)
    try:
        with admin.write() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
        database = Database(url, schema=schema)
        try:
            yield _ready(database)
        finally:
            database.dispose()
            with admin.write() as conn:
                conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
    finally:
        admin.dispose()


def _ready(database: Database) -> SqlStore:
    migrate(database)
    store = SqlStore(database)
    store.add_tenant(TenantRecord(id=TENANT, name="bench", created_at=_T0))
    return store


def measure_seal(events: list[AuditEvent], batch: int) -> float:
    """CPU µs per row to seal ``events`` in batches of ``batch``."""
    last: AuditRecord | None = None
    started = time.thread_time()
    for start in range(0, len(events), batch):
        last = seal_batch(last, events[start : start + batch])[-1]
    return (time.thread_time() - started) / len(events) * 1e6


def measure_append(store: SqlStore, events: list[AuditEvent], batch: int) -> tuple[float, float]:
    """CPU and wall µs per row to append pre-sealed batches (after one warm-up batch)."""
    audit = store.tenant(TENANT).audit
    sealed: list[list[AuditRecord]] = []
    last = audit.last()
    for start in range(0, len(events), batch):
        sealed.append(seal_batch(last, events[start : start + batch]))
        last = sealed[-1][-1]
    audit.append(sealed[0])
    rows = sum(len(b) for b in sealed[1:])
    cpu, wall = time.thread_time(), time.perf_counter()
    for records in sealed[1:]:
        audit.append(records)
    return (time.thread_time() - cpu) / rows * 1e6, (time.perf_counter() - wall) / rows * 1e6


def measure_writer(store: SqlStore, events: list[AuditEvent], contended: bool) -> dict[str, float]:
    """The writer draining ``events`` from the bus: process CPU µs per row and rows/s."""
    stop_spinning = threading.Event()
    spins = [0]

    def spin() -> None:  # pure Python, like a saturated event loop: wants the GIL always
        count = 0
        while not stop_spinning.is_set():
            for _ in range(1000):
                count += 1
        spins[0] = count

    spinner = threading.Thread(target=spin, name="bench-gil-holder", daemon=True)

    async def drain() -> int:
        bus = EventBus()
        writer = AuditWriter(store, bus, SystemClock())
        for event in events:
            bus.publish(event)
        await writer.start()
        return await writer.stop()

    if contended:
        spinner.start()
    cpu, wall = time.process_time(), time.perf_counter()
    try:
        left = asyncio.run(drain())
    finally:
        stop_spinning.set()
        if contended:
            spinner.join()
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    if left:
        raise RuntimeError(f"the writer left {left} events unwritten")
    result = {"rows_per_second": len(events) / wall, "wall_seconds": wall}
    if not contended:  # with a spinner the process time is mostly the spinner's
        result["cpu_us_per_row"] = cpu / len(events) * 1e6
    return result


def run_backend(backend: str, url: str, rows: int, batch: int) -> dict[str, Any]:
    events = gateway_events(rows)
    result: dict[str, Any] = {"rows": rows, "batch": batch}
    result["seal_cpu_us_per_row"] = measure_seal(events, batch)
    with opened(backend, url) as store:
        cpu, wall = measure_append(store, events, batch)
    result["append_cpu_us_per_row"], result["append_wall_us_per_row"] = cpu, wall
    total = result["seal_cpu_us_per_row"] + cpu
    result["seal_and_append_cpu_us_per_row"] = total
    result["rows_per_second_one_core"] = 1e6 / total
    for contended in (False, True):
        fresh = gateway_events(rows)
        with opened(backend, url) as store:
            key = "writer_contended" if contended else "writer"
            result[key] = measure_writer(store, fresh, contended)
    return {k: round(v, 3) if isinstance(v, float) else v for k, v in result.items()}


def figures(backend: str, measured: dict[str, Any]) -> list[Figure]:
    target = Target(">=", TARGET_ROWS_PER_SECOND)
    return [
        Figure(f"{backend}_seal_cpu", "µs", measured["seal_cpu_us_per_row"], note="per row"),
        Figure(f"{backend}_append_cpu", "µs", measured["append_cpu_us_per_row"], note="per row"),
        Figure(
            f"{backend}_rows_per_second_one_core",
            "rows/s",
            measured["rows_per_second_one_core"],
            target=target,
            note="1 / (seal + append CPU per row)",
        ),
        Figure(
            f"{backend}_writer_cpu",
            "µs",
            measured["writer"]["cpu_us_per_row"],
            note="AuditWriter draining the bus: process CPU per row",
        ),
        Figure(
            f"{backend}_writer_rows_per_second",
            "rows/s",
            measured["writer"]["rows_per_second"],
            note="AuditWriter, wall clock",
        ),
        Figure(
            f"{backend}_writer_contended_rows_per_second",
            "rows/s",
            measured["writer_contended"]["rows_per_second"],
            note="while another thread holds the GIL whenever it can",
        ),
    ]


def print_figures(console: Console, figures: list[Figure], title: str) -> None:
    """The figures with their targets (the gateway table's baseline columns do not apply)."""
    table = Table(title=title, title_justify="left")
    for header in ("figure", "unit", "measured", "target", "verdict", "note"):
        table.add_column(header, justify="right" if header == "measured" else "left")
    for figure in figures:
        verdict = {None: "", True: "[green]met[/]", False: "[red]missed[/]"}[figure.met]
        value = f"{figure.menshen:,.0f}" if figure.unit == "rows/s" else f"{figure.menshen:.2f}"
        target = "" if figure.target is None else str(figure.target)
        table.add_row(figure.name, figure.unit, value, target, verdict, figure.note)
    console.print(table)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.audit", description=__doc__)
    parser.add_argument("--rows", type=int, default=20_000, help="events per run (20000)")
    parser.add_argument("--batch", type=int, default=500, help="seal/append batch (500)")
    parser.add_argument("--postgres-url", default=POSTGRES_URL)
    parser.add_argument("--no-postgres", action="store_true")
    parser.add_argument("--out", type=Path, default=OUT_DIR / "audit.json")
    args = parser.parse_args(argv)
    if not 1_000 <= args.rows <= 1_000_000 or not 1 <= args.batch <= 10_000:
        parser.error("--rows must be 1000..1000000 and --batch 1..10000")
    console = Console()
    result: dict[str, Any] = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {"python": sys.version.split()[0], "loadavg_at_start": load_average()},
        "settings": {"rows": args.rows, "batch": args.batch},
        "backends": {},
    }
    all_figures: list[Figure] = []
    for backend in ("sqlite", "postgresql"):
        if backend == "postgresql" and args.no_postgres:
            continue
        console.print(f"measuring {backend} ...")
        try:
            measured = run_backend(backend, args.postgres_url, args.rows, args.batch)
        except StoreUnavailable as exc:
            result["backends"][backend] = {"skipped": str(exc)}
            console.print(f"[yellow]{backend} skipped:[/] {exc}")
            continue
        result["backends"][backend] = measured
        all_figures.extend(figures(backend, measured))
    result["machine"]["loadavg_at_end"] = load_average()
    result["figures"] = [figure.to_json() for figure in all_figures]
    print_figures(console, all_figures, f"audit writer: {args.rows:,} gateway events per run")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    console.print(f"written to {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
