"""The four events through the real pipeline and PostgreSQL: every rule of docs/commissions.md."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import text, update
from sqlalchemy.orm import Session

from domain.months import add_months
from domain.programs import PercentReward, ProgramTerms
from storage.models import Commission
from storage.repositories import clicks
from tests.workers.conftest import NOW, Shop, entries, make_shop
from traaaction import stripe_payloads as ev

T0 = 1_768_471_205  # 2026-01-15 10:00:05 UTC: the checkout
HOUR = 3600


def make_click(shop: Shop) -> str:
    """Another click of the shop's partner."""
    with Session(shop.engine) as session, session.begin():
        return clicks.create(session, partner_id=shop.partner_id).id


def pay(shop: Shop, ids: list[str]) -> None:
    with Session(shop.engine) as session, session.begin():
        session.execute(update(Commission).where(Commission.id.in_(ids)).values(status="PAID"))


# --- attribution -----------------------------------------------------------------------


def test_a_paid_one_off_checkout_makes_a_pending_sale_on_the_amount_before_tax(shop: Shop) -> None:
    outcome = shop.deliver(
        ev.checkout_session_completed(
            session_id="cs_1",
            click_id=shop.click_id,
            amount=12_000,
            tax=2_000,
            payment_intent="pi_1",
        ).text
    )
    [sale] = shop.commissions()
    assert (sale.kind, sale.month, sale.status, sale.amount) == ("SALE", None, "PENDING", 1_000)
    assert (sale.sale_amount, sale.sale_currency, sale.currency) == (10_000, "usd", "usd")
    assert (sale.partner_id, sale.click_id, sale.payment_intent_id) == (
        shop.partner_id,
        shop.click_id,
        "pi_1",
    )
    assert sale.hold_until == NOW + timedelta(days=30)
    assert sale.livemode is False
    assert (outcome.outcome, outcome.commission_ids) == ("processed", (sale.id,))
    [row] = shop.log()
    assert (row.outcome, row.commission_ids, row.attempt) == ("processed", [sale.id], 1)


def test_a_subscription_checkout_makes_recurring_month_one(shop: Shop) -> None:
    shop.deliver(
        ev.checkout_session_completed(
            session_id="cs_1",
            click_id=shop.click_id,
            mode="subscription",
            subscription="sub_1",
            invoice=None,
        ).text
    )
    assert entries(shop) == [("RECURRING", 1, "PENDING", 1_000, None)]


@pytest.mark.parametrize(
    ("kwargs", "reason"),
    [
        ({"click_id": None}, "missing_click_id"),
        ({"click_id": "   "}, "missing_click_id"),
        ({"click_id": "clk_doesnotexistdoesnotexist"}, "unknown_click_id"),
        ({"click_id": "not even shaped like a click \ud800"}, "unknown_click_id"),
        ({"mode": "setup", "amount": None, "payment_status": "paid"}, "no_payment"),
        ({"payment_status": "unpaid"}, "awaiting_payment"),
        ({"payment_status": "no_payment_required", "amount": 0}, "non_positive_amount"),
        ({"amount": 500, "tax": 500}, "non_positive_amount"),
    ],
)
def test_checkouts_that_earn_nothing_are_skipped_with_their_reason(
    shop: Shop, kwargs: dict[str, object], reason: str
) -> None:
    args: dict[str, object] = {"session_id": "cs_1", "click_id": shop.click_id, **kwargs}
    outcome = shop.deliver(ev.checkout_session_completed(**args).text)  # type: ignore[arg-type]
    assert (outcome.outcome, outcome.reason) == ("skipped", reason)
    assert shop.commissions() == []
    assert [(r.outcome, r.reason) for r in shop.log()] == [("skipped", reason)]


def test_another_workspaces_click_is_unknown_here(shop: Shop, flat_shop: Shop) -> None:
    outcome = shop.deliver(
        ev.checkout_session_completed(session_id="cs_1", click_id=flat_shop.click_id).text
    )
    assert outcome.reason == "unknown_click_id"


