"""Exactly once, in any order: shuffled, duplicated delivery ends in the in-order ledger.

Scenarios mix one-off purchases and subscriptions (paid, paid later by a delayed payment
method that succeeds or fails, or after a free trial), cycle invoices, partial and full
refunds (told cumulatively, several times), and cancellations.
Each is delivered once in order to one workspace, and shuffled with random duplicates to
another; the two ledgers must be equal.

The comparison covers every entry that is not CANCELED (kind, month, status, amount,
currency, and what it is for): that is what gets paid. CANCELED entries are left out, and
this is the exact exception: which entries exist CANCELED, and their amount and reason, can
depend on order. A full refund then a deletion cancels with `refunded`, the other order with
`subscription_canceled`; a later invoice applied before an earlier one after a free trial is
created, then renumbered past the program's limit and canceled, where in order it is skipped.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine

from domain.months import add_months
from domain.programs import PercentReward, ProgramTerms
from storage.models import Commission
from tests.workers.conftest import Shop, make_shop
from traaaction import stripe_payloads as ev

T0 = 1_768_471_205
DAY = 86_400
TERMS = ProgramTerms(PercentReward(1250), recurring_months=3)


@dataclass(frozen=True)
class Scenario:
    """Events as (label, builder) in the order Stripe would make them."""

    events: tuple[tuple[str, dict[str, Any]], ...]


def _refunds(
    draw: st.DrawFn, pi: str, charge: str, amount: int
) -> list[tuple[str, dict[str, Any]]]:
    steps = draw(st.lists(st.integers(1, amount), max_size=3).map(sorted))
    if draw(st.booleans()):
        steps.append(amount)  # and finally all of it
    return [
        (
            "refund",
            {"charge_id": charge, "payment_intent": pi, "amount": amount, "amount_refunded": r},
        )
        for r in dict.fromkeys(steps)
    ]


def _checkout(
    draw: st.DrawFn, session: dict[str, Any]
) -> tuple[list[tuple[str, dict[str, Any]]], bool]:
    """The session's events, and whether it was paid: at checkout, or later by a delayed
    payment method (completed unpaid, then its success or failure, a few days on)."""
    how = draw(st.sampled_from(["paid", "paid", "delayed", "failed"]))
    if how == "paid":
        return [("checkout", session)], True
    later = {**session, "created": session.get("created", T0) + 3 * DAY}
    outcome = "paid_later" if how == "delayed" else "failed_later"
    return [("checkout", {**session, "payment_status": "unpaid"}), (outcome, later)], (
        how == "delayed"
    )


@st.composite
def scenarios(draw: st.DrawFn) -> Scenario:
    events: list[tuple[str, dict[str, Any]]] = []
    for n in range(draw(st.integers(1, 3))):
        amount = draw(st.integers(1, 50_000))
        if draw(st.booleans()):
            pi = f"pi_sale_{n}"
            session = {"session_id": f"cs_{n}", "payment_intent": pi, "amount": amount}
            checkout, paid = _checkout(draw, session)
            events += checkout
            if paid:
                events += _refunds(draw, pi, f"ch_sale_{n}", amount)
            continue
        sub, trial = f"sub_{n}", draw(st.booleans())
        session = {
            "session_id": f"cs_{n}",
            "mode": "subscription",
            "subscription": sub,
            "amount": 0 if trial else amount,
            "created": T0,
            "invoice": None,
        }
        if trial:
            events.append(("checkout", {**session, "payment_status": "no_payment_required"}))
        else:
            checkout, paid = _checkout(draw, session)
            events += checkout
            if not paid:
                continue  # the delayed payment failed: Stripe makes no invoices after it
        first = T0 + (14 * DAY if trial else 0)
        cycles = draw(st.integers(0, 5))
        end_after = draw(st.none() | st.integers(0, cycles))
        for k in range(cycles):
            start = add_months(first, k if trial else k + 1)
            pi = f"pi_{sub}_{k}"
            events.append(
                (
                    "invoice",
                    {
                        "invoice_id": f"in_{sub}_{k}",
                        "subscription": sub,
                        "service_start": start,
                        "amount": amount,
                        "payment_intent": pi,
                        "api_version": draw(st.sampled_from([ev.PRE_BASIL, ev.BASIL])),
                    },
                )
            )
            if draw(st.integers(0, 3)) == 0:
                events += _refunds(draw, pi, f"ch_{sub}_{k}", amount)
            if end_after == k:
                events.append(("deletion", {"subscription": sub, "ended_at": start + 10 * DAY}))
    return Scenario(tuple(events))


def _later(succeeded: bool) -> Callable[..., ev.BuiltEvent]:
    def build(**session: Any) -> ev.BuiltEvent:
        return ev.checkout_session_async_payment(succeeded=succeeded, **session)

    return build


#: the labels whose events carry the session, and so the shop's click
_SESSIONS = {"checkout", "paid_later", "failed_later"}
_BUILD: dict[str, Callable[..., ev.BuiltEvent]] = {
    "checkout": ev.checkout_session_completed,
    "paid_later": _later(succeeded=True),
    "failed_later": _later(succeeded=False),
    "invoice": ev.invoice_paid,
    "refund": ev.charge_refunded,
    "deletion": ev.customer_subscription_deleted,
}


def bodies(scenario: Scenario, click: str) -> list[str]:
    out = []
    for label, kwargs in scenario.events:
        args = {**kwargs, "click_id": click} if label in _SESSIONS else kwargs
        out.append(_BUILD[label](**args).text)
    return out


def payable(shop: Shop) -> set[tuple[Any, ...]]:
    rows = shop.commissions()
    keys = {c.id: c.business_key for c in rows}

    def what_for(c: Commission) -> str:
        # A clawback's own key holds a commission id, which differs between the workspaces.
        if c.kind == "CLAWBACK" and c.reverses_commission_id is not None:
            return "clawback of " + keys[c.reverses_commission_id]
        return c.business_key

    return {
        (c.kind, c.month, c.status, c.amount, c.currency, what_for(c))
        for c in rows
        if c.status != "CANCELED"
    }


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(scenario=scenarios(), data=st.data())
def test_shuffled_and_duplicated_delivery_ends_in_the_in_order_ledger(
    engine: Engine, scenario: Scenario, data: st.DataObject
) -> None:
    in_order = make_shop(engine, TERMS, "In order")
    shuffled = make_shop(engine, TERMS, "Shuffled")
    for body in bodies(scenario, in_order.click_id):
        in_order.deliver(body)

    # The same events (same ids) for the other workspace, shuffled, some told up to 3 times.
    events = bodies(scenario, shuffled.click_id)
    copies = [body for body in events for _ in range(data.draw(st.integers(1, 3)))]
    for body in data.draw(st.permutations(copies)):
        shuffled.deliver(body)

    assert payable(shuffled) == payable(in_order)
