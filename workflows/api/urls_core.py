"""Core endpoints under /api/v1/ (URL names in the "api" namespace)."""

from __future__ import annotations

from django.urls import URLPattern, path

from . import views_core  # imports .base, which registers the api_id converter

urlpatterns: list[URLPattern] = [
    path("me", views_core.MeView.as_view(), name="me"),
    path("me/tokens", views_core.PersonalTokenListView.as_view(), name="me-tokens"),
    path(
        "me/tokens/<api_id:pk>",
        views_core.PersonalTokenDetailView.as_view(),
        name="me-token-detail",
    ),
    path("enterprises", views_core.EnterpriseListView.as_view(), name="enterprise-list"),
    # <api_text:…> so that any value (even with an encoded slash or newline) reaches the view and
    # gets the API's JSON 404; the chain route comes first because "X/chain" matches the detail too.
    path(
        "enterprises/<api_text:uscc>/chain",
        views_core.EnterpriseChainView.as_view(),
        name="enterprise-chain",
    ),
    path(
        "enterprises/<api_text:uscc>",
        views_core.EnterpriseDetailView.as_view(),
        name="enterprise-detail",
    ),
    path("alerts", views_core.AlertView.as_view(), name="alerts"),
]
