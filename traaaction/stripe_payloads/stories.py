"""Two stories of fixed events, one per payload shape, for the parser's tests.

Every id and time is fixed here, so that a test can check each parsed field against these
constants; the rest of each payload is what the builders write for any event.

- before basil (api_version 2024-06-20), EUR in Germany: a one-off checkout with 19 % VAT; a
  renewal invoice of a subscription upgraded mid-cycle (two proration lines from the earlier
  period beside the subscription line); a partial refund of that invoice's charge; an
  immediate cancellation.
- from basil (2025-03-31.basil), USD in New York: a subscription checkout with sales tax; a
  renewal invoice with a one-off invoice item and the subscription line, its payment included;
  a full refund of a guest's JPY payment; a cancellation at the end of the period.

Each function returns a fresh dict, which a test may mutate.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Final

from traaaction.stripe_payloads.catalog import plan_price
from traaaction.stripe_payloads.charge import charge_refunded
from traaaction.stripe_payloads.checkout import checkout_session_completed
from traaaction.stripe_payloads.envelope import Payload
from traaaction.stripe_payloads.ids import BASIL, PRE_BASIL
from traaaction.stripe_payloads.invoice import invoice_paid
from traaaction.stripe_payloads.invoice_lines import Line
from traaaction.stripe_payloads.parties import Address, Buyer, Card, Shop
from traaaction.stripe_payloads.subscription import customer_subscription_deleted

__all__ = ["ALL", "BASIL", "PRE_BASIL", "Payload"]

# --- before basil: EUR, Germany -------------------------------------------------------------

#: 2026-01-15 10:00:05 UTC, the one-off checkout's event
PRE_CHECKOUT_CREATED: Final = 1768471205
#: 2026-03-15 10:00:00 UTC, the renewed period's start; the upgrade was 2026-02-20 14:31:07
PRE_RENEWAL_START: Final = 1773568800
PRE_UPGRADE_AT: Final = 1771597867
PRE_PREVIOUS_START: Final = 1771149600  # 2026-02-15 10:00:00
PRE_RENEWAL_END: Final = 1776247200  # 2026-04-15 10:00:00
PRE_CANCELED_AT: Final = 1777740310  # 2026-05-02 16:45:10

PRE_CUSTOMER: Final = "cus_RkT3mZ8wQ1vXyA"
PRE_SUBSCRIPTION: Final = "sub_1QdTz2LkdIwHu7ixMx9Yh3Ka"
PRE_INVOICE: Final = "in_1QsHb7LkdIwHu7ixR2s3T4u5"
PRE_INVOICE_CHARGE: Final = "ch_3QsIc8LkdIwHu7ix1AbCdEfG"
PRE_INVOICE_INTENT: Final = "pi_3QsIc8LkdIwHu7ix1HiJkLmN"
PRE_CHECKOUT_INTENT: Final = "pi_3QdTyzLkdIwHu7ix0Xy1Z2a3"
PRE_CLICK_ID: Final = "clk_01JH8Q4W6ZK3V2B9N7M5X1C0DE"

_JANA = Buyer(
    "Jana Schmidt",
    "jana.schmidt@example.de",
    Address("DE", "10119", "Berlin", "Torstraße 109"),
)
_BEISPIEL = Shop("Beispiel Software GmbH", "DE", "BEISPIEL SOFTWARE")
_EUR_PRODUCT = "prod_QdTx9aBcDeFgHi"
_VAT = "txr_1PgY0aLkdIwHu7ixVat19DE"


def checkout_completed_pre_basil() -> Payload:
    """A paid one-off checkout (mode payment): EUR 100.00 + 19.00 VAT."""
    return checkout_session_completed(
        mode="payment",
        amount=11_900,
        tax=1_900,
        currency="eur",
        click_id=PRE_CLICK_ID,
        metadata={"cart": "c_88213"},
        customer=PRE_CUSTOMER,
        payment_intent=PRE_CHECKOUT_INTENT,
        session_id="cs_test_a1Vx3bQf0r9pZ2kLmN4oP6qR8sT0uVwXyZ1aB3cD5eF7gH9iJ",
        event_id="evt_1QdTz3LkdIwHu7ixc0LW4yTb",
        created=PRE_CHECKOUT_CREATED,
        opened_at=PRE_CHECKOUT_CREATED - 94,
        buyer=_JANA,
        api_version=PRE_BASIL,
    ).body


def invoice_paid_pre_basil() -> Payload:
    """The March renewal of a subscription upgraded from Basic (10/month) to Pro (30/month).

    The two proration lines cover the rest of the February period (from the upgrade); the
    subscription line covers March 15 to April 15, the period this invoice pays for.
    """
    previous = (PRE_UPGRADE_AT, PRE_RENEWAL_START)
    pro = plan_price(PRE_SUBSCRIPTION)
    lines = [
        Line(-814, previous, "invoice_item", proration=True, unit_amount=1000,
             description="Unused time on Basic after 20 Feb 2026",
             price="price_1PgXa1LkdIwHu7ixBasic", line_id="il_1QsHb6LkdIwHu7ixUnusd1"),
        Line(2443, previous, "invoice_item", proration=True, unit_amount=3000,
             description="Remaining time on Pro after 20 Feb 2026", price=pro,
             line_id="il_1QsHb6LkdIwHu7ixRemng2"),
        Line(3000, (PRE_RENEWAL_START, PRE_RENEWAL_END),
             description="1 × Pro (at €30.00 / month)",  # noqa: RUF001 - as Stripe writes it
             line_id="il_1QsHb7LkdIwHu7ixSubsc3"),
    ]  # fmt: skip
    return invoice_paid(
        subscription=PRE_SUBSCRIPTION,
        amount=5509,
        tax=880,
        currency="eur",
        service_start=PRE_RENEWAL_START,
        lines=lines,
        customer=PRE_CUSTOMER,
        payment_intent=PRE_INVOICE_INTENT,
        charge=PRE_INVOICE_CHARGE,
        invoice_id=PRE_INVOICE,
        product=_EUR_PRODUCT,
        tax_rate=_VAT,
        event_id="evt_1QsIc9LkdIwHu7ixpXq2Jd8V",
        created=PRE_RENEWAL_START + 3733,
        buyer=_JANA,
        shop=_BEISPIEL,
        api_version=PRE_BASIL,
    ).body


def charge_refunded_pre_basil() -> Payload:
    """A partial refund (EUR 20.00) of the March renewal's charge of EUR 55.09."""
    return charge_refunded(
        payment_intent=PRE_INVOICE_INTENT,
        amount=5509,
        amount_refunded=2000,
        currency="eur",
        customer=PRE_CUSTOMER,
        invoice=PRE_INVOICE,
        charge_id=PRE_INVOICE_CHARGE,
        event_id="evt_3QsIc8LkdIwHu7ix1rEfNd01",
        created=1773825164,
        paid_at=PRE_RENEWAL_START + 3731,
        description="Subscription update",
        buyer=_JANA,
        shop=_BEISPIEL,
        api_version=PRE_BASIL,
    ).body


