"""What ``menshen inventory`` and ``menshen segment`` share: where the model comes from,
the ``--at`` time, JSON output, and a readable list of problems."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape

from menshen.cli.context import Options, console, errors, fail, opened
from menshen.clock import SystemClock
from menshen.errors import MenshenError
from menshen.inventory.problems import InvalidModel
from menshen.segmentation.files import load_files
from menshen.segmentation.repository import load_segmentation
from menshen.segmentation.resolve import Segmentation
from menshen.segmentation.views import problems_json

FilesOpt = Annotated[
    list[Path] | None,
    typer.Option(
        "--file", "-f", help="Analyse these model files (YAML/CSV) instead of the stored model."
    ),
]
AtOpt = Annotated[
    str | None,
    typer.Option("--at", help="Evaluate at this time (ISO 8601 with zone); default now."),
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON for machines.")]
SHOWN = 50


def options_of(ctx: typer.Context) -> Options:
    options = ctx.obj
    if not isinstance(options, Options):
        raise fail("internal error: no options")
    return options


def parse_at(text: str | None) -> datetime:
    if text is None:
        return SystemClock().now()
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise fail(f"--at {text!r} is not an ISO 8601 time") from None
    if value.tzinfo is None:
        raise fail(f"--at {text!r} needs a time zone (e.g. 2026-01-05T09:00:00+08:00)")
    return value


def print_json(body: Any) -> None:
    typer.echo(json.dumps(body, indent=2, ensure_ascii=False))


def report_invalid(exc: InvalidModel, as_json: bool) -> typer.Exit:
    """Every problem (the first ``SHOWN`` unless ``--json``); exit status 1."""
    if as_json:
        print_json({"valid": False, "problems": problems_json(exc.problems)})
        return typer.Exit(1)
    errors.print(f"[bold red]invalid:[/] {len(exc.problems)} problem(s); nothing was changed")
    for item in exc.problems[:SHOWN]:
        errors.print(f"  {escape(str(item))}")
    if len(exc.problems) > SHOWN:
        errors.print(f"  … and {len(exc.problems) - SHOWN} more (use --json to list all)")
    return typer.Exit(1)


@contextmanager
def model(ctx: typer.Context, files: list[Path] | None, as_json: bool) -> Iterator[Segmentation]:
    """The model of ``files``, or else the tenant's stored model."""
    if files:
        try:
            seg = load_files(files)
        except InvalidModel as exc:
            raise report_invalid(exc, as_json) from None
        except MenshenError as exc:
            raise fail(str(exc)) from None
        try:
            yield seg
        except MenshenError as exc:
            raise fail(str(exc)) from None
        return
    with opened(options_of(ctx)) as platform:
        yield load_segmentation(platform.store.tenant(platform.settings.tenant))


def say(text: str) -> None:
    console.print(text, highlight=False)
