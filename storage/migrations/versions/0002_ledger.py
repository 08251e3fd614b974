"""ledger: attributions, commissions, applied and parked events, event log

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "webhook_event_log",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("workspace_id", sa.Text(), nullable=True),
        sa.Column("endpoint_id", sa.Text(), nullable=True),
        sa.Column("stripe_event_id", sa.Text(), nullable=True),
        sa.Column("event_type", sa.Text(), nullable=True),
        sa.Column("livemode", sa.Boolean(), nullable=True),
        sa.Column("outcome", sa.Text(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("attempt", sa.Integer(), nullable=True),
        sa.Column("count", sa.Integer(), server_default="1", nullable=False),
        sa.Column(
            "commission_ids", postgresql.ARRAY(sa.Text()), server_default="{}", nullable=False
        ),
        sa.Column("detail", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("source_id", sa.Text(), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "outcome IN ('processed', 'skipped', 'failed', 'dead_lettered', 'ignored', 'duplicate', 'rejected')",
            name=op.f("ck_webhook_event_log_outcome"),
        ),
        sa.CheckConstraint("count >= 1", name=op.f("ck_webhook_event_log_count")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webhook_event_log")),
        sa.UniqueConstraint("source_id", name=op.f("uq_webhook_event_log_source_id")),
    )
    op.create_index(
        op.f("ix_webhook_event_log_workspace_id_created_at"),
        "webhook_event_log",
        ["workspace_id", "created_at"],
        unique=False,
    )
    op.create_index(
        op.f("ix_webhook_event_log_workspace_id_outcome_created_at"),
        "webhook_event_log",
        ["workspace_id", "outcome", "created_at"],
        unique=False,
    )
    op.create_index(
        op.f("ix_webhook_event_log_workspace_id_stripe_event_id"),
        "webhook_event_log",
        ["workspace_id", "stripe_event_id"],
        unique=False,
    )
    op.create_table(
        "applied_events",
        sa.Column("workspace_id", sa.Text(), nullable=False),
        sa.Column("stripe_event_id", sa.Text(), nullable=False),
        sa.Column("event_type", sa.Text(), nullable=False),
        sa.Column(
            "applied_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_applied_events_workspace_id"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("workspace_id", "stripe_event_id", name=op.f("pk_applied_events")),
    )
    op.create_table(
        "parked_events",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("workspace_id", sa.Text(), nullable=False),
        sa.Column("endpoint_id", sa.Text(), nullable=False),
        sa.Column("stripe_event_id", sa.Text(), nullable=False),
        sa.Column("event_type", sa.Text(), nullable=False),
        sa.Column("wait_for", sa.Text(), nullable=False),
        sa.Column("wait_key", sa.Text(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_parked_events_workspace_id"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_parked_events")),
        sa.UniqueConstraint(
            "workspace_id",
            "stripe_event_id",
            "wait_for",
            "wait_key",
            name=op.f("uq_parked_events_workspace_id_stripe_event_id_wait_for_wait_key"),
        ),
    )
    op.create_index(
        op.f("ix_parked_events_expires_at"), "parked_events", ["expires_at"], unique=False
    )
    op.create_index(
        op.f("ix_parked_events_workspace_id_wait_for_wait_key"),
        "parked_events",
        ["workspace_id", "wait_for", "wait_key"],
        unique=False,
    )
    op.create_table(
        "subscription_ends",
        sa.Column("workspace_id", sa.Text(), nullable=False),
        sa.Column("subscription_id", sa.Text(), nullable=False),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_subscription_ends_workspace_id"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "workspace_id", "subscription_id", name=op.f("pk_subscription_ends")
        ),
    )
    op.create_table(
        "workspace_api_keys",
        sa.Column("workspace_id", sa.Text(), nullable=False),
        sa.Column("key_id", sa.Text(), nullable=False),
        sa.Column("nonce", sa.LargeBinary(), nullable=False),
        sa.Column("ciphertext", sa.LargeBinary(), nullable=False),
        sa.Column("last4", sa.Text(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_workspace_api_keys_workspace_id"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("workspace_id", name=op.f("pk_workspace_api_keys")),
    )
    op.create_table(
        "attributions",
        sa.Column("id", sa.Text(), nullable=False),
        sa.Column("workspace_id", sa.Text(), nullable=False),
        sa.Column("click_id", sa.Text(), nullable=False),
        sa.Column("partner_id", sa.Text(), nullable=False),
        sa.Column("program_id", sa.Text(), nullable=False),
        sa.Column("livemode", sa.Boolean(), nullable=False),
        sa.Column("checkout_session_id", sa.Text(), nullable=False),
        sa.Column("customer_id", sa.Text(), nullable=True),
        sa.Column("subscription_id", sa.Text(), nullable=True),
        sa.Column("payment_intent_id", sa.Text(), nullable=True),
        sa.Column("invoice_id", sa.Text(), nullable=True),
        sa.Column("anchor_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("trial", sa.Boolean(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["partner_id", "workspace_id"],
            ["partners.id", "partners.workspace_id"],
            name=op.f("fk_attributions_partner_id_workspace_id"),
        ),
        sa.ForeignKeyConstraint(
            ["program_id", "workspace_id"],
            ["programs.id", "programs.workspace_id"],
            name=op.f("fk_attributions_program_id_workspace_id"),
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id", "click_id"],
            ["clicks.workspace_id", "clicks.id"],
            name=op.f("fk_attributions_workspace_id_click_id"),
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_attributions_workspace_id"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_attributions")),
        sa.UniqueConstraint(
            "workspace_id",
            "checkout_session_id",
            name=op.f("uq_attributions_workspace_id_checkout_session_id"),
        ),
    )
    op.create_index(
        op.f("ix_attributions_workspace_id_customer_id"),
        "attributions",
        ["workspace_id", "customer_id"],
        unique=False,
    )
    op.create_index(
        op.f("ix_attributions_workspace_id_payment_intent_id"),
        "attributions",
        ["workspace_id", "payment_intent_id"],
        unique=False,
    )
    op.create_index(
        op.f("ix_attributions_workspace_id_subscription_id"),
        "attributions",
        ["workspace_id", "subscription_id"],
        unique=False,
    )
    op.create_table(
        "commissions",
        sa.Column("id", sa.Text(), nullable=False),
        sa.Column("workspace_id", sa.Text(), nullable=False),
        sa.Column("program_id", sa.Text(), nullable=False),
        sa.Column("partner_id", sa.Text(), nullable=False),
        sa.Column("click_id", sa.Text(), nullable=False),
        sa.Column("attribution_id", sa.Text(), nullable=False),
        sa.Column("kind", sa.Text(), nullable=False),
        sa.Column("month", sa.Integer(), nullable=True),
        sa.Column("status", sa.Text(), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("original_amount", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.Text(), nullable=False),
        sa.Column("sale_amount", sa.BigInteger(), nullable=False),
        sa.Column("sale_currency", sa.Text(), nullable=False),
        sa.Column("livemode", sa.Boolean(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("reverses_commission_id", sa.Text(), nullable=True),
        sa.Column("business_key", sa.Text(), nullable=False),
        sa.Column("checkout_session_id", sa.Text(), nullable=True),
        sa.Column("subscription_id", sa.Text(), nullable=True),
        sa.Column("invoice_id", sa.Text(), nullable=True),
        sa.Column("payment_intent_id", sa.Text(), nullable=True),
        sa.Column("charge_id", sa.Text(), nullable=True),
        sa.Column("customer_id", sa.Text(), nullable=True),
        sa.Column("service_period_start", sa.DateTime(timezone=True), nullable=True),
        sa.Column("hold_until", sa.DateTime(timezone=True), nullable=False),
        sa.Column("approved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("paid_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("canceled_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "(kind = 'CLAWBACK' AND amount < 0 AND reverses_commission_id IS NOT NULL) OR (kind <> 'CLAWBACK' AND amount >= 0 AND reverses_commission_id IS NULL)",
            name=op.f("ck_commissions_amount_sign"),
        ),
        sa.CheckConstraint(
            "(kind = 'RECURRING' AND month IS NOT NULL AND month >= 1) OR (kind <> 'RECURRING' AND month IS NULL)",
            name=op.f("ck_commissions_month"),
        ),
        sa.CheckConstraint(
            "(status = 'CANCELED') = (reason IS NOT NULL)", name=op.f("ck_commissions_reason")
        ),
        sa.CheckConstraint(
            "kind IN ('SALE', 'RECURRING', 'CLAWBACK')", name=op.f("ck_commissions_kind")
        ),
        sa.CheckConstraint(
            "status IN ('PENDING', 'APPROVED', 'PAID', 'CANCELED')",
            name=op.f("ck_commissions_status"),
        ),
        sa.CheckConstraint("sale_amount >= 0", name=op.f("ck_commissions_sale_amount")),
        sa.ForeignKeyConstraint(
            ["attribution_id"], ["attributions.id"], name=op.f("fk_commissions_attribution_id")
        ),
        sa.ForeignKeyConstraint(
            ["partner_id", "workspace_id"],
            ["partners.id", "partners.workspace_id"],
            name=op.f("fk_commissions_partner_id_workspace_id"),
        ),
        sa.ForeignKeyConstraint(
            ["program_id", "workspace_id"],
            ["programs.id", "programs.workspace_id"],
            name=op.f("fk_commissions_program_id_workspace_id"),
        ),
        sa.ForeignKeyConstraint(
            ["reverses_commission_id"],
            ["commissions.id"],
            name=op.f("fk_commissions_reverses_commission_id"),
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id", "click_id"],
            ["clicks.workspace_id", "clicks.id"],
            name=op.f("fk_commissions_workspace_id_click_id"),
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_commissions_workspace_id"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_commissions")),
        sa.UniqueConstraint(
            "workspace_id", "business_key", name=op.f("uq_commissions_workspace_id_business_key")
        ),
    )
    op.create_index(
        "ix_commissions_pending_hold_until",
        "commissions",
        ["hold_until"],
        unique=False,
        postgresql_where=sa.text("status = 'PENDING'"),
    )
    op.create_index(
        op.f("ix_commissions_workspace_id_created_at"),
        "commissions",
        ["workspace_id", "created_at"],
        unique=False,
    )
    op.create_index(
        op.f("ix_commissions_workspace_id_invoice_id"),
        "commissions",
        ["workspace_id", "invoice_id"],
        unique=False,
    )
    op.create_index(
        op.f("ix_commissions_workspace_id_partner_id_created_at"),
        "commissions",
        ["workspace_id", "partner_id", "created_at"],
        unique=False,
    )
    op.create_index(
        op.f("ix_commissions_workspace_id_payment_intent_id"),
        "commissions",
        ["workspace_id", "payment_intent_id"],
        unique=False,
    )
    op.create_index(
        op.f("ix_commissions_workspace_id_status_created_at"),
        "commissions",
        ["workspace_id", "status", "created_at"],
        unique=False,
    )
    op.create_index(
        op.f("ix_commissions_workspace_id_subscription_id"),
        "commissions",
        ["workspace_id", "subscription_id"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_commissions_workspace_id_subscription_id"), table_name="commissions")
    op.drop_index(op.f("ix_commissions_workspace_id_status_created_at"), table_name="commissions")
    op.drop_index(op.f("ix_commissions_workspace_id_payment_intent_id"), table_name="commissions")
    op.drop_index(
        op.f("ix_commissions_workspace_id_partner_id_created_at"), table_name="commissions"
    )
    op.drop_index(op.f("ix_commissions_workspace_id_invoice_id"), table_name="commissions")
    op.drop_index(op.f("ix_commissions_workspace_id_created_at"), table_name="commissions")
    op.drop_index(
        "ix_commissions_pending_hold_until",
        table_name="commissions",
        postgresql_where=sa.text("status = 'PENDING'"),
    )
    op.drop_table("commissions")
    op.drop_index(op.f("ix_attributions_workspace_id_subscription_id"), table_name="attributions")
    op.drop_index(op.f("ix_attributions_workspace_id_payment_intent_id"), table_name="attributions")
    op.drop_index(op.f("ix_attributions_workspace_id_customer_id"), table_name="attributions")
    op.drop_table("attributions")
    op.drop_table("workspace_api_keys")
    op.drop_table("subscription_ends")
    op.drop_index(
        op.f("ix_parked_events_workspace_id_wait_for_wait_key"), table_name="parked_events"
    )
    op.drop_index(op.f("ix_parked_events_expires_at"), table_name="parked_events")
    op.drop_table("parked_events")
    op.drop_table("applied_events")
    op.drop_index(
        op.f("ix_webhook_event_log_workspace_id_stripe_event_id"), table_name="webhook_event_log"
    )
    op.drop_index(
        op.f("ix_webhook_event_log_workspace_id_outcome_created_at"), table_name="webhook_event_log"
    )
    op.drop_index(
        op.f("ix_webhook_event_log_workspace_id_created_at"), table_name="webhook_event_log"
    )
    op.drop_table("webhook_event_log")
