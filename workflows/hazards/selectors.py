"""Reads of hazards, always scoped to what a user may see.

A user sees the hazards they reported; those whose chain names one of their departments (or that
were handed to it); every hazard in the region of a committee office they staff; and every hazard of
an enterprise they belong to. Superusers see everything. Anything else answers 404.
"""

from __future__ import annotations

from typing import Any

from django.db.models import Exists, OuterRef, Q, QuerySet
from django.http import Http404

from accounts.models import Membership

from .models import Hazard, HazardTask
from .permissions import committee_regions_of


def _visibility_q(user: Any) -> Q:
    memberships = list(
        Membership.objects.filter(user=user).values_list("department_id", "enterprise_id")
    )
    department_ids = {d for d, _e in memberships if d}
    enterprise_ids = {e for _d, e in memberships if e}
    q = Q(found_by=user)
    if department_ids:
        in_chain = Hazard.departments.through.objects.filter(
            hazard_id=OuterRef("pk"), department_id__in=department_ids
        )
        q |= Q(department_id__in=department_ids) | Q(Exists(in_chain))
    regions = committee_regions_of(user) if department_ids else set()
    if regions:
        q |= Q(county_id__in=regions) | Q(city_id__in=regions)
    if enterprise_ids:
        q |= Q(enterprise_id__in=enterprise_ids)
    return q


def hazards_visible_to(*, user: Any) -> QuerySet[Hazard]:
    """Every hazard ``user`` may see (an inactive or anonymous user sees none)."""
    if not user.is_authenticated or not user.is_active:
        return Hazard.objects.none()
    if user.is_superuser:
        return Hazard.objects.all()
    return Hazard.objects.filter(_visibility_q(user))


def hazard_get(*, user: Any, pk: int | None = None, code: str | None = None) -> Hazard:
    """One hazard in the user's scope, or Http404 (outsiders cannot tell it exists)."""
    lookup = {"pk": pk} if pk is not None else {"code": code}
    hazard = (
        hazards_visible_to(user=user)
        .select_related("enterprise", "industry", "department", "clause", "process")
        .filter(**lookup)
        .first()
    )
    if hazard is None:
        raise Http404
    return hazard


def tasks_visible_to(*, user: Any) -> QuerySet[HazardTask]:
    """HazardFlow tasks of hazards in the user's scope."""
    if not user.is_authenticated or not user.is_active:
        return HazardTask.objects.none()
    tasks = HazardTask.objects.all()
    if user.is_superuser:
        return tasks
    visible = hazards_visible_to(user=user).filter(process_id=OuterRef("process_id"))
    return tasks.filter(Exists(visible))


def active_task(*, hazard: Hazard, node_name: str) -> HazardTask | None:
    """The open task of ``node_name`` in the hazard's process, if any."""
    from viewflow.workflow.status import STATUS

    return (
        HazardTask.objects.filter(
            process_id=hazard.process_id,
            flow_task_type="HUMAN",
            status__in=[STATUS.NEW, STATUS.ASSIGNED, STATUS.STARTED],
        )
        .select_related("process", "owner")
        .order_by("-pk")
        .filter(flow_task=_flow_task_ref(node_name))
        .first()
    )


def _flow_task_ref(node_name: str) -> Any:
    from .flows import HazardFlow

    return getattr(HazardFlow, node_name)
