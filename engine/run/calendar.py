"""Working days in Mongolia: the holiday calendar (kept as data in holidays.yaml) and SLA date arithmetic.

A deadline of N working days counts from the day after the start, skipping weekends, public
holidays (fixed, and lunar ones listed per year) and honouring decreed swaps (a weekday off, a
Saturday worked).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

DATA = Path(__file__).with_name("holidays.yaml")


@dataclass(frozen=True)
class HolidayCalendar:
    fixed: frozenset[tuple[int, int]] = frozenset()
    dated: frozenset[dt.date] = frozenset()  # lunar holidays and decreed days off
    worked: frozenset[dt.date] = frozenset()  # decreed working weekend days
    names: Mapping[dt.date, str] = field(default_factory=dict)

    @staticmethod
    def from_data(data: Mapping[str, Any]) -> HolidayCalendar:
        fixed = set()
        for item in data.get("fixed") or ():
            month, day = str(item).split("-")
            fixed.add((int(month), int(day)))
        dated: set[dt.date] = set()
        names: dict[dt.date, str] = {}
        for _year, holidays in (data.get("years") or {}).items():
            for name, days in (holidays or {}).items():
                for day in days or ():
                    date = _date(day)
                    dated.add(date)
                    names[date] = str(name)
        worked: set[dt.date] = set()
        for swap in data.get("swaps") or ():
            if swap.get("off"):
                dated.add(_date(swap["off"]))
                names[_date(swap["off"])] = "swap"
            if swap.get("work"):
                worked.add(_date(swap["work"]))
        return HolidayCalendar(frozenset(fixed), frozenset(dated), frozenset(worked), names)

    def is_holiday(self, day: dt.date) -> bool:
        return (day.month, day.day) in self.fixed or day in self.dated

    def is_working_day(self, day: dt.date) -> bool:
        if day in self.worked:
            return True
        return day.weekday() < 5 and not self.is_holiday(day)

    def add_working_days(self, start: dt.date, days: int) -> dt.date:
        """The date `days` working days after `start` (0 days: `start` itself)."""
        day = start
        left = max(days, 0)
        while left > 0:
            day += dt.timedelta(days=1)
            if self.is_working_day(day):
                left -= 1
        return day

    def subtract_working_days(self, end: dt.date, days: int) -> dt.date:
        """The date `days` working days before `end`: when a reminder before a deadline is due."""
        day = end
        left = max(days, 0)
        while left > 0:
            day -= dt.timedelta(days=1)
            if self.is_working_day(day):
                left -= 1
        return day

    def working_days_between(self, start: dt.date, end: dt.date) -> int:
        """Working days after `start` up to and including `end` (negative when `end` is earlier)."""
        if end < start:
            return -self.working_days_between(end, start)
        return sum(1 for n in range(1, (end - start).days + 1) if self.is_working_day(start + dt.timedelta(days=n)))


def _date(value: Any) -> dt.date:
    return value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value))


def load_calendar(paths: Iterable[Path] = (DATA,)) -> HolidayCalendar:
    merged: dict[str, Any] = {"fixed": [], "years": {}, "swaps": []}
    for path in paths:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
        merged["fixed"] += data.get("fixed") or []
        merged["swaps"] += data.get("swaps") or []
        for year, holidays in (data.get("years") or {}).items():
            merged["years"].setdefault(f"{year}:{path}", holidays)
    return HolidayCalendar.from_data(merged)


@lru_cache(maxsize=1)
def default_calendar() -> HolidayCalendar:
    return load_calendar()
