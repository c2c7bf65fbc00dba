"""Working-day deadlines over the holiday calendar, with answers worked out by hand."""

from __future__ import annotations

import datetime as dt

from hypothesis import given, settings
from hypothesis import strategies as st

from engine.run import cases
from engine.run.calendar import HolidayCalendar, default_calendar

D = dt.date


def test_the_shipped_calendar_knows_tsagaan_sar_naadam_and_fixed_days() -> None:
    cal = default_calendar()
    assert cal.add_working_days(D(2026, 2, 17), 1) == D(2026, 2, 23)  # Tsagaan Sar Wed–Fri, then a weekend
    assert cal.add_working_days(D(2025, 2, 28), 1) == D(2025, 3, 4)  # Tsagaan Sar Sat–Mon
    assert cal.add_working_days(D(2024, 2, 9), 1) == D(2024, 2, 13)  # 10–12 Feb 2024
    assert cal.add_working_days(D(2026, 7, 10), 1) == D(2026, 7, 16)  # Naadam 11–15 July
    assert cal.add_working_days(D(2026, 7, 10), 3) == D(2026, 7, 20)
    assert cal.add_working_days(D(2026, 12, 28), 2) == D(2026, 12, 31)  # 29 Dec
    assert not cal.is_working_day(D(2026, 11, 26)) and cal.is_working_day(D(2026, 11, 27))
    assert cal.add_working_days(D(2026, 3, 6), 0) == D(2026, 3, 6)
    # The portal's due dates use the same calendar.
    assert cases.add_working_days(D(2026, 2, 17), 1) == D(2026, 2, 23)


SWAPPED = HolidayCalendar.from_data(
    {
        "fixed": ["01-01", "07-11"],
        "years": {2027: {"tsagaan_sar": ["2027-02-08", "2027-02-09", "2027-02-10"]}},
        # A decree: Friday 12 Feb off (a bridge day), Saturday 20 Feb worked instead.
        "swaps": [{"off": "2027-02-12", "work": "2027-02-20"}],
    }
)


def test_decreed_swaps_move_a_working_day_to_a_saturday() -> None:
    assert SWAPPED.add_working_days(D(2027, 2, 5), 1) == D(2027, 2, 11)  # Mon–Wed Tsagaan Sar
    assert SWAPPED.add_working_days(D(2027, 2, 11), 1) == D(2027, 2, 15)  # Friday 12th is the bridge day
    assert SWAPPED.add_working_days(D(2027, 2, 19), 1) == D(2027, 2, 20)  # the worked Saturday
    assert SWAPPED.subtract_working_days(D(2027, 2, 15), 1) == D(2027, 2, 11)
    assert SWAPPED.working_days_between(D(2027, 2, 5), D(2027, 2, 15)) == 2  # 11th and 15th
    assert SWAPPED.working_days_between(D(2027, 2, 15), D(2027, 2, 5)) == -2


@settings(max_examples=60, deadline=None)
@given(start=st.dates(min_value=D(2024, 1, 1), max_value=D(2027, 12, 31)), days=st.integers(0, 40))
def test_adding_then_counting_working_days_round_trips(start: dt.date, days: int) -> None:
    for cal in (default_calendar(), SWAPPED):
        due = cal.add_working_days(start, days)
        assert cal.working_days_between(start, due) == days
        if days:
            assert cal.is_working_day(due)
            assert cal.subtract_working_days(due, days) <= start
