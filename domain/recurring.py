"""invoice.paid: recurring commissions for months 2 and later."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from domain.decisions import (
    CancelCommission,
    CancelReason,
    Command,
    CreateAttribution,
    CreateCommission,
    Decision,
    LinkPayments,
    Links,
    Park,
    Referral,
    Renumber,
    SetAnchor,
    SkipReason,
)
from domain.events import InvoicePaid
from domain.money import invoice_commissionable
from domain.months import month_number
from domain.referral_sources import Sources, choose
from domain.rewards import reward

_UNPAID = {"PENDING", "APPROVED"}


@dataclass(frozen=True, slots=True)
class ExistingRecurring:
    commission_id: str
    month: int
    service_period_start: int
    status: str


@dataclass(frozen=True, slots=True)
class SubscriptionState:
    """What is known of an attributed subscription when one of its invoices is paid."""

    attribution_id: str
    referral: Referral
    anchor: int | None
    trial: bool
    #: when the subscription ended (customer.subscription.deleted), if it has
    ended_at: int | None
    #: the checkout's RECURRING month-1 entry, if the checkout made one
    month_one_commission_id: str | None
    #: the subscription's RECURRING entries (month 1 included)
    recurring: tuple[ExistingRecurring, ...]


def service_period_start(event: InvoicePaid) -> int:
    """The start of the period this invoice pays for (docs/commissions.md, "Recurring")."""
    if event.service_period_start is not None:
        return event.service_period_start
    if event.period_end is not None:
        return event.period_end
    return event.created


def renumber(
    existing: Sequence[ExistingRecurring], anchor: int, limit: int | None
) -> list[Command]:
    """Commands that bring existing entries in line with a new anchor."""
    commands: list[Command] = []
    for entry in existing:
        month = month_number(anchor, entry.service_period_start)
        if month != entry.month:
            commands.append(Renumber(entry.commission_id, month))
        if limit is not None and month > limit and entry.status in _UNPAID:
            commands.append(
                CancelCommission(entry.commission_id, CancelReason.RECURRING_LIMIT_REACHED)
            )
    return commands


def _links(event: InvoicePaid) -> Links:
    return Links(
        subscription_id=event.subscription_id,
        invoice_id=event.invoice_id,
        payment_intent_id=event.payment_intent_ids[0] if event.payment_intent_ids else None,
        charge_id=event.charge_id,
        customer_id=event.customer_id,
    )


def _month_one(event: InvoicePaid, sale: int, referral: Referral, ended: bool) -> CreateCommission:
    amount, currency = reward(referral.terms, sale, event.currency)
    return CreateCommission(
        kind="RECURRING",
        month=1,
        amount=amount,
        currency=currency,
        sale_amount=sale,
        sale_currency=event.currency,
        business_key=f"invoice:{event.invoice_id}",
        links=_links(event),
        service_period_start=service_period_start(event),
        canceled_reason=CancelReason.SUBSCRIPTION_CANCELED if ended else None,
    )


def attribute_by_invoice(
    event: InvoicePaid, sources: Sources, *, ended_at: int | None = None
) -> Decision | None:
    """An invoice of a subscription that no checkout attributed (docs/commissions.md,
    "Subscriptions without a checkout"): its subscription's metadata, its promotion codes,
    then its customer's earlier attribution. None when it names nothing at all (then the
    invoice waits for a checkout, as before).

    The attribution is keyed by the subscription, and this invoice's period is month 1: the
    `subscription_create` invoice's for good, a later one's until an earlier period is paid
    (recorded as `trial`, whose anchor an earlier period moves back, docs "Recurring").
    """
    subscription = event.subscription_id
    if subscription is None:
        return None
    chosen = choose(sources, event.created)
    if chosen is SkipReason.MISSING_CLICK_ID:
        return None
    if isinstance(chosen, SkipReason):
        # A checkout of the subscription may still come and name someone.
        return Decision.skipped(chosen, Park("subscription", subscription))
    sale = invoice_commissionable(event.amount_paid, event.total, event.total_excluding_tax)
    paid = sale is not None and sale > 0
    period = service_period_start(event)
    attribution = CreateAttribution(
        referral=chosen.referral,
        livemode=event.livemode,
        links=_links(event),
        # A free first period (a trial, a full discount): the first paid invoice anchors.
        anchor=period if paid else None,
        trial=not paid or event.billing_reason != "subscription_create",
        source=chosen.source,
    )
    if sale is None or sale <= 0:
        return Decision.skipped(SkipReason.NON_POSITIVE_AMOUNT, attribution)
    if ended_at is not None and period > ended_at:
        return Decision.skipped(SkipReason.SUBSCRIPTION_CANCELED, attribution)
    commission = _month_one(event, sale, chosen.referral, ended=ended_at is not None)
    return Decision((attribution, commission))


def decide_invoice(
    event: InvoicePaid,
    state: SubscriptionState | None,
    *,
    sources: Sources | None = None,
    ended_at: int | None = None,
) -> Decision:
    """`sources` (what the invoice names, resolved) and `ended_at` (the subscription's end)
    are read only when the subscription has no attribution (`state` None)."""
    if state is None and sources is not None:
        by_invoice = attribute_by_invoice(event, sources, ended_at=ended_at)
        if by_invoice is not None:
            return by_invoice
    if event.billing_reason == "subscription_create":
        # Month 1 came from the checkout; tie this invoice's payment to it for refunds.
        if state is not None and state.month_one_commission_id is not None:
            link = LinkPayments(
                state.month_one_commission_id, event.invoice_id, event.payment_intent_ids
            )
            return Decision.skipped(SkipReason.FIRST_INVOICE_VIA_CHECKOUT, link)
        if state is None and event.subscription_id is not None:
            park = Park("subscription", event.subscription_id)
            return Decision.skipped(SkipReason.FIRST_INVOICE_VIA_CHECKOUT, park)
        return Decision.skipped(SkipReason.FIRST_INVOICE_VIA_CHECKOUT)
    if event.subscription_id is None:
        return Decision.skipped(SkipReason.UNATTRIBUTED)
    if state is None:
        return Decision.skipped(
            SkipReason.UNATTRIBUTED, Park("subscription", event.subscription_id)
        )
    sale = invoice_commissionable(event.amount_paid, event.total, event.total_excluding_tax)
    if sale is None or sale <= 0:
        return Decision.skipped(SkipReason.NON_POSITIVE_AMOUNT)

    period = service_period_start(event)
    limit = state.referral.terms.recurring_months
    commands: list[Command] = []
    anchor = state.anchor
    if anchor is None or (state.trial and period < anchor):
        # After a free trial the first paid period is the anchor; an earlier one arriving
        # late (a replay) moves it back, and what was numbered from the later one follows.
        anchor = period
        commands.append(SetAnchor(state.attribution_id, anchor))
        commands += renumber(state.recurring, anchor, limit)

    if state.ended_at is not None and period > state.ended_at:
        return Decision.skipped(SkipReason.SUBSCRIPTION_CANCELED, *commands)
    month = month_number(anchor, period)
    if limit is not None and month > limit:
        return Decision.skipped(SkipReason.RECURRING_LIMIT_REACHED, *commands)
    amount, currency = reward(state.referral.terms, sale, event.currency)
    commands.append(
        CreateCommission(
            kind="RECURRING",
            month=month,
            amount=amount,
            currency=currency,
            sale_amount=sale,
            sale_currency=event.currency,
            business_key=f"invoice:{event.invoice_id}",
            links=_links(event),
            service_period_start=period,
            # Deleted already: in order, this entry would have been canceled with the rest.
            canceled_reason=(
                CancelReason.SUBSCRIPTION_CANCELED if state.ended_at is not None else None
            ),
        )
    )
    return Decision(tuple(commands))
