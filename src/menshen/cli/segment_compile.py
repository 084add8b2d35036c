"""``menshen segment compile`` and ``menshen segment check-nft``: rules for real enforcers.

``compile`` turns the stored model (or ``-f`` files) into an nftables ruleset, Kubernetes
NetworkPolicy manifests or AWS security groups (``menshen.segmentation.compile``, pure);
this module only reads, writes and, for ``--check`` and ``check-nft``, runs ``nft -c -f``
(nothing is loaded into the kernel). Exit status: 0 done, 1 the check failed, 2 bad input.
Registered on ``segment_app`` when ``menshen.cli.main`` imports it.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from menshen.cli.context import errors, fail
from menshen.cli.modelio import AtOpt, FilesOpt, model, parse_at
from menshen.cli.segment import segment_app
from menshen.errors import MenshenError
from menshen.segmentation.compile import compile_aws, compile_kubernetes, compile_nftables
from menshen.segmentation.resolve import Segmentation

NFT_TIMEOUT = 60


class Format(StrEnum):
    NFTABLES = "nftables"
    KUBERNETES = "kubernetes"
    AWS = "aws"


@segment_app.command("compile")
def compile_cmd(
    ctx: typer.Context,
    fmt: Annotated[Format, typer.Option("--format", help="What to generate.")],
    files: FilesOpt = None,
    out: Annotated[
        Path | None, typer.Option("--out", "-o", help="Write here instead of standard output.")
    ] = None,
    at: AtOpt = None,
    check: Annotated[
        bool, typer.Option("--check", help="nftables: check the result with `nft -c -f`.")
    ] = False,
    namespace: Annotated[
        str, typer.Option(help="kubernetes: namespace of workloads without a namespace label.")
    ] = "default",
    no_dns: Annotated[
        bool, typer.Option("--no-dns", help="kubernetes: leave out egress to the cluster DNS.")
    ] = False,
    group_id: Annotated[
        list[str] | None,
        typer.Option("--group-id", help="aws: GROUP-NAME=sg-… for a group that exists."),
    ] = None,
    table: Annotated[str, typer.Option(help="nftables: the table's name.")] = "menshen",
) -> None:
    """Generate enforcement rules from the model: the same input gives the same bytes.

    Exceptions are included only while valid at --at (default: now).
    """
    when = parse_at(at)
    if check and fmt is not Format.NFTABLES:
        raise fail("--check applies to --format nftables only")
    ids = _group_ids(group_id or [])
    with model(ctx, files, False) as seg:
        try:
            text = _compile(seg, fmt, when, namespace, not no_dns, ids, table)
        except (MenshenError, ValueError) as exc:
            raise fail(escape(str(exc))) from None
    if out is None:
        sys.stdout.write(text)
    else:
        try:
            out.write_text(text, encoding="utf-8")
        except OSError as exc:
            raise fail(f"{out}: {exc.strerror}") from None
        errors.print(f"wrote {fmt.value} to {escape(str(out))}", highlight=False)
    if check:
        if out is not None:
            _check(out)
        else:
            with tempfile.TemporaryDirectory(prefix="menshen-nft-") as tmp:
                path = Path(tmp) / "ruleset.nft"
                path.write_text(text, encoding="utf-8")
                _check(path)


@segment_app.command("check-nft")
def check_nft_cmd(
    file: Annotated[Path, typer.Argument(help="An nftables ruleset file.")],
) -> None:
    """Check a ruleset with `nft -c -f` (parsed and validated, nothing loaded)."""
    if not file.is_file():
        raise fail(f"{file}: no such file")
    _check(file)
    typer.echo(f"{file}: nft accepts it")


def _compile(
    seg: Segmentation,
    fmt: Format,
    when: datetime,
    namespace: str,
    dns: bool,
    ids: dict[str, str],
    table: str,
) -> str:
    if fmt is Format.NFTABLES:
        return compile_nftables(seg, when, table=table)
    if fmt is Format.KUBERNETES:
        return compile_kubernetes(seg, when, default_namespace=namespace, allow_dns=dns)
    return compile_aws(seg, when, group_ids=ids)


def _group_ids(items: list[str]) -> dict[str, str]:
    found: dict[str, str] = {}
    for item in items:
        name, sep, value = item.partition("=")
        if not sep or not name or not value:
            raise fail(f"--group-id {item!r}: write GROUP-NAME=sg-0123456789abcdef0")
        found[name] = value
    return found


def _check(path: Path) -> None:
    """Run ``nft -c -f path``; exit status 1 with nft's message when it refuses."""
    nft = shutil.which("nft") or next(
        (p for p in ("/usr/sbin/nft", "/sbin/nft") if Path(p).exists()), None
    )
    if nft is None:
        raise fail("nft is not installed (Debian: apt-get install nftables)")
    try:
        done = subprocess.run(  # noqa: S603 - a fixed program and our own file
            [nft, "-c", "-f", str(path)],
            capture_output=True,
            text=True,
            timeout=NFT_TIMEOUT,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise fail(f"nft -c could not run: {exc}") from None
    if done.returncode != 0:
        errors.print(escape(done.stderr.strip() or done.stdout.strip()), highlight=False)
        raise fail(f"nft -c -f {path} refused the ruleset", code=1)
