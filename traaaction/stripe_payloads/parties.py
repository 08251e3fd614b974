"""Who pays and who sells: the buyer's details, copied into several objects, and the shop.

A Checkout Session has them as `customer_details`, an invoice as `customer_name`,
`customer_email` and `customer_address`, a charge as `billing_details`; one Buyer fills all
three, so that the events of one story name the same person.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final


@dataclass(frozen=True, slots=True)
class Address:
    """A postal address; Stripe sends all six fields, null where unknown."""

    country: str
    postal_code: str | None = None
    city: str | None = None
    line1: str | None = None
    line2: str | None = None
    state: str | None = None

    def json(self) -> dict[str, Any]:
        return {
            "city": self.city,
            "country": self.country,
            "line1": self.line1,
            "line2": self.line2,
            "postal_code": self.postal_code,
            "state": self.state,
        }


@dataclass(frozen=True, slots=True)
class Buyer:
    name: str
    email: str
    address: Address
    phone: str | None = None


@dataclass(frozen=True, slots=True)
class Card:
    """The card a charge was paid with (its payment_method_details)."""

    brand: str = "visa"
    last4: str = "4242"
    exp_month: int = 12
    exp_year: int = 2034
    funding: str = "credit"

    def json(self, country: str) -> dict[str, Any]:
        return {
            "type": "card",
            "card": {
                "brand": self.brand,
                "country": country,
                "exp_month": self.exp_month,
                "exp_year": self.exp_year,
                "funding": self.funding,
                "last4": self.last4,
                "network": self.brand,
            },
        }


@dataclass(frozen=True, slots=True)
class Shop:
    """The Stripe account that sells (an invoice's account_name and account_country)."""

    name: str = "Traaaction test shop"
    country: str = "US"
    #: what a card statement shows (a charge's calculated_statement_descriptor)
    descriptor: str = "TRAAACTION TEST"


#: Stripe's documentation's customer, at Stripe's address
JENNY_ROSEN: Final = Buyer(
    "Jenny Rosen",
    "jenny.rosen@example.com",
    Address("US", "94103", "San Francisco", "510 Townsend St", None, "CA"),
)
DEFAULT_SHOP: Final = Shop()
VISA: Final = Card()


def customer_details(buyer: Buyer) -> dict[str, Any]:
    """A Checkout Session's `customer_details`."""
    return {
        "address": buyer.address.json(),
        "email": buyer.email,
        "name": buyer.name,
        "phone": buyer.phone,
        "tax_exempt": "none",
        "tax_ids": [],
    }


def billing_details(buyer: Buyer, *, basil: bool) -> dict[str, Any]:
    """A charge's `billing_details` (recent versions add `tax_id`)."""
    details: dict[str, Any] = {
        "address": buyer.address.json(),
        "email": buyer.email,
        "name": buyer.name,
        "phone": buyer.phone,
    }
    if basil:
        details["tax_id"] = None
    return details


def invoice_customer(buyer: Buyer) -> dict[str, Any]:
    """The buyer's fields of an invoice (copied when it was finalized)."""
    return {
        "customer_address": buyer.address.json(),
        "customer_email": buyer.email,
        "customer_name": buyer.name,
        "customer_phone": buyer.phone,
        "customer_shipping": None,
        "customer_tax_exempt": "none",
        "customer_tax_ids": [],
    }
