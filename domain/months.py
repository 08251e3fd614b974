"""Which month of a subscription a service period is: month 1, 2, ... counted from an anchor.

The anchor (the start of the first paid period, as this service saw it) and Stripe's billing
cycle anchor may differ by seconds to hours: the checkout session is created before the
subscription and its event arrives after it. Whole months are therefore counted with a
tolerance, so that such a difference never shifts N.

Pure: timestamps are converted with plain arithmetic from the epoch, never from the clock.
"""

from __future__ import annotations

import calendar
from datetime import UTC, datetime, timedelta

#: seconds; how far before a monthly anniversary a period may start and still count as it
TOLERANCE_SECONDS = 2 * 86_400

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _to_datetime(timestamp: int) -> datetime:
    try:
        return _EPOCH + timedelta(seconds=timestamp)
    except OverflowError:
        raise ValueError(f"timestamp {timestamp} is outside the calendar's range") from None


def _to_timestamp(moment: datetime) -> int:
    return (moment - _EPOCH) // timedelta(seconds=1)


def add_months(timestamp: int, months: int) -> int:
    """The same day and time of day `months` calendar months later, in UTC.

    A day the target month lacks is clamped to its last day, as Stripe clamps billing dates:
    Jan 31 + 1 month is Feb 28 (Feb 29 in a leap year), + 2 months is Mar 31. Always counted
    from the original timestamp, never step by step, so the clamp does not accumulate.
    """
    start = _to_datetime(timestamp)
    index = start.year * 12 + (start.month - 1) + months
    year, month0 = divmod(index, 12)
    if not 1 <= year <= 9999:
        raise ValueError(f"{timestamp} + {months} months is outside the calendar's range")
    day = min(start.day, calendar.monthrange(year, month0 + 1)[1])
    return _to_timestamp(start.replace(year=year, month=month0 + 1, day=day))


def _anniversary_reached(anchor: int, months: int, period_start: int) -> bool:
    return period_start >= add_months(anchor, months) - TOLERANCE_SECONDS


def month_number(anchor: int, period_start: int) -> int:
    """N = 1 + the number of monthly anniversaries of `anchor` that `period_start` has reached.

    The k-th anniversary is add_months(anchor, k) (month-end clamped, time of day kept); it
    counts as reached from TOLERANCE_SECONDS before it. So N is 1 + the largest k >= 0 with
    period_start >= add_months(anchor, k) - TOLERANCE_SECONDS. Anniversaries are at least 28
    days apart, far more than twice the tolerance, so a period start within the tolerance on
    either side of an anniversary always gets that anniversary's number, and N never decreases
    as period_start grows. A period start more than the tolerance before the anchor is month 1:
    the caller moves the anchor back in that case (rules: a replayed earlier invoice).

    Both arguments are Unix seconds, UTC; a ValueError is raised outside the years 1..9999.
    """
    start = _to_datetime(anchor)
    end = _to_datetime(period_start)
    calendar_months = (end.year - start.year) * 12 + (end.month - start.month)
    # Only the calendar difference or its neighbours can be the answer: the anniversary two
    # months on lies two calendar months after period_start's, so at least 28 days after it,
    # and the one a month back lies in an earlier calendar month, so it has been reached.
    for months in (calendar_months + 1, calendar_months):
        if months >= 0 and _anniversary_reached(anchor, months, period_start):
            return months + 1
    return max(1, calendar_months)
