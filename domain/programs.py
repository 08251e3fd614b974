"""What a program pays: a percentage (basis points) or a flat amount, for how many months.

Percentages are stored exactly as basis points (1 bp = 0.01 %), so 12.5 % is 1250 and no float
ever touches money. Flat amounts are integers in the currency's minor unit.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Context, Decimal, Inexact, InvalidOperation

from domain.errors import DomainError

#: basis points in 100 %
FULL_PERCENT_BPS = 10_000
#: days; the default time a commission is held before approval (refund window)
DEFAULT_HOLDING_DAYS = 30
#: months; the default number of paid months a subscription earns commissions for
DEFAULT_RECURRING_MONTHS = 12
#: the largest flat reward accepted, in minor units (guards against a typo in major units)
MAX_FLAT_AMOUNT = 100_000_000
MAX_HOLDING_DAYS = 3650
#: a click earns for a sale made up to this many days after it (docs/commissions.md)
DEFAULT_CLICK_WINDOW_DAYS = 90
MAX_CLICK_WINDOW_DAYS = 3650
#: months; a hundred years is "lifetime" in all but name (use None for lifetime)
MAX_RECURRING_MONTHS = 1200

_CURRENCY = re.compile(r"^[a-z]{3}$")
#: arithmetic that raises Inexact rather than round (parse_percent never rounds)
_EXACT = Context(traps=[Inexact])


def parse_percent(text: str) -> int:
    """Parse a percentage with at most two decimals ("12.5") into basis points (1250).

    Exactly representable or refused: "12.345" is an error, never rounded.
    """
    try:
        value = Decimal(text.strip())
    except InvalidOperation:
        raise DomainError(f"percent {text!r} is not a number") from None
    if not value.is_finite():
        raise DomainError(f"percent {text!r} is not a number")
    if not 0 < value <= 100:
        raise DomainError(f"percent {text!r} must be greater than 0 and at most 100")
    try:
        # Exact: a digit the context's precision would round away raises instead of vanishing.
        bps = _EXACT.multiply(value, 100)
    except Inexact:
        raise DomainError(f"percent {text!r} has more than two decimals") from None
    if bps != bps.to_integral_value():
        raise DomainError(f"percent {text!r} has more than two decimals")
    return int(bps)


def format_bps(bps: int) -> str:
    """1250 -> "12.5"; the inverse of parse_percent for display."""
    whole, frac = divmod(bps, 100)
    return f"{whole}" if frac == 0 else f"{whole}.{frac:02d}".rstrip("0")


def normalize_currency(code: str) -> str:
    """Stripe's form: three lower-case letters ("USD" -> "usd")."""
    lowered = code.strip().lower()
    if not _CURRENCY.match(lowered):
        raise DomainError(f"currency {code!r} is not a three-letter ISO code")
    return lowered


@dataclass(frozen=True, slots=True)
class PercentReward:
    bps: int

    def __post_init__(self) -> None:
        if not 0 < self.bps <= FULL_PERCENT_BPS:
            raise DomainError(f"percent reward must be 1..{FULL_PERCENT_BPS} bps, got {self.bps}")


@dataclass(frozen=True, slots=True)
class FlatReward:
    amount: int  # minor units of `currency`
    currency: str

    def __post_init__(self) -> None:
        if not 0 < self.amount <= MAX_FLAT_AMOUNT:
            raise DomainError(
                f"flat reward must be 1..{MAX_FLAT_AMOUNT} minor units, got {self.amount}"
            )
        normalize_currency(self.currency)


Reward = PercentReward | FlatReward


@dataclass(frozen=True, slots=True)
class ProgramTerms:
    """A program's reward rules. `recurring_months` None means lifetime."""

    reward: Reward
    recurring_months: int | None = DEFAULT_RECURRING_MONTHS
    holding_days: int = DEFAULT_HOLDING_DAYS
    #: a click older than this at the sale's time names no one (skipped `click_expired`)
    click_window_days: int = DEFAULT_CLICK_WINDOW_DAYS
    #: a repeat purchase of a customer attributed before earns nothing (`repeat_purchase`)
    first_purchase_only: bool = False

    def __post_init__(self) -> None:
        if self.recurring_months is not None and self.recurring_months < 1:
            raise DomainError(
                f"recurring months must be at least 1 (1 = first payment only), "
                f"got {self.recurring_months}"
            )
        if self.recurring_months is not None and self.recurring_months > MAX_RECURRING_MONTHS:
            raise DomainError(
                f"recurring months must be at most {MAX_RECURRING_MONTHS} "
                "(use --lifetime for no limit)"
            )
        if not 0 <= self.holding_days <= MAX_HOLDING_DAYS:
            raise DomainError(
                f"holding days must be 0..{MAX_HOLDING_DAYS}, got {self.holding_days}"
            )
        if not 1 <= self.click_window_days <= MAX_CLICK_WINDOW_DAYS:
            raise DomainError(
                f"click window must be 1..{MAX_CLICK_WINDOW_DAYS} days, "
                f"got {self.click_window_days}"
            )
