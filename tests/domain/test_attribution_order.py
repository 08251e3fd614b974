"""Which click a checkout names, in the attribution order of docs/commissions.md."""

from __future__ import annotations

import dataclasses

from hypothesis import given
from hypothesis import strategies as st

from domain.attribution import click_candidates, decide_checkout
from domain.decisions import (
    AttributionSource,
    CreateAttribution,
    CreateCommission,
    Referral,
    SkipReason,
)
from domain.events import CheckoutSessionCompleted
from domain.programs import PercentReward, ProgramTerms
from domain.referral_sources import Candidate, Sources

CLICK = "clk_" + "a" * 26
OTHER = "clk_" + "b" * 26

SESSION = CheckoutSessionCompleted(
    event_id="evt_1",
    created=1_700_000_000,
    livemode=False,
    session_id="cs_1",
    mode="payment",
    payment_status="paid",
    amount_total=10_000,
    amount_tax=0,
    currency="usd",
    customer_id="cus_1",
    subscription_id=None,
    payment_intent_id="pi_1",
    invoice_id=None,
    click_id=None,
)


def session(click_id: str | None, reference: str | None) -> CheckoutSessionCompleted:
    return dataclasses.replace(SESSION, click_id=click_id, client_reference_id=reference)


def referral(click_id: str) -> Referral:
    return Referral(click_id, "prt_1", "prg_1", ProgramTerms(PercentReward(1000)))


def found(event: CheckoutSessionCompleted, click_id: str | None) -> Sources:
    """What the loader finds when `click_id` (if any) is the workspace's only click, made
    just before the sale."""
    named = dict(click_candidates(event))
    clicks = (
        (Candidate(named[click_id], referral(click_id), event.created - 60),)
        if click_id is not None and click_id in named
        else ()
    )
    return Sources(named_clicks=bool(named), clicks=clicks)


def test_the_metadata_comes_first_then_a_click_id_in_client_reference_id() -> None:
    both = click_candidates(session(f" {CLICK} ", f"trac_{OTHER}"))
    assert both == (
        (CLICK, AttributionSource.CLICK_METADATA),
        (OTHER, AttributionSource.CLIENT_REFERENCE_ID),
    )
    assert click_candidates(session(None, OTHER)) == (
        (OTHER, AttributionSource.CLIENT_REFERENCE_ID),
    )
    # The same click in both places is one candidate, from the metadata.
    assert click_candidates(session(CLICK, CLICK)) == ((CLICK, AttributionSource.CLICK_METADATA),)


def test_a_merchant_reference_in_client_reference_id_names_no_click() -> None:
    for reference in ("user_4821", "trac_user_1", "", "   ", None):
        assert click_candidates(session(None, reference)) == ()
    assert (
        decide_checkout(session(None, "user_4821"), Sources()).skip is SkipReason.MISSING_CLICK_ID
    )


def test_a_payment_link_sale_is_attributed_to_the_click_in_client_reference_id() -> None:
    event = session(None, f"trac_{CLICK}")
    decision = decide_checkout(event, found(event, CLICK))
    attribution, commission = decision.commands
    assert isinstance(attribution, CreateAttribution)
    assert isinstance(commission, CreateCommission)
    assert attribution.source is AttributionSource.CLIENT_REFERENCE_ID
    assert commission.amount == 1_000


def test_an_unknown_metadata_click_falls_back_to_a_known_client_reference_click() -> None:
    # The loader found OTHER (the metadata's click is not this workspace's).
    event = session(CLICK, OTHER)
    decision = decide_checkout(event, found(event, OTHER))
    attribution = decision.commands[0]
    assert isinstance(attribution, CreateAttribution)
    assert attribution.source is AttributionSource.CLIENT_REFERENCE_ID
    assert decide_checkout(event, found(event, None)).skip is SkipReason.UNKNOWN_CLICK_ID


_text = st.one_of(st.none(), st.text(max_size=40), st.sampled_from([CLICK, OTHER]))


@given(
    click_id=_text,
    reference=st.one_of(_text, _text.map(lambda t: f"trac_{t}")),
    known=st.sampled_from([None, CLICK, OTHER]),
)
def test_a_referral_is_credited_only_to_a_click_the_session_names(
    click_id: str | None, reference: str | None, known: str | None
) -> None:
    """Whatever the two fields hold and whichever click the loader found, an attribution is
    made only for a named click, with the source of the first place naming it."""
    event = session(click_id, reference)
    candidates = click_candidates(event)
    assert len({c for c, _ in candidates}) == len(candidates)
    assert all(c.startswith("clk_") or s is AttributionSource.CLICK_METADATA for c, s in candidates)
    decision = decide_checkout(event, found(event, known))
    made = [c for c in decision.commands if isinstance(c, CreateAttribution)]
    named = dict(candidates)
    if known is None or known not in named:
        assert made == []
        assert decision.skip in {SkipReason.MISSING_CLICK_ID, SkipReason.UNKNOWN_CLICK_ID}
    else:
        [attribution] = made
        assert attribution.source is named[known]
