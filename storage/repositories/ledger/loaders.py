"""What the decisions read: what a sale names (with ledger.sources), a subscription's state,
the commissions a refund or a cancellation acts on. Each runs in the event's transaction, its
keys locked."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from domain.attribution import InvoiceAttribution, SessionAttribution
from domain.decisions import AttributionSource, Referral
from domain.recurring import ExistingRecurring, SubscriptionState
from domain.referral_sources import Sources
from storage.db import driver_connection
from storage.errors import InvariantViolation
from storage.models import Attribution, Commission, Program
from storage.repositories.ledger import sources as ledger_sources
from storage.repositories.ledger.applied_once import Read
from storage.repositories.ledger.context import to_seconds
from storage.repositories.programs import make_terms, terms_of

#: the subscription's attribution that one of its invoices recorded (no checkout joined it
#: yet), whom it credits, and whether the invoice made month 1
_INVOICE_ATTRIBUTION = """
SELECT a.id, a.click_id, a.partner_id, a.program_id, g.reward_kind, g.percent_bps,
    g.flat_amount, g.currency, g.recurring_months, g.holding_days, g.click_window_days,
    g.first_purchase_only,
    EXISTS (SELECT FROM commissions c WHERE c.workspace_id = a.workspace_id
            AND c.attribution_id = a.id AND c.kind = 'RECURRING' AND c.month = 1)
FROM attributions a
JOIN programs g ON g.id = a.program_id AND g.workspace_id = a.workspace_id
WHERE a.workspace_id = %(ws)s AND a.subscription_id = %(sub)s AND a.checkout_session_id IS NULL
"""
_SUBSCRIPTION_END = """
SELECT ended_at FROM subscription_ends WHERE workspace_id = %(ws)s AND subscription_id = %(sub)s
"""


def sources(
    session: Session, read: Read | None, earlier: Read | None, named: dict[str, AttributionSource]
) -> Sources:
    """What a sale names, resolved, read now (not riding with the first statement)."""
    pg = driver_connection(session)
    named_row = pg.execute(read.sql, read.params).fetchone() if read is not None else None
    earlier_row = pg.execute(earlier.sql, earlier.params).fetchone() if earlier else None
    return ledger_sources.sources_of(named_row, earlier_row, named)


def invoice_attribution_read(workspace_id: str, subscription_id: str) -> Read:
    """The subscription's attribution an invoice recorded (decode with
    `invoice_attribution_of`); written under the subscription's lock: after the locks."""
    return Read(_INVOICE_ATTRIBUTION, {"ws": workspace_id, "sub": subscription_id})


def invoice_attribution_of(row: tuple[Any, ...] | None) -> InvoiceAttribution | None:
    if row is None:
        return None
    attribution, click, partner, program, *terms, month_one = row
    kind, bps, flat, currency, months, holding, window, first_only = terms
    return InvoiceAttribution(
        attribution_id=attribution,
        referral=Referral(
            click,
            partner,
            program,
            make_terms(kind, bps, flat, currency, months, holding, window, bool(first_only)),
        ),
        month_one=bool(month_one),
    )


def invoice_attribution(
    session: Session, workspace_id: str, subscription_id: str | None
) -> InvoiceAttribution | None:
    if subscription_id is None:
        return None
    read = invoice_attribution_read(workspace_id, subscription_id)
    row = driver_connection(session).execute(read.sql, read.params).fetchone()
    return invoice_attribution_of(row)


def subscription_end_read(workspace_id: str, subscription_id: str) -> Read:
    """When the subscription ended, if it did (decode with `subscription_end_of`). Written
    under the subscription's lock: read after the locks (applied_once)."""
    return Read(_SUBSCRIPTION_END, {"ws": workspace_id, "sub": subscription_id})


def subscription_end_of(row: tuple[Any, ...] | None) -> int | None:
    return to_seconds(row[0]) if row is not None else None


def subscription_end(session: Session, workspace_id: str, subscription_id: str) -> int | None:
    read = subscription_end_read(workspace_id, subscription_id)
    return subscription_end_of(driver_connection(session).execute(read.sql, read.params).fetchone())


def _referral_of(session: Session, attribution: Attribution) -> Referral:
    program = session.get(Program, attribution.program_id)
    if program is None:  # a foreign key guarantees it
        raise InvariantViolation(f"attribution {attribution.id}: its program is missing")
    return Referral(attribution.click_id, attribution.partner_id, program.id, terms_of(program))


def attribution_of_session(
    session: Session, workspace_id: str, checkout_session_id: str
) -> SessionAttribution | None:
    """What checkout.session.completed recorded for the session, if it did."""
    attribution = session.scalars(
        select(Attribution).where(
            Attribution.workspace_id == workspace_id,
            Attribution.checkout_session_id == checkout_session_id,
        )
    ).one_or_none()
    if attribution is None:
        return None
    # Joined after an invoice made month 1 (domain.attribution.InvoiceAttribution): the
    # session's own business key is not that month's.
    month_one_elsewhere = session.scalar(
        select(Commission.id)
        .where(
            Commission.workspace_id == workspace_id,
            Commission.attribution_id == attribution.id,
            Commission.kind == "RECURRING",
            Commission.month == 1,
            Commission.business_key != f"checkout:{checkout_session_id}",
        )
        .limit(1)
    )
    return SessionAttribution(
        attribution_id=attribution.id,
        referral=_referral_of(session, attribution),
        anchor=to_seconds(attribution.anchor_at),
        month_one_via_invoice=month_one_elsewhere is not None,
    )


def load_subscription_state(
    session: Session, workspace_id: str, subscription_id: str
) -> SubscriptionState | None:
    attribution = session.scalars(
        select(Attribution)
        .where(
            Attribution.workspace_id == workspace_id,
            Attribution.subscription_id == subscription_id,
        )
        .order_by(Attribution.created_at)
        .limit(1)
    ).one_or_none()
    if attribution is None:
        return None
    recurring = list(
        session.scalars(
            select(Commission).where(
                Commission.workspace_id == workspace_id,
                Commission.attribution_id == attribution.id,
                Commission.kind == "RECURRING",
            )
        )
    )
    month_one = next(
        (
            c.id
            for c in recurring
            if c.business_key == f"checkout:{attribution.checkout_session_id}"
        ),
        None,
    )
    return SubscriptionState(
        attribution_id=attribution.id,
        referral=_referral_of(session, attribution),
        anchor=to_seconds(attribution.anchor_at),
        trial=attribution.trial,
        ended_at=subscription_end(session, workspace_id, subscription_id),
        month_one_commission_id=month_one,
        recurring=tuple(
            ExistingRecurring(c.id, c.month or 1, to_seconds(c.service_period_start) or 0, c.status)
            for c in recurring
        ),
    )


def pending_of_subscription(session: Session, workspace_id: str, subscription_id: str) -> list[str]:
    """The subscription's PENDING commissions, locked for update."""
    return list(
        session.scalars(
            select(Commission.id)
            .where(
                Commission.workspace_id == workspace_id,
                Commission.subscription_id == subscription_id,
                Commission.status == "PENDING",
            )
            .order_by(Commission.id)
            .with_for_update()
        )
    )
