"""Settings: parsed once at the edge from ``menshen.yaml`` and the environment.

This is the only module that reads the environment. A bad value aborts start-up with a
``ConfigError`` naming the file and the field; nothing falls back to a default silently.

Environment: ``MENSHEN_DATABASE_URL`` (a ``postgresql+psycopg://`` URL selects PostgreSQL;
unset means SQLite under the data directory) and ``MENSHEN_DATA_DIR``.
"""

from __future__ import annotations

import ipaddress
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from menshen.errors import ConfigError
from menshen.settings_compliance import ComplianceModel, ComplianceOptions, compliance_options
from menshen.settings_metrics import MetricsModel, MetricsSettings, metrics_settings


@dataclass(frozen=True, slots=True)
class Listener:
    host: str
    port: int
    tls_cert: Path | None = None
    tls_key: Path | None = None
    # On TLS listeners: ask browsers for an (optional) device certificate from a tenant's
    # device CA; a request without one is served as from an unknown device.
    device_certificates: bool = True

    @property
    def scheme(self) -> str:
        return "https" if self.tls_cert is not None else "http"


@dataclass(frozen=True, slots=True)
class SessionSettings:
    idle_timeout: timedelta = timedelta(hours=1)
    absolute_timeout: timedelta = timedelta(hours=12)


@dataclass(frozen=True, slots=True)
class IdentityProviderSettings:
    """One OpenID provider users of the tenant may sign in with (``identity_providers``)."""

    name: str
    issuer: str
    client_id: str
    client_secret: str | None = None
    display_name: str = ""
    preset: str = "generic"
    groups_claim: str = "groups"
    group_map: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    email_domains: tuple[str, ...] = ()
    provisioning: str = "preprovisioned"
    scopes: tuple[str, ...] = ("openid", "email", "profile")
    tenant: str | None = None  # None: the operator's own tenant (``Settings.tenant``)
    # How often a session opened through this provider is re-checked with its refresh
    # token; a user disabled at the provider loses access within this interval.
    recheck_interval: timedelta = timedelta(minutes=5)
    # RP-initiated logout: also end the provider's session when the user signs out.
    logout_at_provider: bool = True

    @property
    def label(self) -> str:
        return self.display_name or self.name


@dataclass(frozen=True, slots=True)
class PasskeyOptions:
    """A tenant's passkey rules: ``attestation`` ``none`` accepts any authenticator;
    ``listed`` accepts only authenticators whose AAGUID is in ``aaguids``."""

    attestation: str = "none"
    aaguids: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class DeviceOptions:
    """A tenant's device posture rules (see ``menshen.identity.devices.rules``)."""

    max_report_age: timedelta = timedelta(hours=24)
    require_disk_encryption: bool = True
    require_screen_lock: bool = True
    enrolment_code_lifetime: timedelta = timedelta(minutes=10)


@dataclass(frozen=True, slots=True)
class TenantOptions:
    """Per-tenant options from ``tenants:`` in menshen.yaml (defaults when absent)."""

    passkeys: PasskeyOptions = field(default_factory=PasskeyOptions)
    devices: DeviceOptions = field(default_factory=DeviceOptions)
    monitor: MonitorOptions = field(default_factory=lambda: MonitorOptions())
    # The firm's IANA time zone: behavioural baselines learn active hours in local time.
    time_zone: str = "Asia/Taipei"
    compliance: ComplianceOptions = field(default_factory=ComplianceOptions)


@dataclass(frozen=True, slots=True)
class Settings:
    data_dir: Path
    database_url: str | None
    tenant: str = "default"
    tenant_name: str = "Default firm"
    listeners: tuple[Listener, ...] = (Listener("127.0.0.1", 8800),)
    trusted_proxies: tuple[str, ...] = ()
    sessions: SessionSettings = field(default_factory=SessionSettings)
    max_body_bytes: int = 10 * 1024 * 1024
    assertion_lifetime: timedelta = timedelta(minutes=5)
    issuer: str = "menshen"
    state_refresh_seconds: float = 1.0
    identity_providers: tuple[IdentityProviderSettings, ...] = ()
    tenants: Mapping[str, TenantOptions] = field(default_factory=dict)
    # The monitor's engine (risk, playbooks, incidents) runs inside the gateway process.
    monitor_engine: bool = True
    # Event ingestion (``monitor:``): gateway feed, syslog listener, tailed files, limits.
    monitor: IngestSettings = field(default_factory=lambda: IngestSettings())
    # The operations listener (``metrics:``: /metrics, /healthz); None: no listener.
    metrics: MetricsSettings | None = None

    @property
    def master_key_path(self) -> Path:
        return self.data_dir / "master.key"

    def options(self, tenant_id: str) -> TenantOptions:
        """The tenant's options, or the defaults."""
        return self.tenants.get(tenant_id) or TenantOptions()

    def providers_of(self, tenant_id: str) -> tuple[IdentityProviderSettings, ...]:
        """The identity providers configured for ``tenant_id``."""
        return tuple(p for p in self.identity_providers if (p.tenant or self.tenant) == tenant_id)


