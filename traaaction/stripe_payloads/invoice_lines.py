"""An invoice's lines, in either payload shape: the subscription's period, prorations, items.

Before basil a line says what it is with `type` (subscription or invoiceitem) and
`proration`, and carries its `plan` and `price`; from basil on with `parent` (the subscription
item or the invoice item it comes from, and whether it is a proration) and `pricing`. The
parser reads the service period from the subscription lines that are not prorations.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from traaaction.stripe_payloads.catalog import (
    plan,
    plan_price,
    price,
    share,
    subscription_item,
    taxes,
)
from traaaction.stripe_payloads.ids import AUTO, Auto, FixtureError, derived_id

#: an invoice line's kind: the subscription's own period (or a proration of it), or an
#: invoice item added by hand
LineKind = Literal["subscription", "invoice_item"]
#: what a default subscription line is for
PLAN = "Traaaction test plan"


@dataclass(frozen=True, slots=True)
class Line:
    """One line of an invoice. `amount` is before tax (negative for a credit, such as the
    unused time of a plan left mid-period); ids not given are derived from the invoice's."""

    amount: int
    period: tuple[int, int]
    kind: LineKind = "subscription"
    proration: bool = False
    description: str | None = None
    #: the price per unit (default: `amount`)
    unit_amount: int | None = None
    price: str | Auto = AUTO
    line_id: str | Auto = AUTO
    #: the subscription item (subscription lines) or the invoice item (invoice item lines)
    item_id: str | Auto = AUTO


@dataclass(frozen=True, slots=True)
class LineContext:
    """What every line of one invoice shares."""

    invoice_id: str
    subscription: str | None
    currency: str
    product: str
    tax: int
    subtotal: int
    tax_rate: str
    livemode: bool
    basil: bool


def line_json(spec: Line, index: int, ctx: LineContext) -> dict[str, Any]:
    """The line as `lines.data` holds it, in the invoice's shape."""
    sub = ctx.subscription
    line_id = derived_id("il", ctx.invoice_id, index) if spec.line_id is AUTO else spec.line_id
    if spec.kind == "subscription":
        if sub is None:
            raise FixtureError("a subscription line needs the invoice's subscription")
        item = subscription_item(sub) if spec.item_id is AUTO else spec.item_id
        price_id = plan_price(sub) if spec.price is AUTO else spec.price
    else:
        item = derived_id("ii", line_id) if spec.item_id is AUTO else spec.item_id
        price_id = derived_id("price", line_id) if spec.price is AUTO else spec.price
    unit = spec.amount if spec.unit_amount is None else spec.unit_amount
    tax = share(ctx.tax, spec.amount, ctx.subtotal)
    line: dict[str, Any] = {
        "id": line_id,
        "object": "line_item",
        "amount": spec.amount,
        "currency": ctx.currency,
        "description": spec.description or f"1 x {PLAN} (at {unit} {ctx.currency} / month)",
        "discount_amounts": [],
        "discountable": not spec.proration,
        "discounts": [],
        "invoice": ctx.invoice_id,
        "livemode": ctx.livemode,
        "metadata": {},
        "period": {"start": spec.period[0], "end": spec.period[1]},
        "quantity": 1,
    }
    if ctx.basil:
        line |= {
            "parent": _line_parent(spec, item, sub),
            "pretax_credit_amounts": [],
            "pricing": {
                "type": "price_details",
                "price_details": {"price": price_id, "product": ctx.product},
                "unit_amount_decimal": str(unit),
            },
            "taxes": taxes(tax, spec.amount, ctx.tax_rate, basil=True),
        }
        return line
    recurring = spec.kind == "subscription" or spec.proration
    product, currency, livemode = ctx.product, ctx.currency, ctx.livemode
    return line | {
        "amount_excluding_tax": spec.amount,
        "invoice_item": item if spec.kind == "invoice_item" else None,
        "plan": plan(
            price_id, product=product, unit_amount=unit, currency=currency, livemode=livemode
        )
        if recurring
        else None,
        "price": price(
            price_id,
            product=product,
            unit_amount=unit,
            currency=currency,
            livemode=livemode,
            recurring=recurring,
        ),
        "proration": spec.proration,
        "proration_details": {"credited_items": None},
        "subscription": sub,
        # a proration is of the subscription's item too
        "subscription_item": item
        if spec.kind == "subscription"
        else (subscription_item(sub) if sub and spec.proration else None),
        "tax_amounts": taxes(tax, spec.amount, ctx.tax_rate, basil=False),
        "tax_rates": [],
        "type": "subscription" if spec.kind == "subscription" else "invoiceitem",
        "unit_amount_excluding_tax": str(unit),
    }


def _line_parent(spec: Line, item: str, subscription: str | None) -> dict[str, Any]:
    """Basil's `parent` of a line: where it comes from, and whether it is a proration."""
    details = {
        "invoice_item": item if spec.kind == "invoice_item" else None,
        "proration": spec.proration,
        "proration_details": {"credited_items": None},
        "subscription": subscription,
    }
    if spec.kind == "invoice_item":
        return {
            "type": "invoice_item_details",
            "invoice_item_details": details,
            "subscription_item_details": None,
        }
    details["subscription_item"] = item
    return {
        "type": "subscription_item_details",
        "invoice_item_details": None,
        "subscription_item_details": details,
    }
