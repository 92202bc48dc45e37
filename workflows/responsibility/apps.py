from __future__ import annotations

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ResponsibilityConfig(AppConfig):
    name = "workflows.responsibility"
    label = "responsibility"
    verbose_name = _("Responsibility (three musts)")
    default_auto_field = "django.db.models.BigAutoField"
