"""Attribution sources 3 and 4, the click window and first-purchase-only, and subscriptions
that no checkout attributed, through the real pipeline and PostgreSQL
(docs/commissions.md, "Attribution" and "Subscriptions without a checkout")."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime

import pytest
from sqlalchemy import Engine, select, text
from sqlalchemy.orm import Session

from domain.programs import PercentReward, ProgramTerms
from storage.db import make_session_factory, unit_of_work
from storage.models import Attribution
from storage.repositories import clicks, partners, promotion_codes
from tests.workers.conftest import Shop, entries, make_shop
from traaaction import stripe_payloads as ev

SALE_AT = ev.CHECKOUT_CREATED
T0 = 1_767_225_600  # 2026-01-01 00:00 UTC, a month's first invoice


def second_partner(shop: Shop, name: str = "Ravi") -> tuple[str, str]:
    """Another partner of the shop's program and a click of theirs."""
    with unit_of_work(make_session_factory(shop.engine)) as session:
        partner = partners.create(
            session, workspace_id=shop.workspace_id, program_id=shop.program_id, name=name
        )
        click = clicks.create(session, partner_id=partner.id)
        return partner.id, click.id


def give_code(shop: Shop, partner_id: str, code: str) -> None:
    with unit_of_work(make_session_factory(shop.engine)) as session:
        promotion_codes.add(session, partner_id=partner_id, promotion_code_id=code)


def click_made(shop: Shop, click_id: str, at: int) -> None:
    with Session(shop.engine) as session, session.begin():
        session.execute(
            text("UPDATE clicks SET created_at = :at WHERE id = :id"),
            {"at": datetime.fromtimestamp(at, UTC), "id": click_id},
        )


def set_program(shop: Shop, **columns: object) -> None:
    sets = ", ".join(f"{name} = :{name}" for name in columns)
    with Session(shop.engine) as session, session.begin():
        session.execute(
            text(f"UPDATE programs SET {sets} WHERE id = :id"),  # noqa: S608 (test's own names)
            {**columns, "id": shop.program_id},
        )


def sources(shop: Shop) -> list[tuple[str | None, str | None, str]]:
    return [(c.partner_id, c.click_id, c.attribution_source) for c in shop.commissions()]


def reasons(shop: Shop) -> list[tuple[str, str | None]]:
    return [(row.outcome, row.reason) for row in shop.log()]


_sessions = itertools.count()


def checkout(**kwargs: object) -> str:
    args: dict[str, object] = {"session_id": f"cs_{next(_sessions)}", **kwargs}
    return ev.checkout_session_completed(**args).text  # type: ignore[arg-type]


# --- source 3: a partner's promotion code ----------------------------------------------------


def test_a_partners_promotion_code_attributes_a_checkout_without_a_click(shop: Shop) -> None:
    give_code(shop, shop.partner_id, "promo_SUMMER")
    outcome = shop.deliver(checkout(promotion_code="promo_SUMMER", customer="cus_1"))
    assert outcome.outcome == "processed"
    assert sources(shop) == [(shop.partner_id, None, "promotion_code")]
    assert entries(shop) == [("SALE", None, "PENDING", 1_000, None)]


def test_a_click_comes_before_a_promotion_code_and_an_unknown_code_names_no_one(
    shop: Shop,
) -> None:
    other, _ = second_partner(shop)
    give_code(shop, other, "promo_RAVI")
    shop.deliver(checkout(click_id=shop.click_id, promotion_code="promo_RAVI"))
    assert sources(shop) == [(shop.partner_id, shop.click_id, "click_metadata")]
    outcome = shop.deliver(checkout(promotion_code="promo_NOBODY"))
    assert (outcome.outcome, outcome.reason) == ("skipped", "missing_click_id")


def test_another_workspaces_promotion_code_names_no_one_here(shop: Shop, engine: Engine) -> None:
    elsewhere = make_shop(engine, ProgramTerms(PercentReward(500)), "Elsewhere")
    give_code(elsewhere, elsewhere.partner_id, "promo_SHARED")
    outcome = shop.deliver(checkout(promotion_code="promo_SHARED"))
    assert (outcome.outcome, outcome.reason) == ("skipped", "missing_click_id")
    assert shop.commissions() == []


# --- source 4: the customer's earlier attribution --------------------------------------------


