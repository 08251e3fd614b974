"""What the SDK writes is what the service reads: checkout_params' output, passed to Stripe,
comes back in the completed Checkout Session, and the service's own pure parser and
attribution order (domain.events, domain.attribution) find the click there. No database."""

from __future__ import annotations

from typing import Any

import pytest
from traaaction_sdk import checkout_params

from domain.attribution import click_candidates
from domain.decisions import AttributionSource
from domain.events import CheckoutSessionCompleted, parse_checkout_session_completed
from tests.sdk.cases import CLICK_A
from traaaction.stripe_payloads import BASIL, PRE_BASIL, checkout_session_completed

CLICKED = {"type": "http", "headers": [(b"cookie", f"trac_click_id={CLICK_A}".encode())]}
UNCLICKED = {"type": "http", "headers": [], "query_string": b""}


def completed_session(params: dict[str, Any], *, mode: str, api_version: str) -> bytes:
    """The checkout.session.completed Stripe sends for a session created with `params`:
    Stripe copies `metadata` and `client_reference_id` onto the session as given."""
    built = checkout_session_completed(
        mode=mode,
        metadata=params.get("metadata"),
        client_reference_id=params.get("client_reference_id"),
        api_version=api_version,
    )
    return built.encode()


def parsed(params: dict[str, Any], *, mode: str, api_version: str) -> CheckoutSessionCompleted:
    body = completed_session(params, mode=mode, api_version=api_version)
    return parse_checkout_session_completed(body)


@pytest.mark.parametrize("api_version", [PRE_BASIL, BASIL])
@pytest.mark.parametrize("mode", ["payment", "subscription"])
def test_the_service_finds_the_click_the_sdk_wrote(mode: str, api_version: str) -> None:
    params = dict(checkout_params(CLICKED, mode=mode))
    event = parsed(params, mode=mode, api_version=api_version)
    assert event.click_id == CLICK_A
    assert event.client_reference_id == CLICK_A
    # one referral, named by the metadata (the same id in client_reference_id adds nothing)
    assert click_candidates(event) == ((CLICK_A, AttributionSource.CLICK_METADATA),)


def test_the_merchants_own_reference_and_metadata_do_not_hide_the_click() -> None:
    params = dict(
        checkout_params(CLICKED, metadata={"order_id": "42"}, client_reference_id="order_42")
    )
    event = parsed(params, mode="payment", api_version=BASIL)
    assert click_candidates(event) == ((CLICK_A, AttributionSource.CLICK_METADATA),)


def test_the_client_reference_id_alone_still_names_the_click() -> None:
    """If a merchant's code drops the metadata (say, replaces it with its own), the
    client_reference_id the SDK wrote is still a click the service reads."""
    params = dict(checkout_params(CLICKED))
    del params["metadata"]
    event = parsed(params, mode="payment", api_version=BASIL)
    assert click_candidates(event) == ((CLICK_A, AttributionSource.CLIENT_REFERENCE_ID),)


def test_no_click_gives_the_service_nothing_to_attribute() -> None:
    event = parsed(dict(checkout_params(UNCLICKED)), mode="payment", api_version=BASIL)
    assert click_candidates(event) == ()
