"""Deadlines: SLA policy as data, the working-day calendar, deadline rows, the sweep and the ladder.

Generic: a deadline belongs to a subject (``app_label.model`` + id) and a stage and names chain
roles; the subject's app opens and closes deadlines and resolves roles to people (see ``registry``).
"""

from __future__ import annotations

from django.apps import AppConfig
from django.db.models.signals import post_delete, post_save
from django.utils.translation import gettext_lazy as _


class DeadlinesConfig(AppConfig):
    name = "workflows.deadlines"
    label = "deadlines"
    verbose_name = _("Deadlines")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from . import checks  # noqa: F401  (registers the system checks)
        from .calendar import clear_cache
        from .models import CalendarDay
        from .selectors import outbox_still_needed

        # Infrastructure, not domain logic: a calendar edit must reach the in-process cache at once.
        post_save.connect(clear_cache, sender=CalendarDay, dispatch_uid="deadlines_calendar_save")
        post_delete.connect(clear_cache, sender=CalendarDay, dispatch_uid="deadlines_calendar_del")
        try:
            from workflows.notifications import hooks
        except ImportError:  # pragma: no cover - notifications without the hook registry
            return
        register = getattr(hooks, "register_still_needed", None)
        if register is not None:
            register(outbox_still_needed)
