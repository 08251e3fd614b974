"""Connect accounts and presentment currencies

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-04

- `stripe_account` on `webhook_event_log`, `attributions` and `commissions`: the Stripe
  Connect account (acct_...) the event came from, NULL for the platform's own events (and for
  every row before this revision). One name on the three tables.
- `commissions.presentment_amount` and `presentment_currency`: what the customer was shown
  and paid, in their own currency, when Stripe's Adaptive Pricing converted the price (NULL
  otherwise); the commission itself is in the merchant's currency (docs/commissions.md,
  "Money"). Both or neither, the amount never negative.

All nullable without a default: PostgreSQL adds them without rewriting the tables, and the
checks are valid on every existing row (all NULL), so no scan is needed to trust them.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

#: a Stripe account id, as domain.envelope accepts it (the envelope is checked first; this
#: keeps a row written by anything else honest)
_ACCOUNT_CHECK = "stripe_account ~ '^acct_[A-Za-z0-9]{1,59}$'"
_PRESENTMENT_PAIR = "(presentment_amount IS NULL) = (presentment_currency IS NULL)"
_PRESENTMENT_AMOUNT = "presentment_amount >= 0"


def upgrade() -> None:
    for table in ("webhook_event_log", "attributions", "commissions"):
        op.add_column(table, sa.Column("stripe_account", sa.Text(), nullable=True))
        op.create_check_constraint("stripe_account", table, _ACCOUNT_CHECK)
    op.add_column("commissions", sa.Column("presentment_amount", sa.BigInteger(), nullable=True))
    op.add_column("commissions", sa.Column("presentment_currency", sa.Text(), nullable=True))
    op.create_check_constraint("presentment_pair", "commissions", _PRESENTMENT_PAIR)
    op.create_check_constraint("presentment_amount", "commissions", _PRESENTMENT_AMOUNT)


def downgrade() -> None:
    op.drop_constraint("presentment_amount", "commissions", type_="check")
    op.drop_constraint("presentment_pair", "commissions", type_="check")
    op.drop_column("commissions", "presentment_currency")
    op.drop_column("commissions", "presentment_amount")
    for table in ("commissions", "attributions", "webhook_event_log"):
        op.drop_constraint("stripe_account", table, type_="check")
        op.drop_column(table, "stripe_account")