@pytest.mark.parametrize("reference", ["{click}", "trac_{click}"])
def test_a_payment_link_sale_earns_for_the_click_in_client_reference_id(
    shop: Shop, reference: str
) -> None:
    shop.deliver(
        ev.checkout_session_completed(
            session_id="cs_link",
            client_reference_id=reference.format(click=shop.click_id),
            payment_intent="pi_link",
        ).text
    )
    [sale] = shop.commissions()
    assert (sale.kind, sale.amount, sale.click_id) == ("SALE", 1_000, shop.click_id)
    assert sale.attribution_source == "client_reference_id"


def test_the_metadata_click_wins_and_an_unknown_one_falls_back_to_client_reference_id(
    shop: Shop, flat_shop: Shop
) -> None:
    other = make_click(shop)
    shop.deliver(
        ev.checkout_session_completed(
            session_id="cs_both", click_id=shop.click_id, client_reference_id=other
        ).text
    )
    # Another workspace's click in the metadata names nothing here: the reference decides.
    shop.deliver(
        ev.checkout_session_completed(
            session_id="cs_fallback", click_id=flat_shop.click_id, client_reference_id=other
        ).text
    )
    by_session = {c.checkout_session_id: c for c in shop.commissions()}
    assert (by_session["cs_both"].click_id, by_session["cs_both"].attribution_source) == (
        shop.click_id,
        "click_metadata",
    )
    assert (
        by_session["cs_fallback"].click_id,
        by_session["cs_fallback"].attribution_source,
    ) == (other, "client_reference_id")


def test_a_merchant_reference_in_client_reference_id_is_not_a_click(shop: Shop) -> None:
    outcome = shop.deliver(
        ev.checkout_session_completed(session_id="cs_1", client_reference_id="user_4821").text
    )
    assert (outcome.outcome, outcome.reason) == ("skipped", "missing_click_id")


def test_renewals_and_clawbacks_keep_the_source_of_their_attribution(shop: Shop) -> None:
    shop.deliver(
        ev.checkout_session_completed(
            mode="subscription",
            session_id="cs_sub",
            client_reference_id=f"trac_{shop.click_id}",
            subscription="sub_1",
            invoice=None,
            created=T0,
        ).text
    )
    shop.deliver(
        ev.invoice_paid(
            invoice_id="in_2",
            subscription="sub_1",
            payment_intent="pi_2",
            service_start=add_months(T0 - 5, 1),
            api_version=ev.PRE_BASIL,
        ).text
    )
    month_two = next(c for c in shop.commissions() if c.month == 2)
    pay(shop, [month_two.id])
    shop.deliver(
        ev.charge_refunded(
            charge_id="ch_2", payment_intent="pi_2", amount=10_000, amount_refunded=10_000
        ).text
    )
    rows = shop.commissions()
    assert sorted((c.kind, c.month) for c in rows) == [
        ("CLAWBACK", None),
        ("RECURRING", 1),
        ("RECURRING", 2),
    ]
    assert {c.attribution_source for c in rows} == {"client_reference_id"}


def test_zero_decimal_currencies_need_no_special_case(shop: Shop) -> None:
    shop.deliver(
        ev.checkout_session_completed(
            session_id="cs_1", click_id=shop.click_id, amount=1_995, currency="jpy"
        ).text
    )
    [sale] = shop.commissions()
    assert (sale.amount, sale.currency) == (200, "jpy")  # 10 % of ¥1,995 = ¥199.5, half up


def test_a_flat_program_pays_its_own_amount_and_currency(flat_shop: Shop) -> None:
    flat_shop.deliver(
        ev.checkout_session_completed(
            session_id="cs_1", click_id=flat_shop.click_id, amount=99_999
        ).text
    )
    [sale] = flat_shop.commissions()
    assert (sale.amount, sale.currency, sale.sale_amount, sale.sale_currency) == (
        500,
        "eur",
        99_999,
        "usd",
    )


