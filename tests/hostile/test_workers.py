"""Verified but hostile payloads in the workers: an outcome, or a permanent failure at once.

A payload the rules cannot use must never be retried: retrying cannot fix it, and fifteen
retries over an hour are a crash loop in slow motion. So whatever the pipeline is given it
either records an outcome (processed, skipped, duplicate) or raises an error the retry policy
classes as permanent (workers/retry.py), which a real worker dead-letters on the first attempt
with its reason, and the log writer then moves into PostgreSQL like any other.
"""

from __future__ import annotations

import itertools
import json
import time
from collections.abc import Iterator
from typing import Any, cast

import dramatiq
import orjson
import pytest
import redis
from hypothesis import given, reject
from hypothesis import strategies as st
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from domain.programs import PercentReward, ProgramTerms
from ingress.envelope import EnvelopeError, parse_envelope
from storage.db import make_session_factory
from storage.models import DeadLetter, WebhookEventLog
from tests.hostile.fuzz import PIPELINE_EXAMPLES, fuzz, nasty_json, nasty_scalars, nasty_text
from tests.ingress.conftest import log_records
from tests.workers.conftest import Shop, make_shop, ticking
from traaaction import stripe_payloads as ev
from workers import context
from workers.actors._declare import declare
from workers.broker import make_broker
from workers.contract import DEAD_LETTER_STREAM, ROUTES
from workers.log_writer import LogWriter
from workers.retry import is_permanent

#: the fields each parser reads, by event type (paths under data.object), and their kind
Path = tuple[str | int, ...]
READ: dict[str, list[tuple[Path, str]]] = {
    "checkout.session.completed": [
        (("id",), "id"), (("mode",), "mode"), (("payment_status",), "payment_status"),
        (("amount_total",), "amount"), (("currency",), "currency"),
        (("total_details", "amount_tax"), "amount"), (("customer",), "id"),
        (("subscription",), "id"), (("payment_intent",), "id"), (("invoice",), "id"),
        (("metadata", "tracClickId"), "click"), (("metadata",), "any"),
    ],
    "invoice.paid": [
        (("id",), "id"), (("billing_reason",), "billing_reason"), (("amount_paid",), "amount"),
        (("total",), "signed"), (("total_excluding_tax",), "signed"), (("currency",), "currency"),
        (("customer",), "id"), (("subscription",), "id"), (("payment_intent",), "id"),
        (("charge",), "id"), (("period_start",), "time"), (("period_end",), "time"),
        (("lines", "data", 0, "period", "start"), "time"),
        (("lines", "data", 0, "proration"), "bool"), (("lines", "data", 0, "type"), "line_type"),
    ],
    "charge.refunded": [
        (("id",), "id"), (("payment_intent",), "id"), (("amount",), "amount"),
        (("amount_refunded",), "amount"), (("currency",), "currency"), (("customer",), "id"),
        (("invoice",), "id"),
    ],
    "customer.subscription.deleted": [
        (("id",), "id"), (("customer",), "id"), (("ended_at",), "time"),
        (("canceled_at",), "time"),
    ],
}  # fmt: skip

#: values of the right type, at their edges; ids include the shop's own objects
TYPED: dict[str, st.SearchStrategy[Any]] = {
    "id": st.one_of(
        nasty_text,
        st.none(),
        st.sampled_from(["sub_h", "pi_one", "pi_sub", "cs_sub", "cus_1", "in_h0", " sub_h "]),
    ),
    "amount": st.one_of(
        st.integers(min_value=0, max_value=2**63 - 1),
        st.integers(min_value=0, max_value=20_000),
        st.sampled_from([0, 1, 2**31, 2**53 + 1, 2**63 - 1]),
    ),
    "signed": st.integers(min_value=-(2**63), max_value=2**63 - 1) | st.sampled_from([0, -1]),
    "time": st.one_of(
        st.integers(min_value=0, max_value=32_503_680_000),
        st.integers(min_value=1_760_000_000, max_value=1_800_000_000),
        st.none(),
    ),
    "currency": st.text(alphabet="abcdefghijklmnopqrstuvwxyz", min_size=3, max_size=3)
    | st.sampled_from(["usd", "eur", "jpy", "bhd"]),
    "mode": st.sampled_from(["payment", "subscription", "setup"]) | nasty_text,
    "payment_status": st.sampled_from(["paid", "unpaid", "no_payment_required"]) | nasty_text,
    "billing_reason": st.sampled_from(["subscription_create", "subscription_cycle", "manual"])
    | nasty_text
    | st.none(),
    "line_type": st.sampled_from(["subscription", "invoiceitem"]) | nasty_text,
    "bool": st.booleans(),
    "click": nasty_text,
    "any": nasty_json,
}

