"""The running engine's detection: each tenant's detector set plus the host-authentication
detectors, over baselines loaded at start and saved in batches (the edge around the pure parts).

``TenantDetection`` is the engine's ``Detect`` (``menshen.monitor.engine``): every event goes
to the tenant's ``DetectorSet`` (``menshen.monitor.detectors``; it judges, then its baselines
learn), and an event naming a source or destination host — a Windows-domain or LANL logon —
also to ``HostAuthDetectors`` (``menshen.monitor.hostauth``). The firm facts come from the
tenant's ``monitor`` options: MaxMind databases, VPN/relay ASNs, shared sources and Sigma
rule files. ``open`` (at start, blocking) reads the rules — a bad file is a ``ConfigError``
naming the file and the rule — the geo-IP databases and the saved baselines; ``save``
(every few seconds and at stop, in a worker thread) writes the profiles changed since. The
host-authentication state is one snapshot (``menshen.monitor.hostauth.codec``, kind
``hostauth`` in the same table), loaded with the tenant and rewritten at most every
``HOST_SNAPSHOT_SECONDS`` when it learnt something, and at stop (``final``); a snapshot that
cannot be read is logged and the detectors learn afresh.

Threads: the pipeline calls ``__call__`` from its worker thread and the upkeep calls ``save``
from another, so each tenant's state sits behind a lock; a save copies the changed profiles
under the lock and writes them outside it (NIST SP 800-92 §5.3: collection never waits on
storage longer than one snapshot).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import yaml

from menshen.errors import ConfigError, InvalidInput
from menshen.monitor.baselines import GeoLookup
from menshen.monitor.baselines.persist import changed_rows
from menshen.monitor.detectors.detector_set import DetectorOptions, DetectorSet
from menshen.monitor.detectors.service import open_detector_set
from menshen.monitor.hostauth import codec as host_codec
from menshen.monitor.hostauth.detect import HostAuthDetectors
from menshen.monitor.model import Finding, ObservedEvent
from menshen.monitor.sigma import Rule, compile_rule, rule_from_mapping
from menshen.settings import Settings
from menshen.store.api import BaselineRepository, Store
from menshen.store.monitor_baselines import BaselineRecord

__all__ = ["HOST_SNAPSHOT_SECONDS", "TenantDetection", "load_host_auth", "load_rule_files"]

_log = logging.getLogger(__name__)
HOST_SNAPSHOT_SECONDS = 300.0  # the whole host-auth state is rewritten, so not every save


@dataclass(slots=True)
class _Tenant:
    detectors: DetectorSet
    hosts: HostAuthDetectors
    lock: threading.Lock
    unsaved: int = 0  # events learnt since the last save
    hosts_unsaved: int = 0  # host-auth events since the last snapshot
    hosts_saved_at: float = float("-inf")
    failed: list[BaselineRecord] = field(default_factory=list)  # rows a failed save kept


def load_rule_files(paths: Iterable[Path]) -> tuple[Rule, ...]:
    """Sigma rules from files (and ``*.yml``/``*.yaml`` in directories), checked and
    compiled once; ConfigError naming the file and the rule (its id, title or number)."""
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            files += sorted(p for p in path.iterdir() if p.suffix in (".yml", ".yaml"))
        else:
            files.append(path)
    rules: list[Rule] = []
    for file in files:
        try:
            documents = list(yaml.safe_load_all(file.read_text(encoding="utf-8")))
        except OSError as exc:
            raise ConfigError(
                f"cannot read Sigma rules: {exc.strerror}", source=str(file)
            ) from None
        except yaml.YAMLError as exc:
            raise ConfigError(f"not YAML: {exc}", source=str(file)) from None
        for number, document in enumerate((d for d in documents if d is not None), start=1):
            name = f"#{number}"
            if isinstance(document, dict):
                label = document.get("id") or document.get("title")
                name = f"{name} ({label})" if isinstance(label, str) else name
            try:
                rule = rule_from_mapping(document, f"rule {name}")
                compile_rule(rule)
            except InvalidInput as exc:
                raise ConfigError(str(exc), source=str(file)) from None
            rules.append(rule)
    return tuple(rules)


class TenantDetection:
    """``Detect`` for the engine: per tenant, the detector set and the host-auth detectors."""

    def __init__(self, settings: Settings, store: Store) -> None:
        self._settings = settings
        self._store = store
        self._tenants: dict[str, _Tenant] = {}
        self._rules: dict[str, tuple[Rule, ...]] = {}
        self._geo: dict[tuple[Path, Path | None], GeoLookup] = {}
        self._opening = threading.Lock()
        self.saved = 0

    # -- start and stop (blocking; worker threads) ------------------------------------------
    def open(self, tenant_ids: Sequence[str]) -> None:
        """Check every configured tenant's rules and geo-IP files, then load the baselines of
        ``tenant_ids``. ConfigError for a bad rule, database or time zone."""
        for tenant_id in sorted({*self._settings.tenants, *tenant_ids}):
            self._rules_of(tenant_id)
            self._geo_of(tenant_id)
        for tenant_id in tenant_ids:
            self._tenant(tenant_id)

    def save(self, now: datetime, *, batch: int = 500, final: bool = False) -> int:
        """Write every tenant's baselines changed since the last save (and the host-auth
        snapshot when due, or ``final``ly at stop); rows written. Rows a failed save could not
        write are tried again first next time (then the error rises)."""
        written = 0
        for tenant_id, tenant in list(self._tenants.items()):
            with tenant.lock:
                hosts_due = tenant.hosts_unsaved > 0 and (
                    final or now.timestamp() - tenant.hosts_saved_at >= HOST_SNAPSHOT_SECONDS
                )
                if not tenant.unsaved and not tenant.failed and not hosts_due:
                    continue
                tenant.unsaved = 0
                rows, tenant.failed = tenant.failed, []
                rows += changed_rows(tenant.detectors.book, now, tenant_id=tenant_id)
                if hosts_due:
                    rows += _host_rows(tenant, tenant_id, now)
            try:
                repository = self._store.tenant(tenant_id).baselines
                for start in range(0, len(rows), batch):
                    repository.save(rows[start : start + batch])
            except Exception:
                with tenant.lock:
                    tenant.failed = rows + tenant.failed
                raise
            written += len(rows)
        self.saved += written
        return written

    # -- the engine's Detect ---------------------------------------------------------------
    def __call__(self, event: ObservedEvent) -> Sequence[Finding]:
        tenant = self._tenants.get(event.tenant_id) or self._tenant(event.tenant_id)
        with tenant.lock:
            tenant.unsaved += 1
            found = tenant.detectors.process(event)
            if event.src_host is None and event.dst_host is None:
                return found
            tenant.hosts_unsaved += 1
            host = tenant.hosts.observe(event)
        return found if host is None else [*found, host]

    def detector_set(self, tenant_id: str) -> DetectorSet:
        """The tenant's detector set (tests; do not use from another thread)."""
        return self._tenant(tenant_id).detectors

    # -- parts -----------------------------------------------------------------------------
    def _tenant(self, tenant_id: str) -> _Tenant:
        with self._opening:
            tenant = self._tenants.get(tenant_id)
            if tenant is not None:
                return tenant
            options = self._settings.options(tenant_id)
            monitor = options.monitor
            chosen = DetectorOptions(
                vpn_asns=monitor.vpn_asns,
                shared_sources=monitor.shared_sources,
                rules=self._rules_of(tenant_id),
            )
            detectors = open_detector_set(
                self._store.tenant(tenant_id),
                time_zone=options.time_zone,
                options=chosen,
                geo=self._geo_of(tenant_id),
            )
            hosts = load_host_auth(self._store.tenant(tenant_id).baselines, tenant_id)
            tenant = _Tenant(detectors, hosts, threading.Lock())
            self._tenants[tenant_id] = tenant
            return tenant

    def _rules_of(self, tenant_id: str) -> tuple[Rule, ...]:
        rules = self._rules.get(tenant_id)
        if rules is None:
            rules = self._rules[tenant_id] = load_rule_files(
                self._settings.options(tenant_id).monitor.rules
            )
        return rules

    def _geo_of(self, tenant_id: str) -> GeoLookup | None:
        monitor = self._settings.options(tenant_id).monitor
        if monitor.geoip_city is None:
            return None
        key = (monitor.geoip_city, monitor.geoip_asn)
        geo = self._geo.get(key)
        if geo is None:
            from menshen.monitor.detectors.geoip import MaxMindGeo

            geo = self._geo[key] = MaxMindGeo(monitor.geoip_city, monitor.geoip_asn)
        return geo


def _host_rows(tenant: _Tenant, tenant_id: str, now: datetime) -> list[BaselineRecord]:
    """The host-auth snapshot's rows (called under the tenant's lock)."""
    at = now.timestamp()
    tenant.hosts_unsaved, tenant.hosts_saved_at = 0, at
    return [
        BaselineRecord(
            tenant_id, host_codec.KIND, part.entity_id, host_codec.VERSION, part.document, now
        )
        for part in host_codec.dump_state(tenant.hosts, int(at * 1000))
    ]


def load_host_auth(repository: BaselineRepository, tenant_id: str) -> HostAuthDetectors:
    """The tenant's saved host-auth detectors, or fresh ones (nothing saved, or a snapshot
    that cannot be read: logged, never a start-up failure)."""

    def get(entity_id: str) -> dict[str, object] | None:
        record = repository.get(host_codec.KIND, entity_id)
        return None if record is None else record.state

    try:
        loaded = host_codec.load_state(get)
    except InvalidInput as exc:
        _log.warning(
            "tenant %s: host-auth snapshot not loaded, learning afresh: %s", tenant_id, exc
        )
        loaded = None
    return loaded if loaded is not None else HostAuthDetectors()
