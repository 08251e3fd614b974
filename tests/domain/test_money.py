from __future__ import annotations

import math
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from domain.money import (
    checkout_commissionable,
    invoice_commissionable,
    percent_of,
    prorate,
    round_half_up_div,
)

#: up to a trillion minor units: beyond any real sale, and products stay exact ints anyway
amounts = st.integers(min_value=0, max_value=10**12)
denominators = st.integers(min_value=1, max_value=10**9)
bps_values = st.integers(min_value=0, max_value=10_000)


def _half_up(exact: Fraction) -> int:
    """The reference: floor(x + 1/2), on exact rationals."""
    return math.floor(exact + Fraction(1, 2))


# --- round_half_up_div ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("numerator", "denominator", "expected"),
    [
        (1, 2, 1),  # exactly half rounds up
        (3, 2, 2),
        (5, 2, 3),
        (1, 3, 0),  # a third rounds down
        (2, 3, 1),  # two thirds round up
        (0, 7, 0),
        (14, 7, 2),
        (149, 100, 1),
        (150, 100, 2),
    ],
)
def test_round_half_up_div_rounds_to_nearest_with_halves_going_up(
    numerator: int, denominator: int, expected: int
) -> None:
    assert round_half_up_div(numerator, denominator) == expected


@pytest.mark.parametrize(("numerator", "denominator"), [(-1, 2), (1, 0), (1, -2)])
def test_round_half_up_div_refuses_a_negative_numerator_or_a_non_positive_denominator(
    numerator: int, denominator: int
) -> None:
    with pytest.raises(ValueError, match="must be"):
        round_half_up_div(numerator, denominator)


@settings(max_examples=300)
@given(amounts, denominators)
def test_round_half_up_div_equals_the_exact_fraction_rounded_half_up(n: int, d: int) -> None:
    assert round_half_up_div(n, d) == _half_up(Fraction(n, d))


@settings(max_examples=300)
@given(amounts, amounts, denominators)
def test_round_half_up_div_never_decreases_as_the_numerator_grows(a: int, b: int, d: int) -> None:
    low, high = sorted((a, b))
    assert round_half_up_div(low, d) <= round_half_up_div(high, d)


# --- percent_of -------------------------------------------------------------------------------


def test_percent_of_rounds_half_a_cent_up() -> None:
    # 12.5 % of 1.00 USD is 12.5 cents: 13. 12.5 % of 1.01 is 12.625: 13. Of 0.99, 12.375: 12.
    assert percent_of(100, 1250) == 13
    assert percent_of(101, 1250) == 13
    assert percent_of(99, 1250) == 12


def test_percent_of_a_yen_amount_needs_no_zero_decimal_special_case() -> None:
    # JPY has no minor unit: 15 % of 1,999 yen is 299.85 yen, paid as 300
    assert percent_of(1999, 1500) == 300


def test_percent_of_a_kuwaiti_dinar_amount_needs_no_three_decimal_special_case() -> None:
    # KWD has three decimals: 7.5 % of 12.345 KWD (12345 fils) is 925.875 fils, paid as 926
    assert percent_of(12_345, 750) == 926


@pytest.mark.parametrize(("amount", "bps"), [(-1, 100), (100, -1), (100, 10_001)])
def test_percent_of_refuses_a_negative_amount_or_bps_outside_0_to_100_percent(
    amount: int, bps: int
) -> None:
    with pytest.raises(ValueError, match="must be"):
        percent_of(amount, bps)


@settings(max_examples=300)
@given(amounts, bps_values)
def test_percent_of_equals_the_exact_share_rounded_half_up(amount: int, bps: int) -> None:
    assert percent_of(amount, bps) == _half_up(Fraction(amount * bps, 10_000))


@settings(max_examples=300)
@given(amounts)
def test_all_of_an_amount_is_the_amount_and_none_of_it_is_zero(amount: int) -> None:
    assert percent_of(amount, 10_000) == amount
    assert percent_of(amount, 0) == 0


# --- prorate ----------------------------------------------------------------------------------


def test_prorate_rounds_a_refunds_share_half_up() -> None:
    # a 5.00 commission, 1/3 of the charge refunded: 1.666... -> 1.67; 1/2 of 5 cents: 3
    assert prorate(500, 1, 3) == 167
    assert prorate(5, 1, 2) == 3


def test_prorate_clamps_a_part_above_the_whole_so_the_share_never_exceeds_the_value() -> None:
    assert prorate(500, 9000, 5509) == 500


