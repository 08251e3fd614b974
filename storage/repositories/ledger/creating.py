"""New ledger rows: an attribution, a commission, a clawback (each at most once: business
keys and the checkout session's uniqueness make a second try find the first)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from domain.decisions import CreateAttribution, CreateClawback, CreateCommission
from storage import ids
from storage.db import driver_connection
from storage.errors import InvariantViolation
from storage.models import Commission
from storage.repositories.ledger import statements
from storage.repositories.ledger.context import EventContext, to_datetime


@dataclass(frozen=True, slots=True)
class Credited:
    """Whom an attribution credits and its program's holding days: what a commission copies."""

    attribution_id: str
    program_id: str
    partner_id: str
    #: None when no click named the referral (a promotion code; migration 0005)
    click_id: str | None
    holding_days: int
    #: the attribution's source (domain.decisions.AttributionSource), copied to commissions
    source: str

    @classmethod
    def of(cls, attribution_id: str, command: CreateAttribution) -> Credited:
        referral = command.referral
        return cls(
            attribution_id,
            referral.program_id,
            referral.partner_id,
            referral.click_id,
            referral.terms.holding_days,
            command.source.value,
        )


def attribution_params(ctx: EventContext, command: CreateAttribution) -> dict[str, Any]:
    links = command.links
    if links.checkout_session_id is None and links.subscription_id is None:
        raise InvariantViolation("an attribution is keyed by its checkout session or subscription")
    referral = command.referral
    return {
        "id": ids.new_id("att"),
        "workspace_id": ctx.workspace_id,
        "click_id": referral.click_id,
        "partner_id": referral.partner_id,
        "program_id": referral.program_id,
        "livemode": command.livemode,
        "checkout_session_id": links.checkout_session_id,
        "customer_id": links.customer_id,
        "subscription_id": links.subscription_id,
        "payment_intent_id": links.payment_intent_id,
        "invoice_id": links.invoice_id,
        "anchor_at": to_datetime(command.anchor),
        "trial": command.trial,
        "attribution_source": command.source.value,
        "stripe_account": ctx.account,
    }


def create_attribution(
    session: Session, ctx: EventContext, command: CreateAttribution
) -> tuple[str, Credited | None]:
    """The attribution's id, and whom it credits if it was created now (None: it existed)."""
    params = attribution_params(ctx, command)
    pg = driver_connection(session)
    by_checkout = command.links.checkout_session_id is not None
    insert_statement = (
        statements.INSERT_ATTRIBUTION if by_checkout else statements.INSERT_SUBSCRIPTION_ATTRIBUTION
    )
    row = pg.execute(insert_statement, params).fetchone()
    if row is not None:
        return str(row[0]), Credited.of(str(row[0]), command)
    find = (
        statements.ATTRIBUTION_OF_SESSION if by_checkout else statements.ATTRIBUTION_OF_SUBSCRIPTION
    )
    existing = pg.execute(
        find,
        {
            "ws": ctx.workspace_id,
            "session": command.links.checkout_session_id,
            "subscription": command.links.subscription_id,
        },
    ).fetchone()
    if existing is None:  # the insert conflicted with it: it exists
        raise InvariantViolation("an attribution neither created nor found")
    return str(existing[0]), None


def credited_by(session: Session, attribution_id: str) -> Credited:
    """Whom an existing attribution credits, read with its program."""
    row = driver_connection(session).execute(statements.CREDITED, {"id": attribution_id}).fetchone()
    if row is None:
        raise InvariantViolation(f"attribution {attribution_id} not found")
    program_id, partner_id, click_id, holding_days, source = row
    return Credited(attribution_id, program_id, partner_id, click_id, holding_days, source)


def commission_params(ctx: EventContext, command: CreateCommission) -> dict[str, Any]:
    """A commission's columns but those it copies from its attribution and program."""
    links = command.links
    canceled = command.canceled_reason
    return {
        "id": ids.new_id("com"),
        "workspace_id": ctx.workspace_id,
        "kind": command.kind,
        "month": command.month,
        "status": "CANCELED" if canceled else "PENDING",
        "reason": canceled.value if canceled else None,
        "canceled_at": ctx.now if canceled else None,
        "amount": command.amount,
        "original_amount": command.amount,
        "currency": command.currency,
        "sale_amount": command.sale_amount,
        "sale_currency": command.sale_currency,
        "livemode": ctx.livemode,
        "business_key": command.business_key,
        "checkout_session_id": links.checkout_session_id,
        "subscription_id": links.subscription_id,
        "invoice_id": links.invoice_id,
        "payment_intent_id": links.payment_intent_id,
        "charge_id": links.charge_id,
        "customer_id": links.customer_id,
        "service_period_start": to_datetime(command.service_period_start),
        "stripe_account": ctx.account,
        "presentment_amount": command.presentment_amount,
        "presentment_currency": command.presentment_currency,
        "now": ctx.now,
        "created_at": ctx.now,
        "updated_at": ctx.now,
    }


def create_commission(
    session: Session, ctx: EventContext, command: CreateCommission, credited: Credited
) -> str | None:
    """The new commission's id; None if its business key exists (applied before)."""
    params = {
        **commission_params(ctx, command),
        "program_id": credited.program_id,
        "partner_id": credited.partner_id,
        "click_id": credited.click_id,
        "attribution_id": credited.attribution_id,
        "attribution_source": credited.source,
        "hold_until": ctx.now + timedelta(days=credited.holding_days),
    }
    row = driver_connection(session).execute(statements.INSERT_COMMISSION, params).fetchone()
    return str(row[0]) if row is not None else None


def create_clawback(session: Session, ctx: EventContext, command: CreateClawback) -> str | None:
    """A CLAWBACK entry reversing part of a commission; None if its business key exists."""
    original = session.get(Commission, command.reverses_commission_id)
    if original is None:
        raise InvariantViolation(
            f"clawback of a missing commission {command.reverses_commission_id}"
        )
    statement = (
        insert(Commission)
        .values(
            id=ids.new_id("com"),
            workspace_id=ctx.workspace_id,
            program_id=original.program_id,
            partner_id=original.partner_id,
            click_id=original.click_id,
            attribution_id=original.attribution_id,
            attribution_source=original.attribution_source,
            kind="CLAWBACK",
            month=None,
            # Deducted from the next payout: no holding period for money owed back.
            status="APPROVED",
            approved_at=ctx.now,
            amount=command.amount,
            original_amount=command.amount,
            currency=original.currency,
            sale_amount=0,
            sale_currency=original.sale_currency,
            livemode=original.livemode,
            # the sale's account; its presentment is the sale's, not the clawback's
            stripe_account=original.stripe_account,
            reverses_commission_id=original.id,
            business_key=command.business_key,
            subscription_id=original.subscription_id,
            invoice_id=original.invoice_id,
            payment_intent_id=original.payment_intent_id,
            charge_id=original.charge_id,
            customer_id=original.customer_id,
            hold_until=ctx.now,
            created_at=ctx.now,
            updated_at=ctx.now,
        )
        .on_conflict_do_nothing(index_elements=["workspace_id", "business_key"])
        .returning(Commission.id)
    )
    created = session.execute(statement).scalar()
    return str(created) if created is not None else None
