"""checkout_params: the click's fields for stripe.checkout.Session.create, merged with the
merchant's own, in each Checkout mode."""

from __future__ import annotations

from typing import Any

import pytest
from traaaction_sdk import METADATA_KEY, ClickIdConflict, checkout_params

from tests.sdk.cases import CLICK_A, CLICK_B


def request_with(click_id: str | None) -> dict[str, Any]:
    """A WSGI environ whose cookie names `click_id` (or no cookie)."""
    environ: dict[str, Any] = {"REQUEST_METHOD": "POST", "QUERY_STRING": ""}
    if click_id is not None:
        environ["HTTP_COOKIE"] = f"trac_click_id={click_id}"
    return environ


CLICKED = request_with(CLICK_A)
UNCLICKED = request_with(None)


def test_the_metadata_key_is_the_one_the_service_reads() -> None:
    assert METADATA_KEY == "tracClickId"


def test_payment_mode_puts_the_click_in_metadata_and_client_reference_id() -> None:
    assert checkout_params(CLICKED) == {
        "metadata": {"tracClickId": CLICK_A},
        "client_reference_id": CLICK_A,
    }


def test_setup_mode_is_like_payment_mode() -> None:
    assert checkout_params(CLICKED, mode="setup") == checkout_params(CLICKED)


def test_subscription_mode_also_puts_the_click_on_the_subscription() -> None:
    assert checkout_params(CLICKED, mode="subscription") == {
        "metadata": {"tracClickId": CLICK_A},
        "client_reference_id": CLICK_A,
        "subscription_data": {"metadata": {"tracClickId": CLICK_A}},
    }


@pytest.mark.parametrize("mode", ["payment", "subscription", "setup"])
def test_no_click_gives_nothing_to_merge(mode: str) -> None:
    assert checkout_params(UNCLICKED, mode=mode) == {}


def test_the_merchants_metadata_is_kept_beside_the_click() -> None:
    own = {"order_id": "42", "plan": "pro"}
    params = checkout_params(CLICKED, metadata=own)
    assert params["metadata"] == {"order_id": "42", "plan": "pro", "tracClickId": CLICK_A}
    assert own == {"order_id": "42", "plan": "pro"}, "the merchant's dict is not changed"


def test_the_merchants_metadata_comes_back_without_a_click() -> None:
    assert checkout_params(UNCLICKED, metadata={"order_id": "42"}) == {
        "metadata": {"order_id": "42"}
    }
    assert checkout_params(UNCLICKED, metadata={}) == {"metadata": {}}


def test_the_merchants_client_reference_id_is_kept_and_the_click_rides_in_metadata() -> None:
    assert checkout_params(CLICKED, client_reference_id="order_42") == {
        "metadata": {"tracClickId": CLICK_A},
        "client_reference_id": "order_42",
    }
    assert checkout_params(UNCLICKED, client_reference_id="order_42") == {
        "client_reference_id": "order_42"
    }


def test_the_merchants_subscription_data_is_merged() -> None:
    own = {"trial_period_days": 14, "metadata": {"plan": "pro"}}
    params = checkout_params(CLICKED, mode="subscription", subscription_data=own)
    assert params["subscription_data"] == {
        "trial_period_days": 14,
        "metadata": {"plan": "pro", "tracClickId": CLICK_A},
    }
    assert own == {"trial_period_days": 14, "metadata": {"plan": "pro"}}


def test_the_merchants_subscription_data_comes_back_without_a_click() -> None:
    own = {"trial_period_days": 14}
    assert checkout_params(UNCLICKED, mode="subscription", subscription_data=own) == {
        "subscription_data": {"trial_period_days": 14}
    }


def test_the_same_click_in_the_merchants_metadata_is_no_conflict() -> None:
    params = checkout_params(
        CLICKED,
        mode="subscription",
        metadata={"tracClickId": CLICK_A},
        subscription_data={"metadata": {"tracClickId": CLICK_A}},
    )
    assert params["metadata"] == {"tracClickId": CLICK_A}
    assert params["subscription_data"] == {"metadata": {"tracClickId": CLICK_A}}


def test_a_click_of_the_merchants_own_is_kept_when_the_request_has_none() -> None:
    params = checkout_params(UNCLICKED, metadata={"tracClickId": CLICK_B})
    assert params == {"metadata": {"tracClickId": CLICK_B}}


def test_a_different_click_in_the_merchants_metadata_is_a_conflict() -> None:
    with pytest.raises(ClickIdConflict, match=r"metadata already has tracClickId='clk_234567"):
        checkout_params(CLICKED, metadata={"tracClickId": CLICK_B})


def test_a_different_click_in_the_subscriptions_metadata_is_a_conflict() -> None:
    with pytest.raises(ClickIdConflict, match=r"^subscription_data\.metadata already has"):
        checkout_params(
            CLICKED, mode="subscription", subscription_data={"metadata": {"tracClickId": CLICK_B}}
        )


def test_a_conflict_is_a_value_error() -> None:
    assert issubclass(ClickIdConflict, ValueError)


@pytest.mark.parametrize("mode", ["", "Payment", "subscriptions", "donation"])
def test_an_unknown_mode_is_refused(mode: str) -> None:
    with pytest.raises(ValueError, match="mode must be one of payment, subscription, setup"):
        checkout_params(CLICKED, mode=mode)


@pytest.mark.parametrize("mode", ["payment", "setup"])
def test_subscription_data_outside_subscription_mode_is_refused(mode: str) -> None:
    with pytest.raises(
        ValueError, match=f"subscription_data is for mode 'subscription', not '{mode}'"
    ):
        checkout_params(UNCLICKED, mode=mode, subscription_data={"trial_period_days": 1})


def test_the_result_merges_into_session_create_without_clashing() -> None:
    """The way the README calls it: the merchant's other arguments beside the result."""
    received: dict[str, Any] = {}

    def session_create(**kwargs: Any) -> None:  # stripe.checkout.Session.create's call shape
        received.update(kwargs)

    session_create(
        mode="subscription",
        line_items=[{"price": "price_123", "quantity": 1}],
        success_url="https://shop.example/thanks",
        **checkout_params(CLICKED, mode="subscription", metadata={"plan": "pro"}),
    )
    assert received["metadata"] == {"plan": "pro", "tracClickId": CLICK_A}
    assert received["subscription_data"] == {"metadata": {"tracClickId": CLICK_A}}
    assert received["client_reference_id"] == CLICK_A
