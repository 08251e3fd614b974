"""disputes, failed refunds and held commissions

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-04

- The facts of a charge that domain.charge_losses recomputes its commissions from:
  `charge_refund_snapshots` (the latest charge.refunded of each charge),
  `refund_failures` (refunds that failed or were canceled, charge.refund.updated) and
  `disputes` (each dispute's latest state, charge.dispute.*).
- `commissions.status` may be ON_HOLD (an open dispute of its charge, or an operator's hold);
  ON_HOLD carries a reason (disputed, manual) as CANCELED does (refunded, dispute_lost, ...).
- A CLAWBACK's amount may be positive: it gives back what an earlier one took (a failed
  refund, a won dispute). Never 0.

The old checks allowed a subset of the new ones: every existing row satisfies them. The
new checks are added NOT VALID and then validated, so that the table is not locked against
writes while PostgreSQL scans it.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

_STATUS_NEW = "status IN ('PENDING', 'APPROVED', 'PAID', 'CANCELED', 'ON_HOLD')"
_STATUS_OLD = "status IN ('PENDING', 'APPROVED', 'PAID', 'CANCELED')"
_REASON_NEW = "(status IN ('CANCELED', 'ON_HOLD')) = (reason IS NOT NULL)"
_REASON_OLD = "(status = 'CANCELED') = (reason IS NOT NULL)"
_SIGN = (
    "(kind = 'CLAWBACK' AND amount {op} 0 AND reverses_commission_id IS NOT NULL)"
    " OR (kind <> 'CLAWBACK' AND amount >= 0 AND reverses_commission_id IS NULL)"
)
_SIGN_NEW = _SIGN.format(op="<>")
_SIGN_OLD = _SIGN.format(op="<")


def _replace_check(name: str, condition: str) -> None:
    """Drop commissions' check `name` and add it again with `condition`, validated apart."""
    full = f"ck_commissions_{name}"
    op.drop_constraint(name, "commissions", type_="check")  # named by convention
    op.execute(f"ALTER TABLE commissions ADD CONSTRAINT {full} CHECK ({condition}) NOT VALID")
    op.execute(f"ALTER TABLE commissions VALIDATE CONSTRAINT {full}")


def _workspace_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["workspace_id"],
        ["workspaces.id"],
        name=op.f(f"fk_{table}_workspace_id"),
        ondelete="CASCADE",
    )


def _now() -> sa.Column[object]:
    return sa.Column(
        "updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False
    )


def upgrade() -> None:
    _replace_check("status", _STATUS_NEW)
    _replace_check("reason", _REASON_NEW)
    _replace_check("amount_sign", _SIGN_NEW)
    op.create_table(
        "charge_refund_snapshots",
        sa.Column("workspace_id", sa.Text(), nullable=False),
        sa.Column("charge_id", sa.Text(), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("amount_refunded", sa.BigInteger(), nullable=False),
        sa.Column("created", sa.BigInteger(), nullable=False),
        _now(),
        sa.CheckConstraint(
            "amount >= 0 AND amount_refunded >= 0", name=op.f("ck_charge_refund_snapshots_amounts")
        ),
        _workspace_fk("charge_refund_snapshots"),
        sa.PrimaryKeyConstraint(
            "workspace_id", "charge_id", name=op.f("pk_charge_refund_snapshots")
        ),
    )
    op.create_table(
        "refund_failures",
        sa.Column("workspace_id", sa.Text(), nullable=False),
        sa.Column("refund_id", sa.Text(), nullable=False),
        sa.Column("charge_id", sa.Text(), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("status", sa.Text(), nullable=False),
        sa.Column("created", sa.BigInteger(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint("amount >= 0", name=op.f("ck_refund_failures_amount")),
        sa.CheckConstraint(
            "status IN ('failed', 'canceled')", name=op.f("ck_refund_failures_status")
        ),
        _workspace_fk("refund_failures"),
        sa.PrimaryKeyConstraint("workspace_id", "refund_id", name=op.f("pk_refund_failures")),
    )
    op.create_index(
        op.f("ix_refund_failures_workspace_id_charge_id"),
        "refund_failures",
        ["workspace_id", "charge_id"],
    )
    op.create_table(
        "disputes",
        sa.Column("workspace_id", sa.Text(), nullable=False),
        sa.Column("dispute_id", sa.Text(), nullable=False),
        sa.Column("charge_id", sa.Text(), nullable=False),
        sa.Column("payment_intent_id", sa.Text(), nullable=True),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.Text(), nullable=False),
        sa.Column("status", sa.Text(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("created", sa.BigInteger(), nullable=False),
        _now(),
        sa.CheckConstraint("amount >= 0", name=op.f("ck_disputes_amount")),
        _workspace_fk("disputes"),
        sa.PrimaryKeyConstraint("workspace_id", "dispute_id", name=op.f("pk_disputes")),
    )
    op.create_index(
        op.f("ix_disputes_workspace_id_charge_id"), "disputes", ["workspace_id", "charge_id"]
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_disputes_workspace_id_charge_id"), table_name="disputes")
    op.drop_table("disputes")
    op.drop_index(op.f("ix_refund_failures_workspace_id_charge_id"), table_name="refund_failures")
    op.drop_table("refund_failures")
    op.drop_table("charge_refund_snapshots")
    # Rows the old checks refuse cannot go back: a held entry returns to what the scheduler
    # would make of it, a positive clawback cannot be expressed and stops the downgrade.
    op.execute(
        "UPDATE commissions SET status = CASE WHEN hold_until <= now() THEN 'APPROVED'"
        " ELSE 'PENDING' END, reason = NULL WHERE status = 'ON_HOLD'"
    )
    _replace_check("amount_sign", _SIGN_OLD)
    _replace_check("reason", _REASON_OLD)
    _replace_check("status", _STATUS_OLD)
