"""The SQL store: ``Store`` and ``TenantStore`` (menshen.store.api) on SQLAlchemy Core.

One schema holds every tenant (DESIGN.md §5); ``SqlStore.tenant`` hands out repositories
bound to one tenant id, and only ``tenants``/``add_tenant`` look across tenants.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractContextManager
from pathlib import Path

from sqlalchemy import select

from menshen.store.audit import SqlAuditRepository
from menshen.store.clients import SqlMachineClientRepository
from menshen.store.compliance import (
    SqlDeclarationRepository,
    SqlEvidenceRepository,
    SqlReportRepository,
)
from menshen.store.config_objects import SqlConfigRepository
from menshen.store.credentials import SqlCredentialRepository, SqlThrottleRepository
from menshen.store.db import Database
from menshen.store.devices import SqlDeviceRepository
from menshen.store.enrolments import SqlDeviceEnrolmentRepository
from menshen.store.federated import SqlFederatedSessionRepository
from menshen.store.keys import SqlKeyRepository
from menshen.store.migrate import migrate
from menshen.store.monitor_baselines import SqlBadNetworkRepository, SqlBaselineRepository
from menshen.store.monitor_ingest import (
    SqlMonitorCursorRepository,
    SqlMonitorSourceRepository,
    SqlQuarantineRepository,
)
from menshen.store.monitor_response import (
    SqlIncidentRepository,
    SqlResponseActionRepository,
    SqlRiskScoreRepository,
)
from menshen.store.policy_versions import (
    SqlPolicyCandidateRepository,
    SqlPolicyVersionRepository,
)
from menshen.store.records import TenantRecord
from menshen.store.schema import tenants
from menshen.store.scoped import Scope, insert_ignore, record_of
from menshen.store.sessions import SqlSessionRepository
from menshen.store.users import SqlGroupRepository, SqlUserRepository
from menshen.store.webauthn import SqlWebAuthnCredentialRepository


class SqlTenantStore:
    """Every repository of one tenant; each statement is scoped to ``tenant_id``."""

    __slots__ = (
        "_database",
        "audit",
        "bad_networks",
        "baselines",
        "compliance_declarations",
        "compliance_evidence",
        "compliance_reports",
        "config",
        "credentials",
        "device_enrolments",
        "devices",
        "federated_sessions",
        "groups",
        "incidents",
        "keys",
        "machine_clients",
        "monitor_cursors",
        "monitor_quarantine",
        "monitor_sources",
        "policy_candidate",
        "policy_versions",
        "response_actions",
        "risk_scores",
        "sessions",
        "tenant_id",
        "throttle",
        "users",
        "webauthn",
    )

    def __init__(self, database: Database, tenant_id: str) -> None:
        scope = Scope(database, tenant_id)
        self._database = database
        self.tenant_id = tenant_id
        self.users = SqlUserRepository(scope)
        self.groups = SqlGroupRepository(scope)
        self.credentials = SqlCredentialRepository(scope)
        self.throttle = SqlThrottleRepository(scope)
        self.sessions = SqlSessionRepository(scope)
        self.keys = SqlKeyRepository(scope)
        self.audit = SqlAuditRepository(scope)
        self.config = SqlConfigRepository(scope)
        self.policy_versions = SqlPolicyVersionRepository(scope)
        self.policy_candidate = SqlPolicyCandidateRepository(scope)
        self.webauthn = SqlWebAuthnCredentialRepository(scope)
        self.devices = SqlDeviceRepository(scope)
        self.device_enrolments = SqlDeviceEnrolmentRepository(scope)
        self.federated_sessions = SqlFederatedSessionRepository(scope)
        self.baselines = SqlBaselineRepository(scope)
        self.bad_networks = SqlBadNetworkRepository(scope)
        self.risk_scores = SqlRiskScoreRepository(scope)
        self.response_actions = SqlResponseActionRepository(scope)
        self.incidents = SqlIncidentRepository(scope)
        self.monitor_sources = SqlMonitorSourceRepository(scope)
        self.monitor_quarantine = SqlQuarantineRepository(scope)
        self.monitor_cursors = SqlMonitorCursorRepository(scope)
        self.machine_clients = SqlMachineClientRepository(scope)
        self.compliance_evidence = SqlEvidenceRepository(scope)
        self.compliance_declarations = SqlDeclarationRepository(scope)
        self.compliance_reports = SqlReportRepository(scope)

    def transaction(self) -> AbstractContextManager[None]:
        """Group several repository calls into one transaction (all or nothing)."""
        return self._database.unit_of_work()


class SqlStore:
    """``Store`` on a ``Database``; migrate it first (``SqlStore.open`` does)."""

    def __init__(self, database: Database) -> None:
        self.database = database

    @classmethod
    def open(cls, url: str | None, data_dir: str | Path) -> SqlStore:
        """PostgreSQL at ``url`` when given, else SQLite under ``data_dir``; migrated."""
        database = Database(url) if url else Database.for_data_dir(data_dir)
        try:
            migrate(database)
        except BaseException:
            database.dispose()
            raise
        return cls(database)

    def tenant(self, tenant_id: str) -> SqlTenantStore:
        """The repositories of ``tenant_id``; writes fail with NotFound until it is added."""
        return SqlTenantStore(self.database, tenant_id)

    def tenants(self) -> Sequence[TenantRecord]:
        with self.database.read() as conn:
            columns = (tenants.c.id, tenants.c.name, tenants.c.created_at)
            rows = conn.execute(select(*columns).order_by(tenants.c.id))
            return [record_of(TenantRecord, row) for row in rows]

    def revisions(self) -> dict[str, int]:
        """Each tenant's revision: it changes whenever people, apps, policies or keys do."""
        with self.database.read() as conn:
            rows = conn.execute(select(tenants.c.id, tenants.c.revision))
            return {row.id: int(row.revision) for row in rows}

    def add_tenant(self, tenant: TenantRecord) -> None:
        """Add ``tenant``; nothing happens if a tenant with its id exists already."""
        values = {"id": tenant.id, "name": tenant.name, "created_at": tenant.created_at}
        with self.database.write() as conn:
            insert_ignore(conn, tenants, values, ["id"])

    def ping(self) -> None:
        """Raise ``StoreUnavailable`` unless the database answers (health checks)."""
        self.database.ping()

    def close(self) -> None:
        self.database.dispose()
