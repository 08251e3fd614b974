"""Prorations and billing-cycle anchors against PostgreSQL (docs/commissions.md, "Recurring").

The recurring limit is a window of service periods counted from the anchor (the first paid
period's start): a period earns when it starts inside the window, in the month it starts in.
So an upgrade's proration invoice earns on its own amount in the month it falls in, and
never moves the months after it; a billing-cycle anchor change moves neither the anchor nor
the window's end.
"""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from domain.months import add_months
from domain.programs import PercentReward, ProgramTerms
from storage.models import Attribution
from tests.workers.conftest import Shop, make_shop
from traaaction import stripe_payloads as ev
from traaaction.stripe_payloads.invoice_lines import Line

#: 2026-01-15 10:00:05 UTC: the checkout, and the anchor
T0 = 1_768_471_205
DAY = 86_400
API_VERSIONS = (ev.PRE_BASIL, ev.BASIL, "2025-09-30.clover")


def subscribe(shop: Shop, api: str = ev.BASIL) -> None:
    shop.deliver(
        ev.checkout_session_completed(
            session_id="cs_sub_1",
            click_id=shop.click_id,
            mode="subscription",
            subscription="sub_1",
            amount=10_000,
            created=T0,
            invoice=None,
            api_version=api,
        ).text
    )


def renewal(shop: Shop, n: int, *, start: int | None = None, amount: int = 10_000) -> str | None:
    """The renewal invoice of the month starting n months after the anchor (or at `start`)."""
    outcome = shop.deliver(
        ev.invoice_paid(
            invoice_id=f"in_cycle_{n}",
            subscription="sub_1",
            amount=amount,
            service_start=add_months(T0, n) if start is None else start,
        ).text
    )
    return outcome.reason


