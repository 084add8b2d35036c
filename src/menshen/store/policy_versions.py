"""Policy rollout state: the numbered versions of a tenant's declarative config, and the
candidate config being judged in shadow mode.

A version is the whole exported config (self-contained YAML) with who, when, from which file
and why, so an auditor can see what was in force at any time and an operator can roll back
to it (NIST SP 800-207 §3.3: the policy administrator's changes are recorded; NIST SP 800-53
CM-2(3), retention of previous configurations; CM-3, configuration change control).
Version numbers count 1, 2, 3... per tenant; the tenant row is locked while the next number
is chosen, so concurrent writers queue instead of colliding.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, func, select

from menshen.errors import NotFound
from menshen.store.schema import policy_candidates, policy_versions, tenants
from menshen.store.scoped import Scope, record_of, upsert


@dataclass(frozen=True, slots=True)
class PolicyVersionRecord:
    """One recorded version of a tenant's declarative config."""

    tenant_id: str
    version: int
    created_at: datetime
    author: str
    source: str
    message: str
    document: str
    sha256: str


@dataclass(frozen=True, slots=True)
class PolicyCandidateRecord:
    """The candidate config a tenant is shadowing (at most one per tenant)."""

    tenant_id: str
    created_at: datetime
    author: str
    source: str
    document: str
    sha256: str


def digest(document: str) -> str:
    """The SHA-256 of ``document`` (UTF-8), hex: the version's fingerprint."""
    return hashlib.sha256(document.encode("utf-8")).hexdigest()


class SqlPolicyVersionRepository:
    """``PolicyVersionRepository`` on SQL: append-only, numbered per tenant."""

    def __init__(self, scope: Scope) -> None:
        self._scope = scope

    def add(
        self, *, created_at: datetime, author: str, source: str, message: str, document: str
    ) -> PolicyVersionRecord:
        """Record ``document`` as the tenant's next version and return it."""
        scope = self._scope
        with scope.db.write() as conn:
            lock = select(tenants.c.id).where(tenants.c.id == scope.tenant_id).with_for_update()
            if conn.execute(lock).first() is None:
                raise NotFound(f"no tenant {scope.tenant_id!r}")
            newest = select(func.max(policy_versions.c.version)).where(scope.where(policy_versions))
            number = int(conn.execute(newest).scalar() or 0) + 1
            record = PolicyVersionRecord(
                tenant_id=scope.tenant_id,
                version=number,
                created_at=created_at,
                author=author,
                source=source,
                message=message,
                document=document,
                sha256=digest(document),
            )
            conn.execute(policy_versions.insert().values(scope.row(record)))
        return record

    def get(self, version: int) -> PolicyVersionRecord | None:
        query = select(policy_versions).where(
            self._scope.where(policy_versions), policy_versions.c.version == version
        )
        with self._scope.db.read() as conn:
            row = conn.execute(query).first()
        return None if row is None else record_of(PolicyVersionRecord, row)

    def latest(self) -> PolicyVersionRecord | None:
        query = (
            select(policy_versions)
            .where(self._scope.where(policy_versions))
            .order_by(policy_versions.c.version.desc())
            .limit(1)
        )
        with self._scope.db.read() as conn:
            row = conn.execute(query).first()
        return None if row is None else record_of(PolicyVersionRecord, row)

    def list(self) -> Sequence[PolicyVersionRecord]:
        """Every version, oldest first."""
        query = (
            select(policy_versions)
            .where(self._scope.where(policy_versions))
            .order_by(policy_versions.c.version)
        )
        with self._scope.db.read() as conn:
            return [record_of(PolicyVersionRecord, row) for row in conn.execute(query)]


class SqlPolicyCandidateRepository:
    """``PolicyCandidateRepository`` on SQL; changes bump the tenant revision so gateways
    start or stop judging with the candidate on their next refresh."""

    def __init__(self, scope: Scope) -> None:
        self._scope = scope

    def get(self) -> PolicyCandidateRecord | None:
        query = select(policy_candidates).where(self._scope.where(policy_candidates))
        with self._scope.db.read() as conn:
            row = conn.execute(query).first()
        return None if row is None else record_of(PolicyCandidateRecord, row)

    def put(self, record: PolicyCandidateRecord) -> None:
        """Store ``record`` as the candidate, replacing any other."""
        row = self._scope.row(record)
        with self._scope.changing() as conn:
            upsert(conn, policy_candidates, row, ["tenant_id"])

    def delete(self) -> bool:
        """Remove the candidate; False if there was none."""
        stmt = delete(policy_candidates).where(self._scope.where(policy_candidates))
        with self._scope.changing() as conn:
            return bool(conn.execute(stmt).rowcount)
