"""partner links, what a click recorded, partners' emails

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-07

- `links`: a partner's link, `PUBLIC_BASE_URL/r/{key}` redirecting to `destination`; keys
  unique in the deployment (the redirect knows no workspace before it reads one), disabled
  rather than deleted (clicks keep pointing at them).
- `clicks.link_id`, `user_agent`, `referrer`, `ip_hash`: what the redirect recorded (NULL for
  clicks made by `traaaction click create`). The client's IP is kept only as a keyed hash,
  never in clear.
- `partners.email`: for self-referral checks (a sale whose customer is the partner).

All additions nullable or new: PostgreSQL adds them without rewriting the tables.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

#: short, URL-safe, case-sensitive: what fits in /r/{key} as it is
_KEY_CHECK = "key ~ '^[A-Za-z0-9_-]{1,64}$'"
_DESTINATION_CHECK = "destination ~ '^https?://' AND length(destination) <= 2048"
_EMAIL_CHECK = "length(email) BETWEEN 3 AND 320 AND position('@' in email) > 1"


def upgrade() -> None:
    op.create_table(
        "links",
        sa.Column("id", sa.Text(), nullable=False),
        sa.Column("workspace_id", sa.Text(), nullable=False),
        sa.Column("partner_id", sa.Text(), nullable=False),
        sa.Column("key", sa.Text(), nullable=False),
        sa.Column("destination", sa.Text(), nullable=False),
        sa.Column("disabled_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint(_KEY_CHECK, name=op.f("ck_links_key")),
        sa.CheckConstraint(_DESTINATION_CHECK, name=op.f("ck_links_destination")),
        sa.ForeignKeyConstraint(
            ["partner_id", "workspace_id"],
            ["partners.id", "partners.workspace_id"],
            name=op.f("fk_links_partner_id_workspace_id"),
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_links_workspace_id"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_links")),
        sa.UniqueConstraint("key", name=op.f("uq_links_key")),
    )
    op.create_index(op.f("ix_links_partner_id"), "links", ["partner_id"], unique=False)
    op.create_index(
        op.f("ix_links_workspace_id_created_at"), "links", ["workspace_id", "created_at"]
    )
    op.add_column("clicks", sa.Column("link_id", sa.Text(), nullable=True))
    op.add_column("clicks", sa.Column("user_agent", sa.Text(), nullable=True))
    op.add_column("clicks", sa.Column("referrer", sa.Text(), nullable=True))
    op.add_column("clicks", sa.Column("ip_hash", sa.Text(), nullable=True))
    op.create_foreign_key(op.f("fk_clicks_link_id"), "clicks", "links", ["link_id"], ["id"])
    op.create_index(op.f("ix_clicks_link_id"), "clicks", ["link_id"], unique=False)
    op.add_column("partners", sa.Column("email", sa.Text(), nullable=True))
    op.create_check_constraint("email", "partners", _EMAIL_CHECK)


def downgrade() -> None:
    op.drop_constraint("email", "partners", type_="check")
    op.drop_column("partners", "email")
    op.drop_index(op.f("ix_clicks_link_id"), table_name="clicks")
    op.drop_constraint(op.f("fk_clicks_link_id"), "clicks", type_="foreignkey")
    for column in ("ip_hash", "referrer", "user_agent", "link_id"):
        op.drop_column("clicks", column)
    op.drop_index(op.f("ix_links_workspace_id_created_at"), table_name="links")
    op.drop_index(op.f("ix_links_partner_id"), table_name="links")
    op.drop_table("links")
