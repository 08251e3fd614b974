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
    #: checkout.session.completed of a delayed payment method: the attribution is recorded,
    #: checkout.session.async_payment_succeeded makes the commission (rows before that rule
    #: said `unpaid`, and recorded nothing)
    AWAITING_PAYMENT = "awaiting_payment"
    #: checkout.session.async_payment_failed: the money never came
    PAYMENT_FAILED = "payment_failed"
    NON_POSITIVE_AMOUNT = "non_positive_amount"
    FIRST_INVOICE_VIA_CHECKOUT = "first_invoice_via_checkout"
    UNATTRIBUTED = "unattributed"
    RECURRING_LIMIT_REACHED = "recurring_limit_reached"
    SUBSCRIPTION_CANCELED = "subscription_canceled"
    UNLINKED_CHARGE = "unlinked_charge"


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


@dataclass(frozen=True, slots=True)
class Referral:
    """Who gets credit: a click of this workspace, its partner, and the partner's program."""

    click_id: str
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
class ReduceCommission:
    """An unpaid entry partly refunded: its amount becomes `amount`."""

    commission_id: str
    amount: int


@dataclass(frozen=True, slots=True)
class CreateClawback:
    reverses_commission_id: str
    amount: int  # negative
    business_key: str


@dataclass(frozen=True, slots=True)
class RecordSubscriptionEnd:
    subscription_id: str
    ended_at: int


@dataclass(frozen=True, slots=True)
class Park:
    """Keep the event to apply again when `key` of kind `wait_for` appears."""

    wait_for: str  # subscription | payment_intent | charge
    key: str


Command = (
    CreateAttribution
    | CreateCommission
    | LinkPayments
    | SetAnchor
    | Renumber
    | CancelCommission
    | ReduceCommission
    | CreateClawback
    | RecordSubscriptionEnd
    | Park
)


@dataclass(frozen=True, slots=True)
class Decision:
    commands: tuple[Command, ...] = ()
    skip: SkipReason | None = None

    @staticmethod
    def skipped(reason: SkipReason, *commands: Command) -> Decision:
        return Decision(commands=commands, skip=reason)
