"""The ledger (migration 0002). docs/dashboard.md lists the columns dashboards may read."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    DateTime,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from storage.models.base import Base, check_in, timestamp_now

COMMISSION_KINDS = ("SALE", "RECURRING", "CLAWBACK")
#: a Stripe Connect account id (migration 0007; domain.envelope checks the same first)
STRIPE_ACCOUNT_CHECK = "stripe_account ~ '^acct_[A-Za-z0-9]{1,59}$'"
#: domain.decisions.AttributionSource's values (migration 0004)
ATTRIBUTION_SOURCES = (
    "click_metadata",
    "client_reference_id",
    "promotion_code",
    "customer",
    "subscription_metadata",
)
COMMISSION_STATUSES = ("PENDING", "APPROVED", "PAID", "CANCELED", "ON_HOLD")
#: the statuses that carry a reason (why it was canceled, why it is held; migration 0006)
REASONED_STATUSES = ("CANCELED", "ON_HOLD")
LOG_OUTCOMES = (
    "processed",
    "skipped",
    "failed",
    "dead_lettered",
    "ignored",
    "duplicate",
    "rejected",
)


class Attribution(Base):
    """A completed checkout tied to a click: what later invoices and refunds are matched to."""

    __tablename__ = "attributions"
    __table_args__ = (
        UniqueConstraint("workspace_id", "checkout_session_id"),
        ForeignKeyConstraint(["workspace_id", "click_id"], ["clicks.workspace_id", "clicks.id"]),
        ForeignKeyConstraint(
            ["partner_id", "workspace_id"], ["partners.id", "partners.workspace_id"]
        ),
        ForeignKeyConstraint(
            ["program_id", "workspace_id"], ["programs.id", "programs.workspace_id"]
        ),
        Index(None, "workspace_id", "subscription_id"),
        Index(None, "workspace_id", "payment_intent_id"),
        Index(None, "workspace_id", "customer_id"),
        CheckConstraint(
            check_in("attribution_source", ATTRIBUTION_SOURCES), name="attribution_source"
        ),
        # An API-created subscription's attribution has no checkout: keyed by the
        # subscription (migration 0005).
        CheckConstraint(
            "checkout_session_id IS NOT NULL OR subscription_id IS NOT NULL", name="keyed"
        ),
        CheckConstraint(STRIPE_ACCOUNT_CHECK, name="stripe_account"),
        Index(
            "uq_attributions_workspace_id_subscription_id_without_checkout",
            "workspace_id",
            "subscription_id",
            unique=True,
            postgresql_where=text("checkout_session_id IS NULL"),
        ),
    )

    id: Mapped[str] = mapped_column(Text, primary_key=True)
    workspace_id: Mapped[str] = mapped_column(
        Text, ForeignKey("workspaces.id", ondelete="CASCADE"), nullable=False
    )
    #: NULL when no click named the referral (a promotion code, migration 0005)
    click_id: Mapped[str | None] = mapped_column(Text)
    partner_id: Mapped[str] = mapped_column(Text, nullable=False)
    program_id: Mapped[str] = mapped_column(Text, nullable=False)
    livemode: Mapped[bool] = mapped_column(Boolean, nullable=False)
    #: NULL for an API-created subscription's (attributed by its invoice, migration 0005)
    checkout_session_id: Mapped[str | None] = mapped_column(Text)
    customer_id: Mapped[str | None] = mapped_column(Text)
    subscription_id: Mapped[str | None] = mapped_column(Text)
    payment_intent_id: Mapped[str | None] = mapped_column(Text)
    invoice_id: Mapped[str | None] = mapped_column(Text)
    #: start of the first paid service period (checkout paid: its event's created time; after
    #: a free trial: the earliest paid invoice's service period start); NULL until known
    anchor_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    #: the checkout was a free trial (no payment): the anchor comes from invoices
    trial: Mapped[bool] = mapped_column(Boolean, nullable=False)
    #: what named the referral (docs/commissions.md, "Attribution")
    attribution_source: Mapped[str] = mapped_column(
        Text, nullable=False, server_default="click_metadata"
    )
    #: the Stripe Connect account of its checkout (or invoice); NULL: the platform's own
    stripe_account: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = timestamp_now()


class SubscriptionEnd(Base):
    """When a subscription ended (customer.subscription.deleted), even before its checkout."""

    __tablename__ = "subscription_ends"

    workspace_id: Mapped[str] = mapped_column(
        Text, ForeignKey("workspaces.id", ondelete="CASCADE"), primary_key=True
    )
    subscription_id: Mapped[str] = mapped_column(Text, primary_key=True)
    ended_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    created_at: Mapped[datetime] = timestamp_now()


class Commission(Base):
    """One ledger entry. Amounts are integers in the minor unit of `currency`."""

    __tablename__ = "commissions"
    __table_args__ = (
        UniqueConstraint("workspace_id", "business_key"),
        ForeignKeyConstraint(["workspace_id", "click_id"], ["clicks.workspace_id", "clicks.id"]),
        ForeignKeyConstraint(
            ["partner_id", "workspace_id"], ["partners.id", "partners.workspace_id"]
        ),
        ForeignKeyConstraint(
            ["program_id", "workspace_id"], ["programs.id", "programs.workspace_id"]
        ),
        CheckConstraint(check_in("kind", COMMISSION_KINDS), name="kind"),
        CheckConstraint(check_in("status", COMMISSION_STATUSES), name="status"),
        CheckConstraint(
            check_in("attribution_source", ATTRIBUTION_SOURCES), name="attribution_source"
        ),
        CheckConstraint(
            # A CLAWBACK takes back (negative) or gives back what an earlier one took
            # (positive: a failed refund, a won dispute; migration 0006), never 0.
            "(kind = 'CLAWBACK' AND amount <> 0 AND reverses_commission_id IS NOT NULL)"
            " OR (kind <> 'CLAWBACK' AND amount >= 0 AND reverses_commission_id IS NULL)",
            name="amount_sign",
        ),
        CheckConstraint(
            "(kind = 'RECURRING' AND month IS NOT NULL AND month >= 1)"
            " OR (kind <> 'RECURRING' AND month IS NULL)",
            name="month",
        ),
        CheckConstraint(
            "(status IN ('CANCELED', 'ON_HOLD')) = (reason IS NOT NULL)", name="reason"
        ),
        CheckConstraint("sale_amount >= 0", name="sale_amount"),
        # migration 0007
        CheckConstraint(STRIPE_ACCOUNT_CHECK, name="stripe_account"),
        CheckConstraint(
            "(presentment_amount IS NULL) = (presentment_currency IS NULL)",
            name="presentment_pair",
        ),
        CheckConstraint("presentment_amount >= 0", name="presentment_amount"),
        Index(None, "workspace_id", "created_at"),
        Index(None, "workspace_id", "partner_id", "created_at"),
        Index(None, "workspace_id", "status", "created_at"),
        Index(None, "workspace_id", "subscription_id"),
        Index(None, "workspace_id", "payment_intent_id"),
        Index(None, "workspace_id", "invoice_id"),
        Index(
            "ix_commissions_pending_hold_until",
            "hold_until",
            postgresql_where=text("status = 'PENDING'"),
        ),
    )

    id: Mapped[str] = mapped_column(Text, primary_key=True)
    workspace_id: Mapped[str] = mapped_column(
        Text, ForeignKey("workspaces.id", ondelete="CASCADE"), nullable=False
    )
    program_id: Mapped[str] = mapped_column(Text, nullable=False)
    partner_id: Mapped[str] = mapped_column(Text, nullable=False)
    #: NULL when no click named the referral (a promotion code, migration 0005)
    click_id: Mapped[str | None] = mapped_column(Text)
    attribution_id: Mapped[str] = mapped_column(Text, ForeignKey("attributions.id"), nullable=False)
    kind: Mapped[str] = mapped_column(Text, nullable=False)
    #: RECURRING: the paid month it rewards (1 = the checkout's); NULL otherwise
    month: Mapped[int | None] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(Text, nullable=False)
    #: what the entry is worth now (a partial refund of an unpaid entry lowers it)
    amount: Mapped[int] = mapped_column(BigInteger, nullable=False)
    #: what it was worth when created; refund shares are computed from it
    original_amount: Mapped[int] = mapped_column(BigInteger, nullable=False)
    currency: Mapped[str] = mapped_column(Text, nullable=False)
    #: the commissionable amount of the sale (tax excluded), in `sale_currency`
    sale_amount: Mapped[int] = mapped_column(BigInteger, nullable=False)
    sale_currency: Mapped[str] = mapped_column(Text, nullable=False)
    #: Adaptive Pricing: what the customer paid in their own currency, for display (the
    #: sale's presentment_details, or its currency before currency_conversion); NULL when
    #: the customer paid in the merchant's currency (migration 0007)
    presentment_amount: Mapped[int | None] = mapped_column(BigInteger)
    presentment_currency: Mapped[str | None] = mapped_column(Text)
    #: the Stripe Connect account the sale was made on; NULL: the platform's own (0007)
    stripe_account: Mapped[str | None] = mapped_column(Text)
    livemode: Mapped[bool] = mapped_column(Boolean, nullable=False)
    #: why it was CANCELED (refunded, dispute_lost, subscription_canceled,
    #: recurring_limit_reached) or is ON_HOLD (disputed, manual); NULL in any other status
    reason: Mapped[str | None] = mapped_column(Text)
    reverses_commission_id: Mapped[str | None] = mapped_column(Text, ForeignKey("commissions.id"))
    #: the rule that makes it unique: checkout:<session>, invoice:<invoice>, clawback:<id>:<n>
    business_key: Mapped[str] = mapped_column(Text, nullable=False)
    #: its attribution's source, copied (a clawback copies the entry it reverses)
    attribution_source: Mapped[str] = mapped_column(
        Text, nullable=False, server_default="click_metadata"
    )
    checkout_session_id: Mapped[str | None] = mapped_column(Text)
    subscription_id: Mapped[str | None] = mapped_column(Text)
    invoice_id: Mapped[str | None] = mapped_column(Text)
    payment_intent_id: Mapped[str | None] = mapped_column(Text)
    charge_id: Mapped[str | None] = mapped_column(Text)
    customer_id: Mapped[str | None] = mapped_column(Text)
    #: RECURRING: start of the service period paid for (renumbering needs it)
    service_period_start: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    #: PENDING until then (the program's holding period), then APPROVED by the scheduler
    hold_until: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    approved_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    paid_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    canceled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = timestamp_now()
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), nullable=False, server_default=func.now(), onupdate=func.now()
    )


class AppliedEvent(Base):
    """A (workspace, Stripe event id) whose effects are committed: never applied again."""

    __tablename__ = "applied_events"

    workspace_id: Mapped[str] = mapped_column(
        Text, ForeignKey("workspaces.id", ondelete="CASCADE"), primary_key=True
    )
    stripe_event_id: Mapped[str] = mapped_column(Text, primary_key=True)
    event_type: Mapped[str] = mapped_column(Text, nullable=False)
    applied_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), nullable=False, server_default=func.now()
    )


class ParkedEvent(Base):
    """An event that needs something not yet seen (an attribution, a sale), kept for a while."""

    __tablename__ = "parked_events"
    __table_args__ = (
        UniqueConstraint("workspace_id", "stripe_event_id", "wait_for", "wait_key"),
        Index(None, "workspace_id", "wait_for", "wait_key"),
        Index(None, "expires_at"),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    workspace_id: Mapped[str] = mapped_column(
        Text, ForeignKey("workspaces.id", ondelete="CASCADE"), nullable=False
    )
    endpoint_id: Mapped[str] = mapped_column(Text, nullable=False)
    stripe_event_id: Mapped[str] = mapped_column(Text, nullable=False)
    event_type: Mapped[str] = mapped_column(Text, nullable=False)
    #: subscription | payment_intent | charge | invoice | checkout_session
    wait_for: Mapped[str] = mapped_column(Text, nullable=False)
    wait_key: Mapped[str] = mapped_column(Text, nullable=False)
    #: the verified raw body, to apply it later through the same rules
    body: Mapped[str] = mapped_column(Text, nullable=False)
    created_at: Mapped[datetime] = timestamp_now()
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)


class ChargeRefundSnapshot(Base):
    """The latest charge.refunded seen of a charge (greatest (created, amount_refunded)):
    domain.charge_losses recomputes its commissions from it (migration 0006)."""

    __tablename__ = "charge_refund_snapshots"
    __table_args__ = (CheckConstraint("amount >= 0 AND amount_refunded >= 0", name="amounts"),)

    workspace_id: Mapped[str] = mapped_column(
        Text, ForeignKey("workspaces.id", ondelete="CASCADE"), primary_key=True
    )
    charge_id: Mapped[str] = mapped_column(Text, primary_key=True)
    #: the charge's amount, minor units (tax included)
    amount: Mapped[int] = mapped_column(BigInteger, nullable=False)
    #: cumulative over every refund of the charge, as Stripe told it then
    amount_refunded: Mapped[int] = mapped_column(BigInteger, nullable=False)
    #: the event's `created`, Unix seconds (what orders two snapshots)
    created: Mapped[int] = mapped_column(BigInteger, nullable=False)
    updated_at: Mapped[datetime] = timestamp_now()


class RefundFailure(Base):
    """A refund that failed or was canceled (charge.refund.updated): its money came back
    (migration 0006)."""

    __tablename__ = "refund_failures"
    __table_args__ = (
        CheckConstraint("amount >= 0", name="amount"),
        CheckConstraint("status IN ('failed', 'canceled')", name="status"),
        Index(None, "workspace_id", "charge_id"),
    )

    workspace_id: Mapped[str] = mapped_column(
        Text, ForeignKey("workspaces.id", ondelete="CASCADE"), primary_key=True
    )
    refund_id: Mapped[str] = mapped_column(Text, primary_key=True)
    charge_id: Mapped[str] = mapped_column(Text, nullable=False)
    amount: Mapped[int] = mapped_column(BigInteger, nullable=False)
    status: Mapped[str] = mapped_column(Text, nullable=False)
    #: the event's `created`, Unix seconds
    created: Mapped[int] = mapped_column(BigInteger, nullable=False)
    created_at: Mapped[datetime] = timestamp_now()


class Dispute(Base):
    """A dispute's latest known state (charge.dispute.*): a closed status is never replaced by
    an open one, then the later event wins (migration 0006)."""

    __tablename__ = "disputes"
    __table_args__ = (
        CheckConstraint("amount >= 0", name="amount"),
        Index(None, "workspace_id", "charge_id"),
    )

    workspace_id: Mapped[str] = mapped_column(
        Text, ForeignKey("workspaces.id", ondelete="CASCADE"), primary_key=True
    )
    dispute_id: Mapped[str] = mapped_column(Text, primary_key=True)
    charge_id: Mapped[str] = mapped_column(Text, nullable=False)
    payment_intent_id: Mapped[str | None] = mapped_column(Text)
    #: the disputed amount, minor units of `currency`
    amount: Mapped[int] = mapped_column(BigInteger, nullable=False)
    currency: Mapped[str] = mapped_column(Text, nullable=False)
    #: Stripe's status: open ones (needs_response, under_review, warning_...) or closed
    #: (won, lost, warning_closed, prevented)
    status: Mapped[str] = mapped_column(Text, nullable=False)
    reason: Mapped[str | None] = mapped_column(Text)
    #: the event's `created`, Unix seconds
    created: Mapped[int] = mapped_column(BigInteger, nullable=False)
    updated_at: Mapped[datetime] = timestamp_now()