def test_a_repeat_purchase_earns_for_the_partner_who_brought_the_customer(shop: Shop) -> None:
    shop.deliver(checkout(click_id=shop.click_id, customer="cus_9"))
    outcome = shop.deliver(checkout(customer="cus_9", amount=5_000))
    assert outcome.outcome == "processed"
    assert sources(shop) == [
        (shop.partner_id, shop.click_id, "click_metadata"),
        (shop.partner_id, shop.click_id, "customer"),
    ]
    assert [c.amount for c in shop.commissions()] == [1_000, 500]
    # another customer's purchase is no one's
    assert shop.deliver(checkout(customer="cus_other")).reason == "missing_click_id"


def test_a_new_click_of_another_partner_wins_over_the_customers_earlier_partner(
    shop: Shop,
) -> None:
    other, other_click = second_partner(shop)
    shop.deliver(checkout(click_id=shop.click_id, customer="cus_9"))
    shop.deliver(checkout(click_id=other_click, customer="cus_9"))
    assert [p for p, _, _ in sources(shop)] == [shop.partner_id, other]


def test_first_purchase_only_skips_every_repeat_purchase(shop: Shop) -> None:
    set_program(shop, first_purchase_only=True)
    _, other_click = second_partner(shop)
    shop.deliver(checkout(click_id=shop.click_id, customer="cus_9"))
    repeat = shop.deliver(checkout(customer="cus_9"))
    by_new_click = shop.deliver(checkout(click_id=other_click, customer="cus_9"))
    assert (repeat.reason, by_new_click.reason) == ("repeat_purchase", "repeat_purchase")
    assert len(shop.commissions()) == 1
    # a first purchase of another customer still earns
    assert shop.deliver(checkout(click_id=shop.click_id, customer="cus_new")).outcome == (
        "processed"
    )


# --- the click window ------------------------------------------------------------------------


def test_a_click_older_than_the_window_is_skipped_click_expired(shop: Shop) -> None:
    set_program(shop, click_window_days=30)
    click_made(shop, shop.click_id, SALE_AT - 30 * 86_400 - 1)
    outcome = shop.deliver(checkout(click_id=shop.click_id))
    assert (outcome.outcome, outcome.reason) == ("skipped", "click_expired")
    click_made(shop, shop.click_id, SALE_AT - 30 * 86_400)
    assert shop.deliver(checkout(click_id=shop.click_id)).outcome == "processed"


def test_an_expired_click_falls_through_to_a_promotion_code(shop: Shop) -> None:
    other, _ = second_partner(shop)
    give_code(shop, other, "promo_RAVI")
    click_made(shop, shop.click_id, SALE_AT - 91 * 86_400)  # the default window is 90 days
    shop.deliver(checkout(click_id=shop.click_id, promotion_code="promo_RAVI"))
    assert sources(shop) == [(other, None, "promotion_code")]


# --- subscriptions that no checkout attributed -----------------------------------------------


def invoice(shop: Shop, **kwargs: object) -> str:
    args: dict[str, object] = {
        "subscription": "sub_api",
        "customer": "cus_api",
        "service_start": T0,
        "billing_reason": "subscription_create",
        **kwargs,
    }
    return ev.invoice_paid(**args).text  # type: ignore[arg-type]


@pytest.mark.parametrize("api_version", [ev.PRE_BASIL, ev.DEFAULT_API_VERSION])
def test_an_api_subscription_with_the_click_in_its_metadata_earns_from_month_one(
    shop: Shop, api_version: str
) -> None:
    metadata = {"tracClickId": shop.click_id}
    first = shop.deliver(
        invoice(shop, invoice_id="in_1", subscription_metadata=metadata, api_version=api_version)
    )
    assert first.outcome == "processed"
    renewal = invoice(
        shop,
        invoice_id="in_2",
        service_start=T0 + 31 * 86_400,
        billing_reason="subscription_cycle",
        subscription_metadata=metadata,
        api_version=api_version,
    )
    shop.deliver(renewal)
    assert [(c.kind, c.month, c.attribution_source) for c in shop.commissions()] == [
        ("RECURRING", 1, "subscription_metadata"),
        ("RECURRING", 2, "subscription_metadata"),
    ]
    with Session(shop.engine) as session:
        [attribution] = session.scalars(
            select(Attribution).where(Attribution.workspace_id == shop.workspace_id)
        )
    assert (attribution.checkout_session_id, attribution.subscription_id) == (None, "sub_api")


