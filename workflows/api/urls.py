"""/api/v1/ — core (me, tokens, enterprises, chain, alerts) and hazards (hazards, tasks, attachments)."""

from __future__ import annotations

from django.urls import include, path

app_name = "api"

urlpatterns = [
    path("", include("workflows.api.urls_core")),
    path("", include("workflows.api.urls_hazards")),
]
