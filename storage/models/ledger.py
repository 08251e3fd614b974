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
#: domain.decisions.AttributionSource's values (migration 0004)
ATTRIBUTION_SOURCES = (
    "click_metadata",
    "client_reference_id",
    "promotion_code",
    "customer",
    "subscription_metadata",
)
COMMISSION_STATUSES = ("PENDING", "APPROVED", "PAID", "CANCELED")
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
    )

    id: Mapped[str] = mapped_column(Text, primary_key=True)
    workspace_id: Mapped[str] = mapped_column(
        Text, ForeignKey("workspaces.id", ondelete="CASCADE"), nullable=False
    )
    click_id: Mapped[str] = mapped_column(Text, nullable=False)
    partner_id: Mapped[str] = mapped_column(Text, nullable=False)
    program_id: Mapped[str] = mapped_column(Text, nullable=False)
    livemode: Mapped[bool] = mapped_column(Boolean, nullable=False)
    checkout_session_id: Mapped[str] = mapped_column(Text, nullable=False)
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
            "(kind = 'CLAWBACK' AND amount < 0 AND reverses_commission_id IS NOT NULL)"
            " OR (kind <> 'CLAWBACK' AND amount >= 0 AND reverses_commission_id IS NULL)",
            name="amount_sign",
        ),
        CheckConstraint(
            "(kind = 'RECURRING' AND month IS NOT NULL AND month >= 1)"
            " OR (kind <> 'RECURRING' AND month IS NULL)",
            name="month",
        ),
        CheckConstraint("(status = 'CANCELED') = (reason IS NOT NULL)", name="reason"),
        CheckConstraint("sale_amount >= 0", name="sale_amount"),
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
    click_id: Mapped[str] = mapped_column(Text, nullable=False)
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
    livemode: Mapped[bool] = mapped_column(Boolean, nullable=False)
    #: why it was CANCELED: refunded, subscription_canceled, recurring_limit_reached
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
    #: subscription | payment_intent | charge
    wait_for: Mapped[str] = mapped_column(Text, nullable=False)
    wait_key: Mapped[str] = mapped_column(Text, nullable=False)
    #: the verified raw body, to apply it later through the same rules
    body: Mapped[str] = mapped_column(Text, nullable=False)
    created_at: Mapped[datetime] = timestamp_now()
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
