"""charge.refunded's first rule: proportional clawback, whichever order refunds arrive in.

Superseded by domain.charge_losses (refunds, failed refunds and disputes recomputed from all
the facts of a charge), which workers/events/charge_*.py use. Kept only while
storage/repositories/ledger/loaders.load_linked_commissions still returns its
LinkedCommission; new code uses charge_losses.LinkedEntry.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from domain.decisions import (
    CancelCommission,
    CancelReason,
    Command,
    CreateClawback,
    Decision,
    Park,
    ReduceCommission,
    SkipReason,
)
from domain.events import ChargeRefunded
from domain.money import prorate


@dataclass(frozen=True, slots=True)
class LinkedCommission:
    commission_id: str
    status: str
    original_amount: int
    amount: int
    #: the total already clawed back from it (a positive number), for a PAID entry
    clawed_back: int

    @property
    def taken(self) -> int:
        """What refunds took from it so far: the reduction made while it was unpaid, plus the
        clawbacks since it was paid."""
        return (self.original_amount - self.amount) + self.clawed_back


def refund_share(original_amount: int, amount_refunded: int, charge_amount: int) -> int:
    """round_half_up(commission * amount_refunded / amount); all of it for a zero charge."""
    if charge_amount <= 0:
        return original_amount
    return prorate(original_amount, amount_refunded, charge_amount)


def decide_refund(event: ChargeRefunded, linked: Sequence[LinkedCommission]) -> Decision:
    """Bring every linked entry to `original - share` for the cumulative refunded amount.

    Recomputed from the cumulative amount each time, and never moved back towards the
    original, so repeated and reordered refund events of one charge end in the same state. A
    PAID entry is answered by a CLAWBACK of what the share exceeds all that was taken already
    (its reduction while unpaid included), so at every moment its entries sum to
    `original - share` of the largest refund seen.
    """
    if not linked:
        park = (
            Park("payment_intent", event.payment_intent_id)
            if event.payment_intent_id
            else Park("charge", event.charge_id)
        )
        return Decision.skipped(SkipReason.UNLINKED_CHARGE, park)
    full = event.amount_refunded >= event.amount
    commands: list[Command] = []
    for entry in linked:
        share = refund_share(entry.original_amount, event.amount_refunded, event.amount)
        if entry.status in {"PENDING", "APPROVED"}:
            if full:
                commands.append(CancelCommission(entry.commission_id, CancelReason.REFUNDED))
            elif entry.original_amount - share < entry.amount:
                commands.append(
                    ReduceCommission(entry.commission_id, entry.original_amount - share)
                )
        elif entry.status == "PAID":
            # A reduction made before the payout was never paid: it counts as taken.
            owed = share - entry.taken
            if owed > 0:
                # The key names the cumulative share: the same refund seen twice is one entry.
                key = f"clawback:{entry.commission_id}:{share}"
                commands.append(CreateClawback(entry.commission_id, -owed, key))
    return Decision(tuple(commands))
