"""What every CLI command shares: settings, the opened platform, output, error handling."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import typer
from rich.console import Console

from menshen.app import Platform
from menshen.clock import SystemClock
from menshen.errors import MenshenError
from menshen.events.bus import EventBus
from menshen.events.model import AuditEvent, Kind, Outcome
from menshen.events.writer import AuditWriter
from menshen.settings import Settings, load_settings

console = Console()
errors = Console(stderr=True, soft_wrap=True)


@dataclass(frozen=True, slots=True)
class Options:
    config: Path | None
    tenant: str | None
    data_dir: Path | None

    def settings(self) -> Settings:
        return load_settings(self.config, tenant=self.tenant, data_dir=self.data_dir)


def fail(message: str, code: int = 2) -> typer.Exit:
    errors.print(f"[bold red]error:[/] {message}")
    return typer.Exit(code)


@contextmanager
def opened(options: Options) -> Iterator[Platform]:
    """Open the platform; a MenshenError becomes a clear message and exit status 2."""
    try:
        platform = Platform.open(options.settings(), SystemClock())
    except MenshenError as exc:
        raise fail(str(exc)) from None
    try:
        yield platform
    except MenshenError as exc:
        raise fail(str(exc)) from None
    finally:
        platform.close()


def audit_admin_change(platform: Platform, action: str, subject: str, **details: str) -> None:
    """Record an administrative change made from the command line (written at once)."""
    writer = AuditWriter(platform.store, EventBus(), platform.clock)
    writer.write_now(
        [
            AuditEvent(
                tenant_id=platform.settings.tenant,
                kind=Kind.ADMIN_CHANGE,
                outcome=Outcome.SUCCESS,
                at=platform.clock.now(),
                actor=f"cli:{_operator()}",
                subject=subject,
                reason=action,
                details=details,
            )
        ]
    )


def _operator() -> str:
    import getpass

    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


def is_tty() -> bool:
    return sys.stdin.isatty()