def test_an_event_applied_once_is_a_duplicate_after(shop: Shop) -> None:
    body = ev.checkout_session_completed(session_id="cs_1", click_id=shop.click_id).text
    shop.deliver(body)
    again = shop.deliver(body)
    assert (again.outcome, again.reason) == ("duplicate", "already_applied")
    assert len(shop.commissions()) == 1


def test_a_second_event_for_the_same_checkout_session_makes_no_second_commission(
    shop: Shop,
) -> None:
    shop.deliver(ev.checkout_session_completed(session_id="cs_1", click_id=shop.click_id).text)
    other_event = shop.deliver(
        ev.checkout_session_completed(session_id="cs_1", click_id=shop.click_id).text
    )
    assert other_event.commission_ids == ()
    assert len(shop.commissions()) == 1


def test_test_mode_events_make_test_commissions(shop: Shop) -> None:
    shop.deliver(
        ev.checkout_session_completed(
            session_id="cs_live", click_id=shop.click_id, livemode=True
        ).text
    )
    shop.deliver(
        ev.checkout_session_completed(
            session_id="cs_test", click_id=shop.click_id, livemode=False
        ).text
    )
    assert sorted(c.livemode for c in shop.commissions()) == [False, True]
    assert sorted(bool(r.livemode) for r in shop.log()) == [False, True]


# --- delayed payments ------------------------------------------------------------------


def delayed(shop: Shop, *, mode: str = "payment", **extra: object) -> dict[str, object]:
    """The arguments of one delayed-payment session's three events."""
    session: dict[str, object] = {
        "session_id": "cs_sepa",
        "click_id": shop.click_id,
        "customer": "cus_sepa",
        "mode": mode,
        "created": T0,
        **extra,
    }
    if mode == "payment":
        session["payment_intent"] = "pi_sepa"
    else:
        session |= {"subscription": "sub_sepa", "invoice": None}
    return session


def completed_unpaid(session: dict[str, object]) -> str:
    unpaid = ev.checkout_session_completed(payment_status="unpaid", **session)  # type: ignore[arg-type]
    return unpaid.text


def succeeded(session: dict[str, object], *, created: int = T0 + 3 * 24 * HOUR) -> str:
    return ev.checkout_session_async_payment(succeeded=True, **{**session, "created": created}).text


def test_a_delayed_payment_records_the_attribution_then_earns_when_it_succeeds(
    shop: Shop,
) -> None:
    session = delayed(shop)
    first = shop.deliver(completed_unpaid(session))
    assert (first.outcome, first.reason, shop.commissions()) == ("skipped", "awaiting_payment", [])
    paid = shop.deliver(succeeded(session))
    assert paid.outcome == "processed"
    [sale] = shop.commissions()
    assert (sale.kind, sale.status, sale.amount, sale.payment_intent_id) == (
        "SALE",
        "PENDING",
        1_000,
        "pi_sepa",
    )
    # The same success told again (another event id) makes nothing more.
    assert shop.deliver(succeeded(session)).commission_ids == ()
    assert len(shop.commissions()) == 1


def test_a_success_before_its_completion_waits_for_it_and_earns_once(shop: Shop) -> None:
    session = delayed(shop)
    early = shop.deliver(succeeded(session))
    assert (early.outcome, early.reason, shop.commissions()) == ("skipped", "unattributed", [])
    shop.deliver(completed_unpaid(session))
    [sale] = shop.commissions()
    assert (sale.kind, sale.amount) == ("SALE", 1_000)
    assert [(r.event_type, r.outcome, r.reason) for r in shop.log()][-2:] == [
        ("checkout.session.completed", "skipped", "awaiting_payment"),
        (
            "checkout.session.async_payment_succeeded",
            "processed",
            "released_by_checkout_session",
        ),
    ]


