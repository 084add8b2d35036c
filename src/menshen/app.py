"""The composition root: Settings -> store -> services -> servers.

``Platform`` opens what both the CLI and the server need (store, master key, per-tenant
services). ``Server`` wires the gateway: guard, sign-in pages, audit writer, the listeners,
and the background upkeep that keeps the in-memory state fresh.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import ssl
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from menshen import __version__
from menshen.access.account import Account
from menshen.access.audit import PageAudit
from menshen.access.authenticators import Authenticators
from menshen.access.client_auth import ClientGate
from menshen.access.client_tokens import AccessTokens
from menshen.access.csrf import CsrfTokens
from menshen.access.device_api import DeviceApi
from menshen.access.device_pages import DevicePages
from menshen.access.device_trust import LiveDevices, TenantDevices
from menshen.access.directory import Directory
from menshen.access.endpoints import OwnEndpoints
from menshen.access.guard import Guard
from menshen.access.loader import load_directory
from menshen.access.oauth_token import TokenEndpoint
from menshen.access.pages import Pages
from menshen.access.passkey_login import PasskeyLoginPages
from menshen.access.passkey_manage import PasskeyManage
from menshen.access.passkey_pages import PasskeyPages
from menshen.access.returnto import ReturnSigner
from menshen.access.selfservice import SelfService
from menshen.access.signin import SignIn
from menshen.access.sso import SingleSignOn
from menshen.access.sso_clients import ProviderClients
from menshen.access.sso_recheck import SessionRecheck
from menshen.access.sso_sessions import FederatedSessions, TokenVault
from menshen.assertions.keyring import Keyring
from menshen.assertions.mint import AssertionMinter
from menshen.clock import Clock, SystemClock
from menshen.crypto import SecretBox, load_or_create_master_key
from menshen.events.bus import EventBus
from menshen.events.model import AuditEvent, Kind, Outcome
from menshen.events.writer import AuditWriter
from menshen.gateway.contract import ListenerLimits, RequestHead, Respond, Verdict
from menshen.gateway.metrics import AuditFigures, MetricSources, MonitorFigures
from menshen.gateway.ops import HealthCheck, OpsListener
from menshen.gateway.server import GatewayServer
from menshen.gateway.tls import server_context, trust_client_authorities
from menshen.identity.clients import ClientRoster, MachineClientService, SecretHasher, load_roster
from menshen.identity.devices import DeviceService, TrustRules
from menshen.identity.lockout import Lockout
from menshen.identity.oidc.http import HttpxFetcher
from menshen.identity.passkeys import AttestationPolicy, PasskeyService, PasswordlessSignIn
from menshen.identity.passwords import PasswordHasher
from menshen.identity.service import IdentityService
from menshen.identity.throttle import DEFAULT_THROTTLE
from menshen.monitor.assemble import build_engine
from menshen.monitor.detection import TenantDetection
from menshen.monitor.engine import MonitorEngine
from menshen.monitor.incidents.book import IncidentBook
from menshen.monitor.ingest.service import IngestService
from menshen.monitor.ingest.sink import DiscardingSink
from menshen.monitor.response.actions import ActionRunner
from menshen.monitor.response.live import LiveResponse
from menshen.monitor.tally import ResponseTally
from menshen.policy.model import Subject
from menshen.sessions.service import SessionService, SessionTimeouts
from menshen.settings import DeviceOptions, PasskeyOptions, Settings
from menshen.store.records import SessionRecord, TenantRecord
from menshen.store.sql import SqlStore

_log = logging.getLogger(__name__)
RISK_DECAY_SECONDS = 30.0
BASELINE_SAVE_SECONDS = 60.0


def derive_key(master: bytes, purpose: str) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=purpose.encode()).derive(
        master
    )


@dataclass
class Platform:
    """Store, keys and per-tenant services; blocking to open (the CLI uses it directly)."""

    settings: Settings
    clock: Clock
    store: SqlStore
    master_key: bytes
    box: SecretBox
    hasher: PasswordHasher = field(default_factory=PasswordHasher)
    _identities: dict[str, IdentityService] = field(default_factory=dict)
    _keyrings: dict[str, Keyring] = field(default_factory=dict)
    _devices: dict[str, DeviceService] = field(default_factory=dict)
    _machine_clients: dict[str, MachineClientService] = field(default_factory=dict)

    @classmethod
    def open(cls, settings: Settings, clock: Clock | None = None) -> Platform:
        settings.data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        master = load_or_create_master_key(settings.master_key_path)
        store = SqlStore.open(settings.database_url, settings.data_dir)
        real_clock = clock or SystemClock()
        store.add_tenant(TenantRecord(settings.tenant, settings.tenant_name, real_clock.now()))
        return cls(settings, real_clock, store, master, SecretBox(master))

    def tenant_ids(self) -> list[str]:
        return [tenant.id for tenant in self.store.tenants()]

    def seal_totp(self, tenant_id: str, secret: bytes) -> bytes:
        return self.box.seal(secret, f"totp:{tenant_id}".encode())

    def open_totp(self, tenant_id: str, sealed: bytes) -> bytes:
        return self.box.open(sealed, f"totp:{tenant_id}".encode())

    def identity(self, tenant_id: str) -> IdentityService:
        service = self._identities.get(tenant_id)
        if service is None:
            service = IdentityService(
                self.store.tenant(tenant_id),
                self.hasher,
                self.clock,
                seal=lambda plain: self.seal_totp(tenant_id, plain),
                unseal=lambda sealed: self.open_totp(tenant_id, sealed),
            )
            self._identities[tenant_id] = service
        return service

    def passkeys(
        self, tenant_id: str, *, rp_id: str, origin: str, rp_name: str = "menshen"
    ) -> PasskeyService:
        """The passkey service for one tenant as seen from one browser origin.

        A passkey is scoped to the host the browser is on (its RP ID), so the service is
        built per request from the routed host and origin (cheap: it only holds settings);
        the gateway routes only the tenant's configured hosts, so a forged Host header
        cannot name an RP ID the tenant does not serve.
        """
        return PasskeyService(
            self.store.tenant(tenant_id),
            self.clock,
            rp_id=rp_id,
            rp_name=rp_name,
            origins=(origin,),
            attestation_policy=_attestation_policy(self.settings.options(tenant_id).passkeys),
        )

    def devices(self, tenant_id: str) -> DeviceService:
        """The device registry of one tenant, judged by its ``tenants.<id>.devices`` rules."""
        service = self._devices.get(tenant_id)
        if service is None:
            options = self.settings.options(tenant_id).devices
            service = DeviceService(
                self.store.tenant(tenant_id),
                self.clock,
                self.box,
                rules=trust_rules(options),
                code_lifetime=options.enrolment_code_lifetime,
            )
            self._devices[tenant_id] = service
        return service

    def passwordless(
        self, tenant_id: str, *, rp_id: str, origin: str, rp_name: str = "menshen"
    ) -> PasswordlessSignIn:
        """Passwordless sign-in for one tenant and origin; its failures count against the
        source address in the same counters as password failures."""
        passkeys = self.passkeys(tenant_id, rp_id=rp_id, origin=origin, rp_name=rp_name)
        tenant = self.store.tenant(tenant_id)
        lockout = Lockout(tenant.throttle, tenant_id, DEFAULT_THROTTLE)
        return PasswordlessSignIn(passkeys, lockout, self.clock)

    def client_hasher(self) -> SecretHasher:
        """The keyed hash of machine-client credentials (menshen.identity.clients.secrets)."""
        return SecretHasher(derive_key(self.master_key, "menshen machine client secrets"))

    def machine_clients(self, tenant_id: str) -> MachineClientService:
        """The machine clients (OAuth2 clients, API keys) of one tenant."""
        service = self._machine_clients.get(tenant_id)
        if service is None:
            repository = self.store.tenant(tenant_id).machine_clients
            service = MachineClientService(repository, tenant_id, self.client_hasher(), self.clock)
            self._machine_clients[tenant_id] = service
        return service

    def keyring(self, tenant_id: str) -> Keyring:
        keyring = self._keyrings.get(tenant_id)
        if keyring is None:
            keyring = Keyring(
                self.store.tenant(tenant_id),
                self.box,
                self.clock,
                token_lifetime=self.settings.assertion_lifetime,
            )
            keyring.ensure_key()
            self._keyrings[tenant_id] = keyring
        return keyring

    def incident_book(self) -> IncidentBook:
        """Incidents, grouped with each tenant's window (the CLI and the console)."""
        return IncidentBook(
            self.store, lambda tenant_id: self.settings.options(tenant_id).monitor.incident_window
        )

    def undo_runner(self, publish: Callable[[AuditEvent], None]) -> ActionRunner:
        """An ``ActionRunner`` outside the gateway, for undo (CLI and console): running
        gateways re-read blocks and step-up demands from the store, so its table is its own."""
        timeouts = self.settings.sessions
        return ActionRunner(
            store=self.store,
            sessions=SessionService(
                self.store,
                self.clock,
                SessionTimeouts(timeouts.idle_timeout, timeouts.absolute_timeout),
            ),
            identity=self.identity,
            live=LiveResponse(),
            publish=publish,
            clock=self.clock,
            observe_only=lambda tenant_id: False,
        )

    def write_audit(self, events: Sequence[AuditEvent]) -> None:
        """Write ``events`` to the audit log at once (no background writer: CLI, console)."""
        if events:
            AuditWriter(self.store, EventBus(), self.clock).write_now(events)

    def close(self) -> None:
        self.store.close()


