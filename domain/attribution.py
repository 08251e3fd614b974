"""checkout.session.completed (and its delayed payment): who referred the sale, and the first
commission."""

from __future__ import annotations

from dataclasses import dataclass

from domain.decisions import (
    AttributionSource,
    CancelReason,
    CreateAttribution,
    CreateCommission,
    Decision,
    Links,
    Park,
    Referral,
    SkipReason,
)
from domain.events import CheckoutSessionCompleted
from domain.money import checkout_commissionable
from domain.rewards import reward

#: a click id in client_reference_id may carry this prefix, which tells a merchant's own
#: references apart from ours (the bare id is accepted too)
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


def _links(event: CheckoutSessionCompleted) -> Links:
    return Links(
        checkout_session_id=event.session_id,
        subscription_id=event.subscription_id,
        invoice_id=event.invoice_id,
        payment_intent_id=event.payment_intent_id,
        customer_id=event.customer_id,
    )


def _sale(event: CheckoutSessionCompleted) -> int:
    if event.amount_total is None:
        return 0
    return checkout_commissionable(event.amount_total, event.amount_tax)


def _first_commission(
    event: CheckoutSessionCompleted,
    referral: Referral,
    *,
    service_start: int,
    subscription_ended_at: int | None,
) -> CreateCommission | None:
    """The session's SALE, or its subscription's RECURRING month 1, for a paid session; None
    when it pays nothing to earn on. One per session whichever event makes it: its business
    key is the session's."""
    sale = _sale(event)
    if event.payment_status != "paid" or sale <= 0 or event.currency is None:
        return None
    amount, currency = reward(referral.terms, sale, event.currency)
    subscription = event.mode == "subscription"
    return CreateCommission(
        kind="RECURRING" if subscription else "SALE",
        month=1 if subscription else None,
        amount=amount,
        currency=currency,
        sale_amount=sale,
        sale_currency=event.currency,
        business_key=f"checkout:{event.session_id}",
        links=_links(event),
        service_period_start=service_start if subscription else None,
        # Deleted already: in order, month 1 would have been canceled by the deletion.
        canceled_reason=(
            CancelReason.SUBSCRIPTION_CANCELED
            if subscription and subscription_ended_at is not None
            else None
        ),
        presentment_amount=event.presentment_amount,
        presentment_currency=event.presentment_currency,
    )


def _referral_check(
    event: CheckoutSessionCompleted, referral: Referral | None
) -> tuple[Referral, AttributionSource] | SkipReason:
    """The referral and the place of the session that named it, or why there is none."""
    candidates = click_candidates(event)
    if not candidates:
        return SkipReason.MISSING_CLICK_ID
    source = next((s for c, s in candidates if referral and c == referral.click_id), None)
    if referral is None or source is None:
        return SkipReason.UNKNOWN_CLICK_ID
    if event.mode not in {"payment", "subscription"}:
        return SkipReason.NO_PAYMENT
    return referral, source


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
    checked = _referral_check(event, referral)
    if isinstance(checked, SkipReason):
        return Decision.skipped(checked)
    credited, source = checked
    paid = event.payment_status == "paid" and _sale(event) > 0
    awaiting = event.payment_status == "unpaid"
    attribution = CreateAttribution(
        referral=credited,
        livemode=event.livemode,
        links=_links(event),
        # The first paid service period starts now, also for a delayed payment method (its
        # subscription started at completion); after a free trial (or a fully discounted
        # first period) the first paid invoice will say when it starts.
        anchor=event.created if paid or awaiting else None,
        trial=not (paid or awaiting),
        source=source,
    )
    if awaiting:
        # SEPA, ACH, ...: checkout.session.async_payment_succeeded makes the commission.
        return Decision.skipped(SkipReason.AWAITING_PAYMENT, attribution)
    commission = _first_commission(
        event,
        credited,
        service_start=event.created,
        subscription_ended_at=subscription_ended_at,
    )
    if commission is None:
        return Decision.skipped(SkipReason.NON_POSITIVE_AMOUNT, attribution)
    return Decision((attribution, commission))


@dataclass(frozen=True, slots=True)
class SessionAttribution:
    """The attribution a completed session recorded, as a delayed payment finds it."""

    attribution_id: str
    referral: Referral
    #: when the session completed (its subscription's first service period starts then)
    anchor: int | None


def decide_async_payment_succeeded(
    event: CheckoutSessionCompleted,
    referral: Referral | None,
    attribution: SessionAttribution | None,
    *,
    subscription_ended_at: int | None = None,
) -> Decision:
    """checkout.session.async_payment_succeeded: the commission of a session that completed
    unpaid, once, whatever the order of the two events.

    `attribution` is what checkout.session.completed recorded for the session. Before it has
    (Stripe does not promise the order), an event that names a click of the workspace waits
    for it (parked on the session), so that the attribution, its anchor and its source are
    the completed event's in every order; one that names none is skipped as the completed
    event will be.
    """
    if attribution is None:
        checked = _referral_check(event, referral)
        if isinstance(checked, SkipReason):
            return Decision.skipped(checked)
        return Decision.skipped(SkipReason.UNATTRIBUTED, Park("checkout_session", event.session_id))
    commission = _first_commission(
        event,
        attribution.referral,
        service_start=attribution.anchor if attribution.anchor is not None else event.created,
        subscription_ended_at=subscription_ended_at,
    )
    if commission is None:
        return Decision.skipped(SkipReason.NON_POSITIVE_AMOUNT)
    return Decision((commission,))


def decide_async_payment_failed(event: CheckoutSessionCompleted) -> Decision:
    """checkout.session.async_payment_failed: the money never came; nothing is earned."""
    return Decision.skipped(SkipReason.PAYMENT_FAILED)
