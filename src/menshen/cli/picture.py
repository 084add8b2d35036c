"""``menshen segment picture``: the segmentation diagram as an SVG file, for a report.

The same drawing the console shows (``menshen.segmentation.picture``): zones, assets, the
flows the policy allows, restricted data in red, and with ``--blast-radius`` the assets and
data an attacker holding one asset gets to, path by path. Works on the stored model or, with
``-f``, on files. Registered on ``segment_app`` when ``menshen.cli.main`` imports it.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Annotated

import typer

from menshen.cli.context import fail
from menshen.cli.modelio import AtOpt, FilesOpt, model, parse_at, say
from menshen.cli.segment import segment_app
from menshen.segmentation.blast import blast_radius
from menshen.segmentation.picture import PictureOptions, draw

DEFAULTS = PictureOptions()


@segment_app.command("picture")
def picture_cmd(
    ctx: typer.Context,
    out: Annotated[Path, typer.Option("--out", "-o", help="Write the SVG here ('-': stdout).")],
    compromised: Annotated[
        str | None,
        typer.Option("--blast-radius", help="Overlay the blast radius of this asset id."),
    ] = None,
    files: FilesOpt = None,
    at: AtOpt = None,
    max_assets: Annotated[
        int, typer.Option("--max-assets", min=1, help="Draw zones only past this many assets.")
    ] = DEFAULTS.max_assets,
    title: Annotated[str, typer.Option("--title", help="Heading of the picture.")] = DEFAULTS.title,
) -> None:
    """Draw zones, assets and allowed flows as SVG (same model, same bytes)."""
    when = parse_at(at)
    with model(ctx, files, False) as seg:
        blast = None if compromised is None else blast_radius(seg, compromised, when)
        options = PictureOptions(max_assets=max_assets, title=title)
        svg = draw(seg, when, blast=blast, options=options)
    if str(out) == "-":
        typer.echo(svg, nl=False)
        return
    try:
        _write(out, svg)
    except OSError as exc:
        raise fail(f"cannot write {out}: {exc.strerror or exc}") from None
    what = f" with the blast radius of {compromised}" if compromised else ""
    say(f"wrote {out}{what} ({len(svg.encode()):,} bytes)")


def _write(path: Path, text: str) -> None:
    """Write whole or not at all (a temporary file, then a rename); readable by the owner
    only, as the picture maps the firm's sensitive data."""
    folder = path.parent if str(path.parent) else Path(".")
    fd, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=folder)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
