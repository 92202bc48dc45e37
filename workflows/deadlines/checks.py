"""System checks: warn when the working-day calendar of this year or the next is missing.

Tagged ``database`` (they read a table), so they run with ``check --database default`` and before
``migrate``, not on every command; a database without the table yet is silently skipped.
"""

from __future__ import annotations

from typing import Any

from django.core.checks import CheckMessage, Tags, Warning, register
from django.db import DatabaseError, connections
from django.utils import timezone
from django.utils.translation import gettext as _


@register(Tags.database)
def check_calendar_coverage(
    app_configs: Any = None, databases: Any = None, **kwargs: Any
) -> list[CheckMessage]:
    """deadlines.W001: a year (this one or the next) has no calendar rows, so working days there
    fall back to Monday–Friday and ignore its holidays and 调休 days."""
    if not databases or "default" not in databases:
        return []
    from .calendar import calendar_covers, clear_cache
    from .models import CalendarDay

    try:
        if CalendarDay._meta.db_table not in connections["default"].introspection.table_names():
            return []
        clear_cache()
        this_year = timezone.localdate().year
        missing = [y for y in (this_year, this_year + 1) if not calendar_covers(y)]
    except DatabaseError:
        return []
    return [
        Warning(
            _("The working-day calendar of %(year)s has not been entered.") % {"year": year},
            hint=_(
                "Working days in %(year)s count Monday to Friday only. Enter the State "
                "Council's holiday notice for %(year)s under Deadlines › Working-day calendar."
            )
            % {"year": year},
            obj="deadlines.CalendarDay",
            id="deadlines.W001",
        )
        for year in missing
    ]
