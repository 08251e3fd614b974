"""What refunds and disputes took from a charge's commissions, from the charge's facts.

docs/commissions.md, "Refunds and disputes". The events of a charge (charge.refunded,
charge.refund.updated, charge.dispute.*) each add a fact; every linked commission's target is
then recomputed from all of them, so the order Stripe delivers in, and duplicates, never
matter. A fact only says what Stripe said; `decide_losses` is the one rule on them.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from typing import TypeVar

from domain.charge_events import CLOSED_DISPUTE_STATUSES
from domain.decisions import (
    CancelReason,
    Command,
    CreateClawback,
    Decision,
    HoldReason,
    Park,
    RecordDispute,
    RecordRefundFailure,
    RecordRefundSnapshot,
    RestateCommission,
    SkipReason,
)
from domain.money import prorate

#: an unpaid entry's statuses; ON_HOLD is unpaid too (never approved, never paid)
UNPAID = frozenset({"PENDING", "APPROVED", "ON_HOLD"})
#: CANCELED by a loss of its charge: comes back when the loss does (a failed refund)
LOSS_REASONS = frozenset({CancelReason.REFUNDED.value, CancelReason.DISPUTE_LOST.value})


@dataclass(frozen=True, slots=True)
class RefundSnapshot:
    """The charge as the latest charge.refunded told it (greatest (created, amount_refunded))."""

    amount: int
    amount_refunded: int
    created: int

    def key(self) -> tuple[int, int]:
        return (self.created, self.amount_refunded)


@dataclass(frozen=True, slots=True)
class RefundFailure:
    refund_id: str
    amount: int
    status: str  # failed | canceled
    created: int

    def rank(self) -> tuple[int, str, int]:
        """Of two reports of one refund's failure, the lesser is kept."""
        return (self.created, self.status, self.amount)


@dataclass(frozen=True, slots=True)
class Dispute:
    dispute_id: str
    payment_intent_id: str | None
    amount: int
    status: str
    reason: str | None
    created: int

    @property
    def closed(self) -> bool:
        return self.status in CLOSED_DISPUTE_STATUSES

    def rank(self) -> tuple[bool, int, str, int, str]:
        """Which of two states of one dispute wins: closed over open, then the later event;
        at the same second the greater status, amount and reason, only so that the choice
        never depends on the order the two arrived in."""
        return (self.closed, self.created, self.status, self.amount, self.reason or "")


@dataclass(frozen=True, slots=True)
class ChargeFacts:
    """Everything known about one charge's refunds and disputes."""

    snapshot: RefundSnapshot | None = None
    failures: tuple[RefundFailure, ...] = ()
    disputes: tuple[Dispute, ...] = ()

    # --- merging one more fact (each is commutative and idempotent) ---

    def with_snapshot(self, snapshot: RefundSnapshot) -> ChargeFacts:
        if self.snapshot is not None and self.snapshot.key() >= snapshot.key():
            return self
        return replace(self, snapshot=snapshot)

    def with_failure(self, failure: RefundFailure) -> ChargeFacts:
        # A failed or canceled refund stays so; of two reports of it the earliest is kept
        # (then the lesser status), so that the choice never depends on the arrival order.
        known = next((f for f in self.failures if f.refund_id == failure.refund_id), None)
        if known is not None and known.rank() <= failure.rank():
            return self
        others = (f for f in self.failures if f.refund_id != failure.refund_id)
        return replace(self, failures=_sorted_by_id((*others, failure)))

    def with_dispute(self, dispute: Dispute) -> ChargeFacts:
        known = next((d for d in self.disputes if d.dispute_id == dispute.dispute_id), None)
        if known is not None and known.rank() >= dispute.rank():
            return self
        others = (d for d in self.disputes if d.dispute_id != dispute.dispute_id)
        return replace(self, disputes=_sorted_by_id((*others, dispute)))

    # --- what they add up to ---

    @property
    def refunded(self) -> int:
        """snapshot.amount_refunded minus the failed refunds told strictly after it (Stripe
        lowers amount_refunded when a refund fails, so a later snapshot already counts it; at
        the same second the snapshot is taken to count it), never below 0."""
        base = self.snapshot.amount_refunded if self.snapshot is not None else 0
        after = self.snapshot.created if self.snapshot is not None else -1
        failed = sum(f.amount for f in self.failures if f.created > after)
        return max(0, base - failed)

    @property
    def lost(self) -> int:
        return sum(d.amount for d in self.disputes if d.status == "lost")

    @property
    def open_dispute(self) -> bool:
        return any(not d.closed for d in self.disputes)

    @property
    def charge_amount(self) -> int | None:
        return self.snapshot.amount if self.snapshot is not None else None


