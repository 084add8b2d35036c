"""The tables, as SQLAlchemy Core metadata (the migrations create exactly these).

One schema for every tenant (DESIGN.md §5): ``tenant_id`` leads every primary and unique
key, so each tenant's rows sit together in every index and no lookup can match a row of
another tenant by accident. The audit table is append-only (NIST SP 800-92 §2.3.2 integrity
of log data): the repository offers no update or delete for it.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Float,
    ForeignKeyConstraint,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from menshen.store.types import UtcDateTime, json_type

NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "fk": "fk_%(table_name)s_%(column_0_N_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

metadata = MetaData(naming_convention=NAMING)

ID = 128  # ids are opaque strings (uuid4 hex, ulid, url-safe random tokens)
NAME = 255


def _tenant_fk() -> ForeignKeyConstraint:
    return ForeignKeyConstraint(["tenant_id"], ["tenants.id"], ondelete="CASCADE")


def _user_fk() -> ForeignKeyConstraint:
    return ForeignKeyConstraint(
        ["tenant_id", "user_id"], ["users.tenant_id", "users.id"], ondelete="CASCADE"
    )


tenants = Table(
    "tenants",
    metadata,
    Column("id", String(ID), primary_key=True),
    Column("name", String(NAME), nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    # Bumped by every change the gateway's in-memory directory depends on (people, groups,
    # credentials, apps, policies, keys), so replicas reload only when something changed.
    Column("revision", BigInteger(), nullable=False, server_default="0"),
)

users = Table(
    "users",
    metadata,
    Column("tenant_id", String(ID), nullable=False),
    Column("id", String(ID), nullable=False),
    Column("username", String(NAME), nullable=False),
    Column("email", String(320), nullable=False),
    Column("display_name", String(NAME), nullable=False),
    Column("password_hash", Text(), nullable=True),
    Column("disabled", Boolean(), nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("updated_at", UtcDateTime(), nullable=False),
    PrimaryKeyConstraint("tenant_id", "id"),
    UniqueConstraint("tenant_id", "username"),
    _tenant_fk(),
)

groups = Table(
    "groups",
    metadata,
    Column("tenant_id", String(ID), nullable=False),
    Column("id", String(ID), nullable=False),
    Column("name", String(NAME), nullable=False),
    Column("description", Text(), nullable=False),
    Column("mfa_required", Boolean(), nullable=False),
    PrimaryKeyConstraint("tenant_id", "id"),
    UniqueConstraint("tenant_id", "name"),
    _tenant_fk(),
)

memberships = Table(
    "memberships",
    metadata,
    Column("tenant_id", String(ID), nullable=False),
    Column("group_id", String(ID), nullable=False),
    Column("user_id", String(ID), nullable=False),
    PrimaryKeyConstraint("tenant_id", "group_id", "user_id"),
    ForeignKeyConstraint(
        ["tenant_id", "group_id"], ["groups.tenant_id", "groups.id"], ondelete="CASCADE"
    ),
    _tenant_fk(),
    _user_fk(),
    Index(None, "tenant_id", "user_id"),
)

totp_credentials = Table(
    "totp_credentials",
    metadata,
    Column("tenant_id", String(ID), nullable=False),
    Column("user_id", String(ID), nullable=False),
    Column("secret_sealed", LargeBinary(), nullable=False),
    Column("confirmed", Boolean(), nullable=False),
    Column("last_used_step", BigInteger(), nullable=True),
    Column("created_at", UtcDateTime(), nullable=False),
    PrimaryKeyConstraint("tenant_id", "user_id"),
    _tenant_fk(),
    _user_fk(),
)

recovery_codes = Table(
    "recovery_codes",
    metadata,
    Column("tenant_id", String(ID), nullable=False),
    Column("id", String(ID), nullable=False),
    Column("user_id", String(ID), nullable=False),
    Column("code_hash", String(255), nullable=False),
    Column("used_at", UtcDateTime(), nullable=True),
    PrimaryKeyConstraint("tenant_id", "id"),
    UniqueConstraint("tenant_id", "user_id", "code_hash"),
    _tenant_fk(),
    _user_fk(),
)

login_throttle = Table(
    "login_throttle",
    metadata,
    Column("tenant_id", String(ID), nullable=False),
    Column("key", String(NAME), nullable=False),
    Column("failures", Integer(), nullable=False),
    Column("window_started_at", UtcDateTime(), nullable=False),
    Column("locked_until", UtcDateTime(), nullable=True),
    PrimaryKeyConstraint("tenant_id", "key"),
    _tenant_fk(),
)

sessions = Table(
    "sessions",
    metadata,
    Column("tenant_id", String(ID), nullable=False),
    Column("id", String(ID), nullable=False),
    Column("token_hash", String(128), nullable=False),
    Column("user_id", String(ID), nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("last_seen_at", UtcDateTime(), nullable=False),
    Column("absolute_expires_at", UtcDateTime(), nullable=False),
    Column("idle_timeout_seconds", Integer(), nullable=False),
    Column("user_agent_family", String(NAME), nullable=False),
    Column("ip", String(64), nullable=False),
    Column("auth_level", String(32), nullable=False),
    Column("mfa_method", String(32), nullable=True),
    Column("mfa_at", UtcDateTime(), nullable=True),
    Column("revoked_at", UtcDateTime(), nullable=True),
    Column("revoked_by", String(NAME), nullable=True),
    Column("revoke_reason", Text(), nullable=True),
    # The enrolled device the session was used from (revoking the device ends the session).
    Column("device_id", String(ID), nullable=True),
    PrimaryKeyConstraint("tenant_id", "id"),
    UniqueConstraint("tenant_id", "token_hash"),
    _tenant_fk(),
    _user_fk(),
    Index(None, "tenant_id", "user_id"),
    Index(None, "tenant_id", "revoked_at"),
    Index(None, "tenant_id", "absolute_expires_at"),
    Index(None, "tenant_id", "device_id"),
)

signing_keys = Table(
    "signing_keys",
    metadata,
    Column("tenant_id", String(ID), nullable=False),
    Column("kid", String(ID), nullable=False),
    Column("private_key_sealed", LargeBinary(), nullable=False),
    Column("public_jwk", json_type(), nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("retired_at", UtcDateTime(), nullable=True),
    PrimaryKeyConstraint("tenant_id", "kid"),
    _tenant_fk(),
)

audit_events = Table(
    "audit_events",
    metadata,
    Column("tenant_id", String(ID), nullable=False),
    Column("seq", BigInteger(), nullable=False, autoincrement=False),
    Column("id", String(ID), nullable=False),
    Column("at", UtcDateTime(), nullable=False),
    Column("kind", String(NAME), nullable=False),
    Column("outcome", String(32), nullable=False),
    Column("actor", String(NAME), nullable=True),
    Column("subject", String(NAME), nullable=True),
    Column("app", String(NAME), nullable=True),
    Column("ip", String(64), nullable=True),
    Column("session_id", String(ID), nullable=True),
    Column("reason", Text(), nullable=True),
    Column("details", json_type(), nullable=False),
    Column("prev_hash", String(128), nullable=False),
    Column("hash", String(128), nullable=False),
    PrimaryKeyConstraint("tenant_id", "seq"),
    UniqueConstraint("tenant_id", "id"),
    _tenant_fk(),
    Index(None, "tenant_id", "at"),
)

config_objects = Table(
    "config_objects",
    metadata,
    Column("tenant_id", String(ID), nullable=False),
    Column("kind", String(64), nullable=False),
    Column("name", String(NAME), nullable=False),
    Column("spec", json_type(), nullable=False),
    Column("updated_at", UtcDateTime(), nullable=False),
    PrimaryKeyConstraint("tenant_id", "kind", "name"),
    _tenant_fk(),
)

# Every recorded version of a tenant's declarative config (append-only, numbered per tenant).
policy_versions = Table(
    "policy_versions",
    metadata,
    Column("tenant_id", String(ID), nullable=False),
    Column("version", Integer(), nullable=False, autoincrement=False),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("author", String(NAME), nullable=False),
    Column("source", Text(), nullable=False),
    Column("message", Text(), nullable=False),
    Column("document", Text(), nullable=False),
    Column("sha256", String(64), nullable=False),
    PrimaryKeyConstraint("tenant_id", "version"),
    _tenant_fk(),
)

# The candidate config a tenant is shadowing: judged beside the active policy, never enforced.
policy_candidates = Table(
    "policy_candidates",
    metadata,
    Column("tenant_id", String(ID), nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("author", String(NAME), nullable=False),
    Column("source", Text(), nullable=False),
    Column("document", Text(), nullable=False),
    Column("sha256", String(64), nullable=False),
    PrimaryKeyConstraint("tenant_id"),
    _tenant_fk(),
)

# Passkeys (W3C WebAuthn Level 2 §4 credential records), several per user.
webauthn_credentials = Table(
    "webauthn_credentials",
    metadata,
    Column("tenant_id", String(ID), nullable=False),
    Column("credential_id", String(1400), nullable=False),  # base64url of up to 1023 bytes
    Column("user_id", String(ID), nullable=False),
    Column("public_key", LargeBinary(), nullable=False),
    Column("sign_count", BigInteger(), nullable=False),
    Column("transports", json_type(), nullable=False),
    Column("aaguid", String(36), nullable=False),
    Column("name", String(NAME), nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("last_used_at", UtcDateTime(), nullable=True),
    Column("backup_eligible", Boolean(), nullable=False),
    Column("backed_up", Boolean(), nullable=False),
    Column("cloned_at", UtcDateTime(), nullable=True),
    PrimaryKeyConstraint("tenant_id", "credential_id"),
    _tenant_fk(),
    _user_fk(),
    Index(None, "tenant_id", "user_id"),
)

# Pending WebAuthn ceremonies: each challenge is used at most once, before it expires.
webauthn_challenges = Table(
    "webauthn_challenges",
    metadata,
    Column("tenant_id", String(ID), nullable=False),
    Column("id", String(ID), nullable=False),
    Column("purpose", String(32), nullable=False),
    Column("challenge", LargeBinary(), nullable=False),
    Column("user_id", String(ID), nullable=True),
    Column("binding_hash", String(64), nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("expires_at", UtcDateTime(), nullable=False),
    PrimaryKeyConstraint("tenant_id", "id"),
    _tenant_fk(),
    Index(None, "tenant_id", "expires_at"),
)

# Enrolled devices (the device registry), several per user; each key is enrolled once.
devices = Table(
    "devices",
    metadata,
    Column("tenant_id", String(ID), nullable=False),
    Column("id", String(ID), nullable=False),
    Column("user_id", String(ID), nullable=False),
    Column("name", String(NAME), nullable=False),
    Column("key_thumbprint", String(64), nullable=False),
    Column("public_jwk", json_type(), nullable=False),
    Column("certificate_serial", String(64), nullable=True),
    Column("certificate_not_after", UtcDateTime(), nullable=True),
    Column("approved_trust", String(32), nullable=False),
    Column("approved_by", String(NAME), nullable=True),
    Column("approved_at", UtcDateTime(), nullable=True),
    Column("posture", json_type(), nullable=False),
    Column("posture_reported_at", UtcDateTime(), nullable=True),
    Column("last_report_id", String(NAME), nullable=True),
    Column("last_seen_at", UtcDateTime(), nullable=True),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("revoked_at", UtcDateTime(), nullable=True),
    Column("revoked_by", String(NAME), nullable=True),
    Column("revoke_reason", String(NAME), nullable=True),
    PrimaryKeyConstraint("tenant_id", "id"),
    UniqueConstraint("tenant_id", "key_thumbprint"),
    _tenant_fk(),
    _user_fk(),
    Index(None, "tenant_id", "user_id"),
)

# Each tenant's device certificate authority (its key sealed with the data key).
device_authorities = Table(
    "device_authorities",
    metadata,
    Column("tenant_id", String(ID), nullable=False),
    Column("certificate_pem", Text(), nullable=False),
    Column("private_key_sealed", LargeBinary(), nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    PrimaryKeyConstraint("tenant_id"),
    _tenant_fk(),
)

# Per session opened through single sign-on: the provider's tokens (sealed) and when the
# login is next re-checked at the provider (a user disabled there loses the session).
federated_sessions = Table(
    "federated_sessions",
    metadata,
    Column("tenant_id", String(ID), nullable=False),
    Column("session_id", String(ID), nullable=False),
    Column("user_id", String(ID), nullable=False),
    Column("provider", String(NAME), nullable=False),
    Column("subject", String(NAME), nullable=False),
    Column("refresh_token_sealed", LargeBinary(), nullable=True),
    Column("id_token_sealed", LargeBinary(), nullable=True),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("checked_at", UtcDateTime(), nullable=False),
    Column("next_check_at", UtcDateTime(), nullable=False),
    PrimaryKeyConstraint("tenant_id", "session_id"),
    _tenant_fk(),
    ForeignKeyConstraint(
        ["tenant_id", "session_id"], ["sessions.tenant_id", "sessions.id"], ondelete="CASCADE"
    ),
    Index(None, "tenant_id", "next_check_at"),
)

# Single-use device enrolment codes a signed-in user hands to the device agent (hashed).
device_enrolments = Table(
    "device_enrolments",
    metadata,
    Column("tenant_id", String(ID), nullable=False),
    Column("code_hash", String(128), nullable=False),
    Column("user_id", String(ID), nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("expires_at", UtcDateTime(), nullable=False),
    Column("used_at", UtcDateTime(), nullable=True),
    Column("device_id", String(ID), nullable=True),
    PrimaryKeyConstraint("tenant_id", "code_hash"),
    _tenant_fk(),
    _user_fk(),
)

# Continuous monitoring, response (issue 6): each subject's last risk score, so a restart
# does not forget a high-risk user (menshen.monitor.risk).
risk_scores = Table(
    "risk_scores",
    metadata,
    Column("tenant_id", String(ID), nullable=False),
    Column("subject", String(NAME), nullable=False),  # "user:<id>", "network:<ip>", ...
    Column("score", Float(), nullable=False),
    Column("level", String(16), nullable=False),
    Column("updated_at", UtcDateTime(), nullable=False),
    PrimaryKeyConstraint("tenant_id", "subject"),
    _tenant_fk(),
)

# Every action a playbook took or, in observe-only mode, would have taken; ``dedupe_key``
# makes one finding lead to one action however often it is seen (menshen.monitor.response).
response_actions = Table(
    "response_actions",
    metadata,
    Column("tenant_id", String(ID), nullable=False),
    Column("id", String(ID), nullable=False),
    Column("dedupe_key", String(NAME), nullable=False),
    Column("playbook", String(NAME), nullable=False),
    Column("action", String(32), nullable=False),
    Column("subject", String(NAME), nullable=False),
    Column("target", String(NAME), nullable=False),
    Column("state", String(16), nullable=False),  # done, observed, failed, undone
    Column("reason", Text(), nullable=False),
    Column("incident_id", String(ID), nullable=True),
    Column("details", json_type(), nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("expires_at", UtcDateTime(), nullable=True),
    Column("undone_at", UtcDateTime(), nullable=True),
    Column("undone_by", String(NAME), nullable=True),
    PrimaryKeyConstraint("tenant_id", "id"),
    UniqueConstraint("tenant_id", "dedupe_key"),
    _tenant_fk(),
    Index(None, "tenant_id", "created_at"),
)

# Related findings grouped into one incident, with its timeline (menshen.monitor.incidents).
incidents = Table(
    "incidents",
    metadata,
    Column("tenant_id", String(ID), nullable=False),
    Column("id", String(ID), nullable=False),
    Column("subject", String(NAME), nullable=False),
    Column("source_ip", String(64), nullable=True),
    Column("title", Text(), nullable=False),
    Column("severity", Integer(), nullable=False),
    Column("state", String(16), nullable=False),  # open, acknowledged, closed
    Column("first_event_at", UtcDateTime(), nullable=False),
    Column("detected_at", UtcDateTime(), nullable=False),
    Column("last_finding_at", UtcDateTime(), nullable=False),
    Column("responded_at", UtcDateTime(), nullable=True),
    Column("acknowledged_at", UtcDateTime(), nullable=True),
    Column("closed_at", UtcDateTime(), nullable=True),
    Column("assignee", String(NAME), nullable=True),
    Column("findings", json_type(), nullable=False),
    Column("notes", json_type(), nullable=False),
    PrimaryKeyConstraint("tenant_id", "id"),
    _tenant_fk(),
    Index(None, "tenant_id", "detected_at"),
)

# Monitoring ingest (issue 6): the external event sources of a tenant, each with its bearer
# token hashed (SHA-256; the token is shown once), and rejected input kept for a while with
# the reason and a bounded excerpt (NIST SP 800-92 §4.2).
monitor_sources = Table(
    "monitor_sources",
    metadata,
    Column("tenant_id", String(ID), nullable=False),
    Column("name", String(64), nullable=False),
    Column("format", String(32), nullable=False),
    Column("token_hash", String(128), nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    PrimaryKeyConstraint("tenant_id", "name"),
    UniqueConstraint("tenant_id", "token_hash"),
    _tenant_fk(),
)

monitor_quarantine = Table(
    "monitor_quarantine",
    metadata,
    Column("tenant_id", String(ID), nullable=False),
    Column("id", String(ID), nullable=False),
    Column("source", String(64), nullable=False),
    Column("at", UtcDateTime(), nullable=False),
    Column("reason", String(64), nullable=False),
    Column("detail", String(255), nullable=False),
    Column("excerpt", Text(), nullable=False),
    PrimaryKeyConstraint("tenant_id", "id"),
    _tenant_fk(),
    Index(None, "tenant_id", "at"),
)

# How far the monitor has read each tenant's audit log (the last seq it accounted for).
monitor_cursors = Table(
    "monitor_cursors",
    metadata,
    Column("tenant_id", String(ID), nullable=False),
    Column("consumer", String(64), nullable=False),
    Column("seq", BigInteger(), nullable=False),
    Column("updated_at", UtcDateTime(), nullable=False),
    PrimaryKeyConstraint("tenant_id", "consumer"),
    _tenant_fk(),
)

# Monitoring baselines (migration 0008): one versioned JSON profile per entity (kind user,
# client, device, network; kind "firm" for the tenant-wide peer groups and places).
monitor_baselines = Table(
    "monitor_baselines",
    metadata,
    Column("tenant_id", String(ID), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("entity_id", String(NAME), nullable=False),
    Column("version", Integer(), nullable=False),
    Column("state", json_type(), nullable=False),
    Column("updated_at", UtcDateTime(), nullable=False),
    PrimaryKeyConstraint("tenant_id", "kind", "entity_id"),
    _tenant_fk(),
)

# The firm's imported bad-address lists (migration 0008), one row per CIDR prefix.
monitor_bad_networks = Table(
    "monitor_bad_networks",
    metadata,
    Column("tenant_id", String(ID), nullable=False),
    Column("list_name", String(NAME), nullable=False),
    Column("cidr", String(64), nullable=False),
    Column("note", String(NAME), nullable=False),
    Column("imported_at", UtcDateTime(), nullable=False),
    PrimaryKeyConstraint("tenant_id", "list_name", "cidr"),
    _tenant_fk(),
)

# Machine clients (migration 0011): partner banks' and services' identities, and their
# credentials — OAuth2 client secrets and API keys — stored as keyed hashes only
# (HMAC-SHA256 under a key derived from the master key; see docs/machine-clients.md).
machine_clients = Table(
    "machine_clients",
    metadata,
    Column("tenant_id", String(ID), nullable=False),
    Column("name", String(64), nullable=False),
    Column("description", Text(), nullable=False),
    Column("owner", String(NAME), nullable=False),
    Column("scopes", Text(), nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("created_by", String(NAME), nullable=False),
    Column("expires_at", UtcDateTime(), nullable=True),
    Column("suspended_at", UtcDateTime(), nullable=True),
    Column("suspended_by", String(NAME), nullable=True),
    Column("suspend_reason", Text(), nullable=True),
    Column("tokens_not_before", UtcDateTime(), nullable=True),
    Column("last_used_at", UtcDateTime(), nullable=True),
    PrimaryKeyConstraint("tenant_id", "name"),
    _tenant_fk(),
)

client_credentials = Table(
    "client_credentials",
    metadata,
    Column("tenant_id", String(ID), nullable=False),
    Column("id", String(ID), nullable=False),
    Column("client_name", String(64), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("secret_hash", String(128), nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("expires_at", UtcDateTime(), nullable=True),
    Column("revoked_at", UtcDateTime(), nullable=True),
    PrimaryKeyConstraint("tenant_id", "id"),
    _tenant_fk(),
    ForeignKeyConstraint(
        ["tenant_id", "client_name"],
        ["machine_clients.tenant_id", "machine_clients.name"],
        ondelete="CASCADE",
    ),
    Index(None, "tenant_id", "client_name"),
)

# Compliance (issue 7, menshen.compliance): each collector's measured result kept with its
# time (evidence has history), the firm's declarations of controls handled outside menshen,
# and each signed report's record (content hash, signature, per-control summary for trends).
compliance_evidence = Table(
    "compliance_evidence",
    metadata,
    Column("tenant_id", String(ID), nullable=False),
    Column("id", String(ID), nullable=False),
    Column("check_id", String(NAME), nullable=False),
    Column("collected_at", UtcDateTime(), nullable=False),
    Column("outcome", String(16), nullable=False),
    Column("value", Float(), nullable=True),
    Column("summary", json_type(), nullable=False),  # {"en": ..., "zh_tw": ...}
    Column("data", json_type(), nullable=False),
    Column("remedy", json_type(), nullable=True),
    Column("affected", Integer(), nullable=False),
    Column("error", Text(), nullable=True),
    PrimaryKeyConstraint("tenant_id", "id"),
    _tenant_fk(),
    Index(None, "tenant_id", "check_id", "collected_at"),
)

compliance_declarations = Table(
    "compliance_declarations",
    metadata,
    Column("tenant_id", String(ID), nullable=False),
    Column("control_id", String(NAME), nullable=False),
    Column("outcome", String(16), nullable=False),
    Column("justification", Text(), nullable=False),
    Column("declared_by", String(NAME), nullable=False),
    Column("declared_at", UtcDateTime(), nullable=False),
    Column("expires_at", UtcDateTime(), nullable=True),
    Column("attachment_name", String(NAME), nullable=True),
    Column("attachment_sha256", String(64), nullable=True),
    Column("attachment", LargeBinary(), nullable=True),
    PrimaryKeyConstraint("tenant_id", "control_id"),
    _tenant_fk(),
)

compliance_reports = Table(
    "compliance_reports",
    metadata,
    Column("tenant_id", String(ID), nullable=False),
    Column("id", String(ID), nullable=False),
    Column("framework", String(64), nullable=False),
    Column("lang", String(16), nullable=False),
    Column("format", String(16), nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("period_start", UtcDateTime(), nullable=False),
    Column("period_end", UtcDateTime(), nullable=False),
    Column("content_sha256", String(64), nullable=False),
    Column("signature", Text(), nullable=False),
    Column("key_id", String(ID), nullable=False),
    Column("summary", json_type(), nullable=False),
    PrimaryKeyConstraint("tenant_id", "id"),
    _tenant_fk(),
    Index(None, "tenant_id", "framework", "created_at"),
)
