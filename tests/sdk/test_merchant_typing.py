"""The SDK's types (py.typed) as a merchant meets them: a checkout written the README's way,
against stripe's own typed API, passes mypy --strict. A dict type for subscription_data once
made every such call a type error, because stripe types that argument as its own TypedDict."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.sdk.conftest import SDK_SOURCE

MERCHANT = """
from __future__ import annotations

import stripe
from stripe.params.checkout import SessionCreateParamsSubscriptionData
from traaaction_sdk import ClickIdConflict, checkout_params, get_click_id


def pay(request: object) -> stripe.checkout.Session:
    return stripe.checkout.Session.create(
        mode="payment",
        line_items=[{"price": "price_123", "quantity": 1}],
        success_url="https://shop.example/thanks",
        **checkout_params(request, metadata={"order_id": "42"}),
    )


def subscribe(request: object, own: SessionCreateParamsSubscriptionData) -> stripe.checkout.Session:
    try:
        params = checkout_params(request, mode="subscription", subscription_data=own)
    except ClickIdConflict:
        params = {}
    return stripe.checkout.Session.create(
        mode="subscription",
        line_items=[{"price": "price_monthly", "quantity": 1}],
        success_url="https://shop.example/thanks",
        **params,
    )


def click(request: object) -> str:
    found = get_click_id(request)
    return found if found is not None else "none"
"""


def test_a_merchants_typed_checkout_passes_mypy_strict(tmp_path: Path) -> None:
    (tmp_path / "merchant.py").write_text(MERCHANT)
    (tmp_path / "mypy.ini").write_text(f"[mypy]\nstrict = True\nmypy_path = {SDK_SOURCE}\n")
    checked = subprocess.run(
        [sys.executable, "-m", "mypy", "--config-file", "mypy.ini", "merchant.py"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert checked.stdout.startswith("Success: no issues found in 1 source file")
