"""``menshen demo``: the gateway, two sample apps, the console and the demo firm, in one process.

The console runs exactly as a firm would run it: a Starlette app on a loopback port that the
gateway fronts as the ``console`` App (admins with MFA), trusting only the gateway's signed
assertion. ``DemoStack`` is also what the end-to-end tests start (with ephemeral ports), so
the demo a person runs and the system the tests check are the same code.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import uvicorn
import yaml
from starlette.types import ASGIApp

from menshen.app import Platform, Server, derive_key
from menshen.assertions import JWKS_PATH
from menshen.assertions.upstream import JwksCache, UpstreamIdentity
from menshen.assertions.verify import AssertionVerifier
from menshen.clock import Clock, SystemClock
from menshen.console import CONSOLE_FORM_KEY, ConsoleConfig, build_console
from menshen.console.clients import client_desk_for
from menshen.console.compliance_desk import compliance_desk_for
from menshen.console.desk import desk_for
from menshen.demo.firm import (
    FIRM_NAME,
    TENANT,
    DemoUser,
    read_credentials,
    seed,
    seed_inventory,
    write_credentials,
)
from menshen.demo.sample_apps import SETTLEMENT, WIKI, build_app
from menshen.errors import ConfigError
from menshen.gateway.tls import generate_self_signed
from menshen.segmentation.repository import load_segmentation
from menshen.segmentation.resolve import Segmentation
from menshen.settings import IdentityProviderSettings, Listener, Settings, TenantOptions
from menshen.settings_compliance import ComplianceOptions

CONSOLE_AUDIENCE = "console"

# The demo firm's compliance profile: an e-payment institution, so the e-payment information
# system standards apply; the ROI inputs are invented for the demo (a five-person team).
DEMO_COMPLIANCE = ComplianceOptions(
    scope="Formosa Pay production: settlement, merchant onboarding (KYC), the staff wiki, "
    "contractor access to the wiki",
    e_payment=True,
    records_held=50_000,
    staff=5,
)


def _bind(port: int) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", port))
    sock.listen(128)
    sock.setblocking(False)
    return sock


class _QuietServer(uvicorn.Server):
    """A sample app server that leaves signal handling to the demo's own loop."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


@dataclass
class _SampleServer:
    """An app behind the gateway (a sample app or the console) on its loopback port."""

    name: str
    sock: socket.socket
    jwks: JwksCache
    server: uvicorn.Server
    task: asyncio.Task[None] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.sock.getsockname()[1]}"


