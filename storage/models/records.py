"""What the pipeline records beside the ledger: the event log, dead letters, retained
payloads, and the workspaces' Stripe API keys."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    Text,
    UniqueConstraint,
    func,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import Mapped, mapped_column

from storage.models.base import Base, check_in, timestamp_now
from storage.models.ledger import LOG_OUTCOMES, STRIPE_ACCOUNT_CHECK


class WebhookEventLog(Base):
    """One row per delivery outcome (aggregated for rejections). Dashboards read it."""

    __tablename__ = "webhook_event_log"
    __table_args__ = (
        CheckConstraint(check_in("outcome", LOG_OUTCOMES), name="outcome"),
        CheckConstraint("count >= 1", name="count"),
        Index(None, "workspace_id", "created_at"),
        Index(None, "workspace_id", "outcome", "created_at"),
        Index(None, "workspace_id", "stripe_event_id"),
        # The operator console browses the whole log, newest first (migration 0003).
        Index(None, "created_at", "id"),
        CheckConstraint(STRIPE_ACCOUNT_CHECK, name="stripe_account"),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    workspace_id: Mapped[str | None] = mapped_column(Text)
    endpoint_id: Mapped[str | None] = mapped_column(Text)
    stripe_event_id: Mapped[str | None] = mapped_column(Text)
    event_type: Mapped[str | None] = mapped_column(Text)
    livemode: Mapped[bool | None] = mapped_column(Boolean)
    #: the Stripe Connect account the event came from; NULL: the platform's own, a rejection,
    #: or a row the ingress wrote (migration 0007)
    stripe_account: Mapped[str | None] = mapped_column(Text)
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
    created_at: Mapped[datetime] = timestamp_now()


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
    created_at: Mapped[datetime] = timestamp_now()


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
        CheckConstraint(check_in("status", DEAD_LETTER_STATUSES), name="status"),
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
    created_at: Mapped[datetime] = timestamp_now()
    updated_at: Mapped[datetime] = timestamp_now()


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
