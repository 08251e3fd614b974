"""Refunds and disputes through the real pipeline (docs/commissions.md, "Refunds and disputes").

Every linked commission is recomputed from all the facts of its charge: the unpaid ones
restated (reduced, CANCELED, held, restored), the PAID ones answered by a CLAWBACK of the
signed difference.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import update
from sqlalchemy.orm import Session

from domain.programs import PercentReward, ProgramTerms
from storage.db import make_session_factory
from storage.models import Commission
from tests.workers.conftest import NOW, Shop, entries, make_shop
from traaaction import stripe_payloads as ev
from workers.scheduler import tick

#: a dispute's and a refund's default times (the builders' defaults, in order)
REFUNDED_AT = ev.REFUND_CREATED


def sell(shop: Shop, *, pi: str = "pi_1", amount: int = 10_000) -> Commission:
    shop.deliver(
        ev.checkout_session_completed(
            session_id=f"cs_{pi}", click_id=shop.click_id, payment_intent=pi, amount=amount
        ).text
    )
    return next(c for c in shop.commissions() if c.payment_intent_id == pi)


def set_status(shop: Shop, commission_id: str, status: str, *, hold_passed: bool = False) -> None:
    values: dict[str, Any] = {"status": status, "reason": None}
    if hold_passed:
        values["hold_until"] = NOW - timedelta(days=1)
    with Session(shop.engine) as session, session.begin():
        session.execute(update(Commission).where(Commission.id == commission_id).values(values))


def refund(shop: Shop, total: int, *, created: int = REFUNDED_AT, amount: int = 10_000) -> None:
    shop.deliver(
        ev.charge_refunded(
            charge_id="ch_1",
            payment_intent="pi_1",
            amount=amount,
            amount_refunded=total,
            created=created,
        ).text
    )


def refund_failed(
    shop: Shop, amount: int, *, refund_id: str = "re_1", status: str = "failed"
) -> Any:
    return shop.deliver(
        ev.charge_refund_updated(
            status=status,
            amount=amount,
            charge_id="ch_1",
            payment_intent="pi_1",
            refund_id=refund_id,
            created=REFUNDED_AT + 86_400,
        ).text
    )


def dispute(shop: Shop, status: str, *, amount: int = 10_000, dispute_id: str = "dp_1") -> Any:
    build = (
        ev.charge_dispute_created
        if status in ev.DISPUTE_OPEN_STATUSES
        else ev.charge_dispute_closed
    )
    return shop.deliver(
        build(
            status=status,
            amount=amount,
            charge_id="ch_1",
            payment_intent="pi_1",
            dispute_id=dispute_id,
        ).text
    )


def net(shop: Shop) -> int:
    return sum(c.amount for c in shop.commissions() if c.status != "CANCELED")


# --- the money bug -------------------------------------------------------------


def test_a_reduction_before_the_payout_counts_as_taken_by_later_clawbacks(engine: Any) -> None:
    shop = make_shop(engine, ProgramTerms(PercentReward(3000)))
    sale = sell(shop)  # 10000 at 30 %: 3000
    refund(shop, 5_000)
    assert entries(shop) == [("SALE", None, "PENDING", 1_500, None)]
    set_status(shop, sale.id, "PAID")
    refund(shop, 7_500, created=REFUNDED_AT + 1)
    assert [(c.kind, c.status, c.amount) for c in shop.commissions()] == [
        ("SALE", "PAID", 1_500),
        ("CLAWBACK", "APPROVED", -750),
    ]
    assert net(shop) == 750
    refund(shop, 10_000, created=REFUNDED_AT + 2)
    assert [c.amount for c in shop.commissions()] == [1_500, -750, -750]
    assert net(shop) == 0
    # The same snapshot told again: nothing more.
    refund(shop, 10_000, created=REFUNDED_AT + 2)
    assert len(shop.commissions()) == 3


# --- failed and canceled refunds -------------------------------------------------------


def test_a_failed_refund_restores_an_unpaid_commission(shop: Shop) -> None:
    sell(shop)  # 10 %: 1000
    refund(shop, 10_000)
    assert entries(shop) == [("SALE", None, "CANCELED", 1_000, "refunded")]
    outcome = refund_failed(shop, 10_000)
    assert outcome.outcome == "processed"
    assert entries(shop) == [("SALE", None, "PENDING", 1_000, None)]
    assert shop.commissions()[0].canceled_at is None
    # Told again (another event id, same refund): the money came back once.
    refund_failed(shop, 10_000)
    assert entries(shop) == [("SALE", None, "PENDING", 1_000, None)]


def test_a_canceled_refund_gives_back_a_partial_reduction(shop: Shop) -> None:
    sell(shop)
    refund(shop, 4_000)
    assert entries(shop) == [("SALE", None, "PENDING", 600, None)]
    refund_failed(shop, 4_000, status="canceled")
    assert entries(shop) == [("SALE", None, "PENDING", 1_000, None)]


def test_a_failed_refund_of_a_paid_commission_reverses_its_clawback(shop: Shop) -> None:
    sale = sell(shop)
    set_status(shop, sale.id, "PAID")
    refund(shop, 5_000)
    assert [c.amount for c in shop.commissions()] == [1_000, -500]
    refund_failed(shop, 5_000)
    rows = shop.commissions()
    assert [(c.kind, c.status, c.amount) for c in rows] == [
        ("SALE", "PAID", 1_000),
        ("CLAWBACK", "APPROVED", -500),
        ("CLAWBACK", "APPROVED", 500),
    ]
    assert net(shop) == 1_000
    assert rows[2].business_key == f"clawback:{sale.id}#2"


def test_a_refund_update_that_is_no_failure_changes_nothing(shop: Shop) -> None:
    sell(shop)
    refund(shop, 5_000)
    outcome = refund_failed(shop, 5_000, status="succeeded")
    assert (outcome.outcome, outcome.reason) == ("skipped", "refund_not_failed")
    assert entries(shop) == [("SALE", None, "PENDING", 500, None)]


def test_a_failure_told_before_a_later_snapshot_is_not_counted_twice(shop: Shop) -> None:
    """Stripe lowers amount_refunded when a refund fails: a snapshot after the failure
    already counts it."""
    sell(shop)
    refund(shop, 3_000)
    refund_failed(shop, 3_000)  # at REFUNDED_AT + 1 day
    assert entries(shop) == [("SALE", None, "PENDING", 1_000, None)]
    # A second refund of 2000, after the failure: the charge now says 2000 refunded.
    refund(shop, 2_000, created=REFUNDED_AT + 2 * 86_400)
    assert entries(shop) == [("SALE", None, "PENDING", 800, None)]


# --- disputes --------------------------------------------------------------------------


def test_an_open_dispute_holds_unpaid_commissions_and_never_touches_a_paid_one(
    shop: Shop,
) -> None:
    pending = sell(shop, pi="pi_1")
    outcome = dispute(shop, "needs_response")
    assert outcome.outcome == "processed"
    assert entries(shop) == [("SALE", None, "ON_HOLD", 1_000, "disputed")]
    # The scheduler never approves it, however late.
    far = NOW + timedelta(days=400)
    assert tick(make_session_factory(shop.engine), now=far).approved == 0
    assert shop.commissions()[0].status == "ON_HOLD"
    set_status(shop, pending.id, "PAID")
    dispute(shop, "under_review")  # another event of the same dispute
    assert entries(shop) == [("SALE", None, "PAID", 1_000, None)]


def test_an_open_dispute_holds_an_approved_commission(shop: Shop) -> None:
    sale = sell(shop)
    set_status(shop, sale.id, "APPROVED", hold_passed=True)
    dispute(shop, "warning_needs_response")
    assert entries(shop) == [("SALE", None, "ON_HOLD", 1_000, "disputed")]


def test_a_won_dispute_returns_each_entry_to_what_it_would_be_now(shop: Shop) -> None:
    inside = sell(shop, pi="pi_1")
    dispute(shop, "needs_response")
    dispute(shop, "won")
    # Inside its holding period: PENDING.
    assert entries(shop) == [("SALE", None, "PENDING", 1_000, None)]
    assert shop.commissions()[0].id == inside.id


def test_a_closed_inquiry_after_the_holding_period_comes_back_approved(shop: Shop) -> None:
    sale = sell(shop)
    set_status(shop, sale.id, "APPROVED", hold_passed=True)
    dispute(shop, "warning_needs_response")
    dispute(shop, "warning_closed")
    assert entries(shop) == [("SALE", None, "APPROVED", 1_000, None)]


def test_a_prevented_dispute_told_before_its_opening_ends_released(shop: Shop) -> None:
    sell(shop)
    dispute(shop, "prevented")
    dispute(shop, "needs_response")  # the opening, arriving late: closed wins
    assert entries(shop) == [("SALE", None, "PENDING", 1_000, None)]


def test_a_lost_dispute_cancels_an_unpaid_commission(shop: Shop) -> None:
    sell(shop)
    dispute(shop, "needs_response")
    dispute(shop, "lost")
    assert entries(shop) == [("SALE", None, "CANCELED", 1_000, "dispute_lost")]


def test_a_partly_lost_dispute_reduces_an_unpaid_commission(shop: Shop) -> None:
    sale = sell(shop)
    set_status(shop, sale.id, "APPROVED", hold_passed=True)
    dispute(shop, "needs_response", amount=2_500)
    dispute(shop, "lost", amount=2_500)
    assert entries(shop) == [("SALE", None, "APPROVED", 750, None)]


def test_a_lost_dispute_of_a_paid_commission_is_clawed_back(shop: Shop) -> None:
    sale = sell(shop)
    set_status(shop, sale.id, "PAID")
    dispute(shop, "needs_response")
    assert len(shop.commissions()) == 1
    dispute(shop, "lost")
    assert [(c.kind, c.status, c.amount) for c in shop.commissions()] == [
        ("SALE", "PAID", 1_000),
        ("CLAWBACK", "APPROVED", -1_000),
    ]
    dispute(shop, "lost")  # told again
    assert net(shop) == 0


def test_refunds_and_a_lost_dispute_together_never_take_more_than_the_commission(
    shop: Shop,
) -> None:
    sale = sell(shop)
    set_status(shop, sale.id, "PAID")
    refund(shop, 6_000)
    dispute(shop, "lost", amount=10_000)
    assert net(shop) == 0
    assert [c.amount for c in shop.commissions()] == [1_000, -600, -400]
    refund_failed(shop, 6_000)  # the refund's money back: the dispute still took it all
    assert net(shop) == 0


def test_a_refund_then_a_lost_dispute_of_the_rest_cancels_as_refunded_or_lost(
    shop: Shop,
) -> None:
    sell(shop)
    refund(shop, 6_000)
    dispute(shop, "lost", amount=4_000)
    assert entries(shop) == [("SALE", None, "CANCELED", 400, "dispute_lost")]


def test_a_manual_hold_is_never_released_by_a_dispute(shop: Shop) -> None:
    sale = sell(shop)
    with Session(shop.engine) as session, session.begin():
        session.execute(
            update(Commission)
            .where(Commission.id == sale.id)
            .values(status="ON_HOLD", reason="manual")
        )
    dispute(shop, "needs_response", amount=5_000)
    assert entries(shop) == [("SALE", None, "ON_HOLD", 1_000, "manual")]
    dispute(shop, "won", amount=5_000)
    assert entries(shop) == [("SALE", None, "ON_HOLD", 1_000, "manual")]
    refund(shop, 5_000)  # its amount still follows the charge
    assert entries(shop) == [("SALE", None, "ON_HOLD", 500, "manual")]


def test_a_dispute_before_its_sale_parks_and_holds_the_sale_when_it_arrives(
    shop: Shop,
) -> None:
    early = dispute(shop, "needs_response")
    assert (early.outcome, early.reason) == ("skipped", "unlinked_charge")
    sell(shop)
    assert entries(shop) == [("SALE", None, "ON_HOLD", 1_000, "disputed")]
    released = [r for r in shop.log() if r.reason == "released_by_payment_intent"]
    assert [r.event_type for r in released] == ["charge.dispute.created"]


def test_a_dispute_closed_while_the_sale_was_unknown_leaves_it_pending(shop: Shop) -> None:
    dispute(shop, "needs_response")
    dispute(shop, "won")
    sell(shop)
    assert entries(shop) == [("SALE", None, "PENDING", 1_000, None)]


def test_a_hold_released_by_hand_during_an_open_dispute_stays_held(shop: Shop) -> None:
    from storage.repositories import commissions

    sale = sell(shop)
    with Session(shop.engine) as session, session.begin():
        commissions.hold(session, sale.id, now=datetime.now(UTC))
    dispute(shop, "needs_response")
    with Session(shop.engine) as session, session.begin():
        row = commissions.release(session, sale.id, now=datetime.now(UTC))
        assert (row.status, row.reason) == ("ON_HOLD", "disputed")
    dispute(shop, "won")
    assert entries(shop) == [("SALE", None, "PENDING", 1_000, None)]


FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "stripe"


@pytest.mark.parametrize("shape", [ev.BASIL, ev.PRE_BASIL])
def test_the_fixtures_of_a_chargeback_hold_then_cancel_the_sale(shop: Shop, shape: str) -> None:
    sell(shop, pi="pi_3QcHaRgEdIsPuTe0000001")
    shop.deliver((FIXTURES / shape / "charge.dispute.created.json").read_text())
    assert entries(shop) == [("SALE", None, "ON_HOLD", 1_000, "disputed")]
    shop.deliver((FIXTURES / shape / "charge.dispute.closed.json").read_text())
    assert entries(shop) == [("SALE", None, "CANCELED", 1_000, "dispute_lost")]
    # The fixture's failed refund of 2500 (no refund was recorded: nothing to give back).
    shop.deliver((FIXTURES / shape / "charge.refund.updated.json").read_text())
    assert entries(shop) == [("SALE", None, "CANCELED", 1_000, "dispute_lost")]