class _ListenerModel(BaseModel):
    model_config = ConfigDict(extra="forbid")
    host: str = "127.0.0.1"
    port: int = Field(ge=1, le=65535)
    tls_cert: Path | None = None
    tls_key: Path | None = None
    device_certificates: bool = True


class _SessionModel(BaseModel):
    model_config = ConfigDict(extra="forbid")
    idle_timeout_minutes: int = Field(default=60, ge=1, le=24 * 60)
    absolute_timeout_hours: int = Field(default=12, ge=1, le=24 * 30)


class _IdentityProviderModel(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(pattern=r"^[a-z0-9][a-z0-9-]{0,62}$")
    issuer: str = Field(
        pattern=r"^https://[^\s]+$|^http://(127\.0\.0\.1|localhost)(:\d+)?(/[^\s]*)?$"
    )
    client_id: str = Field(min_length=1, max_length=512)
    client_secret: str | None = Field(default=None, min_length=1)
    display_name: str = Field(default="", max_length=64)
    preset: Literal["generic", "okta", "keycloak", "entra_id"] = "generic"
    groups_claim: str = Field(default="groups", pattern=r"^$|^[A-Za-z0-9_:/.-]{1,200}$")
    group_map: dict[str, str | list[str]] = Field(default_factory=dict)
    email_domains: list[str] = Field(default_factory=list)
    provisioning: Literal["jit", "preprovisioned"] = "preprovisioned"
    scopes: list[str] = Field(default_factory=lambda: ["openid", "email", "profile"])
    tenant: str | None = Field(default=None, pattern=r"^[a-z0-9][a-z0-9-]{0,62}$")
    recheck_minutes: int = Field(default=5, ge=1, le=24 * 60)
    logout_at_provider: bool = True

    @field_validator("email_domains")
    @classmethod
    def _domains(cls, value: list[str]) -> list[str]:
        out = []
        for domain in value:
            clean = domain.strip().lower().lstrip("@")
            if not clean or "." not in clean or any(c.isspace() or c == "@" for c in clean):
                raise ValueError(f"not a domain: {domain!r}")
            out.append(clean)
        return out

    @field_validator("scopes")
    @classmethod
    def _openid(cls, value: list[str]) -> list[str]:
        if "openid" not in value:
            raise ValueError("must include 'openid'")
        return value


_AAGUID = r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"


class _PasskeyOptionsModel(BaseModel):
    model_config = ConfigDict(extra="forbid")
    attestation: Literal["none", "listed"] = "none"
    aaguids: list[str] = Field(default_factory=list)

    @field_validator("aaguids")
    @classmethod
    def _aaguids(cls, value: list[str]) -> list[str]:
        for item in value:
            if not re.fullmatch(_AAGUID, item):
                raise ValueError(f"not an AAGUID: {item!r}")
        return [item.lower() for item in value]


class _DeviceOptionsModel(BaseModel):
    model_config = ConfigDict(extra="forbid")
    max_report_age_hours: int = Field(default=24, ge=1, le=24 * 30)
    require_disk_encryption: bool = True
    require_screen_lock: bool = True
    enrolment_code_minutes: int = Field(default=10, ge=1, le=24 * 60)


class _TenantOptionsModel(BaseModel):
    model_config = ConfigDict(extra="forbid")
    passkeys: _PasskeyOptionsModel = Field(default_factory=_PasskeyOptionsModel)
    devices: _DeviceOptionsModel = Field(default_factory=_DeviceOptionsModel)
    monitor: _MonitorOptionsModel = Field(default_factory=lambda: _MonitorOptionsModel())
    time_zone: str = "Asia/Taipei"
    compliance: ComplianceModel = Field(default_factory=ComplianceModel)

    @field_validator("time_zone")
    @classmethod
    def _zone(cls, value: str) -> str:
        from zoneinfo import ZoneInfo

        try:
            ZoneInfo(value)
        except (ValueError, KeyError):
            raise ValueError(f"unknown time zone {value!r}") from None
        return value


class _SettingsModel(BaseModel):
    model_config = ConfigDict(extra="forbid")
    data_dir: Path = Path(".menshen")
    database_url: str | None = None
    tenant: str = Field(default="default", pattern=r"^[a-z0-9][a-z0-9-]{0,62}$")
    tenant_name: str = "Default firm"
    listeners: list[_ListenerModel] = Field(default_factory=lambda: [_ListenerModel(port=8800)])
    trusted_proxies: list[str] = Field(default_factory=list)
    sessions: _SessionModel = Field(default_factory=_SessionModel)
    max_body_bytes: int = Field(default=10 * 1024 * 1024, ge=1024)
    assertion_lifetime_seconds: int = Field(default=300, ge=30, le=3600)
    issuer: str = "menshen"
    state_refresh_seconds: float = Field(default=1.0, gt=0, le=60)
    identity_providers: list[_IdentityProviderModel] = Field(default_factory=list)
    tenants: dict[str, _TenantOptionsModel] = Field(default_factory=dict)
    monitor_engine: bool = True
    monitor: _IngestModel = Field(default_factory=lambda: _IngestModel())
    metrics: MetricsModel | None = None

    @field_validator("identity_providers")
    @classmethod
    def _unique(cls, value: list[_IdentityProviderModel]) -> list[_IdentityProviderModel]:
        names = [(item.tenant, item.name) for item in value]
        if len(set(names)) != len(names):
            raise ValueError("provider names must be unique per tenant")
        return value

    @field_validator("tenants")
    @classmethod
    def _tenant_ids(cls, value: dict[str, _TenantOptionsModel]) -> dict[str, _TenantOptionsModel]:
        for tenant_id, options in value.items():
            if not re.fullmatch(r"[a-z0-9][a-z0-9-]{0,62}", tenant_id):
                raise ValueError(f"not a tenant id: {tenant_id!r}")
            if options.passkeys.attestation == "listed" and not options.passkeys.aaguids:
                raise ValueError(f"{tenant_id}: attestation 'listed' needs at least one AAGUID")
        return value

    @field_validator("trusted_proxies")
    @classmethod
    def _cidrs(cls, value: list[str]) -> list[str]:
        for cidr in value:
            ipaddress.ip_network(cidr, strict=False)
        return value

    @field_validator("database_url")
    @classmethod
    def _url(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("sqlite:///", "postgresql+psycopg://")):
            raise ValueError("must be sqlite:///PATH or postgresql+psycopg://...")
        return value


def load_settings(
    path: Path | None, environ: Mapping[str, str] | None = None, **overrides: Any
) -> Settings:
    """Read ``path`` (optional), then the environment, then explicit overrides."""
    env = os.environ if environ is None else environ
    raw: dict[str, Any] = {}
    source = str(path) if path is not None else "<settings>"
    if path is not None:
        try:
            loaded = yaml.safe_load(path.read_text(encoding="utf-8"))
        except OSError as exc:
            raise ConfigError(f"cannot read settings: {exc.strerror}", source=source) from exc
        except yaml.YAMLError as exc:
            line = getattr(getattr(exc, "problem_mark", None), "line", None)
            raise ConfigError(
                f"invalid YAML: {exc}", source=source, line=None if line is None else line + 1
            ) from exc
        if loaded is not None and not isinstance(loaded, dict):
            raise ConfigError("the settings file must be a mapping", source=source)
        raw.update(loaded or {})
    if env.get("MENSHEN_DATABASE_URL"):
        raw["database_url"] = env["MENSHEN_DATABASE_URL"]
    if env.get("MENSHEN_DATA_DIR"):
        raw["data_dir"] = env["MENSHEN_DATA_DIR"]
    raw.update({key: value for key, value in overrides.items() if value is not None})
    try:
        model = _SettingsModel.model_validate(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        raise ConfigError(f"{where}: {first['msg']}", source=source) from exc
    return _to_settings(model, base=path.parent if path is not None else Path.cwd())


def _to_settings(model: _SettingsModel, base: Path) -> Settings:
    def resolve(p: Path) -> Path:
        return p if p.is_absolute() else (base / p)

    listeners = []
    for item in model.listeners:
        if (item.tls_cert is None) != (item.tls_key is None):
            raise ConfigError(f"listener {item.host}:{item.port}: give both tls_cert and tls_key")
        listeners.append(
            Listener(
                item.host,
                item.port,
                None if item.tls_cert is None else resolve(item.tls_cert),
                None if item.tls_key is None else resolve(item.tls_key),
                item.device_certificates,
            )
        )
    return Settings(
        data_dir=resolve(model.data_dir),
        database_url=model.database_url,
        tenant=model.tenant,
        tenant_name=model.tenant_name,
        listeners=tuple(listeners),
        trusted_proxies=tuple(model.trusted_proxies),
        sessions=SessionSettings(
            idle_timeout=timedelta(minutes=model.sessions.idle_timeout_minutes),
            absolute_timeout=timedelta(hours=model.sessions.absolute_timeout_hours),
        ),
        max_body_bytes=model.max_body_bytes,
        assertion_lifetime=timedelta(seconds=model.assertion_lifetime_seconds),
        issuer=model.issuer,
        state_refresh_seconds=model.state_refresh_seconds,
        identity_providers=tuple(_provider(item) for item in model.identity_providers),
        tenants={key: _tenant_options(value, resolve) for key, value in model.tenants.items()},
        monitor_engine=model.monitor_engine,
        monitor=_ingest_settings(model.monitor, resolve, model.tenant),
        metrics=metrics_settings(model.metrics),
    )


def _tenant_options(
    item: _TenantOptionsModel, resolve: Callable[[Path], Path] = lambda p: p
) -> TenantOptions:
    devices = item.devices
    return TenantOptions(
        passkeys=PasskeyOptions(item.passkeys.attestation, tuple(item.passkeys.aaguids)),
        devices=DeviceOptions(
            max_report_age=timedelta(hours=devices.max_report_age_hours),
            require_disk_encryption=devices.require_disk_encryption,
            require_screen_lock=devices.require_screen_lock,
            enrolment_code_lifetime=timedelta(minutes=devices.enrolment_code_minutes),
        ),
        monitor=_monitor_options(item.monitor, resolve),
        time_zone=item.time_zone,
        compliance=compliance_options(item.compliance, resolve),
    )


def _provider(item: _IdentityProviderModel) -> IdentityProviderSettings:
    table = {
        key: (value,) if isinstance(value, str) else tuple(value)
        for key, value in item.group_map.items()
    }
    return IdentityProviderSettings(
        name=item.name,
        issuer=item.issuer,
        client_id=item.client_id,
        client_secret=item.client_secret,
        display_name=item.display_name,
        preset=item.preset,
        groups_claim=item.groups_claim,
        group_map=table,
        email_domains=tuple(item.email_domains),
        provisioning=item.provisioning,
        scopes=tuple(item.scopes),
        tenant=item.tenant,
        recheck_interval=timedelta(minutes=item.recheck_minutes),
        logout_at_provider=item.logout_at_provider,
    )


# -- continuous monitoring: risk, playbooks, notifications (tenants.<id>.monitor) ----------
SEVERITIES = ("low", "medium", "high", "critical")
ACTIONS = ("revoke_sessions", "require_step_up", "suspend", "block_ip", "quarantine_device")


@dataclass(frozen=True, slots=True)
class RiskOptions:
    """``monitor.risk``: the score's half-life, level thresholds (0–100) and weights."""

    half_life: timedelta = timedelta(hours=24)
    low: float = 30.0
    medium: float = 50.0
    high: float = 70.0
    weights: Mapping[str, float] = field(default_factory=dict)  # detector -> [0, 1]
    severity_factors: Mapping[str, float] = field(default_factory=dict)  # severity -> [0, 1]


@dataclass(frozen=True, slots=True)
class PlaybookOptions:
    """``monitor.playbooks[]``: when to act (a finding of ``detectors`` at or above the
    minimum severity and confidence, or a score reaching ``risk_at_least``) and what to do."""

    name: str
    detectors: tuple[str, ...] = ()  # empty: any detector
    min_severity: str = "low"
    min_confidence: float = 0.0
    risk_at_least: float | None = None
    actions: tuple[str, ...] = ()
    block_minutes: int = 60
    notify: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class NotifierOptions:
    """``monitor.notifiers.<name>``: a webhook (HMAC-signed), Slack, Teams or e-mail."""

    name: str
    kind: str
    url: str = ""
    secret: str = ""
    smtp_host: str = ""
    smtp_port: int = 587
    starttls: bool = True
    username: str = ""
    password: str = ""
    sender: str = ""
    recipients: tuple[str, ...] = ()
    timeout_seconds: float = 5.0
    attempts: int = 3


@dataclass(frozen=True, slots=True)
class MonitorOptions:
    """A tenant's ``monitor:`` block; ``observe_only`` records actions without taking them."""

    observe_only: bool = False
    risk: RiskOptions = field(default_factory=RiskOptions)
    incident_window: timedelta = timedelta(hours=1)
    playbooks: tuple[PlaybookOptions, ...] = ()
    notifiers: Mapping[str, NotifierOptions] = field(default_factory=dict)
    # What the detectors need to know about the firm (docs/monitoring.md, "Wiring"): its
    # MaxMind-format geo-IP databases (optional), VPN / relay ASNs, its own shared egress,
    # proxies and federation servers (exact addresses), and Sigma rule files or directories
    # (read and checked at start; a bad rule stops start-up).
    geoip_city: Path | None = None
    geoip_asn: Path | None = None
    vpn_asns: frozenset[int] = frozenset()
    shared_sources: frozenset[str] = frozenset()
    rules: tuple[Path, ...] = ()


class _RiskOptionsModel(BaseModel):
    model_config = ConfigDict(extra="forbid")
    half_life_hours: float = Field(default=24.0, gt=0, le=24 * 365)
    low: float = Field(default=30.0, gt=0, le=100)
    medium: float = Field(default=50.0, gt=0, le=100)
    high: float = Field(default=70.0, gt=0, le=100)
    weights: dict[str, float] = Field(default_factory=dict)
    severity_factors: dict[Literal["low", "medium", "high", "critical"], float] = Field(
        default_factory=dict
    )

    @field_validator("weights", "severity_factors")
    @classmethod
    def _unit(cls, value: dict[str, float]) -> dict[str, float]:
        for key, number in value.items():
            if not 0.0 <= number <= 1.0:
                raise ValueError(f"{key}: must lie in [0, 1]")
        return value


class _PlaybookModel(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,62}$")
    detectors: list[str] = Field(default_factory=list)
    min_severity: Literal["low", "medium", "high", "critical"] = "low"
    min_confidence: float = Field(default=0.0, ge=0.0, le=1.0)
    risk_at_least: float | None = Field(default=None, gt=0, le=100)
    actions: list[
        Literal["revoke_sessions", "require_step_up", "suspend", "block_ip", "quarantine_device"]
    ] = Field(default_factory=list)
    block_minutes: int = Field(default=60, ge=1, le=60 * 24 * 30)
    notify: list[str] = Field(default_factory=list)


class _NotifierModel(BaseModel):
    model_config = ConfigDict(extra="forbid")
    kind: Literal["webhook", "slack", "teams", "email"]
    url: str = Field(default="", pattern=r"^$|^https?://[^\s]+$")
    secret: str = ""
    smtp_host: str = ""
    smtp_port: int = Field(default=587, ge=1, le=65535)
    starttls: bool = True
    username: str = ""
    password: str = ""
    sender: str = ""
    recipients: list[str] = Field(default_factory=list)
    timeout_seconds: float = Field(default=5.0, gt=0, le=60)
    attempts: int = Field(default=3, ge=1, le=10)


class _MonitorOptionsModel(BaseModel):
    model_config = ConfigDict(extra="forbid")
    observe_only: bool = False
    risk: _RiskOptionsModel = Field(default_factory=_RiskOptionsModel)
    incident_window_minutes: int = Field(default=60, ge=1, le=60 * 24 * 7)
    playbooks: list[_PlaybookModel] = Field(default_factory=list)
    notifiers: dict[str, _NotifierModel] = Field(default_factory=dict)
    geoip_city: Path | None = None
    geoip_asn: Path | None = None
    vpn_asns: list[int] = Field(default_factory=list)
    shared_sources: list[str] = Field(default_factory=list)
    rules: list[Path] = Field(default_factory=list)

    @field_validator("vpn_asns")
    @classmethod
    def _asns(cls, value: list[int]) -> list[int]:
        for number in value:
            if not 0 < number < 2**32:
                raise ValueError(f"not an AS number: {number}")
        return value

    @field_validator("shared_sources")
    @classmethod
    def _addresses(cls, value: list[str]) -> list[str]:
        try:
            return [str(ipaddress.ip_address(item.strip())) for item in value]
        except ValueError as exc:
            raise ValueError(f"not an IP address: {exc}") from None

    @field_validator("notifiers")
    @classmethod
    def _complete(cls, value: dict[str, _NotifierModel]) -> dict[str, _NotifierModel]:
        for name, item in value.items():
            if item.kind == "email" and not (item.smtp_host and item.sender and item.recipients):
                raise ValueError(f"{name}: e-mail needs smtp_host, sender and recipients")
            if item.kind != "email" and not item.url:
                raise ValueError(f"{name}: a {item.kind} notifier needs a url")
            if item.kind == "webhook" and len(item.secret) < 16:
                raise ValueError(f"{name}: a webhook needs a secret of at least 16 characters")
        return value


def _monitor_options(
    item: _MonitorOptionsModel, resolve: Callable[[Path], Path] = lambda p: p
) -> MonitorOptions:
    risk = item.risk
    if not risk.low <= risk.medium <= risk.high:
        raise ConfigError("monitor.risk: thresholds must rise (low <= medium <= high)")
    if item.geoip_asn is not None and item.geoip_city is None:
        raise ConfigError("monitor.geoip_asn: give geoip_city too")
    for playbook in item.playbooks:
        unknown = [name for name in playbook.notify if name not in item.notifiers]
        if unknown:
            raise ConfigError(f"playbook {playbook.name}: no notifier named {unknown[0]!r}")
        if not playbook.actions and not playbook.notify:
            raise ConfigError(f"playbook {playbook.name}: give actions or notify (or both)")
    return MonitorOptions(
        observe_only=item.observe_only,
        risk=RiskOptions(
            half_life=timedelta(hours=risk.half_life_hours),
            low=risk.low,
            medium=risk.medium,
            high=risk.high,
            weights=dict(risk.weights),
            severity_factors={str(key): value for key, value in risk.severity_factors.items()},
        ),
        incident_window=timedelta(minutes=item.incident_window_minutes),
        playbooks=tuple(
            PlaybookOptions(
                name=p.name,
                detectors=tuple(p.detectors),
                min_severity=p.min_severity,
                min_confidence=p.min_confidence,
                risk_at_least=p.risk_at_least,
                actions=tuple(p.actions),
                block_minutes=p.block_minutes,
                notify=tuple(p.notify),
            )
            for p in item.playbooks
        ),
        notifiers={
            name: NotifierOptions(
                name=name,
                kind=n.kind,
                url=n.url,
                secret=n.secret,
                smtp_host=n.smtp_host,
                smtp_port=n.smtp_port,
                starttls=n.starttls,
                username=n.username,
                password=n.password,
                sender=n.sender,
                recipients=tuple(n.recipients),
                timeout_seconds=n.timeout_seconds,
                attempts=n.attempts,
            )
            for name, n in item.notifiers.items()
        },
        geoip_city=None if item.geoip_city is None else resolve(item.geoip_city),
        geoip_asn=None if item.geoip_asn is None else resolve(item.geoip_asn),
        vpn_asns=frozenset(item.vpn_asns),
        shared_sources=frozenset(item.shared_sources),
        rules=tuple(resolve(path) for path in item.rules),
    )


# -- continuous monitoring: event ingestion (top-level monitor:) ---------------------------
INGEST_FORMATS = ("menshen", "ocsf", "windows", "linux-auth", "lanl")
_SOURCE_NAME = r"^[a-z0-9][a-z0-9_.-]{0,63}$"


@dataclass(frozen=True, slots=True)
class SyslogSettings:
    """``monitor.syslog``: an RFC 5424 listener over TCP, TLS when a certificate is given."""

    host: str = "127.0.0.1"
    port: int = 6514
    tls_cert: Path | None = None
    tls_key: Path | None = None
    tenant: str = "default"
    source: str = "syslog"


@dataclass(frozen=True, slots=True)
class TailSettings:
    """``monitor.tail[]``: a file or directory followed as ``format`` lines."""

    path: Path
    format: str
    tenant: str = "default"
    source: str = "file"
    pattern: str = "*"
    epoch: datetime | None = None  # LANL: the instant of relative time 0


@dataclass(frozen=True, slots=True)
class IngestSettings:
    """``monitor:``: where events come from and the pipeline's bounds (docs/monitoring.md)."""

    enabled: bool = True
    syslog: SyslogSettings | None = None
    tail: tuple[TailSettings, ...] = ()
    queue: int = 20_000
    rate_per_second: float = 5_000.0
    burst: int = 20_000
    batch: int = 1_000
    max_line_bytes: int = 64 * 1024
    max_skew_seconds: float = 300.0
    gateway_handoff: int = 10_000
    reconcile_seconds: float = 5.0
    quarantine_days: int = 14
    quarantine_keep: int = 10_000


class _SyslogModel(BaseModel):
    model_config = ConfigDict(extra="forbid")
    host: str = "127.0.0.1"
    port: int = Field(default=6514, ge=0, le=65535)
    tls_cert: Path | None = None
    tls_key: Path | None = None
    tenant: str | None = Field(default=None, pattern=r"^[a-z0-9][a-z0-9-]{0,62}$")
    source: str = Field(default="syslog", pattern=_SOURCE_NAME)


class _TailModel(BaseModel):
    model_config = ConfigDict(extra="forbid")
    path: Path
    format: Literal["menshen", "ocsf", "windows", "linux-auth", "lanl"]
    tenant: str | None = Field(default=None, pattern=r"^[a-z0-9][a-z0-9-]{0,62}$")
    source: str = Field(default="file", pattern=_SOURCE_NAME)
    pattern: str = "*"
    epoch: datetime | None = None


class _IngestModel(BaseModel):
    model_config = ConfigDict(extra="forbid")
    enabled: bool = True
    syslog: _SyslogModel | None = None
    tail: list[_TailModel] = Field(default_factory=list)
    queue: int = Field(default=20_000, ge=1, le=10_000_000)
    rate_per_second: float = Field(default=5_000.0, gt=0)
    burst: int = Field(default=20_000, ge=1)
    batch: int = Field(default=1_000, ge=1, le=100_000)
    max_line_bytes: int = Field(default=64 * 1024, ge=256, le=16 * 1024 * 1024)
    max_skew_seconds: float = Field(default=300.0, ge=0, le=86_400)
    gateway_handoff: int = Field(default=10_000, ge=1)
    reconcile_seconds: float = Field(default=5.0, gt=0, le=3600)
    quarantine_days: int = Field(default=14, ge=1, le=3650)
    quarantine_keep: int = Field(default=10_000, ge=1)

    @field_validator("tail")
    @classmethod
    def _epochs(cls, value: list[_TailModel]) -> list[_TailModel]:
        for item in value:
            if item.epoch is not None and item.epoch.tzinfo is None:
                raise ValueError(f"{item.path}: epoch needs a time zone (e.g. Z)")
        return value


def _ingest_settings(
    item: _IngestModel, resolve: Callable[[Path], Path], default_tenant: str
) -> IngestSettings:
    syslog = None
    if item.syslog is not None:
        s = item.syslog
        if (s.tls_cert is None) != (s.tls_key is None):
            raise ConfigError("monitor.syslog: give both tls_cert and tls_key")
        syslog = SyslogSettings(
            host=s.host,
            port=s.port,
            tls_cert=None if s.tls_cert is None else resolve(s.tls_cert),
            tls_key=None if s.tls_key is None else resolve(s.tls_key),
            tenant=s.tenant or default_tenant,
            source=s.source,
        )
    return IngestSettings(
        enabled=item.enabled,
        syslog=syslog,
        tail=tuple(
            TailSettings(
                path=resolve(t.path),
                format=t.format,
                tenant=t.tenant or default_tenant,
                source=t.source,
                pattern=t.pattern,
                epoch=t.epoch,
            )
            for t in item.tail
        ),
        queue=item.queue,
        rate_per_second=item.rate_per_second,
        burst=item.burst,
        batch=item.batch,
        max_line_bytes=item.max_line_bytes,
        max_skew_seconds=item.max_skew_seconds,
        gateway_handoff=item.gateway_handoff,
        reconcile_seconds=item.reconcile_seconds,
        quarantine_days=item.quarantine_days,
        quarantine_keep=item.quarantine_keep,
    )
