"""Device trust: the device registry and each tenant's device CA (NIST SP 800-207 §2.1).

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-10
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0005"
down_revision: str | None = "0004"
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


def _json() -> sa.types.TypeEngine[Any]:
    return sa.JSON().with_variant(JSONB(), "postgresql")


def upgrade() -> None:
    op.create_table(
        "devices",
        sa.Column("tenant_id", sa.String(ID), nullable=False),
        sa.Column("id", sa.String(ID), nullable=False),
        sa.Column("user_id", sa.String(ID), nullable=False),
        sa.Column("name", sa.String(NAME), nullable=False),
        sa.Column("key_thumbprint", sa.String(64), nullable=False),
        sa.Column("public_jwk", _json(), nullable=False),
        sa.Column("certificate_serial", sa.String(64), nullable=True),
        sa.Column("certificate_not_after", sa.DateTime(timezone=True), nullable=True),
        sa.Column("approved_trust", sa.String(32), nullable=False),
        sa.Column("approved_by", sa.String(NAME), nullable=True),
        sa.Column("approved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("posture", _json(), nullable=False),
        sa.Column("posture_reported_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_report_id", sa.String(NAME), nullable=True),
        sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_by", sa.String(NAME), nullable=True),
        sa.Column("revoke_reason", sa.String(NAME), nullable=True),
        sa.PrimaryKeyConstraint("tenant_id", "id", name="pk_devices"),
        sa.UniqueConstraint(
            "tenant_id", "key_thumbprint", name="uq_devices_tenant_id_key_thumbprint"
        ),
        _tenant_fk("devices"),
        sa.ForeignKeyConstraint(
            ["tenant_id", "user_id"],
            ["users.tenant_id", "users.id"],
            name="fk_devices_tenant_id_user_id_users",
            ondelete="CASCADE",
        ),
    )
    op.create_index("ix_devices_tenant_id_user_id", "devices", ["tenant_id", "user_id"])
    op.create_table(
        "device_authorities",
        sa.Column("tenant_id", sa.String(ID), nullable=False),
        sa.Column("certificate_pem", sa.Text(), nullable=False),
        sa.Column("private_key_sealed", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", name="pk_device_authorities"),
        _tenant_fk("device_authorities"),
    )


def downgrade() -> None:
    op.drop_table("device_authorities")
    op.drop_index("ix_devices_tenant_id_user_id", "devices")
    op.drop_table("devices")
