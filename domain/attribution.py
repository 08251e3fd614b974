"""checkout.session.completed: who referred the sale, and the first commission."""

from __future__ import annotations

from domain.decisions import (
    AttributionSource,
    CancelReason,
    CreateAttribution,
    CreateCommission,
    Decision,
    Links,
    Referral,
    SkipReason,
)
from domain.events import CheckoutSessionCompleted
from domain.money import checkout_commissionable
from domain.rewards import reward

#: a click id in client_reference_id may carry this prefix (Stripe wants that field to start
#: with a letter, and merchants tell their own references from ours by it)
CLIENT_REFERENCE_PREFIX = "trac_"
#: the start of every click id this service makes (storage.ids)
CLICK_ID_PREFIX = "clk_"


def click_candidates(event: CheckoutSessionCompleted) -> tuple[tuple[str, AttributionSource], ...]:
    """The click ids a checkout names, in the attribution order (docs/commissions.md):
    metadata.tracClickId (stripped; blank names nothing), then client_reference_id when it
    holds a click id, bare or with the `trac_` prefix (anything else there is the merchant's
    own reference and names nothing)."""
    found: list[tuple[str, AttributionSource]] = []
    if event.click_id is not None and event.click_id.strip():
        found.append((event.click_id.strip(), AttributionSource.CLICK_METADATA))
    reference = (event.client_reference_id or "").strip()
    reference = reference.removeprefix(CLIENT_REFERENCE_PREFIX)
    if reference.startswith(CLICK_ID_PREFIX) and all(reference != c for c, _ in found):
        found.append((reference, AttributionSource.CLIENT_REFERENCE_ID))
    return tuple(found)


def decide_checkout(
    event: CheckoutSessionCompleted,
    referral: Referral | None,
    *,
    subscription_ended_at: int | None = None,
) -> Decision:
    """The rules of docs/commissions.md, "Attribution", in their order.

    `referral` is the first of `click_candidates(event)` that is a click of the endpoint's
    workspace, or None when none is. `subscription_ended_at` is when the session's
    subscription ended, if its deletion was already applied (events come in any order).
    """
    candidates = click_candidates(event)
    if not candidates:
        return Decision.skipped(SkipReason.MISSING_CLICK_ID)
    source = next((s for c, s in candidates if referral and c == referral.click_id), None)
    if referral is None or source is None:
        return Decision.skipped(SkipReason.UNKNOWN_CLICK_ID)
    if event.mode not in {"payment", "subscription"}:
        return Decision.skipped(SkipReason.NO_PAYMENT)
    if event.payment_status == "unpaid":
        return Decision.skipped(SkipReason.UNPAID)
    links = Links(
        checkout_session_id=event.session_id,
        subscription_id=event.subscription_id,
        invoice_id=event.invoice_id,
        payment_intent_id=event.payment_intent_id,
        customer_id=event.customer_id,
    )
    sale = (
        checkout_commissionable(event.amount_total, event.amount_tax)
        if event.amount_total is not None
        else 0
    )
    paid = event.payment_status == "paid" and sale > 0
    attribution = CreateAttribution(
        referral=referral,
        livemode=event.livemode,
        links=links,
        # The first paid service period starts now; after a free trial (or a fully discounted
        # first period) the first paid invoice will say when it starts.
        anchor=event.created if paid else None,
        trial=not paid,
        source=source,
    )
    if not paid or event.currency is None:
        return Decision.skipped(SkipReason.NON_POSITIVE_AMOUNT, attribution)
    amount, currency = reward(referral.terms, sale, event.currency)
    subscription = event.mode == "subscription"
    commission = CreateCommission(
        kind="RECURRING" if subscription else "SALE",
        month=1 if subscription else None,
        amount=amount,
        currency=currency,
        sale_amount=sale,
        sale_currency=event.currency,
        business_key=f"checkout:{event.session_id}",
        links=links,
        service_period_start=event.created if subscription else None,
        # Deleted already: in order, month 1 would have been canceled by the deletion.
        canceled_reason=(
            CancelReason.SUBSCRIPTION_CANCELED
            if subscription and subscription_ended_at is not None
            else None
        ),
    )
    return Decision((attribution, commission))
