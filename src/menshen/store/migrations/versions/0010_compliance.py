"""Compliance (issue 7): measured evidence with history, the firm's declarations, and the
record of each signed report (for its trend against the next).

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-25
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0010"
down_revision: str | None = "0009"
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
        "compliance_evidence",
        sa.Column("tenant_id", sa.String(ID), nullable=False),
        sa.Column("id", sa.String(ID), nullable=False),
        sa.Column("check_id", sa.String(NAME), nullable=False),
        _at("collected_at"),
        sa.Column("outcome", sa.String(16), nullable=False),
        sa.Column("value", sa.Float(), nullable=True),
        sa.Column("summary", _json(), nullable=False),
        sa.Column("data", _json(), nullable=False),
        sa.Column("remedy", _json(), nullable=True),
        sa.Column("affected", sa.Integer(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("tenant_id", "id", name="pk_compliance_evidence"),
        _tenant_fk("compliance_evidence"),
    )
    op.create_index(
        "ix_compliance_evidence_tenant_id_check_id_collected_at",
        "compliance_evidence",
        ["tenant_id", "check_id", "collected_at"],
    )
    op.create_table(
        "compliance_declarations",
        sa.Column("tenant_id", sa.String(ID), nullable=False),
        sa.Column("control_id", sa.String(NAME), nullable=False),
        sa.Column("outcome", sa.String(16), nullable=False),
        sa.Column("justification", sa.Text(), nullable=False),
        sa.Column("declared_by", sa.String(NAME), nullable=False),
        _at("declared_at"),
        _at("expires_at", nullable=True),
        sa.Column("attachment_name", sa.String(NAME), nullable=True),
        sa.Column("attachment_sha256", sa.String(64), nullable=True),
        sa.Column("attachment", sa.LargeBinary(), nullable=True),
        sa.PrimaryKeyConstraint("tenant_id", "control_id", name="pk_compliance_declarations"),
        _tenant_fk("compliance_declarations"),
    )
    op.create_table(
        "compliance_reports",
        sa.Column("tenant_id", sa.String(ID), nullable=False),
        sa.Column("id", sa.String(ID), nullable=False),
        sa.Column("framework", sa.String(64), nullable=False),
        sa.Column("lang", sa.String(16), nullable=False),
        sa.Column("format", sa.String(16), nullable=False),
        _at("created_at"),
        _at("period_start"),
        _at("period_end"),
        sa.Column("content_sha256", sa.String(64), nullable=False),
        sa.Column("signature", sa.Text(), nullable=False),
        sa.Column("key_id", sa.String(ID), nullable=False),
        sa.Column("summary", _json(), nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", "id", name="pk_compliance_reports"),
        _tenant_fk("compliance_reports"),
    )
    op.create_index(
        "ix_compliance_reports_tenant_id_framework_created_at",
        "compliance_reports",
        ["tenant_id", "framework", "created_at"],
    )


def downgrade() -> None:
    op.drop_index("ix_compliance_reports_tenant_id_framework_created_at", "compliance_reports")
    op.drop_table("compliance_reports")
    op.drop_table("compliance_declarations")
    op.drop_index("ix_compliance_evidence_tenant_id_check_id_collected_at", "compliance_evidence")
    op.drop_table("compliance_evidence")
