"""What a program pays for a sale: the one place rewards are computed."""

from __future__ import annotations

from domain.money import percent_of
from domain.programs import FlatReward, PercentReward, ProgramTerms


def reward(terms: ProgramTerms, sale_amount: int, sale_currency: str) -> tuple[int, str]:
    """(amount, currency): a percent of the sale in its currency, or the flat amount in the
    program's own currency, whatever the sale's."""
    match terms.reward:
        case PercentReward(bps=bps):
            return percent_of(sale_amount, bps), sale_currency
        case FlatReward(amount=amount, currency=currency):
            return amount, currency