def test_a_delayed_subscription_payment_is_month_one_counted_from_the_completion(
    shop: Shop,
) -> None:
    session = delayed(shop, mode="subscription")
    # In either order month 1 starts at the completion, not at the payment three days later.
    shop.deliver(succeeded(session))
    shop.deliver(completed_unpaid(session))
    shop.deliver(
        ev.invoice_paid(
            invoice_id="in_2",
            subscription="sub_sepa",
            service_start=add_months(T0 - 5, 1),
            api_version=ev.PRE_BASIL,
        ).text
    )
    assert [(c.kind, c.month, c.amount) for c in shop.commissions()] == [
        ("RECURRING", 1, 1_000),
        ("RECURRING", 2, 1_000),
    ]
    month_one = shop.commissions()[0]
    assert month_one.service_period_start is not None
    assert int(month_one.service_period_start.timestamp()) == T0


def test_a_failed_delayed_payment_earns_nothing(shop: Shop) -> None:
    session = delayed(shop)
    shop.deliver(completed_unpaid(session))
    failed = shop.deliver(ev.checkout_session_async_payment(succeeded=False, **session).text)
    assert (failed.outcome, failed.reason) == ("skipped", "payment_failed")
    assert shop.commissions() == []


def test_a_delayed_payment_that_names_no_click_here_waits_for_nothing(
    shop: Shop, flat_shop: Shop
) -> None:
    for click in (None, flat_shop.click_id):
        outcome = shop.deliver(succeeded(delayed(shop, click_id=click, session_id=f"cs_{click}")))
        assert outcome.reason in {"missing_click_id", "unknown_click_id"}
    with Session(shop.engine) as session:
        assert session.scalar(text("SELECT count(*) FROM parked_events")) == 0


# --- recurring -------------------------------------------------------------------------


def subscribe(shop: Shop, *, sub: str = "sub_1", trial: bool = False) -> None:
    shop.deliver(
        ev.checkout_session_completed(
            session_id=f"cs_{sub}",
            click_id=shop.click_id,
            mode="subscription",
            subscription=sub,
            payment_status="no_payment_required" if trial else "paid",
            amount=0 if trial else 10_000,
            created=T0,
            invoice=None,
        ).text
    )


@pytest.mark.parametrize("api", [ev.PRE_BASIL, ev.BASIL])
def test_cycle_invoices_earn_months_two_and_three_counted_from_the_checkout(
    shop: Shop, api: str
) -> None:
    subscribe(shop)
    # Stripe's periods start 5 s before the checkout event's time: N must not shift.
    for n in (1, 2):
        shop.deliver(
            ev.invoice_paid(
                invoice_id=f"in_{n}",
                subscription="sub_1",
                api_version=api,
                service_start=add_months(T0 - 5, n),
            ).text
        )
    assert [(c.kind, c.month, c.amount) for c in shop.commissions()] == [
        ("RECURRING", 1, 1_000),
        ("RECURRING", 2, 1_000),
        ("RECURRING", 3, 1_000),
    ]


@pytest.mark.parametrize("offset", [-6 * HOUR, -5, 5, 6 * HOUR])
def test_an_anchor_hours_off_on_either_side_never_shifts_the_month(shop: Shop, offset: int) -> None:
    subscribe(shop)
    shop.deliver(
        ev.invoice_paid(
            invoice_id="in_2",
            subscription="sub_1",
            service_start=add_months(T0, 1) + offset,
            api_version=ev.PRE_BASIL,
        ).text
    )
    assert [c.month for c in shop.commissions()] == [1, 2]


def test_the_invoice_amount_is_the_tax_free_share_of_what_was_paid(shop: Shop) -> None:
    subscribe(shop)
    shop.deliver(
        ev.invoice_paid(
            invoice_id="in_2",
            subscription="sub_1",
            service_start=add_months(T0, 1),
            amount=12_000,
            tax=1_999,
            amount_paid=6_000,
            api_version=ev.PRE_BASIL,
        ).text
    )
    assert shop.commissions()[-1].sale_amount == 5_001  # 6000 * 10001 / 12000 = 5000.5, half up