_T = TypeVar("_T", "RefundFailure", "Dispute")


def _sorted_by_id(items: Iterable[_T]) -> tuple[_T, ...]:
    return tuple(sorted(items, key=_ident))


def _ident(item: RefundFailure | Dispute) -> str:
    return item.refund_id if isinstance(item, RefundFailure) else item.dispute_id


@dataclass(frozen=True, slots=True)
class LinkedEntry:
    """A commission (not a clawback) the charge paid, as it is now."""

    commission_id: str
    status: str
    reason: str | None
    original_amount: int
    amount: int
    #: the signed sum of the CLAWBACK entries reversing it (negative: taken back)
    adjustments: int
    #: how many CLAWBACK entries reverse it (the next one is number count + 1)
    adjustment_count: int
    #: Unix seconds: PENDING before, APPROVED after
    hold_until: int
    #: the commissionable amount of its sale: the charge's amount when no refund told it
    sale_amount: int
    #: its subscription was deleted (customer.subscription.deleted): it cannot be PENDING
    subscription_ended: bool = False

    @property
    def net(self) -> int:
        """What its non-canceled entries sum to now."""
        return (0 if self.status == "CANCELED" else self.amount) + self.adjustments


def share(original_amount: int, taken: int, charge_amount: int) -> int:
    """round_half_up(commission * taken / charge amount), taken clamped to the charge; all of
    it for a charge of 0 (nothing can be left of it)."""
    if charge_amount <= 0:
        return original_amount
    return prorate(original_amount, taken, charge_amount)


def target(entry: LinkedEntry, facts: ChargeFacts) -> int:
    """What the entry's non-canceled entries must sum to: commission - share(refunded + lost).

    The charge amount is the latest refund snapshot's; without one, the sale's commissionable
    amount stands in (exact for a sale without tax; a lost dispute of at least that amount
    takes all of it, and the share never exceeds the commission)."""
    charge = facts.charge_amount if facts.charge_amount is not None else entry.sale_amount
    taken = min(charge, facts.refunded + facts.lost)
    return entry.original_amount - share(entry.original_amount, taken, charge)


def _refunds_alone_take_all(entry: LinkedEntry, facts: ChargeFacts) -> bool:
    charge = facts.charge_amount if facts.charge_amount is not None else entry.sale_amount
    return share(entry.original_amount, facts.refunded, charge) >= entry.original_amount


def settled_status(
    entry: LinkedEntry, facts: ChargeFacts, now: int
) -> tuple[str, CancelReason | HoldReason | None]:
    """The status an unpaid entry comes back to, or moves to, when nothing took all of it."""
    if entry.status == "ON_HOLD" and entry.reason == HoldReason.MANUAL.value:
        return "ON_HOLD", HoldReason.MANUAL  # the operator's: only they release it
    if facts.open_dispute:
        return "ON_HOLD", HoldReason.DISPUTED
    if entry.status in {"PENDING", "APPROVED"}:
        return entry.status, None  # unchanged: the scheduler approves when due
    if now >= entry.hold_until:
        return "APPROVED", None
    if entry.subscription_ended:
        # Its subscription's deletion cancels every PENDING entry: had the loss not come
        # first, it would have canceled this one (the same ledger in either order).
        return "CANCELED", CancelReason.SUBSCRIPTION_CANCELED
    return "PENDING", None