def subscription_deleted_pre_basil() -> Payload:
    """An immediate cancellation: canceled_at and ended_at are the same second."""
    return customer_subscription_deleted(
        subscription=PRE_SUBSCRIPTION,
        customer=PRE_CUSTOMER,
        amount=3000,
        currency="eur",
        ended_at=PRE_CANCELED_AT,
        period=(PRE_RENEWAL_END, PRE_RENEWAL_END + 30 * 86_400),
        started_at=1768471200,
        feedback="too_expensive",
        latest_invoice="in_1RAbC1LkdIwHu7ixMay0001",
        event_id="evt_1RBcD4LkdIwHu7ixZt5Ur6Wq",
        created=PRE_CANCELED_AT + 2,
        api_version=PRE_BASIL,
    ).body


# --- from basil: USD, New York ----------------------------------------------------------------

#: 2025-11-03 08:20:31 UTC, the subscription checkout's event; the subscription began a second
#: earlier, which is the billing cycle anchor (the 3rd of each month, 08:20:30)
BASIL_CHECKOUT_CREATED: Final = 1762158031
BASIL_ANCHOR: Final = 1762158030
BASIL_PREVIOUS_START: Final = 1764750030  # 2025-12-03 08:20:30
BASIL_RENEWAL_START: Final = 1767428430  # 2026-01-03 08:20:30
BASIL_RENEWAL_END: Final = 1770106830  # 2026-02-03 08:20:30
BASIL_INVOICE_ITEM_AT: Final = 1766232000  # 2025-12-20 12:00:00, a one-off onboarding call
BASIL_CANCEL_REQUESTED: Final = 1768028755  # 2026-01-10 07:05:55

BASIL_CUSTOMER: Final = "cus_TLm8nB4vC2xZqW"
BASIL_SUBSCRIPTION: Final = "sub_1SPbQyHd8s9WqZ3k7Rt2Vx1L"
BASIL_FIRST_INVOICE: Final = "in_1SPbQyHd8s9WqZ3kFirst001"
BASIL_INVOICE: Final = "in_1SlKm2Hd8s9WqZ3kRenew002"
BASIL_INVOICE_INTENT: Final = "pi_3SlLn4Hd8s9WqZ3k0aB1cD2e"
BASIL_CLICK_ID: Final = "clk_01K93D7SPX5H2QG4R8T6W0YZAB"
BASIL_GUEST_CHARGE: Final = "ch_3SmAb1Hd8s9WqZ3k1GuEsT7y"
BASIL_GUEST_INTENT: Final = "pi_3SmAb1Hd8s9WqZ3k1QwErTyU"

