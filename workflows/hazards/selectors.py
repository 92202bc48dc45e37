"""Reads of hazards, always scoped to what a user may see.

A user sees the hazards they reported; those whose chain names one of their departments (or that
were handed to it); every hazard in the region of a committee office they staff; and every hazard of
an enterprise they belong to. Superusers see everything. Anything else answers 404.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db.models import CharField, DateTimeField, Exists, OuterRef, Q, QuerySet, Subquery
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext, ngettext

from accounts.selectors import department_ids_of, enterprise_ids_of
from workflows.deadlines.models import Deadline
from workflows.deadlines.models import Stage as ClockStage
from workflows.deadlines.policy import end_of_day, local_date
from workflows.deadlines.selectors import deadline_state

from .deadlines import SUBJECT
from .models import Hazard, HazardTask, Stage
from .permissions import committee_regions_of


def _visibility_q(user: Any) -> Q:
    department_ids = department_ids_of(user)
    enterprise_ids = enterprise_ids_of(user)
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
    if code is not None and ("\x00" in code or len(code) > 30):
        raise Http404  # cannot be a hazard code (and PostgreSQL refuses NUL in text)
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


# --- deadline clocks (badges, the overdue filter, the portal's deadlines) -----------------------

EXTENSION_CLOCK = "extension_decision"


def _open_clocks(hazard_ref: str, *, stage_clocks_only: bool) -> QuerySet[Deadline]:
    rows = Deadline.objects.filter(subject_type=SUBJECT, subject_id=OuterRef(hazard_ref), open=True)
    if stage_clocks_only:
        rows = rows.exclude(stage=EXTENSION_CLOCK)
    return rows.order_by("due_at", "pk")


def with_deadline_clock(
    queryset: QuerySet[Any], *, hazard_ref: str = "pk", stage_clocks_only: bool = False
) -> QuerySet[Any]:
    """``queryset`` annotated with ``clock_due_at`` and ``clock_stage``: the open deadline of the
    hazard (reached through ``hazard_ref``) that falls due first, or None.

    Two correlated subqueries in the list's own query, so a page costs no extra query whatever its
    length. ``stage_clocks_only`` leaves out the department's extension-decision clock: task lists
    show the clock of the stage the task belongs to (a hazard has one open stage clock at a time).
    """
    rows = _open_clocks(hazard_ref, stage_clocks_only=stage_clocks_only)
    return queryset.annotate(
        clock_due_at=Subquery(rows.values("due_at")[:1], output_field=DateTimeField()),
        clock_stage=Subquery(rows.values("stage")[:1], output_field=CharField()),
    )


def overdue_q(*, now: datetime | None = None) -> Q:
    """Hazards with an open deadline (any stage) whose due moment has passed.

    A hazard without any open deadline row (written before the clocks existed, or imported) is
    judged by its rectification deadline instead: overdue when open and ``deadline_on`` is before
    today (Asia/Shanghai).
    """
    now = now or timezone.now()
    clocks = Deadline.objects.filter(subject_type=SUBJECT, subject_id=OuterRef("pk"), open=True)
    return Q(Exists(clocks.filter(due_at__lt=now))) | (
        ~Q(Exists(clocks)) & Q(deadline_on__lt=local_date(now), stage__in=Stage.open_stages())
    )


@dataclass(frozen=True)
class ClockBadge:
    """How one deadline stands, ready for a badge: ``state`` is overdue, due-soon or on-time."""

    stage: str
    due_at: datetime
    overdue: bool
    due_soon: bool
    days_overdue: int
    days_left: int

    @property
    def state(self) -> str:
        if self.overdue:
            return "overdue"
        return "due-soon" if self.due_soon else "on-time"

    @property
    def urgent(self) -> bool:
        return self.overdue or self.due_soon

    @property
    def days(self) -> int:
        return self.days_overdue if self.overdue else self.days_left

    @property
    def stage_label(self) -> str:
        return str(ClockStage(self.stage).label) if self.stage in ClockStage.values else self.stage

    @property
    def label(self) -> str:
        if self.overdue:
            return ngettext("%(days)d day overdue", "%(days)d days overdue", self.days_overdue) % {
                "days": self.days_overdue
            }
        if not self.due_soon:
            return gettext("on schedule")
        if self.days_left == 0:
            return gettext("due today")
        return ngettext("due in %(days)d day", "due in %(days)d days", self.days_left) % {
            "days": self.days_left
        }


def clock_badge(*, stage: str, due_at: datetime, now: datetime | None = None) -> ClockBadge:
    """The badge of an open deadline due at ``due_at`` (``deadlines.selectors.deadline_state``):
    overdue by local calendar days (at least 1), due soon within three days; ``days_left`` counts
    local calendar days (0 = due today)."""
    now = now or timezone.now()
    state = deadline_state(Deadline(stage=stage, due_at=due_at, open=True), now=now)
    days_left = 0 if state.overdue else max(0, (local_date(due_at) - local_date(now)).days)
    return ClockBadge(
        stage=stage,
        due_at=due_at,
        overdue=state.overdue,
        due_soon=state.due_soon,
        days_overdue=state.days_overdue,
        days_left=days_left,
    )


def hazard_clock_badge(hazard: Hazard, *, now: datetime | None = None) -> ClockBadge | None:
    """The badge of a hazard annotated by ``with_deadline_clock`` (or None: nothing is due).

    A hazard without an open deadline row falls back to its rectification deadline while it is
    open — the same rule as ``overdue_q``, so the badge and the ledger's filter always agree.
    """
    due = getattr(hazard, "clock_due_at", None)
    if due is not None:
        return clock_badge(stage=str(getattr(hazard, "clock_stage", "")), due_at=due, now=now)
    if hazard.is_open and hazard.deadline_on is not None:
        return clock_badge(stage="rectify", due_at=end_of_day(hazard.deadline_on), now=now)
    return None


def hazard_open_deadlines(*, hazard: Hazard) -> list[Deadline]:
    """The open deadline rows of one hazard (its stage clock, and the extension decision's while
    one is pending), the first due first."""
    return list(
        Deadline.objects.filter(subject_type=SUBJECT, subject_id=hazard.pk, open=True).order_by(
            "due_at", "pk"
        )
    )


def deadlines_of_hazards(hazards: QuerySet[Hazard]) -> QuerySet[Deadline]:
    """The open deadline rows of ``hazards``, the first due first, each annotated with its hazard's
    ``hazard_code`` and ``hazard_title`` (one query: the enterprise portal's deadlines)."""
    hazard = Hazard.objects.filter(pk=OuterRef("subject_id"))
    return (
        Deadline.objects.filter(
            subject_type=SUBJECT, open=True, subject_id__in=hazards.order_by().values("pk")
        )
        .annotate(
            hazard_code=Subquery(hazard.values("code")[:1], output_field=CharField()),
            hazard_title=Subquery(hazard.values("title")[:1], output_field=CharField()),
        )
        .order_by("due_at", "pk")
    )


# People a hazard record names; loaded in one query rather than three more joins (a 15-table join
# crosses PostgreSQL's geqo_threshold and costs ~20 ms to plan for ~1 ms of work).
PEOPLE_FIELDS = ("found_by", "closed_by", "withdrawn_by")


def with_people(hazard: Hazard) -> Hazard:
    """``hazard`` with its reporter, closer and withdrawer loaded (one query at most)."""
    from django.contrib.auth import get_user_model

    ids = {getattr(hazard, f"{name}_id") for name in PEOPLE_FIELDS} - {None}
    users = get_user_model().objects.in_bulk(ids) if ids else {}
    for name in PEOPLE_FIELDS:
        user_id = getattr(hazard, f"{name}_id")
        if user_id is not None:
            setattr(hazard, name, users.get(user_id))
    return hazard
