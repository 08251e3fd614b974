"""domain.charge_losses: the facts merge in any order, and every entry reaches its target."""

from __future__ import annotations

from dataclasses import replace

from hypothesis import given, settings
from hypothesis import strategies as st

from domain.charge_losses import (
    ChargeFacts,
    FactCommand,
    LinkedEntry,
    decide_losses,
    share,
    target,
    with_fact,
)
from domain.decisions import (
    CreateClawback,
    RecordDispute,
    RecordRefundFailure,
    RecordRefundSnapshot,
    RestateCommission,
)

CHARGE = 10_000
NOW = 1_800_000_000

snapshots = st.builds(
    RecordRefundSnapshot,
    charge_id=st.just("ch_1"),
    amount=st.just(CHARGE),
    amount_refunded=st.integers(0, CHARGE),
    created=st.integers(0, 5),
)
failures = st.builds(
    RecordRefundFailure,
    refund_id=st.sampled_from(["re_1", "re_2"]),
    charge_id=st.just("ch_1"),
    amount=st.integers(0, CHARGE),
    status=st.sampled_from(["failed", "canceled"]),
    created=st.integers(0, 5),
)
disputes = st.builds(
    RecordDispute,
    dispute_id=st.sampled_from(["dp_1", "dp_2"]),
    charge_id=st.just("ch_1"),
    payment_intent_id=st.just("pi_1"),
    amount=st.integers(0, CHARGE),
    currency=st.just("usd"),
    status=st.sampled_from(["needs_response", "under_review", "won", "lost", "prevented"]),
    reason=st.just("fraudulent"),
    created=st.integers(0, 5),
)
facts_lists = st.lists(snapshots | failures | disputes, max_size=6)


def merged(facts: list[FactCommand]) -> ChargeFacts:
    out = ChargeFacts()
    for fact in facts:
        out = with_fact(out, fact)
    return out


def entry(status: str = "PENDING", original: int = 3_000) -> LinkedEntry:
    return LinkedEntry(
        commission_id="com_1",
        status=status,
        reason=None,
        original_amount=original,
        amount=original,
        adjustments=0,
        adjustment_count=0,
        hold_until=NOW + 86_400,
        sale_amount=CHARGE,
    )


def applied(e: LinkedEntry, facts: ChargeFacts) -> LinkedEntry:
    """The entry once decide_losses' commands are applied to it."""
    for command in decide_losses(facts, [e], now=NOW):
        if isinstance(command, RestateCommission):
            reason = command.reason.value if command.reason is not None else None
            e = replace(e, status=command.status, amount=command.amount, reason=reason)
        elif isinstance(command, CreateClawback):
            e = replace(
                e,
                adjustments=e.adjustments + command.amount,
                adjustment_count=e.adjustment_count + 1,
            )
    return e


@settings(max_examples=200)
@given(facts=facts_lists, data=st.data())
def test_facts_merge_the_same_in_any_order_and_with_duplicates(
    facts: list[FactCommand], data: st.DataObject
) -> None:
    copies = [f for f in facts for _ in range(data.draw(st.integers(1, 2)))]
    assert merged(data.draw(st.permutations(copies))) == merged(facts)


@settings(max_examples=200)
@given(facts=facts_lists, original=st.integers(0, 50_000))
def test_the_target_is_never_below_0_nor_above_the_commission(
    facts: list[FactCommand], original: int
) -> None:
    goal = target(entry(original=original), merged(facts))
    assert 0 <= goal <= original


@settings(max_examples=200)
@given(steps=st.lists(st.tuples(facts_lists, st.booleans()), min_size=1, max_size=4))
def test_every_step_reaches_the_target_and_deciding_again_changes_nothing(
    steps: list[tuple[list[FactCommand], bool]],
) -> None:
    """Facts arrive in batches; a payout may happen between them. After each batch the
    entry's net is the target, and a duplicate decision finds nothing to do."""
    e, told = entry(), ChargeFacts()
    for facts, pay in steps:
        for fact in facts:
            told = with_fact(told, fact)
        e = applied(e, told)
        assert e.net == target(e, told)
        assert decide_losses(told, [e], now=NOW) == ()
        if pay and e.status in {"PENDING", "APPROVED"}:
            e = replace(e, status="PAID")


def test_the_issue_s_numbers() -> None:
    e = entry(original=3_000)  # 10000 at 30 %
    half = with_fact(ChargeFacts(), RecordRefundSnapshot("ch_1", CHARGE, 5_000, 1))
    e = applied(e, half)
    assert (e.status, e.amount) == ("PENDING", 1_500)
    e = replace(e, status="PAID")
    more = with_fact(half, RecordRefundSnapshot("ch_1", CHARGE, 7_500, 2))
    [clawback] = decide_losses(more, [e], now=NOW)
    assert clawback == CreateClawback("com_1", -750, "clawback:com_1#1")
    e = applied(e, more)
    assert e.net == 750
    all_of_it = with_fact(more, RecordRefundSnapshot("ch_1", CHARGE, 10_000, 3))
    [clawback] = decide_losses(all_of_it, [e], now=NOW)
    assert clawback == CreateClawback("com_1", -750, "clawback:com_1#2")


def test_share_rounds_half_up_and_takes_all_of_a_zero_charge() -> None:
    assert share(1_000, 1, 2_000) == 1  # 0.5 -> 1
    assert share(1_000, 3, 10_000) == 0  # 0.3 -> 0
    assert share(1_000, 0, 0) == 1_000
