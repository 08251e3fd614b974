"""Traaaction's merchant SDK: the visitor's click id, and the Stripe Checkout fields that
carry it to the partner's commission.

    from traaaction_sdk import checkout_params
    session = stripe.checkout.Session.create(mode="payment", ..., **checkout_params(request))
"""

from __future__ import annotations

from traaaction_sdk.checkout import (
    METADATA_KEY,
    MODES,
    CheckoutParams,
    ClickIdConflict,
    checkout_params,
    get_click_id,
)
from traaaction_sdk.click_ids import COOKIE_NAME, QUERY_PARAMETER, is_click_id

__version__ = "0.1.0"

__all__ = [
    "COOKIE_NAME",
    "METADATA_KEY",
    "MODES",
    "QUERY_PARAMETER",
    "CheckoutParams",
    "ClickIdConflict",
    "__version__",
    "checkout_params",
    "get_click_id",
    "is_click_id",
]