_numbers = itertools.count()


@pytest.fixture
def engine(module_engine: Engine) -> Engine:
    """The module's database (each test has a workspace of its own), the workers set up on it."""
    factory = make_session_factory(module_engine)
    context.configure(context.WorkerContext(factory=factory, clock=ticking()))
    return module_engine


@pytest.fixture
def shop(engine: Engine) -> Shop:
    """A 10 % program with a click, a subscription sold through it and a one-off sale."""
    shop = make_shop(engine, ProgramTerms(PercentReward(1000), recurring_months=12))
    first = ev.checkout_session_completed(
        session_id="cs_sub", click_id=shop.click_id, mode="subscription", subscription="sub_h",
        created=1_768_471_205, invoice=None,
    ).patched(payment_intent="pi_sub").text  # fmt: skip
    one_off = ev.checkout_session_completed(
        session_id="cs_one", click_id=shop.click_id, payment_intent="pi_one"
    ).text
    assert shop.deliver(first).outcome == "processed"
    assert shop.deliver(one_off).outcome == "processed"
    return shop


def _base(kind: str, shop: Shop) -> dict[str, Any]:
    """A valid event of this kind about the shop's sales, with a new event id."""
    n = next(_numbers)
    body = {
        "checkout.session.completed": lambda: (
            ev.checkout_session_completed(
                session_id=f"cs_h{n}", click_id=shop.click_id, payment_intent=f"pi_h{n}"
            ).text
        ),
        "invoice.paid": lambda: (
            ev.invoice_paid(
                invoice_id=f"in_h{n}",
                subscription="sub_h",
                service_start=1_771_149_605,
                api_version=ev.PRE_BASIL,
            ).text
        ),
        "charge.refunded": lambda: (
            ev.charge_refunded(
                charge_id=f"ch_h{n}", payment_intent="pi_one", amount=10_000, amount_refunded=2_500
            ).text
        ),
        "customer.subscription.deleted": lambda: (
            ev.customer_subscription_deleted(subscription="sub_h", ended_at=1_780_000_000).text
        ),
    }[kind]()
    event: dict[str, Any] = json.loads(body)
    event["id"] = f"evt_hostile_{n}"
    return event


def _set(event: dict[str, Any], path: Path, value: Any) -> None:
    target: Any = event["data"]["object"]
    for key in path[:-1]:
        if isinstance(target, dict):
            target = target.setdefault(key, {})
        elif isinstance(target, list) and isinstance(key, int) and key < len(target):
            target = target[key]
        else:
            return  # the shape was changed by an earlier mutation: nothing to set
    last = path[-1]
    if isinstance(target, dict) or (isinstance(last, int) and last < len(target)):
        target[last] = value


def _deliver(shop: Shop, event: dict[str, Any]) -> str | Exception:
    """The outcome of processing this event, or the exception it raised.

    Only bodies the ingress would accept reach a worker: anything else is not a verified
    delivery. (The ingress reads JSON with orjson, which refuses lone surrogates such as
    `"\\udfff"`; the workers' json would read them, and then fail to encode them, a
    UnicodeEncodeError, which is not among the permanent failures.)
    """
    body = json.dumps(event)
    try:
        parse_envelope(body.encode())
    except EnvelopeError:
        reject()
    try:
        outcome = shop.deliver(body)
    except Exception as exc:
        return exc
    assert outcome.outcome in {"processed", "skipped", "duplicate"}
    return outcome.outcome


@st.composite
def hostile_events(draw: st.DrawFn) -> tuple[str, list[tuple[Path, Any]]]:
    kind = draw(st.sampled_from(sorted(READ)))
    mutations = draw(
        st.lists(
            st.sampled_from(READ[kind]).flatmap(
                # mostly a value of the right type (to reach the rules and the ledger),
                # sometimes anything at all (to reach the parser's refusals)
                lambda field: st.tuples(
                    st.just(field[0]),
                    TYPED[field[1]] | TYPED[field[1]] | TYPED[field[1]] | nasty_scalars,
                )
            ),
            min_size=1,
            max_size=3,
        )
    )
    return kind, mutations


