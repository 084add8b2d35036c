"""The store's contract: what the core packages may ask of it.

``Store.tenant(tenant_id)`` returns a ``TenantStore`` whose every call is scoped to that
tenant; there is no call that reads across tenants except ``Store.tenants()``.
Methods are synchronous (SQLAlchemy sessions); async callers run them in a thread.
Every write is one transaction: it happens whole or not at all.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from contextlib import AbstractContextManager
from datetime import datetime
from typing import Any, Protocol

from menshen.store.clients import ClientCredentialRecord, MachineClientRecord
from menshen.store.compliance import DeclarationRecord, EvidenceRecord, ReportRecord
from menshen.store.monitor_baselines import BadNetworkRecord, BaselineRecord
from menshen.store.monitor_ingest import MonitorSourceRecord, QuarantineRecord
from menshen.store.monitor_response import (
    IncidentRecord,
    ResponseActionRecord,
    RiskScoreRecord,
)
from menshen.store.policy_versions import PolicyCandidateRecord, PolicyVersionRecord
from menshen.store.records import (
    AuditRecord,
    ConfigObjectRecord,
    DeviceAuthorityRecord,
    DeviceEnrolmentRecord,
    DeviceRecord,
    FederatedSessionRecord,
    GroupRecord,
    RecoveryCodeRecord,
    SessionRecord,
    SigningKeyRecord,
    TenantRecord,
    ThrottleRecord,
    TotpRecord,
    UserRecord,
    WebAuthnChallengeRecord,
    WebAuthnCredentialRecord,
)


class UserRepository(Protocol):
    def add(self, user: UserRecord) -> None: ...  # Conflict on duplicate username/id
    def get(self, user_id: str) -> UserRecord | None: ...
    def by_username(self, username: str) -> UserRecord | None: ...
    def list(self) -> Sequence[UserRecord]: ...
    def update(self, user: UserRecord) -> None: ...  # NotFound if absent

    def groups_of(self, user_id: str) -> Sequence[GroupRecord]: ...


class GroupRepository(Protocol):
    def add(self, group: GroupRecord) -> None: ...
    def get(self, group_id: str) -> GroupRecord | None: ...
    def by_name(self, name: str) -> GroupRecord | None: ...
    def list(self) -> Sequence[GroupRecord]: ...
    def update(self, group: GroupRecord) -> None: ...
    def delete(self, group_id: str) -> None: ...
    def add_member(self, group_id: str, user_id: str) -> None: ...  # idempotent
    def remove_member(self, group_id: str, user_id: str) -> None: ...
    def members(self, group_id: str) -> Sequence[UserRecord]: ...


class CredentialRepository(Protocol):
    def get_totp(self, user_id: str) -> TotpRecord | None: ...
    def put_totp(self, record: TotpRecord) -> None: ...  # insert or replace
    def delete_totp(self, user_id: str) -> None: ...

    def advance_totp_step(self, user_id: str, step: int) -> bool:
        """Atomically set last_used_step=step if it is greater; False if not (replay)."""
        ...

    def replace_recovery_codes(self, user_id: str, codes: Sequence[RecoveryCodeRecord]) -> None: ...
    def recovery_codes(self, user_id: str) -> Sequence[RecoveryCodeRecord]: ...

    def use_recovery_code(self, user_id: str, code_hash: str, at: datetime) -> bool:
        """Atomically mark an unused code used; False if none matched (or already used)."""
        ...


class ThrottleRepository(Protocol):
    def get(self, key: str) -> ThrottleRecord | None: ...
    def put(self, record: ThrottleRecord) -> None: ...  # insert or replace
    def clear(self, key: str) -> None: ...

    def update(
        self, key: str, change: Callable[[ThrottleRecord | None], ThrottleRecord]
    ) -> ThrottleRecord:
        """Atomically store ``change(current)`` for ``key`` and return it.

        The counter is locked from the read to the write, so concurrent updates of one key
        run one after another and none is lost. ``change`` must be pure and quick (it runs
        while the lock is held, and may run again if the row appeared meanwhile) and must
        return a record for the same ``key``; InvalidInput otherwise.
        """
        ...


class SessionRepository(Protocol):
    def add(self, session: SessionRecord) -> None: ...
    def get(self, session_id: str) -> SessionRecord | None: ...
    def by_token_hash(self, token_hash: str) -> SessionRecord | None: ...
    def list_for_user(
        self, user_id: str, *, include_revoked: bool = False
    ) -> Sequence[SessionRecord]: ...
    def list_active(self, now: datetime) -> Sequence[SessionRecord]: ...
    def replace(self, old_session_id: str, new: SessionRecord, *, same_login: bool = False) -> None:
        """Revoke ``old_session_id`` (reason 'rotated') and add ``new`` in one transaction; the
        old session's provider login moves to ``new`` if ``same_login``, else it is deleted."""
        ...

    def touch_many(self, last_seen: dict[str, datetime]) -> None: ...  # session id -> last seen
    def revoke(self, session_id: str, *, at: datetime, by: str, reason: str) -> bool: ...
    def revoke_for_user(self, user_id: str, *, at: datetime, by: str, reason: str) -> list[str]: ...
    def bind_devices(self, devices: dict[str, str]) -> None: ...  # session id -> device id, once
    def revoke_for_device(
        self, device_id: str, *, at: datetime, by: str, reason: str
    ) -> list[str]: ...
    def revoked_since(self, since: datetime) -> Sequence[SessionRecord]: ...


