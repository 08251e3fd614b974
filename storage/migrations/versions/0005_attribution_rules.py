"""promotion codes, first-purchase-only and the click window (filled by the attribution work)

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-04

- `partner_promotion_codes`: a partner's Stripe promotion codes (promo_...), one partner per
  code in a workspace (docs/commissions.md, "Attribution", source 3).
- `programs.click_window_days` (default 90) and `programs.first_purchase_only` (default
  false): constant defaults, so PostgreSQL 11+ adds them without rewriting the table.
- `attributions.click_id` and `commissions.click_id` become nullable: a sale named by a
  promotion code has no click (dashboard contract, docs/dashboard.md "Changes").
- `attributions.checkout_session_id` becomes nullable: an API-created subscription is
  attributed by its first invoice, without a checkout; such an attribution is keyed by its
  subscription (a partial unique index), and every attribution has one of the two keys.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

#: printable ASCII without spaces, as Stripe's ids are; bounded so that a typo cannot store
#: a novel (domain.promotion_codes checks the same before the database does)
_PROMOTION_CODE_CHECK = "promotion_code_id ~ '^promo_[!-~]{1,200}$'"


def upgrade() -> None:
    op.add_column(
        "programs",
        sa.Column("click_window_days", sa.Integer(), server_default="90", nullable=False),
    )
    op.add_column(
        "programs",
        sa.Column("first_purchase_only", sa.Boolean(), server_default="false", nullable=False),
    )
    op.create_check_constraint(
        "click_window_days", "programs", "click_window_days BETWEEN 1 AND 3650"
    )
    op.create_table(
        "partner_promotion_codes",
        sa.Column("workspace_id", sa.Text(), nullable=False),
        sa.Column("promotion_code_id", sa.Text(), nullable=False),
        sa.Column("partner_id", sa.Text(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint(
            _PROMOTION_CODE_CHECK, name=op.f("ck_partner_promotion_codes_promotion_code_id")
        ),
        sa.ForeignKeyConstraint(
            ["partner_id", "workspace_id"],
            ["partners.id", "partners.workspace_id"],
            name=op.f("fk_partner_promotion_codes_partner_id_workspace_id"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_partner_promotion_codes_workspace_id"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "workspace_id", "promotion_code_id", name=op.f("pk_partner_promotion_codes")
        ),
    )
    op.create_index(
        op.f("ix_partner_promotion_codes_partner_id"),
        "partner_promotion_codes",
        ["partner_id"],
        unique=False,
    )
    op.alter_column("attributions", "click_id", existing_type=sa.Text(), nullable=True)
    op.alter_column("commissions", "click_id", existing_type=sa.Text(), nullable=True)
    op.alter_column("attributions", "checkout_session_id", existing_type=sa.Text(), nullable=True)
    op.create_check_constraint(
        "keyed",
        "attributions",
        "checkout_session_id IS NOT NULL OR subscription_id IS NOT NULL",
    )
    op.create_index(
        "uq_attributions_workspace_id_subscription_id_without_checkout",
        "attributions",
        ["workspace_id", "subscription_id"],
        unique=True,
        postgresql_where=sa.text("checkout_session_id IS NULL"),
    )


def downgrade() -> None:
    # Rows this revision allowed (no click, no checkout) cannot go back: refuse rather than
    # drop ledger rows.
    op.drop_index(
        "uq_attributions_workspace_id_subscription_id_without_checkout", table_name="attributions"
    )
    op.drop_constraint("keyed", "attributions", type_="check")  # named by convention
    op.alter_column("attributions", "checkout_session_id", existing_type=sa.Text(), nullable=False)
    op.alter_column("commissions", "click_id", existing_type=sa.Text(), nullable=False)
    op.alter_column("attributions", "click_id", existing_type=sa.Text(), nullable=False)
    op.drop_index(
        op.f("ix_partner_promotion_codes_partner_id"), table_name="partner_promotion_codes"
    )
    op.drop_table("partner_promotion_codes")
    op.drop_constraint("click_window_days", "programs", type_="check")
    op.drop_column("programs", "first_purchase_only")
    op.drop_column("programs", "click_window_days")
