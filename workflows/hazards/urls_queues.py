"""URLs of the queue pages that viewflow does not provide, mounted inside ``HazardFlowViewset``.

``HazardFlowViewset._get_urls`` appends these to the flow's own patterns, so they live in the same
namespace (``viewset.reverse("task_assign_to", args=[process_pk, task_pk])``), get the same menu and
the same scope guard (a process or task outside the user's scope → 404). Nothing to add to
``project/urls.py``.
"""

from __future__ import annotations

from django.urls import path

from .viewsets import TaskAssignToView

urlpatterns = [
    path(
        "<int:process_pk>/<int:task_pk>/assign-to/",
        TaskAssignToView.as_view(),
        name="task_assign_to",
    ),
]