class DemoStack:
    def __init__(
        self,
        data_dir: Path,
        *,
        http_port: int = 8800,
        https_port: int | None = 8843,
        app_ports: tuple[int, int] = (8801, 8802),
        console_port: int = 0,
        clock: Clock | None = None,
        state_refresh_seconds: float = 1.0,
        database_url: str | None = None,
        identity_providers: tuple[IdentityProviderSettings, ...] = (),
    ) -> None:
        self.data_dir = data_dir
        self.clock = clock or SystemClock()
        self._http_port = http_port
        self._https_port = https_port
        self._app_ports = app_ports
        self._console_port = console_port
        self._refresh = state_refresh_seconds
        self._database_url = database_url
        self._identity_providers = identity_providers
        self.platform: Platform | None = None
        self.server: Server | None = None
        self.people: dict[str, DemoUser] = {}
        self._samples: list[_SampleServer] = []

    @property
    def credentials_path(self) -> Path:
        return self.data_dir / "credentials.json"

    @property
    def http_url(self) -> str:
        assert self.server is not None
        return f"http://127.0.0.1:{self.server.listeners[0].port}"

    @property
    def console_url(self) -> str:
        """The console's own loopback address (open it through the gateway: /console/)."""
        return next(item.url for item in self._samples if item.name == CONSOLE_AUDIENCE)

    @property
    def https_url(self) -> str | None:
        if self.server is None or len(self.server.listeners) < 2:
            return None
        return f"https://127.0.0.1:{self.server.listeners[1].port}"

    async def start(self) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        listeners = [Listener("127.0.0.1", self._http_port)]
        if self._https_port is not None:
            cert, key = self.data_dir / "tls" / "cert.pem", self.data_dir / "tls" / "key.pem"
            if not cert.exists() or not key.exists():
                cert.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
                await asyncio.to_thread(generate_self_signed, cert, key, ["localhost", "127.0.0.1"])
            listeners.append(Listener("127.0.0.1", self._https_port, cert, key))
        settings = Settings(
            data_dir=self.data_dir,
            database_url=self._database_url,
            tenant=TENANT,
            tenant_name=FIRM_NAME,
            listeners=tuple(listeners),
            state_refresh_seconds=self._refresh,
            identity_providers=self._identity_providers,
            tenants={TENANT: TenantOptions(compliance=DEMO_COMPLIANCE)},
        )
        platform = await asyncio.to_thread(Platform.open, settings, self.clock)
        self.platform = platform
        for sample, port in zip((SETTLEMENT, WIKI), self._app_ports, strict=True):
            jwks = JwksCache("")
            app = build_app(sample, jwks=jwks, issuer=settings.issuer, clock=self.clock)
            self._samples.append(self._app_server(sample.name, app, port, jwks))
        console = self._console_server(platform)
        self._samples.append(console)
        for item in self._samples:
            item.task = asyncio.get_running_loop().create_task(
                item.server.serve(sockets=[item.sock]), name=f"sample-{item.name}"
            )
        known = read_credentials(self.credentials_path)
        self.people = await asyncio.to_thread(
            seed,
            platform,
            settlement_url=self._samples[0].url,
            wiki_url=self._samples[1].url,
            known=known,
            console_url=console.url,
        )
        await asyncio.to_thread(seed_inventory, platform)
        self.server = Server(platform)
        await self.server.start()
        for item in self._samples:
            item.jwks.url = f"{self.http_url}{JWKS_PATH}"
        write_credentials(self.credentials_path, self.people, self.http_url)
        write_settings(self.data_dir / "menshen.yaml", self.data_dir)

    def _console_server(self, platform: Platform) -> _SampleServer:
        """The console, verifying assertions for its own audience like any upstream."""
        jwks = JwksCache("")
        verifier = AssertionVerifier(
            jwks.current,
            issuer=platform.settings.issuer,
            audience=CONSOLE_AUDIENCE,
            clock=self.clock,
        )
        app = build_console(
            ConsoleConfig(),
            identity=UpstreamIdentity(verifier, jwks),
            load_model=self._stored_model,
            clock=self.clock,
            monitor=desk_for(platform, TENANT),
            form_key=derive_key(platform.master_key, CONSOLE_FORM_KEY),
            compliance=compliance_desk_for(platform, TENANT),
            clients=client_desk_for(platform, TENANT),
        )
        return self._app_server(CONSOLE_AUDIENCE, app, self._console_port, jwks)

    def _stored_model(self) -> Segmentation:
        if self.platform is None:
            raise ConfigError("the demo is still starting")
        return load_segmentation(self.platform.store.tenant(TENANT))

    def _app_server(self, name: str, app: ASGIApp, port: int, jwks: JwksCache) -> _SampleServer:
        config = uvicorn.Config(app, log_level="warning", lifespan="off", ws="websockets-sansio")
        server = _QuietServer(config)
        return _SampleServer(name, _bind(port), jwks, server)

    async def stop(self) -> None:
        if self.server is not None:
            await self.server.stop()
        for item in self._samples:
            item.server.should_exit = True
        for item in self._samples:
            if item.task is not None:
                with contextlib.suppress(asyncio.CancelledError):
                    await asyncio.wait_for(item.task, 10)
            item.sock.close()
        self._samples.clear()
        if self.platform is not None:
            self.platform.close()


def write_settings(path: Path, data_dir: Path) -> None:
    """The demo firm's settings as a file, so the command line sees what the running demo
    sees (``menshen -c .menshen-demo/menshen.yaml report ...``): its tenant and its compliance
    profile. Written on every start; the demo owns it."""
    profile = DEMO_COMPLIANCE
    document = {
        "data_dir": str(data_dir.resolve()),
        "tenant": TENANT,
        "tenant_name": FIRM_NAME,
        "tenants": {
            TENANT: {
                "compliance": {
                    "scope": profile.scope,
                    "e_payment": profile.e_payment,
                    "records_held": profile.records_held,
                    "staff": profile.staff,
                }
            }
        },
    }
    text = "# Written by `menshen demo` on each start.\n" + yaml.safe_dump(
        document, allow_unicode=True, sort_keys=False
    )
    path.write_text(text, encoding="utf-8")
