from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from domain.months import TOLERANCE_SECONDS, add_months, month_number

HOUR = 3600
DAY = 86_400


def ts(text: str) -> int:
    """'2026-01-15 10:00:05' (UTC) as Unix seconds."""
    return int(datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp())


#: anchors anywhere from 2015 through 2035, to the second
anchors = st.integers(min_value=ts("2015-01-01 00:00:00"), max_value=ts("2035-12-31 23:59:59"))


# --- add_months -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("start", "months", "expected"),
    [
        ("2026-01-15 10:00:05", 1, "2026-02-15 10:00:05"),
        ("2026-01-31 23:59:59", 1, "2026-02-28 23:59:59"),
        ("2028-01-31 08:00:00", 1, "2028-02-29 08:00:00"),
        ("2026-01-31 08:00:00", 2, "2026-03-31 08:00:00"),  # counted from Jan 31, not Feb 28
        ("2026-01-31 08:00:00", 3, "2026-04-30 08:00:00"),
        ("2026-11-30 00:00:00", 3, "2027-02-28 00:00:00"),
        ("2026-01-15 10:00:00", 12, "2027-01-15 10:00:00"),
        ("2026-03-31 12:00:00", -1, "2026-02-28 12:00:00"),
        ("2026-03-31 12:00:00", 0, "2026-03-31 12:00:00"),
    ],
)
def test_add_months_keeps_day_and_time_and_clamps_to_the_months_last_day(
    start: str, months: int, expected: str
) -> None:
    assert add_months(ts(start), months) == ts(expected)


def test_add_months_refuses_a_date_beyond_the_calendar() -> None:
    with pytest.raises(ValueError, match="outside the calendar"):
        add_months(ts("9999-12-01 00:00:00"), 1)


# --- month_number: the cases the rules name -----------------------------------------------------


@pytest.mark.parametrize(
    ("anchor", "period_start", "expected"),
    [
        # the anchor a few seconds after the subscription's billing anchor
        ("2026-01-15 10:00:05", "2026-02-15 10:00:00", 2),
        ("2026-01-15 10:00:05", "2026-03-15 10:00:00", 3),
        ("2026-01-15 10:05:00", "2026-02-15 10:00:00", 2),  # minutes
        ("2026-01-15 17:00:00", "2026-02-15 10:00:00", 2),  # hours
        # the anchor a few hours before it
        ("2026-01-15 06:00:00", "2026-02-15 10:00:00", 2),
        ("2026-01-15 06:00:00", "2026-12-15 10:00:00", 12),
        # Stripe's month-end clamp
        ("2026-01-31 10:00:00", "2026-02-28 10:00:00", 2),
        ("2026-01-31 10:00:00", "2026-03-31 10:00:00", 3),
        ("2026-01-31 10:00:00", "2026-04-30 10:00:00", 4),
        ("2028-01-31 10:00:00", "2028-02-29 10:00:00", 2),  # leap year
        ("2028-01-31 10:00:00", "2028-03-31 10:00:00", 3),
        # a clamped month-end anchor seconds after Stripe's
        ("2026-01-31 10:00:05", "2026-02-28 10:00:00", 2),
        # yearly plans
        ("2026-01-15 10:00:00", "2027-01-15 10:00:00", 13),
        ("2026-01-15 10:00:05", "2028-01-15 10:00:00", 25),
        # the first period itself
        ("2026-01-15 10:00:00", "2026-01-15 10:00:00", 1),
        ("2026-01-15 10:00:05", "2026-01-15 10:00:00", 1),  # before the anchor, within tolerance
        ("2026-01-15 10:00:00", "2026-01-13 10:00:01", 1),
        # a period well inside the first month is still month 1
        ("2026-01-15 10:00:00", "2026-02-01 00:00:00", 1),
    ],
)
def test_month_number_counts_whole_months_from_the_anchor_with_a_tolerance(
    anchor: str, period_start: str, expected: int
) -> None:
    assert month_number(ts(anchor), ts(period_start)) == expected


def test_a_period_starting_just_inside_the_tolerance_before_an_anniversary_counts_as_it() -> None:
    anchor = ts("2026-01-15 10:00:00")
    anniversary = ts("2026-02-15 10:00:00")
    assert month_number(anchor, anniversary - TOLERANCE_SECONDS) == 2
    assert month_number(anchor, anniversary - TOLERANCE_SECONDS - 1) == 1


def test_a_period_starting_well_before_the_anchor_is_month_one() -> None:
    # the rules move the anchor back in that case; the count itself never goes below 1
    assert month_number(ts("2026-03-15 10:00:00"), ts("2026-01-15 10:00:00")) == 1


def test_month_number_refuses_a_timestamp_beyond_the_calendar() -> None:
    with pytest.raises(ValueError, match="outside the calendar"):
        month_number(ts("2026-01-15 10:00:00"), 10**13)


# --- properties -------------------------------------------------------------------------------


@settings(max_examples=300)
@given(
    anchors,
    st.integers(min_value=0, max_value=120),
    st.integers(min_value=-6 * HOUR, max_value=6 * HOUR),
)
def test_the_kth_anniversary_give_or_take_six_hours_is_month_k_plus_one(
    anchor: int, k: int, jitter: int
) -> None:
    assert month_number(anchor, add_months(anchor, k) + jitter) == k + 1


@settings(max_examples=300)
@given(
    anchors,
    st.integers(min_value=-40 * DAY, max_value=11 * 365 * DAY),
    st.integers(min_value=0, max_value=60 * DAY),
)
def test_month_number_never_decreases_as_the_period_start_grows(
    anchor: int, offset: int, step: int
) -> None:
    earlier = anchor + offset
    assert month_number(anchor, earlier) <= month_number(anchor, earlier + step)


@settings(max_examples=300)
@given(anchors, st.integers(min_value=-40 * DAY, max_value=11 * 365 * DAY))
def test_month_number_is_one_plus_the_anniversaries_reached_counted_one_by_one(
    anchor: int, offset: int
) -> None:
    # the reference walks every anniversary; month_number only looks at the calendar's two
    period_start = anchor + offset
    reached = 0
    while period_start >= add_months(anchor, reached + 1) - TOLERANCE_SECONDS:
        reached += 1
    assert month_number(anchor, period_start) == reached + 1
