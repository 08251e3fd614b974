"""attribution source: what named each attribution's referral, on it and on its commissions

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-04

attributions.attribution_source and commissions.attribution_source (dashboard contract,
docs/dashboard.md): click_metadata (metadata.tracClickId), client_reference_id (Payment
Links, Pricing Tables), promotion_code, customer (a repeat purchase), subscription_metadata.
Every row before this migration came from metadata.tracClickId: the default says so, and
adding a column with a constant default does not rewrite the table in PostgreSQL 11+.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

_SOURCES = (
    "click_metadata",
    "client_reference_id",
    "promotion_code",
    "customer",
    "subscription_metadata",
)
_CHECK = "attribution_source IN (" + ", ".join(f"'{s}'" for s in _SOURCES) + ")"


def upgrade() -> None:
    for table in ("attributions", "commissions"):
        op.add_column(
            table,
            sa.Column(
                "attribution_source", sa.Text(), server_default="click_metadata", nullable=False
            ),
        )
        op.create_check_constraint("attribution_source", table, _CHECK)


def downgrade() -> None:
    for table in ("attributions", "commissions"):
        op.drop_constraint("attribution_source", table, type_="check")  # named by convention
        op.drop_column(table, "attribution_source")
