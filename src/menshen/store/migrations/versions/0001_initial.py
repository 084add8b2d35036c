"""Initial schema: tenants, identity, credentials, sessions, keys, audit log, config.

Revision ID: 0001
Revises:
Create Date: 2026-01-05

Written out in full (not generated from ``menshen.store.schema`` at run time) so that later
changes to the models never rewrite history; a test checks that the two agree.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0001"
down_revision: str | None = None
branch_labels: str | None = None
depends_on: str | None = None

ID = 128
NAME = 255


def _when(name: str, *, nullable: bool = False) -> sa.Column[object]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def _json(name: str) -> sa.Column[object]:
    return sa.Column(name, sa.JSON().with_variant(JSONB(), "postgresql"), nullable=False)


def _tenant_id() -> sa.Column[object]:
    return sa.Column("tenant_id", sa.String(ID), nullable=False)


def _tenant_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["tenant_id"],
        ["tenants.id"],
        name=f"fk_{table}_tenant_id_tenants",
        ondelete="CASCADE",
    )


def _user_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["tenant_id", "user_id"],
        ["users.tenant_id", "users.id"],
        name=f"fk_{table}_tenant_id_user_id_users",
        ondelete="CASCADE",
    )


def upgrade() -> None:
    op.create_table(
        "tenants",
        sa.Column("id", sa.String(ID), nullable=False),
        sa.Column("name", sa.String(NAME), nullable=False),
        _when("created_at"),
        sa.PrimaryKeyConstraint("id", name="pk_tenants"),
    )
    op.create_table(
        "users",
        _tenant_id(),
        sa.Column("id", sa.String(ID), nullable=False),
        sa.Column("username", sa.String(NAME), nullable=False),
        sa.Column("email", sa.String(320), nullable=False),
        sa.Column("display_name", sa.String(NAME), nullable=False),
        sa.Column("password_hash", sa.Text(), nullable=True),
        sa.Column("disabled", sa.Boolean(), nullable=False),
        _when("created_at"),
        _when("updated_at"),
        sa.PrimaryKeyConstraint("tenant_id", "id", name="pk_users"),
        sa.UniqueConstraint("tenant_id", "username", name="uq_users_tenant_id_username"),
        _tenant_fk("users"),
    )
    op.create_table(
        "groups",
        _tenant_id(),
        sa.Column("id", sa.String(ID), nullable=False),
        sa.Column("name", sa.String(NAME), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("mfa_required", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", "id", name="pk_groups"),
        sa.UniqueConstraint("tenant_id", "name", name="uq_groups_tenant_id_name"),
        _tenant_fk("groups"),
    )
    op.create_table(
        "memberships",
        _tenant_id(),
        sa.Column("group_id", sa.String(ID), nullable=False),
        sa.Column("user_id", sa.String(ID), nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", "group_id", "user_id", name="pk_memberships"),
        sa.ForeignKeyConstraint(
            ["tenant_id", "group_id"],
            ["groups.tenant_id", "groups.id"],
            name="fk_memberships_tenant_id_group_id_groups",
            ondelete="CASCADE",
        ),
        _tenant_fk("memberships"),
        _user_fk("memberships"),
    )
    op.create_index("ix_memberships_tenant_id_user_id", "memberships", ["tenant_id", "user_id"])
    op.create_table(
        "totp_credentials",
        _tenant_id(),
        sa.Column("user_id", sa.String(ID), nullable=False),
        sa.Column("secret_sealed", sa.LargeBinary(), nullable=False),
        sa.Column("confirmed", sa.Boolean(), nullable=False),
        sa.Column("last_used_step", sa.BigInteger(), nullable=True),
        _when("created_at"),
        sa.PrimaryKeyConstraint("tenant_id", "user_id", name="pk_totp_credentials"),
        _tenant_fk("totp_credentials"),
        _user_fk("totp_credentials"),
    )
    op.create_table(
        "recovery_codes",
        _tenant_id(),
        sa.Column("id", sa.String(ID), nullable=False),
        sa.Column("user_id", sa.String(ID), nullable=False),
        sa.Column("code_hash", sa.String(NAME), nullable=False),
        _when("used_at", nullable=True),
        sa.PrimaryKeyConstraint("tenant_id", "id", name="pk_recovery_codes"),
        sa.UniqueConstraint(
            "tenant_id",
            "user_id",
            "code_hash",
            name="uq_recovery_codes_tenant_id_user_id_code_hash",
        ),
        _tenant_fk("recovery_codes"),
        _user_fk("recovery_codes"),
    )
    op.create_table(
        "login_throttle",
        _tenant_id(),
        sa.Column("key", sa.String(NAME), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        _when("window_started_at"),
        _when("locked_until", nullable=True),
        sa.PrimaryKeyConstraint("tenant_id", "key", name="pk_login_throttle"),
        _tenant_fk("login_throttle"),
    )
    _create_sessions()
    op.create_table(
        "signing_keys",
        _tenant_id(),
        sa.Column("kid", sa.String(ID), nullable=False),
        sa.Column("private_key_sealed", sa.LargeBinary(), nullable=False),
        _json("public_jwk"),
        _when("created_at"),
        _when("retired_at", nullable=True),
        sa.PrimaryKeyConstraint("tenant_id", "kid", name="pk_signing_keys"),
        _tenant_fk("signing_keys"),
    )
    _create_audit_events()
    op.create_table(
        "config_objects",
        _tenant_id(),
        sa.Column("kind", sa.String(64), nullable=False),
        sa.Column("name", sa.String(NAME), nullable=False),
        _json("spec"),
        _when("updated_at"),
        sa.PrimaryKeyConstraint("tenant_id", "kind", "name", name="pk_config_objects"),
        _tenant_fk("config_objects"),
    )


def _create_sessions() -> None:
    op.create_table(
        "sessions",
        _tenant_id(),
        sa.Column("id", sa.String(ID), nullable=False),
        sa.Column("token_hash", sa.String(128), nullable=False),
        sa.Column("user_id", sa.String(ID), nullable=False),
        _when("created_at"),
        _when("last_seen_at"),
        _when("absolute_expires_at"),
        sa.Column("idle_timeout_seconds", sa.Integer(), nullable=False),
        sa.Column("user_agent_family", sa.String(NAME), nullable=False),
        sa.Column("ip", sa.String(64), nullable=False),
        sa.Column("auth_level", sa.String(32), nullable=False),
        sa.Column("mfa_method", sa.String(32), nullable=True),
        _when("mfa_at", nullable=True),
        _when("revoked_at", nullable=True),
        sa.Column("revoked_by", sa.String(NAME), nullable=True),
        sa.Column("revoke_reason", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("tenant_id", "id", name="pk_sessions"),
        sa.UniqueConstraint("tenant_id", "token_hash", name="uq_sessions_tenant_id_token_hash"),
        _tenant_fk("sessions"),
        _user_fk("sessions"),
    )
    op.create_index("ix_sessions_tenant_id_user_id", "sessions", ["tenant_id", "user_id"])
    op.create_index("ix_sessions_tenant_id_revoked_at", "sessions", ["tenant_id", "revoked_at"])
    op.create_index(
        "ix_sessions_tenant_id_absolute_expires_at",
        "sessions",
        ["tenant_id", "absolute_expires_at"],
    )


def _create_audit_events() -> None:
    op.create_table(
        "audit_events",
        _tenant_id(),
        sa.Column("seq", sa.BigInteger(), nullable=False, autoincrement=False),
        sa.Column("id", sa.String(ID), nullable=False),
        _when("at"),
        sa.Column("kind", sa.String(NAME), nullable=False),
        sa.Column("outcome", sa.String(32), nullable=False),
        sa.Column("actor", sa.String(NAME), nullable=True),
        sa.Column("subject", sa.String(NAME), nullable=True),
        sa.Column("app", sa.String(NAME), nullable=True),
        sa.Column("ip", sa.String(64), nullable=True),
        sa.Column("session_id", sa.String(ID), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        _json("details"),
        sa.Column("prev_hash", sa.String(128), nullable=False),
        sa.Column("hash", sa.String(128), nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", "seq", name="pk_audit_events"),
        sa.UniqueConstraint("tenant_id", "id", name="uq_audit_events_tenant_id_id"),
        _tenant_fk("audit_events"),
    )
    op.create_index("ix_audit_events_tenant_id_at", "audit_events", ["tenant_id", "at"])


def downgrade() -> None:
    for table in (
        "config_objects",
        "audit_events",
        "signing_keys",
        "sessions",
        "login_throttle",
        "recovery_codes",
        "totp_credentials",
        "memberships",
        "groups",
        "users",
        "tenants",
    ):
        op.drop_table(table)
