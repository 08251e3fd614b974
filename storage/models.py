"""The schema, as SQLAlchemy models. Alembic migrations under storage/migrations create it.

Constraints state what must never happen, so that a bug cannot write it:
- composite foreign keys (x_id, workspace_id) keep every row in its parent's workspace (no
  partner in another workspace's program, no click of another workspace's partner);
- CHECKs keep rewards exact (basis points 1..10000, flat amounts positive with a currency).
Dashboards read some of these tables directly; docs/dashboard.md lists that contract.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    DateTime,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

# Named constraints, so migrations can refer to them and errors say which rule was broken.
NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_N_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


def _created_at() -> Mapped[datetime]:
    return mapped_column(DateTime(timezone=True), nullable=False, server_default=func.now())


class Workspace(Base):
    __tablename__ = "workspaces"
    __table_args__ = (CheckConstraint("length(name) between 1 and 200", name="name_length"),)

    id: Mapped[str] = mapped_column(Text, primary_key=True)
    name: Mapped[str] = mapped_column(Text, nullable=False)
    created_at: Mapped[datetime] = _created_at()


class WebhookEndpoint(Base):
    __tablename__ = "webhook_endpoints"
    __table_args__ = (
        UniqueConstraint("id", "workspace_id"),
        Index(None, "workspace_id", "created_at"),
    )

    #: the public id in /api/webhooks/{id}; 160 random bits
    id: Mapped[str] = mapped_column(Text, primary_key=True)
    workspace_id: Mapped[str] = mapped_column(
        Text, ForeignKey("workspaces.id", ondelete="CASCADE"), nullable=False
    )
    enabled: Mapped[bool] = mapped_column(Boolean, nullable=False, server_default="true")
    created_at: Mapped[datetime] = _created_at()


class EndpointSecret(Base):
    """A Stripe signing secret (whsec_...), sealed by storage.crypto. Several may be active."""

    __tablename__ = "endpoint_secrets"
    __table_args__ = (
        ForeignKeyConstraint(
            ["endpoint_id", "workspace_id"],
            ["webhook_endpoints.id", "webhook_endpoints.workspace_id"],
            ondelete="CASCADE",
        ),
        CheckConstraint("octet_length(nonce) = 12", name="nonce_size"),
        Index(None, "endpoint_id"),
        Index(None, "key_id"),
    )

    id: Mapped[str] = mapped_column(Text, primary_key=True)
    endpoint_id: Mapped[str] = mapped_column(Text, nullable=False)
    workspace_id: Mapped[str] = mapped_column(Text, nullable=False)
    #: which master key (TRAAACTION_KEYS id) sealed it; rotation rewrites rows not on the current
    key_id: Mapped[str] = mapped_column(Text, nullable=False)
    nonce: Mapped[bytes] = mapped_column(LargeBinary, nullable=False)
    ciphertext: Mapped[bytes] = mapped_column(LargeBinary, nullable=False)
    #: the last four characters, the most any output ever shows
    last4: Mapped[str] = mapped_column(Text, nullable=False)
    #: after this instant the secret no longer verifies (a rolled secret's 24 h); NULL = never
    expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = _created_at()


class Program(Base):
    __tablename__ = "programs"
    __table_args__ = (
        UniqueConstraint("id", "workspace_id"),
        CheckConstraint("length(name) between 1 and 200", name="name_length"),
        # The IS NOT NULLs matter: a CHECK passes when its expression is NULL, and a NULL
        # percent_bps, flat_amount or currency would make the comparisons below NULL.
        CheckConstraint(
            "(reward_kind = 'percent' AND percent_bps IS NOT NULL"
            " AND percent_bps BETWEEN 1 AND 10000 AND flat_amount IS NULL AND currency IS NULL)"
            " OR (reward_kind = 'flat' AND percent_bps IS NULL AND flat_amount IS NOT NULL"
            " AND flat_amount > 0 AND currency IS NOT NULL AND currency ~ '^[a-z]{3}$')",
            name="reward",
        ),
        CheckConstraint(
            "recurring_months IS NULL OR recurring_months >= 1", name="recurring_months"
        ),
        CheckConstraint("holding_days BETWEEN 0 AND 3650", name="holding_days"),
        Index(None, "workspace_id", "created_at"),
    )

    id: Mapped[str] = mapped_column(Text, primary_key=True)
    workspace_id: Mapped[str] = mapped_column(
        Text, ForeignKey("workspaces.id", ondelete="CASCADE"), nullable=False
    )
    name: Mapped[str] = mapped_column(Text, nullable=False)
    #: 'percent' or 'flat'
    reward_kind: Mapped[str] = mapped_column(Text, nullable=False)
    #: basis points: 1250 = 12.5 %
    percent_bps: Mapped[int | None] = mapped_column(Integer)
    #: minor units of `currency`
    flat_amount: Mapped[int | None] = mapped_column(BigInteger)
    #: lower-case ISO code, for flat rewards
    currency: Mapped[str | None] = mapped_column(Text)
    #: paid months that earn a commission; 1 = first payment only; NULL = lifetime
    recurring_months: Mapped[int | None] = mapped_column(Integer)
    holding_days: Mapped[int] = mapped_column(Integer, nullable=False)
    created_at: Mapped[datetime] = _created_at()


class Partner(Base):
    __tablename__ = "partners"
    __table_args__ = (
        UniqueConstraint("id", "workspace_id"),
        ForeignKeyConstraint(
            ["program_id", "workspace_id"], ["programs.id", "programs.workspace_id"]
        ),
        CheckConstraint("length(name) between 1 and 200", name="name_length"),
        Index(None, "workspace_id", "created_at"),
        Index(None, "program_id"),
    )

    id: Mapped[str] = mapped_column(Text, primary_key=True)
    workspace_id: Mapped[str] = mapped_column(
        Text, ForeignKey("workspaces.id", ondelete="CASCADE"), nullable=False
    )
    program_id: Mapped[str] = mapped_column(Text, nullable=False)
    name: Mapped[str] = mapped_column(Text, nullable=False)
    created_at: Mapped[datetime] = _created_at()


class Click(Base):
    """A click on a partner's link; its id is the `tracClickId` a checkout carries."""

    __tablename__ = "clicks"
    __table_args__ = (
        UniqueConstraint("workspace_id", "id"),
        ForeignKeyConstraint(
            ["partner_id", "workspace_id"], ["partners.id", "partners.workspace_id"]
        ),
        Index(None, "partner_id", "created_at"),
    )

    id: Mapped[str] = mapped_column(Text, primary_key=True)
    workspace_id: Mapped[str] = mapped_column(
        Text, ForeignKey("workspaces.id", ondelete="CASCADE"), nullable=False
    )
    partner_id: Mapped[str] = mapped_column(Text, nullable=False)
    created_at: Mapped[datetime] = _created_at()


