"""Run the gateway in the foreground until SIGINT/SIGTERM, then shut down cleanly."""

from __future__ import annotations

import asyncio
import signal
from pathlib import Path

import uvloop
from rich.panel import Panel

from menshen.app import Platform, Server
from menshen.cli.context import console
from menshen.demo.firm import FIRM_NAME, TENANT
from menshen.demo.run import DemoStack
from menshen.settings import Settings


async def wait_for_signal() -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()


async def serve(settings: Settings) -> None:
    platform = await asyncio.to_thread(Platform.open, settings)
    server = Server(platform)
    try:
        await server.start()
        for listener in settings.listeners:
            console.print(
                f"menshen listening on {listener.scheme}://{listener.host}:{listener.port}"
            )
        await wait_for_signal()
        console.print("shutting down: finishing requests and writing the audit log")
    finally:
        await server.stop()
        platform.close()


def run_server(settings: Settings) -> None:
    uvloop.run(serve(settings))


async def _demo(data_dir: Path, port: int, tls_port: int) -> None:
    stack = DemoStack(data_dir, http_port=port, https_port=tls_port, console_port=8803)
    await stack.start()
    lines = [
        f"[bold]{FIRM_NAME}[/] is behind menshen.",
        "",
        f"  Settlement admin  {stack.http_url}/settlement/   (alice, admin; MFA)",
        f"  Team wiki         {stack.http_url}/wiki/         (everyone)",
        f"  Your account      {stack.http_url}/.menshen/",
        f"  HTTPS             {stack.https_url}/wiki/  (self-signed certificate)",
        f"  Your devices      {stack.https_url}/.menshen/devices  (enrol with `menshen agent"
        " enrol`, see README step 5)",
        f"  Console           {stack.http_url}/console/   (admin; MFA: segmentation picture)",
        "",
        "Inventory and segmentation (the Formosa Pay example) from a terminal:",
        f"  menshen --data-dir {data_dir} --tenant {TENANT} segment blast-radius"
        " --compromised laptop-17",
        f"  menshen --data-dir {data_dir} --tenant {TENANT} segment picture"
        " --blast-radius laptop-17 --out laptop-17.svg",
        "",
        f"Passwords and TOTP secrets: {stack.credentials_path}",
        "Users: alice (finance-ops, MFA), bob (contractor, wiki only), admin (admins, MFA).",
        "Press Ctrl-C to stop.",
    ]
    console.print(Panel("\n".join(lines), title="menshen demo", expand=False))
    try:
        await wait_for_signal()
    finally:
        await stack.stop()


def run_demo(data_dir: Path, *, port: int = 8800, tls_port: int = 8843) -> None:
    uvloop.run(_demo(data_dir, port, tls_port))
