"""Settings: parsed once at the edge from ``menshen.yaml`` and the environment.

This is the only module that reads the environment. A bad value aborts start-up with a
``ConfigError`` naming the file and the field; nothing falls back to a default silently.

Environment: ``MENSHEN_DATABASE_URL`` (a ``postgresql+psycopg://`` URL selects PostgreSQL;
unset means SQLite under the data directory) and ``MENSHEN_DATA_DIR``.
"""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from menshen.errors import ConfigError


@dataclass(frozen=True, slots=True)
class Listener:
    host: str
    port: int
    tls_cert: Path | None = None
    tls_key: Path | None = None

    @property
    def scheme(self) -> str:
        return "https" if self.tls_cert is not None else "http"


@dataclass(frozen=True, slots=True)
class SessionSettings:
    idle_timeout: timedelta = timedelta(hours=1)
    absolute_timeout: timedelta = timedelta(hours=12)


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

    @property
    def master_key_path(self) -> Path:
        return self.data_dir / "master.key"


class _ListenerModel(BaseModel):
    model_config = ConfigDict(extra="forbid")
    host: str = "127.0.0.1"
    port: int = Field(ge=1, le=65535)
    tls_cert: Path | None = None
    tls_key: Path | None = None


class _SessionModel(BaseModel):
    model_config = ConfigDict(extra="forbid")
    idle_timeout_minutes: int = Field(default=60, ge=1, le=24 * 60)
    absolute_timeout_hours: int = Field(default=12, ge=1, le=24 * 30)


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
    )
