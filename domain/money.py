"""Integer money in the currency's minor unit; one rounding rule, half up, and never a float.

The arithmetic is the same for every currency: a yen, a cent and a fils are each "one minor
unit", so zero-decimal (JPY) and three-decimal (KWD) currencies need no special case.

Preconditions (a negative amount, a zero denominator) are caller bugs, not business outcomes,
so they raise a plain ValueError rather than DomainError.
"""

from __future__ import annotations

#: basis points in 100 %
_FULL_BPS = 10_000


def round_half_up_div(numerator: int, denominator: int) -> int:
    """numerator / denominator rounded to the nearest integer, exact halves rounding up.

    Computed as (2n + d) // (2d): adding half the denominator before a floor division, doubled
    so that odd denominators stay exact. 1/2 -> 1, 3/2 -> 2, 1/3 -> 0, 2/3 -> 1.
    Defined for numerator >= 0 and denominator > 0 only: on negative values "half up" would
    need a choice (towards +inf or away from zero) that no rule here has to make.
    """
    if numerator < 0:
        raise ValueError(f"numerator must be >= 0, got {numerator}")
    if denominator <= 0:
        raise ValueError(f"denominator must be > 0, got {denominator}")
    return (2 * numerator + denominator) // (2 * denominator)


def percent_of(amount: int, bps: int) -> int:
    """amount * bps / 10000, rounded half up (a percent program's reward).

    amount >= 0 minor units; 0 <= bps <= 10000 (at most 100 %).
    """
    if amount < 0:
        raise ValueError(f"amount must be >= 0, got {amount}")
    if not 0 <= bps <= _FULL_BPS:
        raise ValueError(f"bps must be 0..{_FULL_BPS}, got {bps}")
    return round_half_up_div(amount * bps, _FULL_BPS)


def prorate(value: int, part: int, whole: int) -> int:
    """value * part / whole, rounded half up (a refund's share of a commission).

    value >= 0, part >= 0, whole > 0. A part above the whole is clamped to it, so the share
    never exceeds the value: a refund cannot take back more than the charge paid.
    """
    if value < 0:
        raise ValueError(f"value must be >= 0, got {value}")
    if part < 0:
        raise ValueError(f"part must be >= 0, got {part}")
    if whole <= 0:
        raise ValueError(f"whole must be > 0, got {whole}")
    return round_half_up_div(value * min(part, whole), whole)


def checkout_commissionable(amount_total: int, amount_tax: int | None) -> int:
    """A checkout session's amount without tax: amount_total - amount_tax (no rounding).

    A missing tax counts as 0. The result may be zero or negative; the rules skip those.
    """
    return amount_total - (amount_tax or 0)


def invoice_commissionable(
    amount_paid: int, total: int, total_excluding_tax: int | None
) -> int | None:
    """The tax-free share of what was paid: amount_paid * total_excluding_tax / total, half up.

    Paid in full (amount_paid == total) this is exactly total_excluding_tax. A missing
    total_excluding_tax counts as total (no tax). It is clamped to 0..total, so that the result
    never exceeds what was paid nor goes negative. amount_paid is clamped to total: Stripe can
    report more paid than the invoice's total (a debit balance carried in, or basil's money
    paid outside Stripe), and a commission never rewards more than the invoice itself.
    None when total <= 0: there is no ratio to take, and the rules skip such invoices.
    """
    if amount_paid < 0:
        raise ValueError(f"amount_paid must be >= 0, got {amount_paid}")
    if total <= 0:
        return None
    excluding_tax = total if total_excluding_tax is None else total_excluding_tax
    excluding_tax = max(0, min(excluding_tax, total))
    return round_half_up_div(min(amount_paid, total) * excluding_tax, total)


def converted_part(part: int, whole: int, converted_whole: int) -> int:
    """`part` of `whole`, as the same share of `converted_whole` (another currency's amount of
    the same whole): converted_whole * part / whole, rounded half up.

    Adaptive Pricing's sessions before 2025-03-31 give the tax in the customer's currency only;
    this is that tax in the merchant's (domain.adaptive_pricing). A part above the whole is
    clamped to it, so the result never exceeds converted_whole; a whole of 0 (nothing paid)
    has no share to take: 0. All three >= 0.
    """
    if part < 0 or converted_whole < 0 or whole < 0:
        raise ValueError(f"amounts must be >= 0, got {part}, {whole}, {converted_whole}")
    if whole == 0:
        return 0
    return prorate(converted_whole, part, whole)
