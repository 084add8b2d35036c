"""What a session is tied to: its device, its identity provider login, device enrolment codes.

``sessions.device_id`` names the enrolled device a session was used from (NIST SP 800-207
§2.1 tenet 5), so revoking the device ends its sessions. ``federated_sessions`` keeps, per
session opened through single sign-on, the provider's refresh and ID tokens (sealed) and
when the login is next re-checked at the provider (OpenID Connect Core 1.0 §12; RP-Initiated
Logout 1.0). ``device_enrolments`` holds short-lived, single-use enrolment codes (hashed)
that a signed-in user hands to the device agent.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision: str | None = "0005"
branch_labels: str | None = None
depends_on: str | None = None

ID = 128
NAME = 255


def upgrade() -> None:
    with op.batch_alter_table("sessions") as batch:
        batch.add_column(sa.Column("device_id", sa.String(ID), nullable=True))
    op.create_index("ix_sessions_tenant_id_device_id", "sessions", ["tenant_id", "device_id"])
    op.create_table(
        "federated_sessions",
        sa.Column("tenant_id", sa.String(ID), nullable=False),
        sa.Column("session_id", sa.String(ID), nullable=False),
        sa.Column("user_id", sa.String(ID), nullable=False),
        sa.Column("provider", sa.String(NAME), nullable=False),
        sa.Column("subject", sa.String(NAME), nullable=False),
        sa.Column("refresh_token_sealed", sa.LargeBinary(), nullable=True),
        sa.Column("id_token_sealed", sa.LargeBinary(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("checked_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("next_check_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", "session_id", name="pk_federated_sessions"),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name="fk_federated_sessions_tenant_id_tenants",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "session_id"],
            ["sessions.tenant_id", "sessions.id"],
            name="fk_federated_sessions_tenant_id_session_id_sessions",
            ondelete="CASCADE",
        ),
    )
    op.create_index(
        "ix_federated_sessions_tenant_id_next_check_at",
        "federated_sessions",
        ["tenant_id", "next_check_at"],
    )
    op.create_table(
        "device_enrolments",
        sa.Column("tenant_id", sa.String(ID), nullable=False),
        sa.Column("code_hash", sa.String(128), nullable=False),
        sa.Column("user_id", sa.String(ID), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("device_id", sa.String(ID), nullable=True),
        sa.PrimaryKeyConstraint("tenant_id", "code_hash", name="pk_device_enrolments"),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name="fk_device_enrolments_tenant_id_tenants",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "user_id"],
            ["users.tenant_id", "users.id"],
            name="fk_device_enrolments_tenant_id_user_id_users",
            ondelete="CASCADE",
        ),
    )


def downgrade() -> None:
    op.drop_table("device_enrolments")
    op.drop_index("ix_federated_sessions_tenant_id_next_check_at", "federated_sessions")
    op.drop_table("federated_sessions")
    op.drop_index("ix_sessions_tenant_id_device_id", "sessions")
    with op.batch_alter_table("sessions") as batch:
        batch.drop_column("device_id")
