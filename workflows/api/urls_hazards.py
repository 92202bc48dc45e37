"""/api/v1/ — hazards, their evidence, the task queues and every human step (names under ``api:``).

Hazard codes are matched with ``<hazard_code:…>`` (any characters, even a decoded slash or a
newline, which ``<path:…>`` refuses) and ids with ``<api_id:…>``, so that any value reaches a view and
gets the API's JSON 404 instead of Django's HTML page; the record's route comes last because it would
match the others.
"""

from __future__ import annotations

from django.urls import URLPattern, path, register_converter

from . import views_hazards as v


class HazardCodeConverter:
    """Any non-empty text; the view looks it up (unknown or out of scope → 404)."""

    regex = r"[\s\S]+"

    def to_python(self, value: str) -> str:
        return value

    def to_url(self, value: str) -> str:
        return value


register_converter(HazardCodeConverter, "hazard_code")

STEPS = (
    ("triage", v.TriageView, "hazard-triage"),
    ("handover", v.HandoverView, "hazard-handover"),
    ("plan", v.PlanView, "hazard-plan"),
    ("plan-review", v.PlanReviewView, "hazard-plan-review"),
    ("rectify", v.RectifyView, "hazard-rectify"),
    ("extensions", v.ExtensionRequestView, "hazard-extensions"),
    ("verify", v.VerifyView, "hazard-verify"),
    ("close-out", v.CloseOutView, "hazard-close-out"),
    ("withdraw", v.WithdrawView, "hazard-withdraw"),
    ("listing", v.ListingView, "hazard-listing"),
)

urlpatterns: list[URLPattern] = [
    path("hazards", v.HazardListView.as_view(), name="hazard-list"),
    path(
        "hazards/<hazard_code:code>/attachments",
        v.HazardAttachmentView.as_view(),
        name="hazard-attachments",
    ),
    path(
        "hazards/<hazard_code:code>/extensions/<api_id:pk>/decision",
        v.ExtensionDecisionView.as_view(),
        name="hazard-extension-decision",
    ),
    *(
        path(f"hazards/<hazard_code:code>/{step}", view.as_view(), name=name)
        for step, view, name in STEPS
    ),
    path("hazards/<hazard_code:code>", v.HazardDetailView.as_view(), name="hazard-detail"),
    path(
        "attachments/<api_id:pk>/download",
        v.AttachmentDownloadView.as_view(),
        name="attachment-download",
    ),
    path("tasks/inbox", v.TaskInboxView.as_view(), name="task-inbox"),
    path("tasks/queue", v.TaskQueueView.as_view(), name="task-queue"),
    path("tasks/<api_id:pk>/claim", v.TaskClaimView.as_view(), name="task-claim"),
    path("tasks/<api_id:pk>/release", v.TaskReleaseView.as_view(), name="task-release"),
]
