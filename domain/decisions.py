"""What the rules decide. The workers apply these in one transaction; the domain never writes.

Commands are named as orders (Create..., Cancel..., ...); a decision is a list of them plus,
when nothing is created, a skip reason for the event log.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from domain.programs import ProgramTerms


class SkipReason(StrEnum):
    MISSING_CLICK_ID = "missing_click_id"
    UNKNOWN_CLICK_ID = "unknown_click_id"
    NO_PAYMENT = "no_payment"
    #: the customer bought before and the program pays first purchases only
    REPEAT_PURCHASE = "repeat_purchase"
    #: the only click named is older than the program's click window, and nothing else
    #: names a partner
    CLICK_EXPIRED = "click_expired"
    #: checkout.session.completed of a delayed payment method: the attribution is recorded,
    #: checkout.session.async_payment_succeeded makes the commission (rows before that rule
    #: said `unpaid`, and recorded nothing)
    AWAITING_PAYMENT = "awaiting_payment"
    #: checkout.session.async_payment_failed: the money never came
    PAYMENT_FAILED = "payment_failed"
    NON_POSITIVE_AMOUNT = "non_positive_amount"
    FIRST_INVOICE_VIA_CHECKOUT = "first_invoice_via_checkout"
    #: a subscription's checkout, applied after its first invoice already made month 1
    #: (attributed by the subscription's metadata, a promotion code or the customer)
    MONTH_ONE_VIA_INVOICE = "month_one_via_invoice"
    UNATTRIBUTED = "unattributed"
    RECURRING_LIMIT_REACHED = "recurring_limit_reached"
    SUBSCRIPTION_CANCELED = "subscription_canceled"
    UNLINKED_CHARGE = "unlinked_charge"
    #: charge.refund.updated of a refund that neither failed nor was canceled: nothing changes
    REFUND_NOT_FAILED = "refund_not_failed"


class AttributionSource(StrEnum):
    """Where an attribution's referral came from (docs/commissions.md, "Attribution")."""

    CLICK_METADATA = "click_metadata"
    CLIENT_REFERENCE_ID = "client_reference_id"
    PROMOTION_CODE = "promotion_code"
    CUSTOMER = "customer"
    SUBSCRIPTION_METADATA = "subscription_metadata"


class CancelReason(StrEnum):
    REFUNDED = "refunded"
    SUBSCRIPTION_CANCELED = "subscription_canceled"
    RECURRING_LIMIT_REACHED = "recurring_limit_reached"
    #: a lost dispute took what refunds had left (domain.charge_losses)
    DISPUTE_LOST = "dispute_lost"


class HoldReason(StrEnum):
    """Why an unpaid entry is ON_HOLD: the scheduler never approves it, mark-paid never pays it."""

    #: a dispute of its charge is open (released when Stripe closes it)
    DISPUTED = "disputed"
    #: an operator's hold (`traaaction commissions hold`); only an operator releases it
    MANUAL = "manual"


@dataclass(frozen=True, slots=True)
class Referral:
    """Who gets credit: a click of this workspace, its partner, and the partner's program."""

    #: None when no click named it (a promotion code, or a repeat of such a sale)
    click_id: str | None
    partner_id: str
    program_id: str
    terms: ProgramTerms


@dataclass(frozen=True, slots=True)
class Links:
    """Stripe objects an entry is tied to, for later events to find it."""

    checkout_session_id: str | None = None
    subscription_id: str | None = None
    invoice_id: str | None = None
    payment_intent_id: str | None = None
    charge_id: str | None = None
    customer_id: str | None = None


@dataclass(frozen=True, slots=True)
class CreateAttribution:
    referral: Referral
    livemode: bool
    links: Links
    #: Unix seconds; None after a free trial (the first paid invoice will set it)
    anchor: int | None
    trial: bool
    #: what named the referral; every commission of the attribution records it
    source: AttributionSource = AttributionSource.CLICK_METADATA


@dataclass(frozen=True, slots=True)
class JoinAttribution:
    """A subscription's checkout, applied after an invoice attributed the subscription: the
    checkout session joins that attribution (the first recorded decides whom it credits)."""

    attribution_id: str
    checkout_session_id: str


@dataclass(frozen=True, slots=True)
class CreateCommission:
    kind: str  # SALE | RECURRING
    month: int | None
    amount: int
    currency: str
    sale_amount: int
    sale_currency: str
    business_key: str
    links: Links
    service_period_start: int | None = None
    #: CANCELED at birth when the rules already know it will not be paid (see recurring)
    canceled_reason: CancelReason | None = None
    #: Adaptive Pricing: what the customer paid in their own currency (display only; both or
    #: neither); the sale itself is in the merchant's currency
    presentment_amount: int | None = None
    presentment_currency: str | None = None


@dataclass(frozen=True, slots=True)
class LinkPayments:
    """Attach an invoice and its payment intents to an existing entry (the month-1 one)."""

    commission_id: str
    invoice_id: str
    payment_intent_ids: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class SetAnchor:
    attribution_id: str
    anchor: int


@dataclass(frozen=True, slots=True)
class Renumber:
    commission_id: str
    month: int


@dataclass(frozen=True, slots=True)
class CancelCommission:
    commission_id: str
    reason: CancelReason


@dataclass(frozen=True, slots=True)
class CreateClawback:
    reverses_commission_id: str
    #: negative takes money back; positive gives back what an earlier clawback took (a failed
    #: refund, a won dispute)
    amount: int
    business_key: str


@dataclass(frozen=True, slots=True)
class RestateCommission:
    """An unpaid entry recomputed from its charge's facts (domain.charge_losses): its amount,
    status and reason become these (CANCELED and ON_HOLD carry a reason, others None)."""

    commission_id: str
    amount: int
    status: str  # PENDING | APPROVED | ON_HOLD | CANCELED
    reason: CancelReason | HoldReason | None


@dataclass(frozen=True, slots=True)
class RecordRefundSnapshot:
    """A charge.refunded snapshot: kept if it is the latest (created, amount_refunded) seen."""

    charge_id: str
    amount: int
    amount_refunded: int
    created: int


@dataclass(frozen=True, slots=True)
class RecordRefundFailure:
    """A refund that failed or was canceled (charge.refund.updated): its money came back."""

    refund_id: str
    charge_id: str
    amount: int
    status: str  # failed | canceled
    created: int


@dataclass(frozen=True, slots=True)
class RecordDispute:
    """A dispute's latest known state (a closed status is never replaced by an open one)."""

    dispute_id: str
    charge_id: str
    payment_intent_id: str | None
    amount: int
    currency: str
    status: str
    reason: str | None
    created: int


@dataclass(frozen=True, slots=True)
class RecordSubscriptionEnd:
    subscription_id: str
    ended_at: int


@dataclass(frozen=True, slots=True)
class Park:
    """Keep the event to apply again when `key` of kind `wait_for` appears."""

    wait_for: str  # subscription | payment_intent | charge | invoice | checkout_session
    key: str


Command = (
    CreateAttribution
    | JoinAttribution
    | CreateCommission
    | LinkPayments
    | SetAnchor
    | Renumber
    | CancelCommission
    | CreateClawback
    | RecordSubscriptionEnd
    | Park
    | RestateCommission
    | RecordRefundSnapshot
    | RecordRefundFailure
    | RecordDispute
)


@dataclass(frozen=True, slots=True)
class Decision:
    commands: tuple[Command, ...] = ()
    skip: SkipReason | None = None

    @staticmethod
    def skipped(reason: SkipReason, *commands: Command) -> Decision:
        return Decision(commands=commands, skip=reason)
