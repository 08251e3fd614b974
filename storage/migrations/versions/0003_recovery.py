"""recovery: dead letters and retained payloads

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-27

dead_letters: every delivery the workers gave up on, durable and searchable by event, with
its status (open, replayed, discarded). event_payloads: the raw body of every applied event,
kept PAYLOAD_RETENTION_DAYS for `traaaction events replay`.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "dead_letters",
        sa.Column("id", sa.Text(), nullable=False),
        sa.Column("workspace_id", sa.Text(), nullable=False),
        sa.Column("endpoint_id", sa.Text(), nullable=False),
        sa.Column("stripe_event_id", sa.Text(), nullable=False),
        sa.Column("event_type", sa.Text(), nullable=False),
        sa.Column("livemode", sa.Boolean(), nullable=True),
        sa.Column("actor_name", sa.Text(), nullable=False),
        sa.Column("queue_name", sa.Text(), nullable=False),
        sa.Column("message_id", sa.Text(), nullable=False),
        sa.Column("message", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("error_class", sa.Text(), nullable=False),
        sa.Column("error_message", sa.Text(), nullable=False),
        sa.Column("traceback", sa.Text(), server_default="", nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("first_failed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_failed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.Text(), server_default="open", nullable=False),
        sa.Column("status_reason", sa.Text(), nullable=True),
        sa.Column("status_changed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("times_dead_lettered", sa.Integer(), server_default="1", nullable=False),
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
            "status <> 'discarded' OR status_reason IS NOT NULL",
            name=op.f("ck_dead_letters_discard_reason"),
        ),
        sa.CheckConstraint(
            "status = 'open' OR status_changed_at IS NOT NULL",
            name=op.f("ck_dead_letters_status_changed_at"),
        ),
        sa.CheckConstraint(
            "status IN ('open', 'replayed', 'discarded')", name=op.f("ck_dead_letters_status")
        ),
        sa.CheckConstraint("attempts >= 1", name=op.f("ck_dead_letters_attempts")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dead_letters")),
        sa.UniqueConstraint(
            "workspace_id",
            "stripe_event_id",
            name=op.f("uq_dead_letters_workspace_id_stripe_event_id"),
        ),
    )
    op.create_index(
        op.f("ix_dead_letters_status_last_failed_at"),
        "dead_letters",
        ["status", "last_failed_at"],
        unique=False,
    )
    op.create_index(
        op.f("ix_dead_letters_workspace_id_last_failed_at"),
        "dead_letters",
        ["workspace_id", "last_failed_at"],
        unique=False,
    )
    op.create_table(
        "event_payloads",
        sa.Column("workspace_id", sa.Text(), nullable=False),
        sa.Column("stripe_event_id", sa.Text(), nullable=False),
        sa.Column("endpoint_id", sa.Text(), nullable=False),
        sa.Column("event_type", sa.Text(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column(
            "received_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_event_payloads_workspace_id"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("workspace_id", "stripe_event_id", name=op.f("pk_event_payloads")),
    )
    op.create_index(
        op.f("ix_webhook_event_log_created_at_id"),
        "webhook_event_log",
        ["created_at", "id"],
        unique=False,
    )
    op.create_index(
        op.f("ix_event_payloads_received_at"), "event_payloads", ["received_at"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_webhook_event_log_created_at_id"), table_name="webhook_event_log")
    op.drop_index(op.f("ix_event_payloads_received_at"), table_name="event_payloads")
    op.drop_table("event_payloads")
    op.drop_index(op.f("ix_dead_letters_workspace_id_last_failed_at"), table_name="dead_letters")
    op.drop_index(op.f("ix_dead_letters_status_last_failed_at"), table_name="dead_letters")
    op.drop_table("dead_letters")
