"""Machine clients (OAuth2 client credentials, API keys) and their hashed credentials.

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-25
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision: str | None = "0010"
branch_labels: str | None = None
depends_on: str | None = None

ID = 128
NAME = 255


def _tenant_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["tenant_id"], ["tenants.id"], name=f"fk_{table}_tenant_id_tenants", ondelete="CASCADE"
    )


def _at(name: str, nullable: bool = False) -> sa.Column[Any]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "machine_clients",
        sa.Column("tenant_id", sa.String(ID), nullable=False),
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("owner", sa.String(NAME), nullable=False),
        sa.Column("scopes", sa.Text(), nullable=False),
        _at("created_at"),
        sa.Column("created_by", sa.String(NAME), nullable=False),
        _at("expires_at", nullable=True),
        _at("suspended_at", nullable=True),
        sa.Column("suspended_by", sa.String(NAME), nullable=True),
        sa.Column("suspend_reason", sa.Text(), nullable=True),
        _at("tokens_not_before", nullable=True),
        _at("last_used_at", nullable=True),
        sa.PrimaryKeyConstraint("tenant_id", "name", name="pk_machine_clients"),
        _tenant_fk("machine_clients"),
    )
    op.create_table(
        "client_credentials",
        sa.Column("tenant_id", sa.String(ID), nullable=False),
        sa.Column("id", sa.String(ID), nullable=False),
        sa.Column("client_name", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("secret_hash", sa.String(128), nullable=False),
        _at("created_at"),
        _at("expires_at", nullable=True),
        _at("revoked_at", nullable=True),
        sa.PrimaryKeyConstraint("tenant_id", "id", name="pk_client_credentials"),
        _tenant_fk("client_credentials"),
        sa.ForeignKeyConstraint(
            ["tenant_id", "client_name"],
            ["machine_clients.tenant_id", "machine_clients.name"],
            name="fk_client_credentials_tenant_id_client_name_machine_clients",
            ondelete="CASCADE",
        ),
    )
    op.create_index(
        "ix_client_credentials_tenant_id_client_name",
        "client_credentials",
        ["tenant_id", "client_name"],
    )


def downgrade() -> None:
    op.drop_index("ix_client_credentials_tenant_id_client_name", "client_credentials")
    op.drop_table("client_credentials")
    op.drop_table("machine_clients")
