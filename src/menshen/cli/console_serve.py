"""``menshen console serve``: run the admin console as an app behind your menshen gateway.

The console listens on a loopback port and trusts only the gateway's signed assertion, so
it is useful only once the gateway fronts it: declare an App ``console`` (path prefix
``/console``, upstream ``http://127.0.0.1:PORT``) and a Policy for it (administrators with
MFA) — see docs/console.md. It reads the tenant's stored model, incidents, risk scores and
response actions on every page; its forms' CSRF key is derived from the master key.
"""

from __future__ import annotations

from typing import Annotated

import typer
import uvicorn
from starlette.applications import Starlette

from menshen.app import Platform, derive_key
from menshen.assertions import JWKS_PATH
from menshen.assertions.upstream import JwksCache, UpstreamIdentity
from menshen.assertions.verify import AssertionVerifier
from menshen.cli.context import console, fail, opened
from menshen.cli.modelio import options_of
from menshen.clock import SystemClock
from menshen.console import CONSOLE_FORM_KEY, ConsoleAccess, ConsoleConfig, build_console
from menshen.console.clients import client_desk_for
from menshen.console.compliance_desk import compliance_desk_for
from menshen.console.desk import desk_for
from menshen.segmentation.repository import load_segmentation
from menshen.segmentation.resolve import Segmentation

console_app = typer.Typer(
    help="The admin console: a web app behind the menshen gateway.", no_args_is_help=True
)


def console_for(
    platform: Platform, *, gateway: str, audience: str, config: ConsoleConfig
) -> Starlette:
    """The console for the platform's tenant, verifying assertions with ``gateway``'s JWKS."""
    clock = SystemClock()
    jwks = JwksCache(gateway.rstrip("/") + JWKS_PATH)
    verifier = AssertionVerifier(
        jwks.current, issuer=platform.settings.issuer, audience=audience, clock=clock
    )
    tenant = platform.store.tenant(platform.settings.tenant)

    def load_model() -> Segmentation:
        return load_segmentation(tenant)

    return build_console(
        config,
        identity=UpstreamIdentity(verifier, jwks),
        load_model=load_model,
        clock=clock,
        monitor=desk_for(platform, platform.settings.tenant),
        form_key=derive_key(platform.master_key, CONSOLE_FORM_KEY),
        compliance=compliance_desk_for(platform, platform.settings.tenant),
        clients=client_desk_for(platform, platform.settings.tenant),
    )


@console_app.command("serve")
def serve_cmd(
    ctx: typer.Context,
    gateway: Annotated[
        str, typer.Option("--gateway", help="The gateway's URL (its JWKS is fetched from it).")
    ] = "http://127.0.0.1:8800",
    port: Annotated[int, typer.Option("--port", min=1, max=65535)] = 8803,
    host: Annotated[
        str, typer.Option("--host", help="Listen address; keep it loopback behind the gateway.")
    ] = "127.0.0.1",
    prefix: Annotated[str, typer.Option("--prefix", help="The App's path prefix.")] = "/console",
    audience: Annotated[
        str, typer.Option("--audience", help="The App's name (the assertion's aud).")
    ] = "console",
    admin_groups: Annotated[
        list[str] | None, typer.Option("--admin-group", help="Groups that may open it.")
    ] = None,
) -> None:
    """Serve the console until Ctrl-C (the gateway must front it)."""
    if not gateway.startswith(("http://", "https://")):
        raise fail("--gateway must be an http(s) URL")
    try:
        config = ConsoleConfig(prefix, ConsoleAccess(tuple(admin_groups or ("admins",))))
    except ValueError as exc:
        raise fail(str(exc)) from None
    with opened(options_of(ctx)) as platform:
        app = console_for(platform, gateway=gateway, audience=audience, config=config)
        console.print(
            f"menshen console on http://{host}:{port}{prefix}/ — open it through the gateway "
            f"({gateway}{prefix}/); assertions for audience {audience!r}"
        )
        uvicorn.Server(
            uvicorn.Config(app, host=host, port=port, log_level="warning", lifespan="off")
        ).run()
