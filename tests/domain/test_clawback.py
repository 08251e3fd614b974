"""Refunds against one commission, with a payout at any point: the money always adds up."""

from __future__ import annotations

from dataclasses import dataclass

from hypothesis import given
from hypothesis import strategies as st

from domain.clawback import LinkedCommission, decide_refund, refund_share
from domain.decisions import CancelCommission, CreateClawback, ReduceCommission
from domain.events import ChargeRefunded

CHARGE = 10_000


def refund(amount_refunded: int, *, amount: int = CHARGE) -> ChargeRefunded:
    return ChargeRefunded(
        event_id="evt_1",
        created=1_700_000_000,
        livemode=False,
        charge_id="ch_1",
        payment_intent_id="pi_1",
        amount=amount,
        amount_refunded=amount_refunded,
        currency="usd",
        customer_id=None,
        invoice_id=None,
    )


@dataclass
class Ledger:
    """One commission and its clawbacks, changed as the appliers would."""

    original: int
    status: str = "PENDING"
    amount: int = 0
    clawbacks: int = 0  # their sum, negative

    def __post_init__(self) -> None:
        self.amount = self.original

    def linked(self) -> LinkedCommission:
        return LinkedCommission("com_1", self.status, self.original, self.amount, -self.clawbacks)

    def apply(self, event: ChargeRefunded) -> None:
        for command in decide_refund(event, [self.linked()]).commands:
            match command:
                case ReduceCommission() if self.status in {"PENDING", "APPROVED"}:
                    self.amount = min(self.amount, command.amount)
                case CancelCommission() if self.status in {"PENDING", "APPROVED"}:
                    self.status = "CANCELED"
                case CreateClawback():
                    self.clawbacks += command.amount

    def net(self) -> int:
        """What the partner keeps: the non-canceled entries' sum."""
        return (self.amount if self.status != "CANCELED" else 0) + self.clawbacks


def test_a_refund_after_a_payout_does_not_take_back_the_part_reduced_before_it() -> None:
    # docs/commissions.md, Refunds: 10000 at 30 % is 3000; 5000 refunded while PENDING -> 1500;
    # paid; refunded to 7500 -> a CLAWBACK of 750 (not 2250): the partner keeps 750.
    ledger = Ledger(3_000)
    ledger.apply(refund(5_000))
    assert (ledger.status, ledger.amount) == ("PENDING", 1_500)
    ledger.status = "PAID"
    ledger.apply(refund(7_500))
    assert (ledger.clawbacks, ledger.net()) == (-750, 750)
    ledger.apply(refund(10_000))
    assert (ledger.clawbacks, ledger.net()) == (-1_500, 0)


@given(
    original=st.integers(min_value=1, max_value=10**9),
    charge=st.integers(min_value=1, max_value=10**9),
    refunds=st.lists(st.integers(min_value=0, max_value=10**9), min_size=1, max_size=8),
    paid_after=st.integers(min_value=0, max_value=8),
)
def test_whatever_the_refunds_and_the_payout_the_net_is_the_share_left(
    original: int, charge: int, refunds: list[int], paid_after: int
) -> None:
    """After every step, the entries sum to original - share(largest refund so far): never
    more taken than the commission, never less, whatever the order and the payout's moment."""
    ledger = Ledger(original)
    largest = 0
    for step, refunded in enumerate(min(r, charge) for r in refunds):
        if step == paid_after and ledger.status != "CANCELED":
            ledger.status = "PAID"
        ledger.apply(refund(refunded, amount=charge))
        largest = max(largest, refunded)
        assert ledger.net() == original - refund_share(original, largest, charge)
        assert 0 <= ledger.net() <= original
