"""Continuous monitoring (issue 6): behavioural baselines and the firm's bad-address lists.

``monitor_baselines`` keeps one versioned JSON document per entity (user, machine client,
device, source network; kind ``firm`` holds the tenant-wide peer groups and places), saved
in batches by the monitor and loaded at start. ``monitor_bad_networks`` holds the CIDR
prefixes of the lists the firm imports (``menshen monitor badips import``).

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-25
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0008"
down_revision: str | None = "0007"
branch_labels: str | None = None
depends_on: str | None = None

ID = 128
NAME = 255


def _tenant_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["tenant_id"], ["tenants.id"], name=f"fk_{table}_tenant_id_tenants", ondelete="CASCADE"
    )


def _json() -> sa.types.TypeEngine[Any]:
    return sa.JSON().with_variant(JSONB(), "postgresql")


def upgrade() -> None:
    op.create_table(
        "monitor_baselines",
        sa.Column("tenant_id", sa.String(ID), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("entity_id", sa.String(NAME), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("state", _json(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", "kind", "entity_id", name="pk_monitor_baselines"),
        _tenant_fk("monitor_baselines"),
    )
    op.create_table(
        "monitor_bad_networks",
        sa.Column("tenant_id", sa.String(ID), nullable=False),
        sa.Column("list_name", sa.String(NAME), nullable=False),
        sa.Column("cidr", sa.String(64), nullable=False),
        sa.Column("note", sa.String(NAME), nullable=False),
        sa.Column("imported_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", "list_name", "cidr", name="pk_monitor_bad_networks"),
        _tenant_fk("monitor_bad_networks"),
    )


def downgrade() -> None:
    op.drop_table("monitor_bad_networks")
    op.drop_table("monitor_baselines")