def test_any_hostile_verified_event_gets_an_outcome_or_fails_permanently(shop: Shop) -> None:
    seen: dict[str, int] = {}

    @fuzz(PIPELINE_EXAMPLES)
    @given(hostile_events())
    def run(case: tuple[str, list[tuple[Path, Any]]]) -> None:
        kind, mutations = case
        event = _base(kind, shop)
        for path, value in mutations:
            _set(event, path, value)
        result = _deliver(shop, event)
        assert not isinstance(result, Exception) or is_permanent(result), (
            f"{type(result).__name__} would be retried: {result}"
        )
        key = type(result).__name__ if isinstance(result, Exception) else result
        seen[key] = seen.get(key, 0) + 1

    run()
    assert seen.get("EventParseError", 0) > 0
    assert seen.get("processed", 0) + seen.get("skipped", 0) > 0


@pytest.mark.parametrize(
    ("kind", "path", "value"),
    [
        ("checkout.session.completed", ("amount_total",), 10**30),
        ("checkout.session.completed", ("amount_total",), 2**63 - 1),
        ("checkout.session.completed", ("total_details", "amount_tax"), 2**63 - 1),
        ("invoice.paid", ("amount_paid",), 2**63 - 1),
        ("invoice.paid", ("lines", "data", 0, "period", "start"), 2**62),
        ("invoice.paid", ("lines", "data", 0, "period", "start"), 32_503_679_999),
        ("charge.refunded", ("amount_refunded",), 2**63 - 1),
        ("charge.refunded", ("amount",), 0),
        ("customer.subscription.deleted", ("ended_at",), 253402300800),
        ("customer.subscription.deleted", ("ended_at",), 32_503_679_999),
    ],
)
def test_extreme_but_typed_numbers_get_an_outcome_or_fail_permanently(
    shop: Shop, kind: str, path: Path, value: int
) -> None:
    """Numbers at the 64-bit and calendar edges (before issue #7's fix, a time past the year
    9999 raised OSError or ValueError deep in the ledger: retried for an hour)."""
    event = _base(kind, shop)
    _set(event, path, value)
    result = _deliver(shop, event)
    assert not isinstance(result, Exception) or is_permanent(result), (
        f"{type(result).__name__} would be retried: {result}"
    )


def test_unicode_and_control_characters_in_metadata_never_match_a_click(shop: Shop) -> None:
    for n, click in enumerate(
        [f"{shop.click_id}\x00", f"\u202e{shop.click_id}", shop.click_id.upper(), "clk_" + "é" * 26]
    ):
        body = ev.checkout_session_completed(session_id=f"cs_meta_{n}", click_id=click).text
        event = json.loads(body)
        event["data"]["object"]["metadata"] |= {"note": "\x00\x07\u2028", "emoji": "\U0001f600"}
        outcome = shop.deliver(json.dumps(event))
        assert (outcome.outcome, outcome.reason) == ("skipped", "unknown_click_id")
    # Surrounding whitespace is forgiven (docs/commissions.md), nothing else.
    spaced = ev.checkout_session_completed(
        session_id="cs_meta_spaced", click_id=f"  {shop.click_id}\t"
    ).text
    assert shop.deliver(spaced).outcome == "processed"


# --- through a real Dramatiq worker --------------------------------------------------------------


@pytest.fixture
def actors(redis_url: str, redis_client: redis.Redis) -> Iterator[dict[str, Any]]:
    broker = make_broker(redis_url)
    dramatiq.set_broker(broker)
    declared = {event_type: declare(event_type) for event_type in ROUTES}
    worker = dramatiq.Worker(broker, worker_timeout=50, worker_threads=2)
    worker.start()
    try:
        yield declared
    finally:
        worker.stop()
        broker.close()


def _dead_letters(client: redis.Redis) -> list[dict[str, Any]]:
    entries = cast(list[tuple[bytes, dict[bytes, bytes]]], client.xrange(DEAD_LETTER_STREAM))
    return [orjson.loads(fields[b"r"]) for _, fields in entries]