def test_a_renewal_that_arrived_first_waits_for_the_attributing_invoice(shop: Shop) -> None:
    renewal = invoice(
        shop, invoice_id="in_2", service_start=T0 + 31 * 86_400, billing_reason="subscription_cycle"
    )
    assert shop.deliver(renewal).reason == "unattributed"
    shop.deliver(
        invoice(shop, invoice_id="in_1", subscription_metadata={"tracClickId": shop.click_id})
    )
    assert sorted(c.month or 0 for c in shop.commissions()) == [1, 2]


def test_an_invoice_promotion_code_before_basil_and_the_customer_attribute_too(
    shop: Shop,
) -> None:
    give_code(shop, shop.partner_id, "promo_SUB")
    shop.deliver(
        invoice(shop, invoice_id="in_a", promotion_code="promo_SUB", api_version=ev.PRE_BASIL)
    )
    # a second subscription of the same customer, named by nothing: the customer's partner
    shop.deliver(invoice(shop, invoice_id="in_b", subscription="sub_two"))
    assert [(c.subscription_id, c.attribution_source) for c in shop.commissions()] == [
        ("sub_api", "promotion_code"),
        ("sub_two", "customer"),
    ]


def test_an_invoice_that_names_no_one_still_waits_for_its_checkout(shop: Shop) -> None:
    first = shop.deliver(invoice(shop, invoice_id="in_1"))
    assert (first.outcome, first.reason) == ("skipped", "first_invoice_via_checkout")
    assert shop.commissions() == []


@pytest.mark.parametrize("invoice_first", [True, False])
def test_a_checkout_and_its_first_invoice_make_one_month_one_in_either_order(
    shop: Shop, invoice_first: bool
) -> None:
    """The SDK puts the click in the session's and the subscription's metadata: both events
    name it, and Stripe sends them in no promised order."""
    metadata = {"tracClickId": shop.click_id}
    session = ev.checkout_session_completed(
        session_id="cs_sub",
        mode="subscription",
        click_id=shop.click_id,
        subscription="sub_api",
        customer="cus_api",
        invoice="in_1",
        created=T0,
    ).text
    first_invoice = invoice(shop, invoice_id="in_1", subscription_metadata=metadata)
    for body in [first_invoice, session] if invoice_first else [session, first_invoice]:
        shop.deliver(body)
    [month_one] = shop.commissions()
    assert (month_one.kind, month_one.month, month_one.amount) == ("RECURRING", 1, 1_000)
    expected = "month_one_via_invoice" if invoice_first else "first_invoice_via_checkout"
    assert expected in {reason for _, reason in reasons(shop)}
    with Session(shop.engine) as session_:
        [attribution] = session_.scalars(
            select(Attribution).where(Attribution.workspace_id == shop.workspace_id)
        )
    assert attribution.checkout_session_id == "cs_sub"


def test_a_delayed_subscription_payment_after_its_invoice_makes_no_second_month_one(
    shop: Shop,
) -> None:
    metadata = {"tracClickId": shop.click_id}
    common: dict[str, object] = {
        "session_id": "cs_sepa",
        "mode": "subscription",
        "click_id": shop.click_id,
        "subscription": "sub_api",
        "customer": "cus_api",
        "invoice": "in_1",
        "created": T0,
    }
    shop.deliver(invoice(shop, invoice_id="in_1", subscription_metadata=metadata))
    succeeded = ev.checkout_session_async_payment(succeeded=True, **common).text
    # the success before the completion waits for it, then finds month 1 made
    assert shop.deliver(succeeded).reason == "unattributed"
    completed = ev.checkout_session_completed(payment_status="unpaid", **common).text  # type: ignore[arg-type]
    shop.deliver(completed)
    assert len(shop.commissions()) == 1
    assert "month_one_via_invoice" in {reason for _, reason in reasons(shop)}


def test_the_window_and_first_purchase_apply_to_invoices_too(shop: Shop) -> None:
    set_program(shop, click_window_days=10)
    click_made(shop, shop.click_id, T0 - 20 * 86_400)
    outcome = shop.deliver(
        invoice(shop, invoice_id="in_1", subscription_metadata={"tracClickId": shop.click_id})
    )
    assert (outcome.outcome, outcome.reason) == ("skipped", "click_expired")