def test_past_the_programs_months_invoices_are_skipped(engine: object, shop: Shop) -> None:
    short = make_shop(shop.engine, ProgramTerms(PercentReward(1000), recurring_months=2), "Short")
    subscribe(short)
    shop_outcomes = [
        short.deliver(
            ev.invoice_paid(
                invoice_id=f"in_{n}",
                subscription="sub_1",
                service_start=add_months(T0, n),
                api_version=ev.PRE_BASIL,
            ).text
        )
        for n in (1, 2)
    ]
    assert [o.reason for o in shop_outcomes] == [None, "recurring_limit_reached"]
    assert [c.month for c in short.commissions()] == [1, 2]


def test_the_first_invoice_links_its_payment_to_month_one(shop: Shop) -> None:
    subscribe(shop)
    outcome = shop.deliver(
        ev.invoice_paid(
            invoice_id="in_first",
            subscription="sub_1",
            service_start=T0,
            billing_reason="subscription_create",
            payment_intent="pi_first",
            api_version=ev.PRE_BASIL,
        ).text
    )
    assert (outcome.outcome, outcome.reason) == ("skipped", "first_invoice_via_checkout")
    [month_one] = shop.commissions()
    assert (month_one.invoice_id, month_one.payment_intent_id) == ("in_first", "pi_first")


def test_after_a_free_trial_the_first_paid_invoice_is_month_one(shop: Shop) -> None:
    subscribe(shop, trial=True)
    start = T0 + 14 * 86_400
    for n in (0, 1):
        shop.deliver(
            ev.invoice_paid(
                invoice_id=f"in_{n}",
                subscription="sub_1",
                service_start=add_months(start, n),
                api_version=ev.PRE_BASIL,
            ).text
        )
    assert [c.month for c in shop.commissions()] == [1, 2]


def test_a_later_invoice_applied_first_is_renumbered_when_the_earlier_arrives(shop: Shop) -> None:
    subscribe(shop, trial=True)
    start = T0 + 14 * 86_400
    shop.deliver(
        ev.invoice_paid(
            invoice_id="in_b",
            subscription="sub_1",
            service_start=add_months(start, 1),
            api_version=ev.PRE_BASIL,
        ).text
    )
    shop.deliver(
        ev.invoice_paid(
            invoice_id="in_a",
            subscription="sub_1",
            service_start=start,
            api_version=ev.PRE_BASIL,
        ).text
    )
    months = {c.invoice_id: c.month for c in shop.commissions()}
    assert months == {"in_a": 1, "in_b": 2}


def test_an_invoice_before_its_checkout_is_applied_when_the_checkout_arrives(shop: Shop) -> None:
    early = shop.deliver(
        ev.invoice_paid(
            invoice_id="in_2",
            subscription="sub_1",
            service_start=add_months(T0, 1),
            api_version=ev.PRE_BASIL,
        ).text
    )
    assert (early.outcome, early.reason) == ("skipped", "unattributed")
    subscribe(shop)
    # Both entries are made in the checkout's transaction: compare them as a set.
    assert sorted(c.month or 0 for c in shop.commissions()) == [1, 2]
    assert [(r.outcome, r.reason) for r in shop.log()] == [
        ("skipped", "unattributed"),
        ("processed", None),
        ("processed", "released_by_subscription"),
    ]


def test_an_unknown_subscriptions_invoice_is_unattributed(shop: Shop) -> None:
    outcome = shop.deliver(
        ev.invoice_paid(
            invoice_id="in_x",
            subscription="sub_nobody",
            service_start=T0,
            api_version=ev.PRE_BASIL,
        ).text
    )
    assert outcome.reason == "unattributed"


def test_a_non_positive_invoice_is_skipped(shop: Shop) -> None:
    subscribe(shop)
    outcome = shop.deliver(
        ev.invoice_paid(
            invoice_id="in_0",
            subscription="sub_1",
            service_start=add_months(T0, 1),
            amount=0,
            api_version=ev.PRE_BASIL,
        ).text
    )
    assert outcome.reason == "non_positive_amount"


