"""Stripe promotion codes: their id's shape, and where a checkout or an invoice names them.

A promotion code (`promo_...`) is the customer-facing code of a coupon; a partner's codes
name the partner (docs/commissions.md, "Attribution", source 3). Webhook payloads carry the
code's id, never the text the customer typed.
"""

from __future__ import annotations

import re

from domain.errors import DomainError
from domain.json_fields import Fields

#: Stripe's ids are printable ASCII without spaces; bounded so that no typo stores a novel
#: (the partner_promotion_codes CHECK of migration 0005 says the same)
PROMOTION_CODE = re.compile(r"promo_[!-~]{1,200}")


def is_promotion_code(value: str) -> bool:
    return PROMOTION_CODE.fullmatch(value) is not None


def check_promotion_code(value: str) -> str:
    """The id, stripped, or DomainError saying what a promotion code id looks like."""
    cleaned = value.strip()
    if not is_promotion_code(cleaned):
        shown = cleaned if len(cleaned) <= 40 else cleaned[:40] + "..."
        raise DomainError(
            f"promotion code id {shown!r} is not of the form promo_ followed by 1 to 200 "
            "printable characters without spaces (the id of Stripe's PromotionCode, not the "
            "code customers type)"
        )
    return cleaned


def _unique(found: list[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(found))


def checkout_promotion_codes(session: Fields) -> tuple[str, ...]:
    """`discounts[].promotion_code` of a Checkout Session, in list order.

    `discounts` may be absent or null (none); each entry is `{coupon, promotion_code}`, either
    may be null, and `promotion_code` is an id or the expanded PromotionCode.
    """
    if session.raw("discounts") is None:
        return ()
    found = [
        code
        for entry in session.children("discounts")
        if (code := entry.reference("promotion_code")) is not None
    ]
    return _unique(found)


def invoice_promotion_codes(invoice: Fields) -> tuple[str, ...]:
    """The promotion codes of an invoice's discounts, in order: the single `discount` object
    of older API versions, then `discounts`, a list whose entries are Discount ids (`di_...`:
    the webhook says nothing more of them, so they name no code) or expanded Discount objects
    (their `promotion_code`: an id, an expanded PromotionCode, or null)."""
    found: list[str] = []
    legacy = invoice.optional_child("discount")
    if legacy is not None and (code := legacy.reference("promotion_code")) is not None:
        found.append(code)
    entries = invoice.raw("discounts")
    if entries is None:
        return _unique(found)
    if not isinstance(entries, list):
        raise invoice.error("discounts", "expected an array")
    for index, entry in enumerate(entries):
        if isinstance(entry, str):
            continue  # a Discount id, not expanded: no code to read
        if not isinstance(entry, dict):
            raise invoice.error(f"discounts[{index}]", "expected a discount id or object")
        code = entry.get("promotion_code")
        if isinstance(code, dict):  # an expanded PromotionCode
            code = code.get("id")
        if code is None:
            continue
        if not isinstance(code, str) or not code:
            raise invoice.error(
                f"discounts[{index}].promotion_code", "expected an id or an object with an id"
            )
        found.append(code)
    return _unique(found)
