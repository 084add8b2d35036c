"""Policy rollout: numbered config versions per tenant, and the shadowed candidate config.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision: str | None = "0002"
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
        "policy_versions",
        sa.Column("tenant_id", sa.String(ID), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False, autoincrement=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("author", sa.String(NAME), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("document", sa.Text(), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", "version", name="pk_policy_versions"),
        _tenant_fk("policy_versions"),
    )
    op.create_table(
        "policy_candidates",
        sa.Column("tenant_id", sa.String(ID), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("author", sa.String(NAME), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("document", sa.Text(), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", name="pk_policy_candidates"),
        _tenant_fk("policy_candidates"),
    )


def downgrade() -> None:
    op.drop_table("policy_candidates")
    op.drop_table("policy_versions")