# --- cancellation ----------------------------------------------------------------------


def test_a_deleted_subscription_cancels_only_its_pending_commissions(shop: Shop) -> None:
    subscribe(shop)
    for n in (1, 2):
        shop.deliver(
            ev.invoice_paid(
                invoice_id=f"in_{n}",
                subscription="sub_1",
                service_start=add_months(T0, n),
                api_version=ev.PRE_BASIL,
            ).text
        )
    month_one, month_two, _ = shop.commissions()
    pay(shop, [month_one.id])
    with Session(shop.engine) as session, session.begin():
        session.execute(
            update(Commission).where(Commission.id == month_two.id).values(status="APPROVED")
        )
    shop.deliver(
        ev.customer_subscription_deleted(
            subscription="sub_1", ended_at=add_months(T0, 2) + 100
        ).text
    )
    assert [(c.month, c.status, c.reason) for c in shop.commissions()] == [
        (1, "PAID", None),
        (2, "APPROVED", None),
        (3, "CANCELED", "subscription_canceled"),
    ]


def test_invoices_after_a_deletion_are_skipped_or_born_canceled(shop: Shop) -> None:
    subscribe(shop)
    ended = add_months(T0, 1) + 86_400
    shop.deliver(ev.customer_subscription_deleted(subscription="sub_1", ended_at=ended).text)
    before = shop.deliver(
        ev.invoice_paid(
            invoice_id="in_2",
            subscription="sub_1",
            service_start=add_months(T0, 1),
            api_version=ev.PRE_BASIL,
        ).text
    )
    after = shop.deliver(
        ev.invoice_paid(
            invoice_id="in_3",
            subscription="sub_1",
            service_start=add_months(T0, 2),
            api_version=ev.PRE_BASIL,
        ).text
    )
    assert after.reason == "subscription_canceled"
    assert before.outcome == "processed"
    assert [(c.month, c.status) for c in shop.commissions()] == [(1, "CANCELED"), (2, "CANCELED")]


# --- refunds ---------------------------------------------------------------------------


def sell(shop: Shop, *, pi: str = "pi_1", amount: int = 10_000) -> Commission:
    shop.deliver(
        ev.checkout_session_completed(
            session_id=f"cs_{pi}", click_id=shop.click_id, payment_intent=pi, amount=amount
        ).text
    )
    return next(c for c in shop.commissions() if c.payment_intent_id == pi)


def test_a_partial_refund_reduces_an_unpaid_commission_in_proportion(shop: Shop) -> None:
    sell(shop)
    shop.deliver(
        ev.charge_refunded(
            charge_id="ch_1", payment_intent="pi_1", amount=10_000, amount_refunded=2_500
        ).text
    )
    assert entries(shop) == [("SALE", None, "PENDING", 750, None)]
    # The same cumulative refund told again (another event id) changes nothing.
    shop.deliver(
        ev.charge_refunded(
            charge_id="ch_1", payment_intent="pi_1", amount=10_000, amount_refunded=2_500
        ).text
    )
    assert entries(shop) == [("SALE", None, "PENDING", 750, None)]


def test_a_full_refund_cancels_an_unpaid_commission(shop: Shop) -> None:
    sell(shop)
    shop.deliver(
        ev.charge_refunded(
            charge_id="ch_1", payment_intent="pi_1", amount=10_000, amount_refunded=10_000
        ).text
    )
    assert entries(shop) == [("SALE", None, "CANCELED", 1_000, "refunded")]


def test_an_older_smaller_refund_arriving_late_gives_nothing_back(shop: Shop) -> None:
    sell(shop)
    shop.deliver(
        ev.charge_refunded(
            charge_id="ch_1", payment_intent="pi_1", amount=10_000, amount_refunded=6_000
        ).text
    )
    shop.deliver(
        ev.charge_refunded(
            charge_id="ch_1", payment_intent="pi_1", amount=10_000, amount_refunded=2_000
        ).text
    )
    assert entries(shop) == [("SALE", None, "PENDING", 400, None)]


