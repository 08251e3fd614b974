"""checkout.session.completed (and its delayed payment): who referred the sale, and the first
commission (domain.referral_sources chooses the referral)."""

from __future__ import annotations

from dataclasses import dataclass

from domain.decisions import (
    AttributionSource,
    CancelReason,
    CreateAttribution,
    CreateCommission,
    Decision,
    JoinAttribution,
    Links,
    Park,
    Referral,
    SkipReason,
)
from domain.events import CheckoutSessionCompleted
from domain.money import checkout_commissionable
from domain.referral_sources import Chosen, Sources, choose
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


def _referral_check(event: CheckoutSessionCompleted, sources: Sources) -> Chosen | SkipReason:
    """The referral and the source that named it (domain.referral_sources), or why there is
    none."""
    chosen = choose(sources, event.created)
    if isinstance(chosen, SkipReason):
        return chosen
    if event.mode not in {"payment", "subscription"}:
        return SkipReason.NO_PAYMENT
    return chosen


@dataclass(frozen=True, slots=True)
class InvoiceAttribution:
    """A subscription's attribution that one of its invoices recorded (no checkout had), as
    the subscription's checkout finds it when it is applied later."""

    attribution_id: str
    referral: Referral
    #: whether the invoice made the subscription's RECURRING month 1
    month_one: bool


def _join_invoice_attribution(
    event: CheckoutSessionCompleted,
    joined: InvoiceAttribution,
    *,
    subscription_ended_at: int | None,
) -> Decision:
    """The checkout of a subscription an invoice attributed first: the session joins that
    attribution, and makes month 1 only if the invoice did not."""
    join = JoinAttribution(joined.attribution_id, event.session_id)
    if event.payment_status == "unpaid":
        return Decision.skipped(SkipReason.AWAITING_PAYMENT, join)
    if joined.month_one:
        return Decision.skipped(SkipReason.MONTH_ONE_VIA_INVOICE, join)
    commission = _first_commission(
        event,
        joined.referral,
        service_start=event.created,
        subscription_ended_at=subscription_ended_at,
    )
    if commission is None:
        return Decision.skipped(SkipReason.NON_POSITIVE_AMOUNT, join)
    return Decision((join, commission))


def decide_checkout(
    event: CheckoutSessionCompleted,
    sources: Sources,
    *,
    subscription_ended_at: int | None = None,
    invoice_attribution: InvoiceAttribution | None = None,
) -> Decision:
    """The rules of docs/commissions.md, "Attribution", in their order.

    `sources` is what the workspace knows of what the session names (its clicks, its
    promotion codes, its customer's earlier attribution). `subscription_ended_at` is when the
    session's subscription ended, if its deletion was already applied (events come in any
    order). `invoice_attribution` is the session's subscription's attribution if one of its
    invoices recorded it before this event: the session joins it (the plan then acts for
    that attribution).
    """
    if invoice_attribution is not None and event.mode == "subscription":
        return _join_invoice_attribution(
            event, invoice_attribution, subscription_ended_at=subscription_ended_at
        )
    checked = _referral_check(event, sources)
    if isinstance(checked, SkipReason):
        return Decision.skipped(checked)
    paid = event.payment_status == "paid" and _sale(event) > 0
    awaiting = event.payment_status == "unpaid"
    attribution = CreateAttribution(
        referral=checked.referral,
        livemode=event.livemode,
        links=_links(event),
        # The first paid service period starts now, also for a delayed payment method (its
        # subscription started at completion); after a free trial (or a fully discounted
        # first period) the first paid invoice will say when it starts.
        anchor=event.created if paid or awaiting else None,
        trial=not (paid or awaiting),
        source=checked.source,
    )
    if awaiting:
        # SEPA, ACH, ...: checkout.session.async_payment_succeeded makes the commission.
        return Decision.skipped(SkipReason.AWAITING_PAYMENT, attribution)
    commission = _first_commission(
        event,
        checked.referral,
        service_start=event.created,
        subscription_ended_at=subscription_ended_at,
    )
    if commission is None:
        return Decision.skipped(SkipReason.NON_POSITIVE_AMOUNT, attribution)
    return Decision((attribution, commission))


@dataclass(frozen=True, slots=True)
class SessionAttribution:
    """The attribution a completed session recorded (or joined), as a delayed payment finds
    it."""

    attribution_id: str
    referral: Referral
    #: when the session completed (its subscription's first service period starts then)
    anchor: int | None
    #: an invoice of the subscription made its month 1 before the session joined
    month_one_via_invoice: bool = False


def decide_async_payment_succeeded(
    event: CheckoutSessionCompleted,
    sources: Sources,
    attribution: SessionAttribution | None,
    *,
    subscription_ended_at: int | None = None,
    invoice_attribution: InvoiceAttribution | None = None,
) -> Decision:
    """checkout.session.async_payment_succeeded: the commission of a session that completed
    unpaid, once, whatever the order of the two events.

    `attribution` is what checkout.session.completed recorded for the session. Before it has
    (Stripe does not promise the order), an event whose session names a referral of the
    workspace, or whose subscription an invoice attributed, waits for it (parked on the
    session), so that the attribution, its anchor and its source are the completed event's in
    every order; one that names none is skipped as the completed event will be.
    """
    if attribution is None:
        if invoice_attribution is None or event.mode != "subscription":
            checked = _referral_check(event, sources)
            if isinstance(checked, SkipReason):
                return Decision.skipped(checked)
        return Decision.skipped(SkipReason.UNATTRIBUTED, Park("checkout_session", event.session_id))
    if attribution.month_one_via_invoice:
        return Decision.skipped(SkipReason.MONTH_ONE_VIA_INVOICE)
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
