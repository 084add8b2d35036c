"""Continuous monitoring (issue 6): risk scores, response actions and incidents.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-25
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0009"
down_revision: str | None = "0008"
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


def _at(name: str, nullable: bool = False) -> sa.Column[Any]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "risk_scores",
        sa.Column("tenant_id", sa.String(ID), nullable=False),
        sa.Column("subject", sa.String(NAME), nullable=False),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("level", sa.String(16), nullable=False),
        _at("updated_at"),
        sa.PrimaryKeyConstraint("tenant_id", "subject", name="pk_risk_scores"),
        _tenant_fk("risk_scores"),
    )
    op.create_table(
        "response_actions",
        sa.Column("tenant_id", sa.String(ID), nullable=False),
        sa.Column("id", sa.String(ID), nullable=False),
        sa.Column("dedupe_key", sa.String(NAME), nullable=False),
        sa.Column("playbook", sa.String(NAME), nullable=False),
        sa.Column("action", sa.String(32), nullable=False),
        sa.Column("subject", sa.String(NAME), nullable=False),
        sa.Column("target", sa.String(NAME), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("incident_id", sa.String(ID), nullable=True),
        sa.Column("details", _json(), nullable=False),
        _at("created_at"),
        _at("expires_at", nullable=True),
        _at("undone_at", nullable=True),
        sa.Column("undone_by", sa.String(NAME), nullable=True),
        sa.PrimaryKeyConstraint("tenant_id", "id", name="pk_response_actions"),
        sa.UniqueConstraint(
            "tenant_id", "dedupe_key", name="uq_response_actions_tenant_id_dedupe_key"
        ),
        _tenant_fk("response_actions"),
    )
    op.create_index(
        "ix_response_actions_tenant_id_created_at", "response_actions", ["tenant_id", "created_at"]
    )
    op.create_table(
        "incidents",
        sa.Column("tenant_id", sa.String(ID), nullable=False),
        sa.Column("id", sa.String(ID), nullable=False),
        sa.Column("subject", sa.String(NAME), nullable=False),
        sa.Column("source_ip", sa.String(64), nullable=True),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("severity", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        _at("first_event_at"),
        _at("detected_at"),
        _at("last_finding_at"),
        _at("responded_at", nullable=True),
        _at("acknowledged_at", nullable=True),
        _at("closed_at", nullable=True),
        sa.Column("assignee", sa.String(NAME), nullable=True),
        sa.Column("findings", _json(), nullable=False),
        sa.Column("notes", _json(), nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", "id", name="pk_incidents"),
        _tenant_fk("incidents"),
    )
    op.create_index("ix_incidents_tenant_id_detected_at", "incidents", ["tenant_id", "detected_at"])


def downgrade() -> None:
    op.drop_index("ix_incidents_tenant_id_detected_at", "incidents")
    op.drop_table("incidents")
    op.drop_index("ix_response_actions_tenant_id_created_at", "response_actions")
    op.drop_table("response_actions")
    op.drop_table("risk_scores")
