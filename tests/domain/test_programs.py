from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from domain.errors import DomainError
from domain.programs import (
    DEFAULT_HOLDING_DAYS,
    DEFAULT_RECURRING_MONTHS,
    FULL_PERCENT_BPS,
    MAX_FLAT_AMOUNT,
    MAX_HOLDING_DAYS,
    FlatReward,
    PercentReward,
    ProgramTerms,
    format_bps,
    normalize_currency,
    parse_percent,
)

# --- parse_percent / format_bps -------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "bps"),
    [
        ("12.5", 1250),
        ("100", 10_000),
        ("0.01", 1),
        ("12.50", 1250),
        (" 7 ", 700),
        ("99.99", 9999),
        ("1e1", 1000),
        ("12.500000000000000000000000000000000", 1250),
    ],
)
def test_parse_percent_turns_a_percentage_into_exact_basis_points(text: str, bps: int) -> None:
    result = parse_percent(text)
    assert result == bps
    assert type(result) is int


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("12.345", "more than two decimals"),
        ("0.001", "more than two decimals"),
        ("0", "greater than 0"),
        ("0.00", "greater than 0"),
        ("-1", "greater than 0"),
        ("100.01", "at most 100"),
        ("1e3", "at most 100"),
        ("abc", "not a number"),
        ("", "not a number"),
        ("NaN", "not a number"),
        ("sNaN", "not a number"),
        ("inf", "not a number"),
        ("-Infinity", "not a number"),
    ],
)
def test_parse_percent_refuses_what_is_not_an_exact_percentage_in_range(
    text: str, reason: str
) -> None:
    with pytest.raises(DomainError, match=reason):
        parse_percent(text)


@pytest.mark.parametrize(
    "text",
    [
        "0.0100000000000000000000000000001",
        "12.3400000000000000000000000001",
        "99.999999999999999999999999999999",
        "1e-2000000",
    ],
)
def test_parse_percent_refuses_a_long_tail_of_decimals_instead_of_rounding_it_away(
    text: str,
) -> None:
    with pytest.raises(DomainError, match="more than two decimals"):
        parse_percent(text)


@pytest.mark.parametrize(
    ("bps", "text"),
    [(1250, "12.5"), (10_000, "100"), (1, "0.01"), (5, "0.05"), (10, "0.1"), (1234, "12.34")],
)
def test_format_bps_shows_basis_points_as_the_shortest_percentage(bps: int, text: str) -> None:
    assert format_bps(bps) == text


@settings(max_examples=200)
@given(bps=st.integers(min_value=1, max_value=FULL_PERCENT_BPS))
def test_parse_percent_reads_back_every_formatted_basis_point_value(bps: int) -> None:
    assert parse_percent(format_bps(bps)) == bps


@settings(max_examples=200)
@given(
    whole=st.integers(min_value=0, max_value=10**6),
    hundredths=st.integers(min_value=0, max_value=99),
    third=st.integers(min_value=1, max_value=9),
    tail=st.text(alphabet="0123456789", max_size=40),
    negative=st.booleans(),
)
def test_parse_percent_refuses_any_number_with_a_non_zero_third_decimal(
    whole: int, hundredths: int, third: int, tail: str, negative: bool
) -> None:
    text = f"{'-' if negative else ''}{whole}.{hundredths:02d}{third}{tail}"
    with pytest.raises(DomainError):
        parse_percent(text)


@settings(max_examples=200)
@given(
    value=st.decimals(
        min_value=Decimal("-1000"),
        max_value=Decimal("1000"),
        places=3,
        allow_nan=False,
        allow_infinity=False,
    )
)
def test_parse_percent_refuses_any_decimal_whose_third_decimal_is_not_zero(
    value: Decimal,
) -> None:
    assume(value.scaleb(3) % 10 != 0)
    with pytest.raises(DomainError):
        parse_percent(str(value))


# --- currencies ------------------------------------------------------------------------------


@pytest.mark.parametrize(("code", "normal"), [("USD", "usd"), ("eur", "eur"), (" Gbp\n", "gbp")])
def test_normalize_currency_gives_stripes_lower_case_form(code: str, normal: str) -> None:
    assert normalize_currency(code) == normal


@pytest.mark.parametrize("code", ["", "us", "usdd", "u5d", "us d", "€ur", "ÄÖÜ", "usd\n1"])
def test_normalize_currency_refuses_anything_but_three_letters(code: str) -> None:
    with pytest.raises(DomainError, match="three-letter ISO code"):
        normalize_currency(code)


# --- rewards and terms ----------------------------------------------------------------------


@pytest.mark.parametrize("bps", [1, 1250, FULL_PERCENT_BPS])
def test_a_percent_reward_accepts_one_basis_point_up_to_one_hundred_percent(bps: int) -> None:
    assert PercentReward(bps).bps == bps


@pytest.mark.parametrize("bps", [0, -1, FULL_PERCENT_BPS + 1])
def test_a_percent_reward_outside_one_basis_point_to_one_hundred_percent_is_refused(
    bps: int,
) -> None:
    with pytest.raises(DomainError, match="percent reward"):
        PercentReward(bps)


@pytest.mark.parametrize("amount", [1, 2500, MAX_FLAT_AMOUNT])
def test_a_flat_reward_accepts_a_positive_amount_up_to_the_maximum(amount: int) -> None:
    reward = FlatReward(amount, "usd")
    assert (reward.amount, reward.currency) == (amount, "usd")


@pytest.mark.parametrize("amount", [0, -100, MAX_FLAT_AMOUNT + 1])
def test_a_flat_reward_that_is_not_positive_or_too_large_is_refused(amount: int) -> None:
    with pytest.raises(DomainError, match="flat reward"):
        FlatReward(amount, "usd")


def test_a_flat_reward_in_an_invalid_currency_is_refused() -> None:
    with pytest.raises(DomainError, match="three-letter ISO code"):
        FlatReward(500, "dollars")


def test_program_terms_default_to_twelve_months_and_thirty_holding_days() -> None:
    terms = ProgramTerms(PercentReward(1000))
    assert terms.recurring_months == DEFAULT_RECURRING_MONTHS == 12
    assert terms.holding_days == DEFAULT_HOLDING_DAYS == 30


@pytest.mark.parametrize("months", [None, 1, 12, 600, 1200])
def test_program_terms_accept_one_month_or_more_and_none_for_lifetime(
    months: int | None,
) -> None:
    assert ProgramTerms(FlatReward(100, "eur"), recurring_months=months).recurring_months == months


@pytest.mark.parametrize("months", [0, -1, -12])
def test_program_terms_refuse_fewer_than_one_recurring_month(months: int) -> None:
    with pytest.raises(DomainError, match="recurring months must be at least 1"):
        ProgramTerms(PercentReward(500), recurring_months=months)


@pytest.mark.parametrize("months", [1201, 3_000_000_000])
def test_program_terms_refuse_more_months_than_a_lifetime(months: int) -> None:
    with pytest.raises(DomainError, match="at most 1200"):
        ProgramTerms(PercentReward(500), recurring_months=months)


@pytest.mark.parametrize("days", [0, 14, MAX_HOLDING_DAYS])
def test_program_terms_accept_holding_days_from_zero_to_ten_years(days: int) -> None:
    assert ProgramTerms(PercentReward(500), holding_days=days).holding_days == days


@pytest.mark.parametrize("days", [-1, MAX_HOLDING_DAYS + 1])
def test_program_terms_refuse_holding_days_outside_zero_to_ten_years(days: int) -> None:
    with pytest.raises(DomainError, match="holding days"):
        ProgramTerms(PercentReward(500), holding_days=days)
