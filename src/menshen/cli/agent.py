"""``menshen agent enrol|report``: the device agent, run on the device itself.

It needs no menshen settings or database: only the gateway's address, the one-time code from
the user's devices page, and a directory of its own (default ``~/.menshen-agent``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from menshen.agent.client import AgentError, AgentState, Overrides, enrol, report
from menshen.agent.posture import detect_posture, read_text, run_command
from menshen.cli.context import console, fail

agent_app = typer.Typer(
    help="The device agent: enrol this device, report its posture.", no_args_is_help=True
)

DirOpt = Annotated[
    Path,
    typer.Option("--dir", help="Where the agent keeps the device key and certificate."),
]
_DEFAULT_DIR = Path.home() / ".menshen-agent"


@agent_app.command("enrol")
def agent_enrol(
    gateway: Annotated[str, typer.Option(help="The gateway, e.g. https://access.firm.example")],
    code: Annotated[str, typer.Option(help="The code from your devices page (single use).")],
    name: Annotated[str, typer.Option(help="A name for this device.")],
    directory: DirOpt = _DEFAULT_DIR,
    ca_file: Annotated[
        Path | None,
        typer.Option("--ca-file", help="The gateway's CA certificate (a self-signed gateway)."),
    ] = None,
    p12_password: Annotated[
        str | None,
        typer.Option(help="Password for device.p12 (default: a random one, printed)."),
    ] = None,
) -> None:
    """Enrol this device: make its key, get its certificate, write a browser bundle."""
    ca = None if ca_file is None else str(ca_file.resolve())
    try:
        enrolled = enrol(
            gateway=gateway,
            code=code,
            name=name,
            directory=directory,
            gateway_ca_file=ca,
            p12_password=p12_password,
        )
    except AgentError as exc:
        raise fail(str(exc)) from None
    state = enrolled.state
    console.print(f"enrolled device [bold]{state.device_id}[/] ({state.name}) in {directory}")
    console.print(
        f"import {directory / 'device.p12'} into your browser or keychain "
        f"(password: {state.p12_password}), then run `menshen agent report`"
    )


@agent_app.command("report")
def agent_report(
    directory: DirOpt = _DEFAULT_DIR,
    disk_encrypted: Annotated[
        bool | None,
        typer.Option("--disk-encrypted/--no-disk-encrypted", help="State, do not detect."),
    ] = None,
    screen_lock: Annotated[
        bool | None, typer.Option("--screen-lock/--no-screen-lock", help="State, do not detect.")
    ] = None,
    firewall: Annotated[
        bool | None, typer.Option("--firewall/--no-firewall", help="State, do not detect.")
    ] = None,
) -> None:
    """Send a signed posture report (run it daily, e.g. from cron)."""
    overrides = Overrides(disk_encrypted, screen_lock, firewall)
    try:
        AgentState.load(directory)  # not enrolled: say so before looking at the machine
        posture = overrides.apply(detect_posture(run_command, read_text))
        trust = report(directory=directory, posture=posture)
    except AgentError as exc:
        raise fail(str(exc)) from None
    console.print(
        f"reported {posture.os} {posture.os_version}: disk encryption "
        f"{_on(posture.disk_encrypted)}, screen lock {_on(posture.screen_lock)}, "
        f"firewall {_on(posture.firewall)}; the gateway now trusts this device as "
        f"[bold]{trust}[/]"
    )


def _on(flag: bool) -> str:
    return "on" if flag else "off"
