"""domain/promotion_codes: where a checkout or an invoice names a promotion code."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.errors import DomainError
from domain.json_fields import EventParseError, Fields
from domain.promotion_codes import (
    check_promotion_code,
    checkout_promotion_codes,
    invoice_promotion_codes,
    is_promotion_code,
)


def test_checkout_discounts_in_order_ids_and_expanded_without_duplicates() -> None:
    session = Fields(
        {
            "discounts": [
                {"coupon": "co_1", "promotion_code": "promo_B"},
                {"coupon": "co_2", "promotion_code": None},
                {"coupon": None, "promotion_code": {"id": "promo_A", "object": "promotion_code"}},
                {"coupon": "co_3", "promotion_code": "promo_B"},
            ]
        },
        "data.object",
    )
    assert checkout_promotion_codes(session) == ("promo_B", "promo_A")


@pytest.mark.parametrize("values", [{}, {"discounts": None}, {"discounts": []}])
def test_checkout_without_discounts_names_none(values: dict[str, object]) -> None:
    assert checkout_promotion_codes(Fields(values, "data.object")) == ()


def test_invoice_legacy_discount_then_expanded_discounts_skipping_bare_ids() -> None:
    invoice = Fields(
        {
            "discount": {"id": "di_0", "promotion_code": "promo_OLD"},
            "discounts": ["di_1", {"id": "di_2", "promotion_code": {"id": "promo_NEW"}}],
        },
        "data.object",
    )
    assert invoice_promotion_codes(invoice) == ("promo_OLD", "promo_NEW")


@pytest.mark.parametrize(
    ("discounts", "path"),
    [
        ("di_1", "data.object.discounts"),
        ([7], "data.object.discounts[0]"),
        (["di_1", {"promotion_code": 5}], "data.object.discounts[1].promotion_code"),
        ([{"promotion_code": {"id": ""}}], "data.object.discounts[0].promotion_code"),
    ],
)
def test_invoice_malformed_discounts_name_their_path(discounts: object, path: str) -> None:
    with pytest.raises(EventParseError, match=path.replace("[", r"\[").replace("]", r"\]")):
        invoice_promotion_codes(Fields({"discounts": discounts}, "data.object"))


@given(st.text(max_size=250))
def test_check_promotion_code_accepts_exactly_the_shape(text: str) -> None:
    cleaned = text.strip()
    shaped = (
        cleaned.startswith("promo_")
        and 1 <= len(cleaned) - 6 <= 200
        and all("!" <= ch <= "~" for ch in cleaned[6:])
    )
    assert is_promotion_code(cleaned) == shaped
    if shaped:
        assert check_promotion_code(text) == cleaned
    else:
        with pytest.raises(DomainError):
            check_promotion_code(text)