class KeyRepository(Protocol):
    def add(self, key: SigningKeyRecord) -> None: ...
    def list(self) -> Sequence[SigningKeyRecord]: ...  # oldest first
    def retire(self, kid: str, at: datetime) -> None: ...
    def delete(self, kid: str) -> None: ...


class AuditRepository(Protocol):
    def last(self) -> AuditRecord | None: ...  # highest seq
    def append(self, records: Sequence[AuditRecord]) -> None:
        """Append rows whose seq continue the chain; Conflict if a seq is taken."""
        ...

    def iterate(self, *, after_seq: int = 0, batch: int = 1000) -> Iterable[AuditRecord]: ...


class ConfigRepository(Protocol):
    def get(self, kind: str, name: str) -> ConfigObjectRecord | None: ...
    def list(self, kind: str | None = None) -> Sequence[ConfigObjectRecord]: ...
    def put(self, record: ConfigObjectRecord) -> None: ...  # insert or replace
    def delete(self, kind: str, name: str) -> None: ...


class PolicyVersionRepository(Protocol):
    def add(
        self, *, created_at: datetime, author: str, source: str, message: str, document: str
    ) -> PolicyVersionRecord:
        """Record ``document`` as the next version (1, 2, 3... per tenant); append-only."""
        ...

    def get(self, version: int) -> PolicyVersionRecord | None: ...
    def latest(self) -> PolicyVersionRecord | None: ...
    def list(self) -> Sequence[PolicyVersionRecord]: ...  # oldest first


class PolicyCandidateRepository(Protocol):
    def get(self) -> PolicyCandidateRecord | None: ...
    def put(self, record: PolicyCandidateRecord) -> None: ...  # replaces; bumps the revision
    def delete(self) -> bool: ...  # False if there was none; bumps the revision