@pytest.mark.parametrize(("value", "part", "whole"), [(-1, 1, 2), (1, -1, 2), (1, 1, 0)])
def test_prorate_refuses_negative_values_and_a_non_positive_whole(
    value: int, part: int, whole: int
) -> None:
    with pytest.raises(ValueError, match="must be"):
        prorate(value, part, whole)


@settings(max_examples=300)
@given(amounts, amounts, denominators)
def test_prorate_equals_the_exact_share_rounded_half_up_and_never_exceeds_the_value(
    value: int, part: int, whole: int
) -> None:
    share = prorate(value, part, whole)
    assert share == _half_up(Fraction(value * min(part, whole), whole))
    assert 0 <= share <= value


@settings(max_examples=300)
@given(amounts, denominators)
def test_a_full_refund_takes_the_whole_value_and_no_refund_takes_nothing(
    value: int, whole: int
) -> None:
    assert prorate(value, whole, whole) == value
    assert prorate(value, 0, whole) == 0


# --- commissionable amounts -------------------------------------------------------------------


def test_a_checkout_is_commissionable_without_its_tax() -> None:
    assert checkout_commissionable(11_900, 1900) == 10_000


def test_a_checkout_without_tax_counts_its_tax_as_zero() -> None:
    assert checkout_commissionable(2000, None) == 2000
    assert checkout_commissionable(2000, 0) == 2000


def test_a_checkout_commissionable_amount_may_be_zero_or_negative_for_the_rules_to_skip() -> None:
    assert checkout_commissionable(0, 0) == 0
    assert checkout_commissionable(100, 150) == -50


def test_an_invoice_paid_in_part_is_commissionable_in_proportion_without_tax() -> None:
    # 55.09 EUR invoice (46.29 + VAT), 20.00 paid: 20.00 * 4629 / 5509 = 16.805... -> 16.81
    assert invoice_commissionable(2000, 5509, 4629) == 1681


def test_an_invoice_in_yen_and_in_dinars_needs_no_currency_special_case() -> None:
    # JPY 11,000 incl. 10 % tax, fully paid: 10,000 yen. KWD 5.250 with 5 % on 5.000: 5000 fils.
    assert invoice_commissionable(11_000, 11_000, 10_000) == 10_000
    assert invoice_commissionable(5250, 5250, 5000) == 5000
    # half of the KWD invoice paid: 2625 * 5000 / 5250 = 2500 fils exactly
    assert invoice_commissionable(2625, 5250, 5000) == 2500


def test_an_invoice_without_total_excluding_tax_counts_it_as_the_total() -> None:
    assert invoice_commissionable(3000, 3000, None) == 3000
    assert invoice_commissionable(1500, 3000, None) == 1500


@pytest.mark.parametrize("total", [0, -1, -5000])
def test_an_invoice_with_a_non_positive_total_has_no_commissionable_amount(total: int) -> None:
    assert invoice_commissionable(0, total, total) is None


def test_an_invoices_total_excluding_tax_is_clamped_to_zero_and_to_the_total() -> None:
    assert invoice_commissionable(1000, 1000, 1500) == 1000
    assert invoice_commissionable(1000, 1000, -200) == 0


def test_an_invoice_refuses_a_negative_amount_paid() -> None:
    with pytest.raises(ValueError, match="amount_paid"):
        invoice_commissionable(-1, 1000, 900)


@settings(max_examples=300)
@given(st.data(), st.integers(min_value=1, max_value=10**12))
def test_an_invoice_paid_in_full_is_commissionable_for_exactly_its_total_excluding_tax(
    data: st.DataObject, total: int
) -> None:
    excluding_tax = data.draw(st.integers(min_value=0, max_value=total))
    assert invoice_commissionable(total, total, excluding_tax) == excluding_tax


@settings(max_examples=300)
@given(st.data(), st.integers(min_value=1, max_value=10**12))
def test_an_invoices_commissionable_amount_never_exceeds_what_was_paid(
    data: st.DataObject, total: int
) -> None:
    paid = data.draw(st.integers(min_value=0, max_value=total))
    excluding_tax = data.draw(st.none() | st.integers(min_value=-(10**12), max_value=10**13))
    result = invoice_commissionable(paid, total, excluding_tax)
    assert result is not None
    assert 0 <= result <= paid


def test_more_paid_than_the_invoice_total_counts_as_the_total() -> None:
    # A debit balance carried into the invoice: amount_paid 1500 on a total of 1200.
    assert invoice_commissionable(1500, 1200, 1000) == 1000
