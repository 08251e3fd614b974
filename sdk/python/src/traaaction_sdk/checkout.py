"""What to add to `stripe.checkout.Session.create(...)` so that the sale is the partner's.

The service reads the session's `metadata.tracClickId` first, then its `client_reference_id`
(bare or "trac_"-prefixed). In subscription mode the click also goes on the subscription's
own metadata (`subscription_data.metadata`), which Stripe copies onto every invoice
(`subscription_details.metadata`), so that each renewal carries the click by itself.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypedDict

from traaaction_sdk.click_ids import click_id_from_cookie_header, click_id_from_query_string
from traaaction_sdk.request_reading import raw_request

#: the metadata key the service reads on sessions, subscriptions and invoices
METADATA_KEY = "tracClickId"
#: Stripe's Checkout modes
MODES = ("payment", "subscription", "setup")


class CheckoutParams(TypedDict, total=False):
    """Keyword arguments of `stripe.checkout.Session.create`; only those that are set."""

    metadata: dict[str, str]
    client_reference_id: str
    # Any, not a dict type: stripe types this argument as its own TypedDict, which no dict
    # type of ours would match under mypy; the merchant's own keys ride in it unchanged
    subscription_data: Any


class ClickIdConflict(ValueError):
    """The merchant's own metadata already names a different click: neither is dropped
    silently."""


def get_click_id(request: object) -> str | None:
    """The visitor's click id: the `trac_click_id` cookie, else the `trac_click_id` query
    parameter; None when neither holds a well-formed one.

    `request` is a Starlette/FastAPI, Django or Flask request, an ASGI scope or a WSGI
    environ. Anything else, however malformed, gives None: this never raises, because a
    missing click must never break a checkout."""
    try:
        raw = raw_request(request)
        if raw is None:
            return None
        return click_id_from_cookie_header(raw.cookie_header) or click_id_from_query_string(
            raw.query_string
        )
    except Exception:  # a hostile request object's attributes may raise anything
        return None


def _merged(own: Mapping[str, str] | None, click_id: str | None, where: str) -> dict[str, str]:
    merged = dict(own or {})
    if click_id is None:
        return merged
    present = merged.get(METADATA_KEY)
    if present is not None and present != click_id:
        raise ClickIdConflict(
            f"{where} already has {METADATA_KEY}={present!r} and the request names "
            f"{click_id!r}: remove one of them"
        )
    merged[METADATA_KEY] = click_id
    return merged


def checkout_params(
    request: object,
    *,
    mode: str = "payment",
    metadata: Mapping[str, str] | None = None,
    subscription_data: Mapping[str, Any] | None = None,
    client_reference_id: str | None = None,
) -> CheckoutParams:
    """The click's fields for `stripe.checkout.Session.create(**checkout_params(...), ...)`.

    With a click: `metadata.tracClickId` and `client_reference_id`, and in mode
    "subscription" also `subscription_data.metadata.tracClickId`. With no click: an empty
    dict, so that the merge is always safe.

    Pass your own `metadata`, `subscription_data` and `client_reference_id` here rather than
    beside the result: they come back merged (your `client_reference_id` is kept as it is;
    the click still rides in the metadata). A `tracClickId` of your own that differs from
    the request's raises `ClickIdConflict`; an unknown `mode`, or `subscription_data`
    outside mode "subscription", raises ValueError."""
    if mode not in MODES:
        raise ValueError(f"mode must be one of {', '.join(MODES)}, not {mode!r}")
    if subscription_data is not None and mode != "subscription":
        raise ValueError(f"subscription_data is for mode 'subscription', not {mode!r}")
    click_id = get_click_id(request)
    params: CheckoutParams = {}
    session_metadata = _merged(metadata, click_id, "metadata")
    if session_metadata or metadata is not None:
        params["metadata"] = session_metadata
    if client_reference_id is not None:
        params["client_reference_id"] = client_reference_id
    elif click_id is not None:
        params["client_reference_id"] = click_id
    if mode == "subscription" and (click_id is not None or subscription_data is not None):
        data = dict(subscription_data or {})
        own = data.get("metadata")
        data_metadata = _merged(own, click_id, "subscription_data.metadata")
        if data_metadata or own is not None:
            data["metadata"] = data_metadata
        params["subscription_data"] = data
    return params
