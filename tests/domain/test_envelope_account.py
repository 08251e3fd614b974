"""Stripe Connect's `account` in the envelope: optional, a Stripe account id when present,
read the same way by the inline check and the field-by-field reader (one reader, one rule)."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.envelope import (
    MAX_ACCOUNT_LENGTH,
    EnvelopeError,
    EnvelopeFailure,
    _checked,
    _fast,
    read_envelope,
)
from domain.json_fields import Fields

GOOD: dict[str, Any] = {
    "id": "evt_1",
    "object": "event",
    "type": "charge.refunded",
    "livemode": True,
    "api_version": "2025-09-30.clover",
    "created": 1_700_000_000,
}


def read(values: dict[str, Any]) -> Any:
    return read_envelope(Fields(values, ""))


@pytest.mark.parametrize("account", ["acct_1Nv0FGQ9RKHgCVdK", "acct_1", "acct_" + "a" * 59])
def test_a_connected_accounts_event_carries_its_account(account: str) -> None:
    values = {**GOOD, "account": account}
    assert read(values).account == account
    assert _fast(values) is not None  # the ingress' hot path, not the slow one


@pytest.mark.parametrize("values", [GOOD, {**GOOD, "account": None}])
def test_a_platforms_own_event_has_no_account(values: dict[str, Any]) -> None:
    assert read(values).account is None
    assert _fast(values) is not None


@pytest.mark.parametrize(
    "account",
    [
        "",
        "acct_",
        "acct_1 2",
        "acct_1\x00",
        "acct_\u00e91",
        "ACCT_1",
        "cus_1Nv0FG",
        "acct_" + "a" * (MAX_ACCOUNT_LENGTH - 4),
        5,
        True,
        ["acct_1"],
        {"id": "acct_1"},
    ],
)
def test_anything_else_in_account_is_refused_by_name(account: object) -> None:
    with pytest.raises(EnvelopeError) as refused:
        read({**GOOD, "account": account})
    assert refused.value.failure is EnvelopeFailure.BAD_ACCOUNT
    assert str(refused.value).startswith("account: expected a Stripe account id")


_accounts = st.one_of(
    st.none(),
    st.from_regex(r"acct_[A-Za-z0-9]{1,40}", fullmatch=True),
    st.text(max_size=12),
    st.integers(),
    st.booleans(),
    st.sampled_from(["acct_", "acct_" + "x" * MAX_ACCOUNT_LENGTH, "acct_x\n"]),
)


@given(account=_accounts, drop=st.booleans())
def test_the_inline_check_and_the_field_by_field_one_agree_on_any_account(
    account: object, drop: bool
) -> None:
    values: dict[str, object] = dict(GOOD) if drop else {**GOOD, "account": account}
    fast = _fast(values)
    failure: EnvelopeFailure | None = None
    try:
        checked = _checked(Fields(values, ""))
    except EnvelopeError as error:
        failure = error.failure
    if failure is not None:
        assert fast is None
        assert failure is EnvelopeFailure.BAD_ACCOUNT
        return
    assert fast == checked
    assert checked.account == (None if drop else account)