class WebAuthnCredentialRepository(Protocol):
    def add(self, credential: WebAuthnCredentialRecord) -> None: ...  # Conflict on duplicate id
    def get(self, credential_id: str) -> WebAuthnCredentialRecord | None: ...
    def list_for_user(self, user_id: str) -> Sequence[WebAuthnCredentialRecord]: ...
    def record_use(
        self,
        credential_id: str,
        *,
        expected_sign_count: int,
        sign_count: int,
        at: datetime,
        backed_up: bool,
    ) -> bool:
        """Atomically move the counter from ``expected_sign_count``; False if it moved
        meanwhile, or the credential is gone or flagged as cloned."""
        ...

    def flag_cloned(self, credential_id: str, at: datetime) -> None: ...
    def rename(self, credential_id: str, name: str) -> None: ...  # NotFound if absent
    def delete(self, credential_id: str) -> None: ...  # NotFound if absent

    def add_challenge(self, challenge: WebAuthnChallengeRecord) -> None: ...
    def take_challenge(self, challenge_id: str) -> WebAuthnChallengeRecord | None:
        """Atomically read and delete a pending ceremony; None if absent or already taken."""
        ...

    def purge_challenges(self, before: datetime) -> int: ...


class DeviceRepository(Protocol):
    def add(self, device: DeviceRecord) -> None: ...  # Conflict on duplicate id or key
    def get(self, device_id: str) -> DeviceRecord | None: ...
    def list_for_user(self, user_id: str) -> Sequence[DeviceRecord]: ...  # oldest first
    def list(self) -> Sequence[DeviceRecord]: ...  # oldest first
    def approve(self, device_id: str, *, trust: str, by: str, at: datetime) -> bool: ...
    def record_posture(
        self,
        device_id: str,
        *,
        expected_reported_at: datetime | None,
        posture: dict[str, Any],
        reported_at: datetime,
        report_id: str,
        seen_at: datetime,
    ) -> bool:
        """Atomically store a report if the last report time is still the one read; False if
        it moved meanwhile or the device is gone or revoked."""
        ...

    def revoke(self, device_id: str, *, at: datetime, by: str, reason: str) -> bool: ...
    def rename(self, device_id: str, name: str) -> bool: ...  # False if absent or revoked
    def authority(self) -> DeviceAuthorityRecord | None: ...
    def add_authority(self, record: DeviceAuthorityRecord) -> bool: ...  # False if one exists


class DeviceEnrolmentRepository(Protocol):
    def add(self, record: DeviceEnrolmentRecord) -> None: ...  # Conflict on a duplicate hash
    def get(self, code_hash: str) -> DeviceEnrolmentRecord | None: ...
    def redeem(self, code_hash: str, *, at: datetime, device_id: str) -> bool:
        """Atomically spend an unused code that is unexpired at ``at``; False otherwise."""
        ...

    def purge(self, before: datetime) -> int: ...  # delete codes expired before ``before``


class FederatedSessionRepository(Protocol):
    """Sessions opened through single sign-on (``menshen.store.federated``)."""

    def add(self, record: FederatedSessionRecord) -> None: ...  # Conflict if the session has one
    def get(self, session_id: str) -> FederatedSessionRecord | None: ...
    def due(self, now: datetime, limit: int) -> Sequence[FederatedSessionRecord]:
        """Due records of live sessions (not revoked, not expired), longest overdue first."""
        ...

    def purge_ended(self, now: datetime) -> int:
        """Delete records whose session is past its absolute expiry (or revoked); how many."""
        ...

    def claim(self, session_id: str, *, expected_next_check_at: datetime, until: datetime) -> bool:
        """Compare-and-set ``next_check_at`` (one re-check at a time across replicas)."""
        ...

    def checked(
        self,
        session_id: str,
        *,
        expected_next_check_at: datetime,
        refresh_token_sealed: bytes | None,
        id_token_sealed: bytes | None,
        checked_at: datetime,
        next_check_at: datetime,
    ) -> bool: ...  # False if the claim no longer holds
    def delete(self, session_id: str) -> bool: ...


class RiskScoreRepository(Protocol):
    """Each subject's last risk score (``menshen.store.monitor_response``)."""

    def put(self, record: RiskScoreRecord) -> None: ...  # insert or replace
    def delete(self, subject: str) -> None: ...
    def list(self) -> Sequence[RiskScoreRecord]: ...


