"""Working days on the real 2025/2026 calendars (seeded from chinese-calendar) and the 2027 fallback."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from workflows.deadlines import calendar
from workflows.deadlines.calendar import (
    add_working_days,
    calendar_covers,
    is_working_day,
    next_working_day,
    uncovered_years,
    working_days_between,
)
from workflows.deadlines.models import CalendarDay

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("day", "working"),
    [
        (date(2026, 2, 14), True),  # Saturday made a working day (春节调休)
        (date(2026, 2, 28), True),  # Saturday made a working day (春节调休)
        (date(2026, 2, 13), True),  # Friday before the holiday
        (date(2026, 2, 15), False),  # Sunday, first day of the holiday
        (date(2026, 2, 16), False),  # Monday, Spring Festival
        (date(2026, 2, 20), False),
        (date(2026, 2, 23), False),  # Monday, last day of Spring Festival
        (date(2026, 2, 24), True),
        (date(2026, 10, 1), False),
        (date(2026, 10, 7), False),  # Wednesday, National Day
        (date(2026, 10, 8), True),
        (date(2026, 10, 10), True),  # Saturday made a working day (国庆调休)
        (date(2026, 9, 20), True),  # Sunday made a working day (国庆调休)
        (date(2025, 9, 28), True),  # Sunday made a working day
        (date(2025, 10, 11), True),  # Saturday made a working day
        (date(2025, 10, 8), False),  # Wednesday, National Day + Mid-autumn
        (date(2025, 10, 12), False),  # an ordinary Sunday
        (date(2025, 1, 28), False),  # Tuesday, Spring Festival eve
        (date(2025, 1, 26), True),  # Sunday made a working day
    ],
)
def test_it_knows_holidays_and_adjusted_working_days(day, working):
    assert is_working_day(day) is working


def test_the_seed_holds_only_the_exceptions_of_the_2026_spring_festival():
    rows = {
        d.date: d.kind
        for d in CalendarDay.objects.filter(date__range=(date(2026, 2, 13), date(2026, 3, 1)))
    }
    assert rows == {
        date(2026, 2, 14): "workday",
        **{date(2026, 2, day): "holiday" for day in (16, 17, 18, 19, 20, 23)},
        date(2026, 2, 28): "workday",
    }
    assert CalendarDay.objects.get(date=date(2026, 10, 1)).source == "package"
    assert CalendarDay.objects.get(date=date(2026, 10, 1)).name == "国庆节"


def test_working_days_skip_the_spring_festival_and_count_the_adjusted_saturdays():
    # Friday 13 Feb: the 1st working day after is Saturday 14 (调休); the 2nd is Tuesday 24.
    assert add_working_days(date(2026, 2, 13), 1) == date(2026, 2, 14)
    assert add_working_days(date(2026, 2, 13), 2) == date(2026, 2, 24)
    assert add_working_days(date(2026, 2, 13), 6) == date(2026, 2, 28)
    assert add_working_days(date(2026, 2, 13), 7) == date(2026, 3, 2)
    assert add_working_days(date(2026, 2, 24), -1) == date(2026, 2, 14)
    assert add_working_days(date(2026, 2, 24), -2) == date(2026, 2, 13)


def test_working_days_around_national_day_2025_and_2026():
    # 2025: Sunday 28 Sep works, 1–8 Oct off, Saturday 11 Oct works.
    assert add_working_days(date(2025, 9, 26), 1) == date(2025, 9, 28)
    assert add_working_days(date(2025, 9, 30), 1) == date(2025, 10, 9)
    assert add_working_days(date(2025, 10, 10), 1) == date(2025, 10, 11)
    # 2026: 1–7 Oct off, Saturday 10 Oct works.
    assert add_working_days(date(2026, 9, 30), 1) == date(2026, 10, 8)
    assert add_working_days(date(2026, 9, 30), 3) == date(2026, 10, 10)


def test_zero_working_days_is_the_day_itself_or_the_next_working_day():
    assert add_working_days(date(2026, 2, 13), 0) == date(2026, 2, 13)
    assert add_working_days(date(2026, 2, 15), 0) == date(2026, 2, 24)
    assert next_working_day(date(2026, 10, 3)) == date(2026, 10, 8)


def test_working_days_between_is_the_inverse_of_adding_them():
    start = date(2026, 2, 10)
    for n in range(0, 30):
        assert working_days_between(start, add_working_days(start, n)) == n
    assert working_days_between(date(2026, 2, 13), date(2026, 2, 23)) == 1  # only Saturday 14
    assert working_days_between(date(2026, 2, 23), date(2026, 2, 13)) == -1
    assert working_days_between(date(2026, 2, 13), date(2026, 2, 13)) == 0
    assert working_days_between(date(2025, 9, 30), date(2025, 10, 12)) == 3  # 9th, 10th, Sat 11th


def test_years_the_package_covers_and_2027_falls_back_to_weekdays():
    assert calendar_covers(2004)
    assert calendar_covers(2025)
    assert calendar_covers(2026)
    assert not calendar_covers(2027)
    assert uncovered_years(date(2026, 12, 20), date(2027, 2, 1)) == [2027]
    # Without the 2027 notice, 1 Jan 2027 (a Friday) counts as a working day: the flagged fallback.
    assert is_working_day(date(2027, 1, 1))
    assert not is_working_day(date(2027, 1, 2))
    assert add_working_days(date(2026, 12, 31), 1) == date(2027, 1, 1)
    assert add_working_days(date(2027, 1, 1), 1) == date(2027, 1, 4)


def test_an_admin_entry_for_2027_takes_effect_at_once():
    assert is_working_day(date(2027, 1, 1))
    CalendarDay.objects.create(date=date(2027, 1, 1), kind="holiday", name="元旦")
    assert calendar_covers(2027)
    assert not is_working_day(date(2027, 1, 1))
    assert add_working_days(date(2026, 12, 31), 1) == date(2027, 1, 4)
    CalendarDay.objects.create(date=date(2027, 1, 9), kind="workday", name="调休")
    assert is_working_day(date(2027, 1, 9))
    CalendarDay.objects.filter(date=date(2027, 1, 9)).delete()  # queryset delete sends post_delete
    assert not is_working_day(date(2027, 1, 9))


def test_other_processes_see_an_edit_after_the_cache_lifetime(monkeypatch):
    assert is_working_day(date(2027, 1, 1))
    # Another process wrote the row: no signal here, so the cached year stays until it expires.
    CalendarDay.objects.bulk_create([CalendarDay(date=date(2027, 1, 1), kind="holiday")])
    assert is_working_day(date(2027, 1, 1))
    clock = calendar.time.monotonic() + calendar.CACHE_SECONDS + 1
    monkeypatch.setattr(calendar.time, "monotonic", lambda: clock)
    assert not is_working_day(date(2027, 1, 1))


def test_a_week_of_plain_weekdays_has_five_working_days():
    monday = date(2026, 3, 9)
    assert [is_working_day(monday + timedelta(days=i)) for i in range(7)] == [
        True,
        True,
        True,
        True,
        True,
        False,
        False,
    ]