# --- The ledger (migration 0002). docs/dashboard.md lists the columns dashboards may read. ---

COMMISSION_KINDS = ("SALE", "RECURRING", "CLAWBACK")
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


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


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
    created_at: Mapped[datetime] = _created_at()


class SubscriptionEnd(Base):
    """When a subscription ended (customer.subscription.deleted), even before its checkout."""

    __tablename__ = "subscription_ends"

    workspace_id: Mapped[str] = mapped_column(
        Text, ForeignKey("workspaces.id", ondelete="CASCADE"), primary_key=True
    )
    subscription_id: Mapped[str] = mapped_column(Text, primary_key=True)
    ended_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    created_at: Mapped[datetime] = _created_at()


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
        CheckConstraint(_in("kind", COMMISSION_KINDS), name="kind"),
        CheckConstraint(_in("status", COMMISSION_STATUSES), name="status"),
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
    created_at: Mapped[datetime] = _created_at()
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
    created_at: Mapped[datetime] = _created_at()
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)


class WebhookEventLog(Base):
    """One row per delivery outcome (aggregated for rejections). Dashboards read it."""

    __tablename__ = "webhook_event_log"
    __table_args__ = (
        CheckConstraint(_in("outcome", LOG_OUTCOMES), name="outcome"),
        CheckConstraint("count >= 1", name="count"),
        Index(None, "workspace_id", "created_at"),
        Index(None, "workspace_id", "outcome", "created_at"),
        Index(None, "workspace_id", "stripe_event_id"),
        # The operator console browses the whole log, newest first (migration 0003).
        Index(None, "created_at", "id"),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    workspace_id: Mapped[str | None] = mapped_column(Text)
    endpoint_id: Mapped[str | None] = mapped_column(Text)
    stripe_event_id: Mapped[str | None] = mapped_column(Text)
    event_type: Mapped[str | None] = mapped_column(Text)
    livemode: Mapped[bool | None] = mapped_column(Boolean)
    outcome: Mapped[str] = mapped_column(Text, nullable=False)
    reason: Mapped[str | None] = mapped_column(Text)
    attempt: Mapped[int | None] = mapped_column(Integer)
    #: deliveries this row stands for (rejections are aggregated per endpoint/reason/minute)
    count: Mapped[int] = mapped_column(Integer, nullable=False, server_default="1")
    commission_ids: Mapped[list[str]] = mapped_column(
        ARRAY(Text), nullable=False, server_default="{}"
    )
    #: small structured extras: client address samples, error class, will_retry
    detail: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    #: the Redis stream entry a row came from (log writer); unique, so a redelivered entry
    #: cannot make a second row
    source_id: Mapped[str | None] = mapped_column(Text, unique=True)
    created_at: Mapped[datetime] = _created_at()


class WorkspaceApiKey(Base):
    """A workspace's optional Stripe restricted API key, sealed like the signing secrets."""

    __tablename__ = "workspace_api_keys"

    workspace_id: Mapped[str] = mapped_column(
        Text, ForeignKey("workspaces.id", ondelete="CASCADE"), primary_key=True
    )
    key_id: Mapped[str] = mapped_column(Text, nullable=False)
    nonce: Mapped[bytes] = mapped_column(LargeBinary, nullable=False)
    ciphertext: Mapped[bytes] = mapped_column(LargeBinary, nullable=False)
    last4: Mapped[str] = mapped_column(Text, nullable=False)
    created_at: Mapped[datetime] = _created_at()


# --- Recovery (migration 0003): dead letters and retained payloads. ---

DEAD_LETTER_STATUSES = ("open", "replayed", "discarded")


class DeadLetter(Base):
    """A delivery the workers gave up on, kept durably until an operator replays or discards it.

    One row per (workspace, Stripe event): a replay that dead-letters again reopens the row
    with its new error. Dramatiq's own dead-letter set in Redis forgets after 7 days and
    cannot be searched by event; this table does both.
    """

    __tablename__ = "dead_letters"
    __table_args__ = (
        CheckConstraint(_in("status", DEAD_LETTER_STATUSES), name="status"),
        CheckConstraint("attempts >= 1", name="attempts"),
        CheckConstraint(
            "status = 'open' OR status_changed_at IS NOT NULL", name="status_changed_at"
        ),
        CheckConstraint(
            "status <> 'discarded' OR status_reason IS NOT NULL", name="discard_reason"
        ),
        UniqueConstraint("workspace_id", "stripe_event_id"),
        Index(None, "status", "last_failed_at"),
        Index(None, "workspace_id", "last_failed_at"),
    )

    id: Mapped[str] = mapped_column(Text, primary_key=True)
    #: no foreign key: a dead letter outlives even its workspace's deletion (evidence kept)
    workspace_id: Mapped[str] = mapped_column(Text, nullable=False)
    endpoint_id: Mapped[str] = mapped_column(Text, nullable=False)
    stripe_event_id: Mapped[str] = mapped_column(Text, nullable=False)
    event_type: Mapped[str] = mapped_column(Text, nullable=False)
    livemode: Mapped[bool | None] = mapped_column(Boolean)
    actor_name: Mapped[str] = mapped_column(Text, nullable=False)
    queue_name: Mapped[str] = mapped_column(Text, nullable=False)
    #: Dramatiq's id of the message that was given up on
    message_id: Mapped[str] = mapped_column(Text, nullable=False)
    #: that Dramatiq message (options included) without its body, which is the next column
    message: Mapped[dict[str, Any]] = mapped_column(JSONB, nullable=False)
    #: the raw, verified Stripe event as the ingress received it
    body: Mapped[str] = mapped_column(Text, nullable=False)
    error_class: Mapped[str] = mapped_column(Text, nullable=False)
    error_message: Mapped[str] = mapped_column(Text, nullable=False)
    #: the last frames of the final failure's traceback, secrets redacted
    traceback: Mapped[str] = mapped_column(Text, nullable=False, server_default="")
    attempts: Mapped[int] = mapped_column(Integer, nullable=False)
    first_failed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    last_failed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    status: Mapped[str] = mapped_column(Text, nullable=False, server_default="open")
    #: why it was discarded, or how its replay ended (processed, skipped: reason, duplicate)
    status_reason: Mapped[str | None] = mapped_column(Text)
    status_changed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    #: times it was dead-lettered (a replay that fails again adds one)
    times_dead_lettered: Mapped[int] = mapped_column(Integer, nullable=False, server_default="1")
    created_at: Mapped[datetime] = _created_at()
    updated_at: Mapped[datetime] = _created_at()


class EventPayload(Base):
    """The raw body of every applied event, kept PAYLOAD_RETENTION_DAYS for `events replay`
    (and for operators to see what Stripe sent); pruned by the scheduler."""

    __tablename__ = "event_payloads"
    __table_args__ = (Index(None, "received_at"),)

    workspace_id: Mapped[str] = mapped_column(
        Text, ForeignKey("workspaces.id", ondelete="CASCADE"), primary_key=True
    )
    stripe_event_id: Mapped[str] = mapped_column(Text, primary_key=True)
    endpoint_id: Mapped[str] = mapped_column(Text, nullable=False)
    event_type: Mapped[str] = mapped_column(Text, nullable=False)
    body: Mapped[str] = mapped_column(Text, nullable=False)
    received_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), nullable=False, server_default=func.now()
    )