class Server:
    """The running gateway of one process."""

    def __init__(self, platform: Platform) -> None:
        self.platform = platform
        settings = platform.settings
        clock = platform.clock
        self.bus = EventBus()
        self.writer = AuditWriter(platform.store, self.bus, clock)
        self.sessions = SessionService(
            platform.store,
            clock,
            SessionTimeouts(settings.sessions.idle_timeout, settings.sessions.absolute_timeout),
        )
        self.minters: dict[str, AssertionMinter] = {}
        self.pages = Pages({})
        signer = ReturnSigner(derive_key(platform.master_key, "menshen return-url"))
        csrf = CsrfTokens(derive_key(platform.master_key, "menshen csrf"))
        # Continuous monitoring: risk scores, blocks and step-up demands the guard reads.
        self.live_response = LiveResponse()
        self.devices = LiveDevices(
            sessions=self.sessions, publish=self.bus.publish, risk=self.live_response
        )
        # Machine clients: access tokens and API keys, checked on every request.
        self.access_tokens = AccessTokens(settings.issuer, clock)
        self.client_gate = ClientGate(
            tokens=self.access_tokens,
            hasher=platform.client_hasher(),
            keyring=self._client_keyring,
            minters=self.minters,
            publish=self.bus.publish,
            risk=self.live_response.risk,
        )
        self.guard = Guard(
            sessions=self.sessions,
            minters=self.minters,
            pages=self.pages,
            signer=signer,
            publish=self.bus.publish,
            clock=clock,
            own_endpoints=lambda head: self.endpoints(head),
            audit_backlog=lambda: self.writer.pending,
            live=self.devices,
            containment=self.live_response,
            clients=self.client_gate,
        )
        secure = _secure_cookies
        audit = PageAudit(self.bus.publish, clock)
        signin = SignIn(
            identities=platform.identity,
            sessions=self.sessions,
            find_session=self.guard.session_for,
            pages=self.pages,
            signer=signer,
            csrf=csrf,
            audit=audit,
            clock=clock,
            issuer_name=lambda tenant_id: self.guard.directory.firm_names.get(tenant_id, "menshen"),
            secure_cookies=secure,
            ensure_known=self._ensure_known,
            has_passkey=self._has_passkey,
            sso_links=lambda tenant_id, rd: self.sso.links(tenant_id, rd),
            sso_by_email=lambda tenant_id: self.sso.routes_by_email(tenant_id),
        )
        self.fetcher = HttpxFetcher()
        providers = ProviderClients(
            {
                tenant_id: settings.providers_of(tenant_id)
                for tenant_id in {p.tenant or settings.tenant for p in settings.identity_providers}
            },
            self.fetcher,
            clock,
        )
        federated = FederatedSessions(
            platform.store,
            TokenVault(SecretBox(derive_key(platform.master_key, "menshen oidc tokens"))),
        )
        self.sso = SingleSignOn(
            clients=providers,
            federated=federated,
            clock=clock,
            box=SecretBox(derive_key(platform.master_key, "menshen oidc pending")),
            identities=platform.identity,
            users=lambda tenant_id: platform.store.tenant(tenant_id).users.list(),
            sessions=self.sessions,
            find_session=self.guard.session_for,
            signin=signin,
            signer=signer,
            pages=self.pages,
            audit=audit,
            csrf=csrf,
            secure_cookies=secure,
            reload=self._federated_user_changed,
        )
        self.sso_recheck = SessionRecheck(
            store=platform.store,
            clients=providers,
            federated=federated,
            sessions=self.sessions,
            identities=platform.identity,
            clock=clock,
            publish=self.bus.publish,
            groups_changed=self._federated_user_changed,
        )
        passkeys = PasskeyPages(
            passkeys=self._passkeys_for,
            signin=signin,
            find_session=self.guard.session_for,
            signed_in=self.guard.cleared,
            csrf=csrf,
            audit=audit,
        )
        selfservice = SelfService(
            find_session=self.guard.session_for,
            signed_in=self.guard.cleared,
            pages=self.pages,
            signer=signer,
            csrf=csrf,
            audit=audit,
        )
        passkey_login = PasskeyLoginPages(
            passwordless=self._passwordless_for,
            sessions=self.sessions,
            find_session=self.guard.session_for,
            signin=signin,
            csrf=csrf,
            audit=audit,
            clock=clock,
            ensure_known=self._ensure_known,
            secure_cookies=secure,
        )
        passkey_manage = PasskeyManage(
            passkeys=self._passkeys_for,
            signin=signin,
            selfservice=selfservice,
            pages=self.pages,
            audit=audit,
            clock=clock,
        )
        authenticators = Authenticators(
            identities=platform.identity,
            passkeys=self._passkeys_for,
            selfservice=selfservice,
            pages=self.pages,
            audit=audit,
            clock=clock,
        )
        account = Account(
            sessions=self.sessions,
            find_session=self.guard.session_for,
            subject_of=self._subject_of,
            recent_denials=self.guard.recent_denials,
            signed_in=self.guard.cleared,
            pages=self.pages,
            csrf=csrf,
            audit=audit,
            jwks=self._jwks_json,
            secure_cookies=secure,
            provider_logout=self.sso.logout,
        )
        self.endpoints = OwnEndpoints(
            tenant_for_host=lambda host: self.guard.directory.tenant_for_host(host),
            signin=signin,
            account=account,
            passkeys=passkeys,
            passkey_login=passkey_login,
            passkey_manage=passkey_manage,
            authenticators=authenticators,
            sso=self.sso,
            devices=DevicePages(
                devices=platform.devices,
                sessions=self.sessions,
                find_session=self.guard.session_for,
                signed_in=self.guard.cleared,
                pages=self.pages,
                csrf=csrf,
                audit=audit,
                clock=clock,
            ),
            device_api=DeviceApi(devices=platform.devices, audit=audit, clock=clock),
            ingest=self._ingest_route,
            oauth=TokenEndpoint(
                clients=platform.machine_clients,
                lockout=lambda tenant_id: Lockout(
                    platform.store.tenant(tenant_id).throttle, tenant_id, DEFAULT_THROTTLE
                ),
                keyring=self._client_keyring,
                tokens=self.access_tokens,
                publish=self.bus.publish,
                clock=clock,
            ),
        )
        self.listeners: list[GatewayServer] = []
        # TLS listeners that ask for device certificates, and the device CAs they trust.
        self._device_contexts: list[ssl.SSLContext] = []
        self._device_cas: set[str] = set()
        self._revisions: dict[str, int] = {}
        self._tasks: list[asyncio.Task[None]] = []
        self.sessions.on_revoke(self._session_revoked)
        # The monitor's engine (risk, playbooks, incidents): the event pipeline's sink.
        self.monitor: MonitorEngine | None = None
        self.detection: TenantDetection | None = None
        if settings.monitor_engine:
            self.detection = TenantDetection(settings, platform.store)
            self.monitor = build_engine(
                settings=settings,
                store=platform.store,
                sessions=self.sessions,
                identity=platform.identity,
                live=self.live_response,
                clock=clock,
                publish=self.bus.publish,
                detect=self.detection,
            )
        # Event ingestion: the gateway's events, HTTP, syslog and files into the engine.
        self.ingest: IngestService | None = None
        if settings.monitor.enabled:
            self.ingest = IngestService(
                settings.monitor,
                store=platform.store,
                bus=self.bus,
                clock=clock,
                sink=self.monitor if self.monitor is not None else DiscardingSink(),
                data_dir=settings.data_dir,
                bytes_out=self._take_bytes_out,
                session_of=self.sessions.get,
            )
        # Operations metrics and health checks on a listener of their own (``metrics:``).
        self.ops: OpsListener | None = None
        if settings.metrics is not None:
            health = HealthCheck(
                platform.store.ping, lambda: self.writer.pending, self.guard.max_audit_backlog
            )
            self.ops = OpsListener(self._metric_sources(), health, clock)

    # -- life cycle ---------------------------------------------------------------------
    async def start(self) -> None:
        platform = self.platform
        settings = platform.settings
        tenant_ids = platform.tenant_ids()
        for tenant_id in tenant_ids:
            keyring = await asyncio.to_thread(platform.keyring, tenant_id)
            self.minters[tenant_id] = AssertionMinter(keyring, settings.issuer, platform.clock)
        await asyncio.to_thread(self.sessions.load, tenant_ids)
        await self.reload_directory()
        await self.writer.start()
        limits = ListenerLimits(
            max_body_bytes=settings.max_body_bytes, trusted_proxies=settings.trusted_proxies
        )
        for listener in settings.listeners:
            tls: ssl.SSLContext | None = None
            if listener.tls_cert is not None and listener.tls_key is not None:
                authorities = sorted(self._device_cas) if listener.device_certificates else None
                tls = server_context(
                    listener.tls_cert, listener.tls_key, client_authorities=authorities
                )
                if authorities is not None:
                    self._device_contexts.append(tls)
            server = GatewayServer(
                self.guard,
                limits,
                platform.clock,
                tls=tls,
                scheme="https" if tls is not None else "http",
                on_protocol_error=self._protocol_error,
            )
            await server.start(listener.host, listener.port)
            self.listeners.append(server)
        if self.monitor is not None:
            if self.detection is not None:  # rules, geo-IP, baselines: ConfigError stops here
                await asyncio.to_thread(self.detection.open, tenant_ids)
            await asyncio.to_thread(self.monitor.load, tenant_ids)
            self.monitor.start()
            self._tasks.append(
                asyncio.get_running_loop().create_task(
                    self._monitor_upkeep(self.monitor), name="monitor-upkeep"
                )
            )
        if self.ingest is not None:
            await self.ingest.start()
        self._tasks.append(asyncio.get_running_loop().create_task(self._upkeep(), name="upkeep"))
        self._tasks.append(
            asyncio.get_running_loop().create_task(
                self.sso_recheck.run_forever(settings.state_refresh_seconds), name="sso-recheck"
            )
        )
        if self.ops is not None and settings.metrics is not None:
            where = settings.metrics
            await self.ops.start(where.host, where.port, loopback=where.loopback)
        # The loaded sessions, directory and code objects live as long as the process:
        # keep them out of every later full collection (long GC pauses hurt p99).
        gc.freeze()

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks.clear()
        if self.ops is not None:
            await self.ops.stop()
        for server in self.listeners:
            await server.stop()
        self.listeners.clear()
        batch = self.sessions.take_last_seen()
        await asyncio.to_thread(self.sessions.write_last_seen, batch)
        bindings = self.sessions.take_device_bindings()
        await asyncio.to_thread(self.sessions.write_device_bindings, bindings)
        await asyncio.to_thread(self._write_client_use, self.client_gate.take_last_used())
        if self.ingest is not None:
            await self.ingest.stop()
        if self.detection is not None:
            try:
                await asyncio.to_thread(self.detection.save, self.platform.clock.now(), final=True)
            except Exception:
                _log.exception("could not save the monitor's baselines at stop")
        if self.monitor is not None:
            await self.monitor.stop()
        await self.writer.stop()
        self.fetcher.close()

    def _metric_sources(self) -> MetricSources:
        """The live counters a scrape reads (``menshen.gateway.metrics``)."""
        tally = ResponseTally()
        self.bus.subscribe(tally)
        writer, guard, monitor = self.writer, self.guard, self.monitor

        def audit() -> AuditFigures:
            return AuditFigures(
                writer.pending, guard.max_audit_backlog, writer.written, writer.failures
            )

        def engine() -> MonitorFigures:
            assert monitor is not None
            return MonitorFigures(
                monitor.events, monitor.findings, monitor.detector_errors, monitor.dropped
            )

        return MetricSources(
            version=__version__,
            decisions=guard.counts.snapshot,
            audit=audit,
            sessions=self.sessions.live_by_tenant,
            ingest=None if self.ingest is None else self.ingest.metrics,
            monitor=None if monitor is None else engine,
            findings=tally.finding_counts,
            actions=tally.action_counts,
        )

    # -- state upkeep -------------------------------------------------------------------
    async def reload_directory(self) -> Directory:
        """Rebuild the directory now, whatever the revisions say."""
        self._revisions = {}
        await self.refresh_once()
        return self.guard.directory

    async def refresh_once(self) -> None:
        """Pick up changes made elsewhere: revocations always; people, apps, policies and
        keys only when a tenant's revision moved (rebuilding costs queries per user)."""
        revoked, directory = await asyncio.to_thread(self._read_changes)
        self.sessions.apply_revocations(revoked)
        if directory is None:
            return
        self.guard.set_directory(directory)
        self.pages.set_firm_names(directory.firm_names)
        rosters = await asyncio.to_thread(self._read_rosters)
        for refused in self.client_gate.set_rosters(rosters, self.platform.clock.now()):
            for server in self.listeners:  # a refused client's open WebSockets end now
                server.close_session(refused)
        try:
            await self._refresh_devices()
        except Exception:
            self._revisions = {}  # the device snapshot is behind: read everything next round
            raise
        for tenant_id in directory.firm_names:
            if tenant_id not in self.minters:
                self.minters[tenant_id] = AssertionMinter(
                    self.platform.keyring(tenant_id),
                    self.platform.settings.issuer,
                    self.platform.clock,
                )

    def _read_changes(self) -> tuple[list[SessionRecord], Directory | None]:
        """Blocking reads of what changed elsewhere (runs in a worker thread)."""
        platform = self.platform
        revisions = platform.store.revisions()
        tenant_ids = sorted(revisions)
        revoked = self.sessions.fetch_revocations(tenant_ids)
        if revisions == self._revisions:
            return revoked, None
        for tenant_id in tenant_ids:
            platform.keyring(tenant_id).reload()
        directory = load_directory(platform.store, tenant_ids)
        self._revisions = revisions
        return revoked, directory

    async def _upkeep(self) -> None:
        interval = self.platform.settings.state_refresh_seconds
        rounds = 0
        while True:
            await asyncio.sleep(interval)
            rounds += 1
            try:
                await self.refresh_once()
                bindings = self.sessions.take_device_bindings()
                if bindings:
                    await asyncio.to_thread(self.sessions.write_device_bindings, bindings)
                if rounds % 10 == 0:
                    batch = self.sessions.take_last_seen()
                    await asyncio.to_thread(self.sessions.write_last_seen, batch)
                    used = self.client_gate.take_last_used()
                    await asyncio.to_thread(self._write_client_use, used)
                if rounds % 60 == 0:
                    await asyncio.to_thread(self._purge_passkey_ceremonies)
            except Exception:
                # The old snapshot stays in force; revocations already applied stay applied.
                _log.exception("state refresh failed; keeping the previous snapshot")

    async def _monitor_upkeep(self, engine: MonitorEngine) -> None:
        """Pick up blocks and step-up demands set or undone elsewhere (each refresh); let
        risk scores decay and blocks expire (``MonitorEngine.tick``, every half minute); save
        the baselines learnt since the last save (every ``BASELINE_SAVE_SECONDS``)."""
        clock = self.platform.clock
        interval = self.platform.settings.state_refresh_seconds
        last_tick = last_save = clock.monotonic()
        while True:
            await asyncio.sleep(interval)
            try:
                await asyncio.to_thread(engine.sync_containment, self.platform.tenant_ids())
                if clock.monotonic() - last_tick >= RISK_DECAY_SECONDS:
                    last_tick = clock.monotonic()
                    await engine.tick()
                if self.detection is not None and clock.monotonic() - last_save >= (
                    BASELINE_SAVE_SECONDS
                ):
                    last_save = clock.monotonic()
                    await asyncio.to_thread(self.detection.save, clock.now())
            except Exception:
                _log.exception("monitor upkeep failed; scores and blocks stay as they were")

    def _read_rosters(self) -> dict[str, ClientRoster]:
        """Every tenant's machine clients and credentials (blocking; in a thread)."""
        store = self.platform.store
        return {
            tenant_id: load_roster(store.tenant(tenant_id).machine_clients, tenant_id)
            for tenant_id in self.platform.tenant_ids()
        }

    def _write_client_use(self, used: dict[str, dict[str, datetime]]) -> None:
        for tenant_id, last_used in used.items():
            self.platform.store.tenant(tenant_id).machine_clients.touch_many(last_used)

    def _client_keyring(self, tenant_id: str) -> Keyring | None:
        """The tenant's keyring once loaded (never blocks: a new tenant's keys arrive with
        the refresh that creates its minter)."""
        return self.platform.keyring(tenant_id) if tenant_id in self.minters else None

    def _ingest_route(self, head: RequestHead, tenant_id: str) -> Verdict:
        if self.ingest is None:
            return Respond(404)
        return self.ingest.endpoint.post(head, tenant_id)

    def _take_bytes_out(self) -> dict[str, int]:
        total: dict[str, int] = {}
        for server in self.listeners:
            for session_id, sent in server.take_bytes_out().items():
                total[session_id] = total.get(session_id, 0) + sent
        return total

    def _purge_passkey_ceremonies(self) -> None:
        """Drop passkey challenges nobody finished (anyone may start a sign-in ceremony, so
        expired ones must not pile up); blocking, runs in a worker thread."""
        now = self.platform.clock.now()
        for tenant_id in self.platform.tenant_ids():
            self.platform.store.tenant(tenant_id).webauthn.purge_challenges(now)

    async def _refresh_devices(self) -> None:
        """Swap in the device registry snapshot, trust new device CAs on the TLS listeners,
        and end the sessions of devices revoked elsewhere (the CLI, another replica)."""
        snapshot, authorities = await asyncio.to_thread(self._read_devices)
        gone = self.devices.set_snapshot(snapshot, self.platform.clock.now())
        new = [pem for pem in authorities if pem not in self._device_cas]
        if new:
            for context in self._device_contexts:
                trust_client_authorities(context, new)
            self._device_cas.update(new)
        for tenant_id, device_id in gone:
            await self.sessions.revoke_device(
                tenant_id, device_id, by="system", reason="device revoked"
            )

    def _read_devices(self) -> tuple[dict[str, TenantDevices], list[str]]:
        """Every tenant's devices and device CA, made if missing (blocking; in a thread)."""
        platform = self.platform
        snapshot: dict[str, TenantDevices] = {}
        authorities: list[str] = []
        for tenant_id in platform.tenant_ids():
            service = platform.devices(tenant_id)
            authorities.append(service.authority_pem())
            records = platform.store.tenant(tenant_id).devices.list()
            snapshot[tenant_id] = TenantDevices(tuple(records), service.rules)
        return snapshot, authorities

    # -- callbacks ----------------------------------------------------------------------
    async def _ensure_known(self, tenant_id: str, user_id: str) -> None:
        if self.guard.directory.principal(tenant_id, user_id) is None:
            await self.reload_directory()

    async def _federated_user_changed(self, tenant_id: str, user_id: str) -> None:
        # Single sign-on may have created the user or changed group memberships just now:
        # the session must see them at once, not at the next refresh.
        await self.reload_directory()

    def _passkeys_for(self, tenant_id: str, rp_id: str, origin: str) -> PasskeyService:
        rp_name = self.guard.directory.firm_names.get(tenant_id, "menshen")
        return self.platform.passkeys(tenant_id, rp_id=rp_id, origin=origin, rp_name=rp_name)

    def _passwordless_for(self, tenant_id: str, rp_id: str, origin: str) -> PasswordlessSignIn:
        rp_name = self.guard.directory.firm_names.get(tenant_id, "menshen")
        return self.platform.passwordless(tenant_id, rp_id=rp_id, origin=origin, rp_name=rp_name)

    def _has_passkey(self, tenant_id: str, user_id: str) -> bool:
        """Whether the user has a usable passkey (blocking; runs in a worker thread)."""
        passkeys = self.platform.store.tenant(tenant_id).webauthn.list_for_user(user_id)
        return any(p.cloned_at is None for p in passkeys)

    def _jwks_json(self, tenant_id: str) -> bytes:
        minter = self.minters.get(tenant_id)
        if minter is None:  # a tenant added since start: its keys arrive with the next refresh
            return b'{"keys":[]}'
        return self.platform.keyring(tenant_id).jwks_json()

    def _subject_of(self, tenant_id: str, user_id: str) -> Subject | None:
        principal = self.guard.directory.principal(tenant_id, user_id)
        return None if principal is None else principal.subject

    def _session_revoked(self, record: SessionRecord) -> None:
        for server in self.listeners:
            server.close_session(record.id)
        minter = self.minters.get(record.tenant_id)
        if minter is not None:
            minter.forget_session(record.id)
        self.guard.forget_session(record)
        self.bus.publish(
            AuditEvent(
                tenant_id=record.tenant_id,
                kind=Kind.SESSION_REVOKED,
                outcome=Outcome.SUCCESS,
                at=self.platform.clock.now(),
                actor=record.revoked_by,
                subject=record.user_id,
                session_id=record.id,
                reason=record.revoke_reason,
            )
        )

    def _protocol_error(self, kind: str, peer_ip: str, detail: str) -> None:
        # Framing attacks arrive before any host is known: they go to the operator's tenant.
        self.bus.publish(
            AuditEvent(
                tenant_id=self.platform.settings.tenant,
                kind=Kind.ATTACK_BLOCKED,
                outcome=Outcome.DENY,
                at=self.platform.clock.now(),
                ip=peer_ip,
                reason=kind,
                details={"detail": detail[:300]},
            )
        )


def trust_rules(options: DeviceOptions) -> TrustRules:
    """A tenant's posture rules as the trust algorithm takes them."""
    return TrustRules(
        max_report_age=options.max_report_age,
        require_disk_encryption=options.require_disk_encryption,
        require_screen_lock=options.require_screen_lock,
    )


def _attestation_policy(options: PasskeyOptions) -> AttestationPolicy:
    if options.attestation == "listed":
        return AttestationPolicy.listed(options.aaguids)
    return AttestationPolicy()


def _secure_cookies(head: RequestHead) -> bool:
    return head.scheme == "https"