class ResponseActionRepository(Protocol):
    """Playbook actions; ``add`` is idempotent on the action's ``dedupe_key``."""

    def add(self, record: ResponseActionRecord) -> ResponseActionRecord: ...
    def get(self, action_id: str) -> ResponseActionRecord | None: ...
    def list(self, *, limit: int = 100) -> Sequence[ResponseActionRecord]: ...  # newest first
    def active(self, now: datetime) -> Sequence[ResponseActionRecord]: ...
    def finish(self, action_id: str, *, state: str, details: dict[str, Any]) -> None: ...
    def undo(self, action_id: str, *, at: datetime, by: str) -> bool: ...


class IncidentRepository(Protocol):
    def put(self, record: IncidentRecord) -> None: ...  # insert or replace
    def get(self, incident_id: str) -> IncidentRecord | None: ...
    def list(
        self, *, since: datetime | None = None, until: datetime | None = None, limit: int = 1000
    ) -> Sequence[IncidentRecord]: ...
    def open_since(self, since: datetime) -> Sequence[IncidentRecord]: ...


class MonitorSourceRepository(Protocol):
    """External event sources with hashed tokens (``menshen.store.monitor_ingest``)."""

    def add(self, record: MonitorSourceRecord) -> None: ...  # Conflict on a duplicate name
    def list(self) -> Sequence[MonitorSourceRecord]: ...
    def by_token_hash(self, token_hash: str) -> MonitorSourceRecord | None: ...
    def remove(self, name: str) -> bool: ...


class QuarantineRepository(Protocol):
    def add_many(self, records: Sequence[QuarantineRecord]) -> None: ...
    def list(
        self, *, source: str | None = None, limit: int = 100
    ) -> Sequence[QuarantineRecord]: ...
    def purge(self, *, before: datetime, keep: int) -> int: ...


class MonitorCursorRepository(Protocol):
    def get(self, consumer: str) -> int | None: ...
    def put(self, consumer: str, seq: int, at: datetime) -> None: ...
    def audit_ids_after(self, after_seq: int, limit: int) -> list[tuple[int, str]]: ...
    def audit_rows(self, seqs: Sequence[int]) -> list[AuditRecord]: ...


class BaselineRepository(Protocol):
    """Behavioural baselines as versioned JSON (``menshen.store.monitor_baselines``)."""

    def save(self, records: Sequence[BaselineRecord]) -> None: ...  # upsert, one transaction
    def get(self, kind: str, entity_id: str) -> BaselineRecord | None: ...
    def iterate(self, *, batch: int = 1000) -> Iterable[BaselineRecord]: ...
    def count(self) -> int: ...
    def clear(self) -> int: ...


class BadNetworkRepository(Protocol):
    """The firm's imported bad-address lists (CIDR prefixes)."""

    def replace(self, list_name: str, entries: Sequence[tuple[str, str]], at: datetime) -> int: ...
    def list(self, list_name: str | None = None) -> Sequence[BadNetworkRecord]: ...
    def lists(self) -> dict[str, int]: ...
    def delete_list(self, list_name: str) -> int: ...


class MachineClientRepository(Protocol):
    """Machine clients and their hashed credentials (``menshen.store.clients``)."""

    def add(
        self, client: MachineClientRecord, *credentials: ClientCredentialRecord
    ) -> None: ...  # one transaction; Conflict on a duplicate name
    def get(self, name: str) -> MachineClientRecord | None: ...
    def list(self) -> Sequence[MachineClientRecord]: ...  # by name
    def suspend(self, name: str, *, at: datetime, by: str, reason: str) -> bool: ...
    def resume(self, name: str) -> bool: ...
    def delete(self, name: str) -> bool: ...  # with its credentials
    def touch_many(self, last_used: dict[str, datetime]) -> None: ...  # no revision bump
    def add_credential(self, credential: ClientCredentialRecord) -> None: ...
    def credential(self, credential_id: str) -> ClientCredentialRecord | None: ...
    def credentials(self, name: str | None = None) -> Sequence[ClientCredentialRecord]: ...
    def revoke_credential(self, credential_id: str, at: datetime) -> bool: ...
    def expire_credentials(self, name: str, *, kind: str, by: datetime, keep: str) -> int: ...