def _hostile_deliveries(shop: Shop) -> dict[str, tuple[dict[str, Any], str]]:
    """event id -> (actor kwargs, expected error class)."""
    found: dict[str, tuple[dict[str, Any], str]] = {}

    def add(kind: str, body: str, error: str) -> None:
        event_id = f"evt_dl_{len(found)}"
        found[event_id] = (
            {
                "endpoint_id": "ep_hostile",
                "workspace_id": shop.workspace_id,
                "event_id": event_id,
                "event_type": kind,
                "livemode": False,
                "api_version": ev.BASIL,
                "received_at": 0,
                "body": body,
            },
            error,
        )

    def mutated(body: str, path: Path, value: Any) -> str:
        event = json.loads(body)
        _set(event, path, value)
        return json.dumps(event)

    checkout = ev.checkout_session_completed(session_id="cs_dl", click_id=shop.click_id).text
    invoice = ev.invoice_paid(
        invoice_id="in_dl",
        subscription="sub_dl",
        service_start=1_771_149_605,
        api_version=ev.PRE_BASIL,
    ).text
    refund = ev.charge_refunded(
        charge_id="ch_dl", payment_intent="pi_dl", amount=100, amount_refunded=100
    ).text
    deletion = ev.customer_subscription_deleted(subscription="sub_dl", ended_at=1_780_000_000).text
    add("checkout.session.completed", "{not json", "EventParseError")
    add("checkout.session.completed", "[" * 100_000 + "]" * 100_000, "EventParseError")
    add(
        "checkout.session.completed",
        mutated(checkout, ("amount_total",), 10**30),
        "EventParseError",
    )
    add(
        "checkout.session.completed", mutated(checkout, ("amount_total",), "100"), "EventParseError"
    )
    add("checkout.session.completed", mutated(checkout, ("id",), "cs_\x00"), "DataError")
    add(
        "invoice.paid",
        mutated(invoice, ("lines", "data", 0, "period", "start"), 2**62),
        "EventParseError",
    )
    add("invoice.paid", mutated(invoice, ("amount_paid",), 1.5), "EventParseError")
    add("charge.refunded", mutated(refund, ("amount_refunded",), True), "EventParseError")
    add(
        "customer.subscription.deleted",
        mutated(deletion, ("ended_at",), 253402300800),
        "EventParseError",
    )
    add("customer.subscription.deleted", mutated(deletion, ("id",), "sub_\x00"), "DataError")
    return found  # fmt: skip


def test_hostile_payloads_are_dead_lettered_at_the_first_attempt_and_reach_postgresql(
    engine: Engine, redis_client: redis.Redis, actors: dict[str, Any]
) -> None:
    context.configure(context.WorkerContext(factory=make_session_factory(engine)))
    shop = make_shop(engine, ProgramTerms(PercentReward(1000)))
    deliveries = _hostile_deliveries(shop)
    started = time.monotonic()
    for kwargs, _error in deliveries.values():
        actors[kwargs["event_type"]].send(**kwargs)
    while len(_dead_letters(redis_client)) < len(deliveries):
        assert time.monotonic() - started < 20, _dead_letters(redis_client)
        time.sleep(0.05)
    records = {r["stripe_event_id"]: r for r in _dead_letters(redis_client)}
    assert {k: (r["reason"], r["attempt"]) for k, r in records.items()} == {
        k: (error, 1) for k, (_kwargs, error) in deliveries.items()
    }
    assert all(r["detail"]["will_retry"] is False for r in records.values())
    assert all(r["error_message"] for r in records.values())
    assert log_records(redis_client, "failed") == []  # not one retry
    # The log writer takes them all into PostgreSQL (nothing in them blocks it).
    LogWriter(redis_client, make_session_factory(engine)).drain()
    with Session(engine) as session:
        letters = session.scalars(
            select(DeadLetter).where(DeadLetter.workspace_id == shop.workspace_id)
        ).all()
        rows = session.scalars(
            select(WebhookEventLog).where(
                WebhookEventLog.outcome == "dead_lettered",
                WebhookEventLog.workspace_id == shop.workspace_id,
            )
        ).all()
    assert {(d.stripe_event_id, d.error_class, d.attempts) for d in letters} == {
        (k, error, 1) for k, (_kwargs, error) in deliveries.items()
    }
    assert {d.stripe_event_id: d.body for d in letters} == {
        k: kwargs["body"] for k, (kwargs, _error) in deliveries.items()
    }
    assert len(rows) == len(deliveries)
    assert redis_client.xpending(DEAD_LETTER_STREAM, "logwriter")["pending"] == 0
