"""Workspaces, their endpoints and secrets, programs, partners and clicks (migration 0001), and
partners' promotion codes (migration 0005)."""

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
    LargeBinary,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from storage.models.base import Base, timestamp_now


class Workspace(Base):
    __tablename__ = "workspaces"
    __table_args__ = (CheckConstraint("length(name) between 1 and 200", name="name_length"),)

    id: Mapped[str] = mapped_column(Text, primary_key=True)
    name: Mapped[str] = mapped_column(Text, nullable=False)
    created_at: Mapped[datetime] = timestamp_now()


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
    created_at: Mapped[datetime] = timestamp_now()


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
    created_at: Mapped[datetime] = timestamp_now()


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
        CheckConstraint("click_window_days BETWEEN 1 AND 3650", name="click_window_days"),
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
    #: days a click names a sale for (sources 1-2 of docs/commissions.md, "Attribution")
    click_window_days: Mapped[int] = mapped_column(Integer, nullable=False, server_default="90")
    #: a repeat purchase of a referred customer earns nothing (skipped repeat_purchase)
    first_purchase_only: Mapped[bool] = mapped_column(
        Boolean, nullable=False, server_default="false"
    )
    created_at: Mapped[datetime] = timestamp_now()


class Partner(Base):
    __tablename__ = "partners"
    __table_args__ = (
        UniqueConstraint("id", "workspace_id"),
        ForeignKeyConstraint(
            ["program_id", "workspace_id"], ["programs.id", "programs.workspace_id"]
        ),
        CheckConstraint("length(name) between 1 and 200", name="name_length"),
        CheckConstraint(
            "length(email) BETWEEN 3 AND 320 AND position('@' in email) > 1", name="email"
        ),
        Index(None, "workspace_id", "created_at"),
        Index(None, "program_id"),
    )

    id: Mapped[str] = mapped_column(Text, primary_key=True)
    workspace_id: Mapped[str] = mapped_column(
        Text, ForeignKey("workspaces.id", ondelete="CASCADE"), nullable=False
    )
    program_id: Mapped[str] = mapped_column(Text, nullable=False)
    name: Mapped[str] = mapped_column(Text, nullable=False)
    created_at: Mapped[datetime] = timestamp_now()
    #: for self-referral checks (migration 0008); None when not given
    email: Mapped[str | None] = mapped_column(Text)


class Link(Base):
    """A partner's link: PUBLIC_BASE_URL/r/{key} redirects to `destination` and records a
    click (migration 0008). Keys are unique in the deployment; links are disabled, never
    deleted."""

    __tablename__ = "links"
    __table_args__ = (
        ForeignKeyConstraint(
            ["partner_id", "workspace_id"], ["partners.id", "partners.workspace_id"]
        ),
        CheckConstraint("key ~ '^[A-Za-z0-9_-]{1,64}$'", name="key"),
        CheckConstraint(
            "destination ~ '^https?://' AND length(destination) <= 2048", name="destination"
        ),
        Index(None, "partner_id"),
        Index(None, "workspace_id", "created_at"),
    )

    id: Mapped[str] = mapped_column(Text, primary_key=True)
    workspace_id: Mapped[str] = mapped_column(
        Text, ForeignKey("workspaces.id", ondelete="CASCADE"), nullable=False
    )
    partner_id: Mapped[str] = mapped_column(Text, nullable=False)
    key: Mapped[str] = mapped_column(Text, nullable=False, unique=True)
    destination: Mapped[str] = mapped_column(Text, nullable=False)
    disabled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = timestamp_now()


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
    created_at: Mapped[datetime] = timestamp_now()
    #: what the /r/{key} redirect recorded (migration 0008); None for CLI-made clicks
    link_id: Mapped[str | None] = mapped_column(Text, ForeignKey("links.id"), index=True)
    user_agent: Mapped[str | None] = mapped_column(Text)
    referrer: Mapped[str | None] = mapped_column(Text)
    #: a keyed hash of the client's IP, never the IP itself
    ip_hash: Mapped[str | None] = mapped_column(Text)


class PartnerPromotionCode(Base):
    """A Stripe promotion code (promo_...) that names its partner: one partner per code in a
    workspace (the primary key), in the partner's workspace (the composite foreign key)."""

    __tablename__ = "partner_promotion_codes"
    __table_args__ = (
        ForeignKeyConstraint(
            ["partner_id", "workspace_id"],
            ["partners.id", "partners.workspace_id"],
            ondelete="CASCADE",
        ),
        CheckConstraint("promotion_code_id ~ '^promo_[!-~]{1,200}$'", name="promotion_code_id"),
        Index(None, "partner_id"),
    )

    workspace_id: Mapped[str] = mapped_column(
        Text, ForeignKey("workspaces.id", ondelete="CASCADE"), primary_key=True
    )
    promotion_code_id: Mapped[str] = mapped_column(Text, primary_key=True)
    partner_id: Mapped[str] = mapped_column(Text, nullable=False)
    created_at: Mapped[datetime] = timestamp_now()