class EvidenceRepository(Protocol):
    """Compliance evidence, append-only (``menshen.store.compliance``)."""

    def append(self, records: Sequence[EvidenceRecord]) -> None: ...  # one transaction
    def latest(self) -> dict[str, EvidenceRecord]: ...  # check id -> newest measurement
    def history(self, check_id: str, *, limit: int = 100) -> Sequence[EvidenceRecord]: ...


class DeclarationRepository(Protocol):
    """Controls declared as handled outside menshen; InvalidInput on a bad attachment."""

    def put(self, record: DeclarationRecord) -> None: ...  # insert or replace
    def get(self, control_id: str) -> DeclarationRecord | None: ...  # with attachment bytes
    def list(self) -> Sequence[DeclarationRecord]: ...  # without attachment bytes
    def delete(self, control_id: str) -> bool: ...


class ReportRepository(Protocol):
    """Signed compliance reports (content hash, signature, summary for the trend)."""

    def add(self, record: ReportRecord) -> None: ...
    def get(self, report_id: str) -> ReportRecord | None: ...
    def latest(self, framework: str) -> ReportRecord | None: ...
    def list(
        self, framework: str | None = None, *, limit: int = 100
    ) -> Sequence[ReportRecord]: ...  # newest first


class TenantStore(Protocol):
    """Every repository of one tenant."""

    @property
    def tenant_id(self) -> str: ...
    @property
    def users(self) -> UserRepository: ...
    @property
    def groups(self) -> GroupRepository: ...
    @property
    def credentials(self) -> CredentialRepository: ...
    @property
    def throttle(self) -> ThrottleRepository: ...
    @property
    def sessions(self) -> SessionRepository: ...
    @property
    def keys(self) -> KeyRepository: ...
    @property
    def audit(self) -> AuditRepository: ...
    @property
    def config(self) -> ConfigRepository: ...
    @property
    def policy_versions(self) -> PolicyVersionRepository: ...
    @property
    def policy_candidate(self) -> PolicyCandidateRepository: ...
    @property
    def webauthn(self) -> WebAuthnCredentialRepository: ...
    @property
    def devices(self) -> DeviceRepository: ...
    @property
    def device_enrolments(self) -> DeviceEnrolmentRepository: ...
    @property
    def federated_sessions(self) -> FederatedSessionRepository: ...
    @property
    def baselines(self) -> BaselineRepository: ...
    @property
    def bad_networks(self) -> BadNetworkRepository: ...
    @property
    def risk_scores(self) -> RiskScoreRepository: ...
    @property
    def response_actions(self) -> ResponseActionRepository: ...
    @property
    def incidents(self) -> IncidentRepository: ...
    @property
    def monitor_sources(self) -> MonitorSourceRepository: ...
    @property
    def monitor_quarantine(self) -> QuarantineRepository: ...
    @property
    def monitor_cursors(self) -> MonitorCursorRepository: ...
    @property
    def machine_clients(self) -> MachineClientRepository: ...
    @property
    def compliance_evidence(self) -> EvidenceRepository: ...
    @property
    def compliance_declarations(self) -> DeclarationRepository: ...
    @property
    def compliance_reports(self) -> ReportRepository: ...

    def transaction(self) -> AbstractContextManager[None]:
        """Calls made inside the block commit together or not at all."""
        ...


class Store(Protocol):
    def tenant(self, tenant_id: str) -> TenantStore: ...
    def tenants(self) -> Sequence[TenantRecord]: ...
    def revisions(self) -> dict[str, int]:
        """tenant id -> a counter that moves on every change to people, apps, policies, keys."""
        ...

    def add_tenant(self, tenant: TenantRecord) -> None: ...  # idempotent on same id
    def close(self) -> None: ...


JsonDict = dict[str, Any]
