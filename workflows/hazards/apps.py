from __future__ import annotations

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class HazardsConfig(AppConfig):
    name = "workflows.hazards"
    label = "hazards"
    verbose_name = _("Hazards")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from workflows.deadlines.registry import register

        from .deadlines import SUBJECT, HazardDeadlineHandler

        register(SUBJECT, HazardDeadlineHandler())