def test_a_paid_commission_is_reversed_by_clawbacks_never_modified(shop: Shop) -> None:
    sale = sell(shop)
    pay(shop, [sale.id])
    shop.deliver(
        ev.charge_refunded(
            charge_id="ch_1", payment_intent="pi_1", amount=10_000, amount_refunded=3_333
        ).text
    )
    shop.deliver(
        ev.charge_refunded(
            charge_id="ch_1", payment_intent="pi_1", amount=10_000, amount_refunded=3_333
        ).text
    )
    shop.deliver(
        ev.charge_refunded(
            charge_id="ch_1", payment_intent="pi_1", amount=10_000, amount_refunded=10_000
        ).text
    )
    rows = shop.commissions()
    assert [(c.kind, c.status, c.amount) for c in rows] == [
        ("SALE", "PAID", 1_000),
        ("CLAWBACK", "APPROVED", -333),
        ("CLAWBACK", "APPROVED", -667),
    ]
    assert {c.reverses_commission_id for c in rows[1:]} == {sale.id}
    # Invariant: the non-canceled entries of the sale sum to commission - share.
    assert sum(c.amount for c in rows if c.status != "CANCELED") == 0


def test_a_refund_after_the_payout_takes_only_what_the_reduction_before_it_did_not(
    shop: Shop,
) -> None:
    sale = sell(shop)  # 10000 at 10 %: 1000
    refunded = 0

    def refund_to(total: int) -> None:
        nonlocal refunded
        refunded = total
        shop.deliver(
            ev.charge_refunded(
                charge_id="ch_1", payment_intent="pi_1", amount=10_000, amount_refunded=total
            ).text
        )

    refund_to(5_000)  # while PENDING: reduced to 500
    pay(shop, [sale.id])
    refund_to(7_500)
    rows = shop.commissions()
    assert [(c.kind, c.status, c.amount) for c in rows] == [
        ("SALE", "PAID", 500),
        ("CLAWBACK", "APPROVED", -250),
    ]
    refund_to(10_000)
    rows = shop.commissions()
    assert [c.amount for c in rows] == [500, -250, -250]
    assert sum(c.amount for c in rows if c.status != "CANCELED") == 1_000 - refunded // 10


def test_a_refund_before_its_sale_is_applied_when_the_sale_arrives(shop: Shop) -> None:
    early = shop.deliver(
        ev.charge_refunded(
            charge_id="ch_1", payment_intent="pi_1", amount=10_000, amount_refunded=5_000
        ).text
    )
    assert (early.outcome, early.reason) == ("skipped", "unlinked_charge")
    sell(shop)
    assert entries(shop) == [("SALE", None, "PENDING", 500, None)]


def test_a_refund_of_the_first_subscription_invoice_finds_month_one(shop: Shop) -> None:
    subscribe(shop)
    shop.deliver(
        ev.invoice_paid(
            invoice_id="in_first",
            subscription="sub_1",
            service_start=T0,
            billing_reason="subscription_create",
            payment_intent="pi_first",
            api_version=ev.PRE_BASIL,
        ).text
    )
    shop.deliver(
        ev.charge_refunded(
            charge_id="ch_1", payment_intent="pi_first", amount=10_000, amount_refunded=10_000
        ).text
    )
    assert entries(shop) == [("RECURRING", 1, "CANCELED", 1_000, "refunded")]


def test_a_refund_nobody_sold_is_unlinked(shop: Shop) -> None:
    outcome = shop.deliver(
        ev.charge_refunded(
            charge_id="ch_9", payment_intent="pi_9", amount=100, amount_refunded=100
        ).text
    )
    assert outcome.reason == "unlinked_charge"
    assert shop.commissions() == []
