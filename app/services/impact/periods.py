"""Periods of the impact aggregates: months as ``YYYY-MM``, their keys by grain (year,
quarter, month) and the arithmetic between them, in Norwegian time."""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Literal
from zoneinfo import ZoneInfo

from app.errors import InvalidPeriodError

NORWAY = ZoneInfo("Europe/Oslo")
EARLIEST_YEAR = 2000

TimeGrain = Literal["year", "quarter", "month"]


_MONTH = re.compile(r"^(\d{4})(?:-(\d{2}))?$")


def parse_month(value: str, *, end: bool) -> date:
    """``YYYY`` (January, or December when it ends a period) or ``YYYY-MM``."""
    match = _MONTH.match(value.strip())
    if match is None:
        raise InvalidPeriodError(f"'{value}' is not a month (YYYY-MM) or a year (YYYY).")
    year = int(match.group(1))
    month = int(match.group(2)) if match.group(2) else (12 if end else 1)
    if not 1 <= month <= 12 or not EARLIEST_YEAR <= year <= 2100:
        raise InvalidPeriodError(f"'{value}' is not a month between 2000 and 2100.")
    return date(year, month, 1)


def add_months(month: date, n: int) -> date:
    index = month.year * 12 + month.month - 1 + n
    return date(index // 12, index % 12 + 1, 1)


def months_between(first: date, last: date) -> int:
    return (last.year - first.year) * 12 + last.month - first.month + 1


def current_month(now: datetime) -> date:
    local = now.astimezone(NORWAY)
    return date(local.year, local.month, 1)


def time_key(grain: TimeGrain, month: date) -> str:
    if grain == "year":
        return f"{month.year:04d}"
    if grain == "quarter":
        return f"{month.year:04d}-Q{(month.month - 1) // 3 + 1}"
    return f"{month.year:04d}-{month.month:02d}"


def shift_key(grain: TimeGrain, key: str, *, periods: int = 0, to_year: int | None = None) -> str:
    """The key ``periods`` periods later (negative: earlier), or the same period in
    ``to_year``."""
    year = int(key[:4])
    if grain == "year":
        return f"{to_year if to_year is not None else year + periods:04d}"
    if grain == "quarter":
        q = int(key[-1])
        if to_year is not None:
            return f"{to_year:04d}-Q{q}"
        index = year * 4 + q - 1 + periods
        return f"{index // 4:04d}-Q{index % 4 + 1}"
    month = int(key[5:7])
    if to_year is not None:
        return f"{to_year:04d}-{month:02d}"
    shifted = add_months(date(year, month, 1), periods)
    return time_key("month", shifted)


def period_keys(grain: TimeGrain | None, start: date, end: date) -> list[tuple[str, date, date]]:
    """The periods of a grain that [start, end] covers: (key, first month, last month)."""
    if grain is None:
        return [("", start, end)]
    out: dict[str, tuple[date, date]] = {}
    month = start
    while month <= end:
        key = time_key(grain, month)
        first, _ = out.get(key, (month, month))
        out[key] = (first, month)
        month = add_months(month, 1)
    return [(k, a, b) for k, (a, b) in out.items()]


GRAIN_MONTHS = {"year": 12, "quarter": 3, "month": 1}


def period_start(grain: TimeGrain, month: date) -> date:
    if grain == "year":
        return date(month.year, 1, 1)
    if grain == "quarter":
        return date(month.year, (month.month - 1) // 3 * 3 + 1, 1)
    return month
