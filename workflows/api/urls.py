"""/api/v1/ — core (me, tokens, enterprises, chain, alerts) and hazards (hazards, tasks, attachments)."""

from __future__ import annotations

from django.urls import include, path, re_path

from . import errors

app_name = "api"

urlpatterns = [
    path("", include("workflows.api.urls_core")),
    path("", include("workflows.api.urls_hazards")),
    # Anything else under /api/v1/ is a JSON 404, never Django's HTML page.
    re_path(r"^", errors.api_not_found),
]
