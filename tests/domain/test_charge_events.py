"""domain.charge_events: charge.refund.updated and charge.dispute.* in both API shapes."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from domain.charge_events import (
    DisputeChanged,
    RefundUpdated,
    parse_charge_dispute_closed,
    parse_charge_dispute_created,
    parse_charge_refund_updated,
)
from domain.json_fields import EventParseError
from traaaction import stripe_payloads as ev

SHAPES = [ev.BASIL, ev.PRE_BASIL]


@pytest.mark.parametrize("api_version", SHAPES)
def test_a_failed_refund_is_read_in_both_shapes(api_version: str) -> None:
    body = ev.charge_refund_updated(
        status="failed",
        amount=2_500,
        charge_id="ch_1",
        payment_intent="pi_1",
        refund_id="re_1",
        api_version=api_version,
    ).text
    refund = parse_charge_refund_updated(body)
    assert (refund.refund_id, refund.charge_id, refund.payment_intent_id) == (
        "re_1",
        "ch_1",
        "pi_1",
    )
    assert (refund.amount, refund.currency, refund.status) == (2_500, "usd", "failed")
    assert refund.created == ev.REFUND_UPDATED_AT


@pytest.mark.parametrize("api_version", SHAPES)
@pytest.mark.parametrize("status", ["needs_response", "warning_needs_response"])
def test_an_opened_dispute_is_read_in_both_shapes(api_version: str, status: str) -> None:
    body = ev.charge_dispute_created(
        status=status,
        amount=4_000,
        charge_id="ch_1",
        payment_intent="pi_1",
        dispute_id="dp_1",
        api_version=api_version,
    ).text
    dispute = parse_charge_dispute_created(body)
    assert (dispute.dispute_id, dispute.charge_id, dispute.payment_intent_id) == (
        "dp_1",
        "ch_1",
        "pi_1",
    )
    assert (dispute.amount, dispute.status, dispute.reason) == (4_000, status, "fraudulent")
    assert not dispute.closed


@pytest.mark.parametrize("api_version", SHAPES)
@pytest.mark.parametrize("status", ev.DISPUTE_CLOSED_STATUSES)
def test_a_closed_dispute_is_read_in_both_shapes(api_version: str, status: str) -> None:
    body = ev.charge_dispute_closed(
        status=status, charge_id="ch_1", payment_intent=None, api_version=api_version
    ).text
    dispute = parse_charge_dispute_closed(body)
    assert dispute.closed
    assert dispute.status == status
    assert dispute.payment_intent_id is None


def _mutated(body: str, path: tuple[str, ...], value: Any) -> str:
    root = json.loads(body)
    node = root
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    return json.dumps(root)


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("charge", None, "data.object.charge"),
        ("amount", -1, "data.object.amount"),
        ("status", 7, "data.object.status"),
        ("object", "refund", "data.object.object"),
    ],
)
def test_a_malformed_dispute_names_its_field(field: str, value: Any, message: str) -> None:
    body = ev.charge_dispute_created(charge_id="ch_1").text
    with pytest.raises(EventParseError, match=message.replace(".", r"\.")):
        parse_charge_dispute_created(_mutated(body, ("data", "object", field), value))


def test_a_refund_update_of_no_charge_is_read_with_none() -> None:
    body = ev.charge_refund_updated(charge_id="ch_1").text
    refund = parse_charge_refund_updated(_mutated(body, ("data", "object", "charge"), None))
    assert refund.charge_id is None


def test_each_parser_refuses_the_other_types() -> None:
    dispute = ev.charge_dispute_created(charge_id="ch_1").text
    with pytest.raises(EventParseError, match="type"):
        parse_charge_dispute_closed(dispute)
    with pytest.raises(EventParseError, match="type"):
        parse_charge_refund_updated(dispute)


@settings(max_examples=50, deadline=None)
@given(
    amount=st.integers(0, ev.MAX_AMOUNT),
    status=st.sampled_from(ev.REFUND_STATUSES),
    api_version=st.sampled_from(SHAPES),
)
def test_any_refund_the_builder_makes_reads_back(
    amount: int, status: str, api_version: str
) -> None:
    body = ev.charge_refund_updated(
        status=status, amount=amount, charge_id="ch_9", api_version=api_version
    ).text
    refund = parse_charge_refund_updated(body)
    assert (refund.amount, refund.status, refund.charge_id) == (amount, status, "ch_9")


FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "stripe"
CHARGE_FIXTURES = sorted(
    p
    for shape in (ev.BASIL, ev.PRE_BASIL, "2025-09-30.clover")
    for p in (FIXTURES / shape).glob("charge.*.json")
    if not p.name.startswith("charge.refunded")
)


def test_there_is_a_fixture_of_each_type_in_each_shape() -> None:
    names = {(p.parent.name, p.name.split(".json")[0].rsplit(".", 1)[0]) for p in CHARGE_FIXTURES}
    for shape in (ev.BASIL, ev.PRE_BASIL):
        assert {n for s, n in names if s == shape} >= {"charge.refund", "charge.dispute"}
    assert len([p for p in CHARGE_FIXTURES if p.parent.name != "2025-09-30.clover"]) == 10


@pytest.mark.parametrize("path", CHARGE_FIXTURES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_every_charge_fixture_parses(path: Path) -> None:
    body = path.read_text()
    event_type = json.loads(body)["type"]
    parsers: dict[str, Callable[[str], RefundUpdated | DisputeChanged]] = {
        "charge.refund.updated": parse_charge_refund_updated,
        "charge.dispute.created": parse_charge_dispute_created,
        "charge.dispute.closed": parse_charge_dispute_closed,
    }
    parsed = parsers[event_type](body)
    assert parsed.charge_id is not None
    assert parsed.charge_id.startswith("ch_")
    assert parsed.amount > 0
    if event_type == "charge.dispute.closed":
        assert parsed.status in ev.DISPUTE_CLOSED_STATUSES