_SAM = Buyer(
    "Sam Okafor",
    "sam.okafor@example.com",
    Address("US", "11201", "Brooklyn", "55 Water St", "Apt 4B", "NY"),
)
#: a guest (no Stripe customer) in Tokyo; a name in kanji keeps non-ASCII text in the payloads
_YUKI = Buyer("田中 由紀", "yuki.tanaka@example.jp", Address("JP", "150-0001"))
_EXAMPLE_APPS = Shop("Example Apps Inc.", "US", "EXAMPLE APPS")


def checkout_completed_basil() -> Payload:
    """A paid subscription checkout (mode subscription): USD 20.00 + 1.78 sales tax."""
    return checkout_session_completed(
        mode="subscription",
        amount=2178,
        tax=178,
        currency="usd",
        click_id=BASIL_CLICK_ID,
        client_reference_id="user_4821",
        customer=BASIL_CUSTOMER,
        subscription=BASIL_SUBSCRIPTION,
        invoice=BASIL_FIRST_INVOICE,
        session_id="cs_test_b1Qw2Er3Ty4Ui5Op6As7Df8Gh9Jk0Lz1Xc2Vb3Nm4Qw5Er6Ty",
        event_id="evt_1SPbR0Hd8s9WqZ3kQy4pL0Xs",
        created=BASIL_CHECKOUT_CREATED,
        opened_at=BASIL_CHECKOUT_CREATED - 203,
        buyer=_SAM,
        api_version=BASIL,
    ).body


def invoice_paid_basil() -> Payload:
    """The January renewal: the subscription line and a one-off onboarding call (USD 50.00).

    The invoice item's period is the day it was added, before the renewed period starts.
    """
    lines = [
        Line(5000, (BASIL_INVOICE_ITEM_AT, BASIL_INVOICE_ITEM_AT), "invoice_item",
             description="Onboarding call", price="price_1ShZx8Hd8s9WqZ3kOnbrd0",
             line_id="il_1SlKm1Hd8s9WqZ3kOnbrd01", item_id="ii_1ShZx9Hd8s9WqZ3kOnbrd0"),
        Line(2000, (BASIL_RENEWAL_START, BASIL_RENEWAL_END),
             description="1 × Team (at $20.00 / month)",  # noqa: RUF001 - as Stripe writes it
             line_id="il_1SlKm2Hd8s9WqZ3kSubsc02"),
    ]  # fmt: skip
    return invoice_paid(
        subscription=BASIL_SUBSCRIPTION,
        amount=7621,
        tax=621,
        currency="usd",
        service_start=BASIL_RENEWAL_START,
        lines=lines,
        customer=BASIL_CUSTOMER,
        payment_intent=BASIL_INVOICE_INTENT,
        invoice_id=BASIL_INVOICE,
        product="prod_TLm7aSdFgHjKlZ",
        tax_rate="txr_1SPbPxHd8s9WqZ3kNyc8875",
        event_id="evt_1SlLn5Hd8s9WqZ3kJx2Cv7Bn",
        created=BASIL_RENEWAL_START + 3670,
        buyer=_SAM,
        shop=_EXAMPLE_APPS,
        api_version=BASIL,
    ).body


def charge_refunded_basil() -> Payload:
    """A full refund of a guest's one-off JPY 3000 payment (no customer; basil has no invoice)."""
    return charge_refunded(
        payment_intent=BASIL_GUEST_INTENT,
        amount=3000,
        currency="jpy",
        customer=None,
        charge_id=BASIL_GUEST_CHARGE,
        event_id="evt_3SmAb1Hd8s9WqZ3k1rFnD002",
        created=1769629203,
        paid_at=1769000000,
        buyer=_YUKI,
        card=Card("jcb", "0000", 3, 2030),
        shop=_EXAMPLE_APPS,
        api_version=BASIL,
    ).body


def subscription_deleted_basil() -> Payload:
    """A cancellation asked for on January 10, effective at the end of the period (Feb 3)."""
    return customer_subscription_deleted(
        subscription=BASIL_SUBSCRIPTION,
        customer=BASIL_CUSTOMER,
        amount=2000,
        currency="usd",
        ended_at=BASIL_RENEWAL_END,
        canceled_at=BASIL_CANCEL_REQUESTED,
        at_period_end=True,
        period=(BASIL_RENEWAL_START, BASIL_RENEWAL_END),
        started_at=BASIL_ANCHOR,
        latest_invoice=BASIL_INVOICE,
        event_id="evt_1SvNp0Hd8s9WqZ3kEnD3d0Xq",
        created=BASIL_RENEWAL_END + 1,
        api_version=BASIL,
    ).body


#: every story's event, by a name for test ids
ALL: Final[dict[str, Callable[[], Payload]]] = {
    "checkout_pre_basil": checkout_completed_pre_basil,
    "checkout_basil": checkout_completed_basil,
    "invoice_pre_basil": invoice_paid_pre_basil,
    "invoice_basil": invoice_paid_basil,
    "charge_pre_basil": charge_refunded_pre_basil,
    "charge_basil": charge_refunded_basil,
    "subscription_pre_basil": subscription_deleted_pre_basil,
    "subscription_basil": subscription_deleted_basil,
}
