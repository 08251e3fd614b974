"""The attribution order over every source (domain.referral_sources), the click window and
first-purchase-only: docs/commissions.md, "Attribution"."""

from __future__ import annotations

import dataclasses

from hypothesis import given
from hypothesis import strategies as st

from domain.decisions import AttributionSource, Referral, SkipReason
from domain.programs import PercentReward, ProgramTerms
from domain.referral_sources import SECONDS_PER_DAY, Candidate, Chosen, Sources, choose

SALE_AT = 1_760_000_000
WINDOW = 30


def terms(*, window: int = WINDOW, first_only: bool = False) -> ProgramTerms:
    return ProgramTerms(
        PercentReward(1000), click_window_days=window, first_purchase_only=first_only
    )


def click(partner: str, age_s: int, **kw: object) -> Candidate:
    referral = Referral(f"clk_{partner}", partner, "prg_1", terms(**kw))  # type: ignore[arg-type]
    return Candidate(AttributionSource.CLICK_METADATA, referral, SALE_AT - age_s)


def code(partner: str, **kw: object) -> Candidate:
    referral = Referral(None, partner, "prg_1", terms(**kw))  # type: ignore[arg-type]
    return Candidate(AttributionSource.PROMOTION_CODE, referral)


def earlier(partner: str, **kw: object) -> Candidate:
    referral = Referral("clk_old", partner, "prg_1", terms(**kw))  # type: ignore[arg-type]
    return Candidate(AttributionSource.CUSTOMER, referral)


def partner_of(result: Chosen | SkipReason) -> str:
    assert isinstance(result, Chosen), result
    return result.referral.partner_id


def test_a_live_click_then_a_promotion_code_then_the_customer() -> None:
    everything = Sources(True, (click("a", 60),), (code("b"),), earlier("c"))
    assert partner_of(choose(everything, SALE_AT)) == "a"
    assert partner_of(choose(dataclasses.replace(everything, clicks=()), SALE_AT)) == "b"
    only_customer = Sources(False, (), (), earlier("c"))
    chosen = choose(only_customer, SALE_AT)
    assert isinstance(chosen, Chosen)
    assert (chosen.referral.partner_id, chosen.source) == ("c", AttributionSource.CUSTOMER)
    # the repeat purchase keeps the click of the first sale it copies
    assert chosen.referral.click_id == "clk_old"


def test_the_click_window_is_inclusive_to_the_second() -> None:
    limit = WINDOW * SECONDS_PER_DAY
    assert partner_of(choose(Sources(True, (click("a", limit),)), SALE_AT)) == "a"
    assert choose(Sources(True, (click("a", limit + 1),)), SALE_AT) is SkipReason.CLICK_EXPIRED
    # each click is judged by its own program's window
    long = click("a", limit + 1, window=WINDOW + 1)
    assert partner_of(choose(Sources(True, (long,)), SALE_AT)) == "a"


def test_an_expired_click_falls_through_to_the_later_sources() -> None:
    old = click("a", (WINDOW + 1) * SECONDS_PER_DAY)
    assert partner_of(choose(Sources(True, (old, click("b", 60))), SALE_AT)) == "b"
    assert partner_of(choose(Sources(True, (old,), (code("c"),)), SALE_AT)) == "c"
    assert partner_of(choose(Sources(True, (old,), (), earlier("d")), SALE_AT)) == "d"


def test_nothing_named_or_nothing_known() -> None:
    assert choose(Sources(), SALE_AT) is SkipReason.MISSING_CLICK_ID
    assert choose(Sources(named_clicks=True), SALE_AT) is SkipReason.UNKNOWN_CLICK_ID


def test_first_purchase_only_skips_every_repeat_whichever_source_names_it() -> None:
    assert choose(Sources(earlier=earlier("c", first_only=True)), SALE_AT) is (
        SkipReason.REPEAT_PURCHASE
    )
    repeat_by_click = Sources(True, (click("a", 60, first_only=True),), (), earlier("c"))
    assert choose(repeat_by_click, SALE_AT) is SkipReason.REPEAT_PURCHASE
    # a first purchase earns; a repeat earns when the program chosen pays repeats
    assert partner_of(choose(Sources(True, (click("a", 60, first_only=True),)), SALE_AT)) == "a"
    assert partner_of(choose(Sources(True, (click("a", 60),), (), earlier("c")), SALE_AT)) == "a"


ages = st.integers(min_value=0, max_value=200 * SECONDS_PER_DAY)


@given(
    clicks=st.lists(st.tuples(ages, st.integers(1, 120), st.booleans()), max_size=3),
    codes=st.lists(st.booleans(), max_size=3),
    customer=st.one_of(st.none(), st.booleans()),
    named=st.booleans(),
)
def test_the_choice_is_the_first_source_that_applies(
    clicks: list[tuple[int, int, bool]],
    codes: list[bool],
    customer: bool | None,
    named: bool,
) -> None:
    found_clicks = tuple(
        click(f"k{i}", age, window=window, first_only=first)
        for i, (age, window, first) in enumerate(clicks)
    )
    found_codes = tuple(code(f"p{i}", first_only=first) for i, first in enumerate(codes))
    before = earlier("e", first_only=customer) if customer is not None else None
    sources = Sources(named or bool(found_clicks), found_clicks, found_codes, before)
    result = choose(sources, SALE_AT)

    live = [
        c
        for c in found_clicks
        if SALE_AT - (c.clicked_at or 0) <= c.referral.terms.click_window_days * SECONDS_PER_DAY
    ]
    ordered: list[Candidate] = [*live, *found_codes, *([before] if before else [])]
    expected = ordered[0] if ordered else None
    if expected is None:
        assert result in {
            SkipReason.CLICK_EXPIRED,
            SkipReason.UNKNOWN_CLICK_ID,
            SkipReason.MISSING_CLICK_ID,
        }
        assert (result is SkipReason.CLICK_EXPIRED) == bool(found_clicks)
    elif before is not None and expected.referral.terms.first_purchase_only:
        assert result is SkipReason.REPEAT_PURCHASE
    else:
        assert result == Chosen(expected.referral, expected.source)