def proration_invoice(
    shop: Shop, at: int, *, credit: int, charge: int, api: str = ev.BASIL, name: str = "in_up"
) -> str | None:
    """An upgrade at `at`, invoiced at once (proration_behavior=always_invoice): two proration
    lines for the rest of the period, the old price's unused time credited and the new one's
    charged; `billing_reason` subscription_update; the invoice's own period ends when it is
    made."""
    period_end = add_months(T0, 1 + (at - T0) // (31 * DAY))
    outcome = shop.deliver(
        ev.invoice_paid(
            invoice_id=name,
            subscription="sub_1",
            billing_reason="subscription_update",
            amount=charge - credit,
            service_start=at,
            lines=[
                Line(-credit, (at, period_end), proration=True, description="Unused time"),
                Line(charge, (at, period_end), proration=True, description="Remaining time"),
            ],
            api_version=api,
        ).text
    )
    return outcome.reason


def months(shop: Shop) -> list[tuple[str, int | None, str, int]]:
    return [(c.kind, c.month, c.status, c.amount) for c in shop.commissions()]


def anchor(shop: Shop) -> int:
    with Session(shop.engine) as session:
        [attribution] = session.scalars(
            select(Attribution).where(Attribution.workspace_id == shop.workspace_id)
        ).all()
        assert attribution.anchor_at is not None
        return int(attribution.anchor_at.timestamp())


@pytest.mark.parametrize("api", API_VERSIONS)
def test_an_upgrades_proration_invoice_earns_on_its_amount_in_the_month_it_falls_in(
    shop: Shop, api: str
) -> None:
    subscribe(shop, api)
    renewal(shop, 1)
    # Upgraded 10 days into month 2: -33.33 unused, +66.67 for the rest of the period
    # (proration lines: `type`/`proration` before basil, `parent` from basil on).
    upgrade = add_months(T0, 1) + 10 * DAY
    assert proration_invoice(shop, upgrade, credit=3_333, charge=6_667, api=api) is None
    renewal(shop, 2, amount=20_000)
    assert months(shop) == [
        ("RECURRING", 1, "PENDING", 1_000),
        ("RECURRING", 2, "PENDING", 1_000),
        # 10 % of its own 33.34, in month 2: the month it falls in, beside month 2's renewal
        ("RECURRING", 2, "PENDING", 333),
        # and month 3 is still month 3: the proration added no month
        ("RECURRING", 3, "PENDING", 2_000),
    ]
    assert anchor(shop) == T0


def test_prorations_billed_on_the_next_renewal_earn_with_it_in_its_month(shop: Shop) -> None:
    """proration_behavior=create_prorations: the upgrade's two proration lines wait for the
    renewal, whose subscription line names the period; the invoice earns on all of it."""
    subscribe(shop)
    upgrade = add_months(T0, 1) + 10 * DAY
    month_three = add_months(T0, 2)
    shop.deliver(
        ev.invoice_paid(
            invoice_id="in_cycle_2",
            subscription="sub_1",
            amount=20_000 + 3_334,
            service_start=month_three,
            lines=[
                Line(-3_333, (upgrade, month_three), proration=True),
                Line(6_667, (upgrade, month_three), proration=True),
                Line(20_000, (month_three, add_months(T0, 3))),
            ],
        ).text
    )
    assert months(shop)[1:] == [("RECURRING", 3, "PENDING", 2_333)]


def test_a_proration_inside_the_windows_last_month_earns_and_one_after_it_does_not(
    shop: Shop,
) -> None:
    short = make_shop(shop.engine, ProgramTerms(PercentReward(1000), recurring_months=2), "Two")
    subscribe(short)
    renewal(short, 1)
    assert proration_invoice(short, add_months(T0, 1) + 20 * DAY, credit=0, charge=2_000) is None
    assert renewal(short, 2) == "recurring_limit_reached"
    late = add_months(T0, 2) + 3 * DAY
    assert (
        proration_invoice(short, late, credit=0, charge=2_000, name="in_up_late")
        == "recurring_limit_reached"
    )
    assert months(short) == [
        ("RECURRING", 1, "PENDING", 1_000),
        ("RECURRING", 2, "PENDING", 1_000),
        ("RECURRING", 2, "PENDING", 200),
    ]


def test_a_downgrade_whose_credit_covers_the_charge_earns_nothing(shop: Shop) -> None:
    subscribe(shop)
    reason = proration_invoice(shop, T0 + 12 * DAY, credit=5_000, charge=5_000)
    assert reason == "non_positive_amount"
    assert months(shop) == [("RECURRING", 1, "PENDING", 1_000)]


def test_an_upgrade_in_month_one_earns_in_month_one(shop: Shop) -> None:
    subscribe(shop)
    assert proration_invoice(shop, T0 + 5 * DAY, credit=1_000, charge=3_000) is None
    renewal(shop, 1)
    assert [(m, a) for _, m, _, a in months(shop)] == [(1, 1_000), (1, 200), (2, 1_000)]


# --- billing-cycle anchor changes ---------------------------------------------------------------


def anchor_reset(shop: Shop, at: int, *, credit: int, price: int = 10_000) -> str | None:
    """billing_cycle_anchor=now at `at`: Stripe invoices at once a new full period from `at`
    (a non-proration subscription line) and credits the old period's unused time."""
    old_end = add_months(T0, 1 + (at - T0) // (31 * DAY))
    outcome = shop.deliver(
        ev.invoice_paid(
            invoice_id="in_reset",
            subscription="sub_1",
            billing_reason="subscription_update",
            amount=price - credit,
            service_start=at,
            lines=[
                Line(-credit, (at, old_end), proration=True, description="Unused time"),
                Line(price, (at, add_months(at, 1))),
            ],
        ).text
    )
    return outcome.reason


def test_a_billing_cycle_anchor_reset_keeps_the_anchor_and_the_windows_end(shop: Shop) -> None:
    short = make_shop(shop.engine, ProgramTerms(PercentReward(1000), recurring_months=3), "Three")
    subscribe(short)
    renewal(short, 1)  # 2026-02-15: month 2
    reset = add_months(T0, 1) + 10 * DAY  # 2026-02-25: the cycle now renews on the 25th
    assert anchor_reset(short, reset, credit=6_429) is None
    # The new cycle's renewals, a month apart from the reset, numbered from the first anchor.
    assert renewal(short, 3, start=add_months(reset, 1)) is None  # 2026-03-25: month 3
    assert renewal(short, 4, start=add_months(reset, 2)) == "recurring_limit_reached"  # 04-25
    assert months(short) == [
        ("RECURRING", 1, "PENDING", 1_000),
        ("RECURRING", 2, "PENDING", 1_000),
        # the reset invoice: a new period from 02-25, less 02-25..03-15 unused: in month 2
        ("RECURRING", 2, "PENDING", 357),
        ("RECURRING", 3, "PENDING", 1_000),
    ]
    assert anchor(short) == T0


def test_an_anchor_reset_before_the_first_anniversary_earns_in_month_one(shop: Shop) -> None:
    short = make_shop(shop.engine, ProgramTerms(PercentReward(1000), recurring_months=2), "Two")
    subscribe(short)
    reset = T0 + 20 * DAY  # 2026-02-04, before the first anniversary (02-15)
    assert anchor_reset(short, reset, credit=3_548) is None
    assert renewal(short, 2, start=add_months(reset, 1)) is None  # 03-04: month 2
    assert renewal(short, 3, start=add_months(reset, 2)) == "recurring_limit_reached"  # 04-04
    assert [(m, a) for _, m, _, a in months(short)] == [(1, 1_000), (1, 645), (2, 1_000)]
    assert anchor(short) == T0
