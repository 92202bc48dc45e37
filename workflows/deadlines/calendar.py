"""Working-day arithmetic on China's official calendar (public holidays and 调休 working weekends).

The calendar is the ``CalendarDay`` table: only the exceptions to the Monday–Friday week are stored.
A year with no rows at all is *not covered* (the State Council's notice for it has not been entered):
its days follow the plain weekday rule, ``calendar_covers(year)`` is False, and the admin and a
system check say so.

The exceptions are read once per year and kept in this process. Saving or deleting a ``CalendarDay``
clears this process's copy (``clear_cache``, connected in ``apps.py``); other processes (workers) re-read
a year at most ``CACHE_SECONDS`` later.

Definitions (``day`` is a date, never a datetime):

- ``add_working_days(day, n)``: for n > 0 the n-th working day strictly after ``day``; for n < 0 the
  |n|-th working day strictly before it; for n = 0 ``day`` itself when it is a working day, else the
  next working day. ``day`` itself never counts as one of the n.
- ``working_days_between(a, b)``: the working days d with a < d <= b (so
  ``working_days_between(a, add_working_days(a, n)) == n`` for n >= 1); negative when b < a.
"""

from __future__ import annotations

import threading
import time
from datetime import date, timedelta

CACHE_SECONDS = 300.0
_MAX_SCAN_DAYS = 366 * 20  # no real calendar has a run of 20 years without a working day

_lock = threading.Lock()
# year -> (monotonic time loaded, {date: kind} or None when the year has no rows)
_years: dict[int, tuple[float, dict[date, str] | None]] = {}


def clear_cache(**kwargs: object) -> None:
    """Forget every year read so far (also a ``post_save``/``post_delete`` receiver)."""
    with _lock:
        _years.clear()


def _load(year: int) -> dict[date, str] | None:
    from .models import CalendarDay

    rows = CalendarDay.objects.filter(date__year=year).values_list("date", "kind")
    exceptions = dict(rows)
    return exceptions or None


def _exceptions(year: int) -> dict[date, str] | None:
    now = time.monotonic()
    with _lock:
        cached = _years.get(year)
    if cached is not None and now - cached[0] < CACHE_SECONDS:
        return cached[1]
    exceptions = _load(year)
    with _lock:
        _years[year] = (now, exceptions)
    return exceptions


def calendar_covers(year: int) -> bool:
    """True when the official calendar of ``year`` has been entered (the year has rows)."""
    return _exceptions(year) is not None


def uncovered_years(first: date, last: date) -> list[int]:
    """The years from ``first`` to ``last`` (either order) whose calendar has not been entered."""
    low, high = sorted((first.year, last.year))
    return [year for year in range(low, high + 1) if not calendar_covers(year)]


def is_working_day(day: date) -> bool:
    """A listed exception wins (holiday: no, 调休: yes); otherwise Monday to Friday."""
    return _working(day, _exceptions(day.year))


def _working(day: date, exceptions: dict[date, str] | None) -> bool:
    kind = exceptions.get(day) if exceptions is not None else None
    if kind is not None:
        return kind == "workday"
    return day.weekday() < 5


def next_working_day(day: date) -> date:
    """``day`` itself when it is a working day, else the first working day after it."""
    return add_working_days(day, 0)


def add_working_days(day: date, n: int) -> date:
    """See the module docstring for the exact meaning of ``n`` (``day`` itself never counts)."""
    if n == 0:
        probe = day
        for _ in range(_MAX_SCAN_DAYS):
            if is_working_day(probe):
                return probe
            probe += timedelta(days=1)
        raise ValueError(day)  # pragma: no cover - a calendar of nothing but holidays
    step = timedelta(days=1 if n > 0 else -1)
    left = abs(n)
    probe = day
    years: dict[int, dict[date, str] | None] = {}  # one cache look-up per year, not per day
    for _ in range(_MAX_SCAN_DAYS + left):
        probe += step
        if probe.year not in years:
            years[probe.year] = _exceptions(probe.year)
        if _working(probe, years[probe.year]):
            left -= 1
            if left == 0:
                return probe
    raise ValueError(day)  # pragma: no cover


def working_days_between(a: date, b: date) -> int:
    """The number of working days d with a < d <= b; negative (-count of b < d <= a) when b < a."""
    if b < a:
        return -working_days_between(b, a)
    count = 0
    probe = a + timedelta(days=1)
    while probe <= b:
        if is_working_day(probe):
            count += 1
        probe += timedelta(days=1)
    return count
