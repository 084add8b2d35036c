"""Continuous monitoring (issue 6): event sources, quarantined input, audit-log cursors.

``monitor_sources`` holds each external source of a tenant with the SHA-256 of its bearer
token (RFC 6750; the token itself is shown once). ``monitor_quarantine`` keeps rejected input
with its reason and a bounded excerpt for a bounded time (NIST SP 800-92 §4.2).
``monitor_cursors`` records how far the monitor has accounted for each tenant's audit log.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision: str | None = "0006"
branch_labels: str | None = None
depends_on: str | None = None

ID = 128


def _tenant_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["tenant_id"], ["tenants.id"], name=f"fk_{table}_tenant_id_tenants", ondelete="CASCADE"
    )


def upgrade() -> None:
    op.create_table(
        "monitor_sources",
        sa.Column("tenant_id", sa.String(ID), nullable=False),
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("format", sa.String(32), nullable=False),
        sa.Column("token_hash", sa.String(128), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", "name", name="pk_monitor_sources"),
        sa.UniqueConstraint(
            "tenant_id", "token_hash", name="uq_monitor_sources_tenant_id_token_hash"
        ),
        _tenant_fk("monitor_sources"),
    )
    op.create_table(
        "monitor_quarantine",
        sa.Column("tenant_id", sa.String(ID), nullable=False),
        sa.Column("id", sa.String(ID), nullable=False),
        sa.Column("source", sa.String(64), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("reason", sa.String(64), nullable=False),
        sa.Column("detail", sa.String(255), nullable=False),
        sa.Column("excerpt", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", "id", name="pk_monitor_quarantine"),
        _tenant_fk("monitor_quarantine"),
    )
    op.create_index("ix_monitor_quarantine_tenant_id_at", "monitor_quarantine", ["tenant_id", "at"])
    op.create_table(
        "monitor_cursors",
        sa.Column("tenant_id", sa.String(ID), nullable=False),
        sa.Column("consumer", sa.String(64), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", "consumer", name="pk_monitor_cursors"),
        _tenant_fk("monitor_cursors"),
    )


def downgrade() -> None:
    op.drop_table("monitor_cursors")
    op.drop_index("ix_monitor_quarantine_tenant_id_at", table_name="monitor_quarantine")
    op.drop_table("monitor_quarantine")
    op.drop_table("monitor_sources")
