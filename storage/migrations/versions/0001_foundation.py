"""foundation: workspaces, endpoints, secrets, programs, partners, clicks

Revision ID: 0001
Revises:
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "workspaces",
        sa.Column("id", sa.Text(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "length(name) between 1 and 200", name=op.f("ck_workspaces_name_length")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_workspaces")),
    )
    op.create_table(
        "programs",
        sa.Column("id", sa.Text(), nullable=False),
        sa.Column("workspace_id", sa.Text(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("reward_kind", sa.Text(), nullable=False),
        sa.Column("percent_bps", sa.Integer(), nullable=True),
        sa.Column("flat_amount", sa.BigInteger(), nullable=True),
        sa.Column("currency", sa.Text(), nullable=True),
        sa.Column("recurring_months", sa.Integer(), nullable=True),
        sa.Column("holding_days", sa.Integer(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "(reward_kind = 'percent' AND percent_bps IS NOT NULL AND percent_bps BETWEEN 1 AND 10000 AND flat_amount IS NULL AND currency IS NULL) OR (reward_kind = 'flat' AND percent_bps IS NULL AND flat_amount IS NOT NULL AND flat_amount > 0 AND currency IS NOT NULL AND currency ~ '^[a-z]{3}$')",
            name=op.f("ck_programs_reward"),
        ),
        sa.CheckConstraint(
            "holding_days BETWEEN 0 AND 3650", name=op.f("ck_programs_holding_days")
        ),
        sa.CheckConstraint("length(name) between 1 and 200", name=op.f("ck_programs_name_length")),
        sa.CheckConstraint(
            "recurring_months IS NULL OR recurring_months >= 1",
            name=op.f("ck_programs_recurring_months"),
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_programs_workspace_id"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_programs")),
        sa.UniqueConstraint("id", "workspace_id", name=op.f("uq_programs_id_workspace_id")),
    )
    op.create_index(
        op.f("ix_programs_workspace_id_created_at"),
        "programs",
        ["workspace_id", "created_at"],
        unique=False,
    )
    op.create_table(
        "webhook_endpoints",
        sa.Column("id", sa.Text(), nullable=False),
        sa.Column("workspace_id", sa.Text(), nullable=False),
        sa.Column("enabled", sa.Boolean(), server_default="true", nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_webhook_endpoints_workspace_id"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webhook_endpoints")),
        sa.UniqueConstraint(
            "id", "workspace_id", name=op.f("uq_webhook_endpoints_id_workspace_id")
        ),
    )
    op.create_index(
        op.f("ix_webhook_endpoints_workspace_id_created_at"),
        "webhook_endpoints",
        ["workspace_id", "created_at"],
        unique=False,
    )
    op.create_table(
        "endpoint_secrets",
        sa.Column("id", sa.Text(), nullable=False),
        sa.Column("endpoint_id", sa.Text(), nullable=False),
        sa.Column("workspace_id", sa.Text(), nullable=False),
        sa.Column("key_id", sa.Text(), nullable=False),
        sa.Column("nonce", sa.LargeBinary(), nullable=False),
        sa.Column("ciphertext", sa.LargeBinary(), nullable=False),
        sa.Column("last4", sa.Text(), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint("octet_length(nonce) = 12", name=op.f("ck_endpoint_secrets_nonce_size")),
        sa.ForeignKeyConstraint(
            ["endpoint_id", "workspace_id"],
            ["webhook_endpoints.id", "webhook_endpoints.workspace_id"],
            name=op.f("fk_endpoint_secrets_endpoint_id_workspace_id"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_endpoint_secrets")),
    )
    op.create_index(
        op.f("ix_endpoint_secrets_endpoint_id"), "endpoint_secrets", ["endpoint_id"], unique=False
    )
    op.create_index(
        op.f("ix_endpoint_secrets_key_id"), "endpoint_secrets", ["key_id"], unique=False
    )
    op.create_table(
        "partners",
        sa.Column("id", sa.Text(), nullable=False),
        sa.Column("workspace_id", sa.Text(), nullable=False),
        sa.Column("program_id", sa.Text(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint("length(name) between 1 and 200", name=op.f("ck_partners_name_length")),
        sa.ForeignKeyConstraint(
            ["program_id", "workspace_id"],
            ["programs.id", "programs.workspace_id"],
            name=op.f("fk_partners_program_id_workspace_id"),
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_partners_workspace_id"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_partners")),
        sa.UniqueConstraint("id", "workspace_id", name=op.f("uq_partners_id_workspace_id")),
    )
    op.create_index(op.f("ix_partners_program_id"), "partners", ["program_id"], unique=False)
    op.create_index(
        op.f("ix_partners_workspace_id_created_at"),
        "partners",
        ["workspace_id", "created_at"],
        unique=False,
    )
    op.create_table(
        "clicks",
        sa.Column("id", sa.Text(), nullable=False),
        sa.Column("workspace_id", sa.Text(), nullable=False),
        sa.Column("partner_id", sa.Text(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["partner_id", "workspace_id"],
            ["partners.id", "partners.workspace_id"],
            name=op.f("fk_clicks_partner_id_workspace_id"),
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_clicks_workspace_id"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_clicks")),
        sa.UniqueConstraint("workspace_id", "id", name=op.f("uq_clicks_workspace_id_id")),
    )
    op.create_index(
        op.f("ix_clicks_partner_id_created_at"),
        "clicks",
        ["partner_id", "created_at"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_clicks_partner_id_created_at"), table_name="clicks")
    op.drop_table("clicks")
    op.drop_index(op.f("ix_partners_workspace_id_created_at"), table_name="partners")
    op.drop_index(op.f("ix_partners_program_id"), table_name="partners")
    op.drop_table("partners")
    op.drop_index(op.f("ix_endpoint_secrets_key_id"), table_name="endpoint_secrets")
    op.drop_index(op.f("ix_endpoint_secrets_endpoint_id"), table_name="endpoint_secrets")
    op.drop_table("endpoint_secrets")
    op.drop_index(
        op.f("ix_webhook_endpoints_workspace_id_created_at"), table_name="webhook_endpoints"
    )
    op.drop_table("webhook_endpoints")
    op.drop_index(op.f("ix_programs_workspace_id_created_at"), table_name="programs")
    op.drop_table("programs")
    op.drop_table("workspaces")
