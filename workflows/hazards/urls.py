"""URLs of the hazard pages (namespace ``hazards``), mounted at ``hazards/``.

The same patterns are served by ``viewsets_pages.HazardPagesViewset`` when it is registered in
the viewflow Site (which adds the menu); mount one or the other, not both.
"""

from __future__ import annotations

from django.urls import path

from . import views, views_evidence

app_name = "hazards"

urlpatterns = [
    path("", views.HazardListView.as_view(), name="list"),
    path("export.csv", views.hazard_export, name="export"),
    path("report/", views.HazardReportView.as_view(), name="report"),
    path("portal/", views.enterprise_portal, name="portal"),
    path("<int:pk>/", views.hazard_detail, name="detail"),
    path("<int:pk>/extension/", views.ExtensionRequestView.as_view(), name="extension_request"),
    path(
        "<int:pk>/extension/<int:extension_pk>/decide/",
        views.ExtensionDecideView.as_view(),
        name="extension_decide",
    ),
    path("<int:pk>/withdraw/", views.WithdrawView.as_view(), name="withdraw"),
    path("<int:pk>/listing/", views.ListingView.as_view(), name="listing"),
    path(
        "attachments/<int:pk>/download/",
        views_evidence.attachment_download,
        name="attachment_download",
    ),
    path(
        "attachments/<int:pk>/thumbnail/",
        views_evidence.attachment_thumbnail,
        name="attachment_thumbnail",
    ),
]