def _unpaid(entry: LinkedEntry, facts: ChargeFacts, now: int) -> Command | None:
    goal = target(entry, facts)
    if goal <= 0:
        reason = (
            CancelReason.REFUNDED
            if _refunds_alone_take_all(entry, facts)
            else CancelReason.DISPUTE_LOST
        )
        # A canceled entry keeps the amount it had: what it was worth when it stopped.
        status, amount = "CANCELED", entry.amount
        new_reason: CancelReason | HoldReason | None = reason
    else:
        status, new_reason = settled_status(entry, facts, now)
        amount = goal
    if (status, amount, new_reason) == (entry.status, entry.amount, entry.reason):
        return None
    return RestateCommission(entry.commission_id, amount, status, new_reason)


def clawback_key(commission_id: str, number: int) -> str:
    """The n-th adjustment of a paid entry (keys of old clawbacks, `clawback:<id>:<share>`,
    have a colon there: never the same)."""
    return f"clawback:{commission_id}#{number}"


def decide_losses(
    facts: ChargeFacts, linked: Sequence[LinkedEntry], *, now: int
) -> tuple[Command, ...]:
    """Bring every linked entry to its target.

    - unpaid (PENDING, APPROVED, ON_HOLD): its amount becomes the target, up or down; at 0 it
      is CANCELED (`refunded`, or `dispute_lost` when refunds alone would have left some);
      held `disputed` while a dispute of the charge is open;
    - CANCELED `refunded`/`dispute_lost`: back to what it would be now when the target is
      above 0 again; CANCELED for any other reason: never touched;
    - PAID: never modified; a CLAWBACK entry of the difference (negative or positive) makes
      its entries sum to the target. A duplicate event finds no difference: nothing.
    """
    commands: list[Command] = []
    for entry in linked:
        if entry.status in UNPAID or (entry.status == "CANCELED" and entry.reason in LOSS_REASONS):
            command = _unpaid(entry, facts, now)
            if command is not None:
                commands.append(command)
        elif entry.status == "PAID":
            delta = target(entry, facts) - (entry.amount + entry.adjustments)
            if delta != 0:
                key = clawback_key(entry.commission_id, entry.adjustment_count + 1)
                commands.append(CreateClawback(entry.commission_id, delta, key))
    return tuple(commands)


#: the command that records one fact of a charge
FactCommand = RecordRefundSnapshot | RecordRefundFailure | RecordDispute


def with_fact(facts: ChargeFacts, fact: FactCommand) -> ChargeFacts:
    """The facts once `fact` is recorded (as the storage's upserts keep the winner)."""
    match fact:
        case RecordRefundSnapshot():
            return facts.with_snapshot(
                RefundSnapshot(fact.amount, fact.amount_refunded, fact.created)
            )
        case RecordRefundFailure():
            return facts.with_failure(
                RefundFailure(fact.refund_id, fact.amount, fact.status, fact.created)
            )
        case RecordDispute():
            return facts.with_dispute(
                Dispute(
                    fact.dispute_id,
                    fact.payment_intent_id,
                    fact.amount,
                    fact.status,
                    fact.reason,
                    fact.created,
                )
            )


def unlinked_park(payment_intent_id: str | None, charge_id: str, invoice_id: str | None) -> Park:
    """Where an event of a charge with no commission yet waits: the invoice Stripe's API named
    (a basil invoice's commission may never learn its payment intent), else the payment
    intent, else the charge."""
    if invoice_id:
        return Park("invoice", invoice_id)
    if payment_intent_id:
        return Park("payment_intent", payment_intent_id)
    return Park("charge", charge_id)


def decide_charge_fact(
    fact: FactCommand,
    facts: ChargeFacts,
    linked: Sequence[LinkedEntry],
    *,
    now: int,
    park: Park,
) -> Decision:
    """One more fact of a charge: record it, and bring every linked entry to its target.

    With nothing linked yet the fact is recorded anyway (the commission made later reads it
    when the parked event runs again) and the event parks on `park`."""
    if not linked:
        return Decision.skipped(SkipReason.UNLINKED_CHARGE, fact, park)
    return Decision((fact, *decide_losses(with_fact(facts, fact), linked, now=now)))
