"""Passkeys: WebAuthn credential records and pending ceremonies (W3C WebAuthn Level 2 §4).

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-09
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0004"
down_revision: str | None = "0003"
branch_labels: str | None = None
depends_on: str | None = None

ID = 128
NAME = 255


def _tenant_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["tenant_id"],
        ["tenants.id"],
        name=f"fk_{table}_tenant_id_tenants",
        ondelete="CASCADE",
    )


def upgrade() -> None:
    op.create_table(
        "webauthn_credentials",
        sa.Column("tenant_id", sa.String(ID), nullable=False),
        sa.Column("credential_id", sa.String(1400), nullable=False),
        sa.Column("user_id", sa.String(ID), nullable=False),
        sa.Column("public_key", sa.LargeBinary(), nullable=False),
        sa.Column("sign_count", sa.BigInteger(), nullable=False),
        sa.Column("transports", sa.JSON().with_variant(JSONB(), "postgresql"), nullable=False),
        sa.Column("aaguid", sa.String(36), nullable=False),
        sa.Column("name", sa.String(NAME), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_used_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("backup_eligible", sa.Boolean(), nullable=False),
        sa.Column("backed_up", sa.Boolean(), nullable=False),
        sa.Column("cloned_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("tenant_id", "credential_id", name="pk_webauthn_credentials"),
        _tenant_fk("webauthn_credentials"),
        sa.ForeignKeyConstraint(
            ["tenant_id", "user_id"],
            ["users.tenant_id", "users.id"],
            name="fk_webauthn_credentials_tenant_id_user_id_users",
            ondelete="CASCADE",
        ),
    )
    op.create_index(
        "ix_webauthn_credentials_tenant_id_user_id",
        "webauthn_credentials",
        ["tenant_id", "user_id"],
    )
    op.create_table(
        "webauthn_challenges",
        sa.Column("tenant_id", sa.String(ID), nullable=False),
        sa.Column("id", sa.String(ID), nullable=False),
        sa.Column("purpose", sa.String(32), nullable=False),
        sa.Column("challenge", sa.LargeBinary(), nullable=False),
        sa.Column("user_id", sa.String(ID), nullable=True),
        sa.Column("binding_hash", sa.String(64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", "id", name="pk_webauthn_challenges"),
        _tenant_fk("webauthn_challenges"),
    )
    op.create_index(
        "ix_webauthn_challenges_tenant_id_expires_at",
        "webauthn_challenges",
        ["tenant_id", "expires_at"],
    )


def downgrade() -> None:
    op.drop_index("ix_webauthn_challenges_tenant_id_expires_at", "webauthn_challenges")
    op.drop_table("webauthn_challenges")
    op.drop_index("ix_webauthn_credentials_tenant_id_user_id", "webauthn_credentials")
    op.drop_table("webauthn_credentials")
