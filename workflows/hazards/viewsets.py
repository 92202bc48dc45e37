"""viewflow's web UI for HazardFlow — dashboard, queue, inbox, archive, process pages — scoped to the user.

viewflow's stock views list every task and process of a flow to anyone holding the flow-wide view
permission (VIEWFLOW.md trap 4). Here every list, menu counter and detail page starts from
``selectors.tasks_visible_to`` / ``hazards_visible_to``, and every URL of the flow that names a process
(and a task) answers **404** unless that process belongs to a hazard in the user's scope and the task to
that process — before viewflow's own permission checks run, so an outsider cannot tell a 403 (exists)
from a 404 (does not). Inside the scope viewflow's rules still decide who may claim or execute (403).

Wiring (owned by the lead engineer):

- ``flows.py``: ``class HazardFlow(ScopedFlowMixin, flow.Flow)`` — the flow-wide view permission
  becomes "logged in" and the per-process one "the hazard is in the user's scope";
- ``project/site.py``: ``HazardFlowViewset(HazardFlow, icon="report_problem")`` in the site's viewsets;
  the head's assign page (``urls_queues.py``) is mounted inside the viewset.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable
from types import SimpleNamespace
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth import get_user_model
from django.core.exceptions import ImproperlyConfigured, PermissionDenied, ValidationError
from django.db.models import Count, Exists, IntegerField, OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import URLPattern, URLResolver
from django.utils import timezone
from django.utils.functional import cached_property
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django.views import generic
from django_filters import ChoiceFilter, DateRangeFilter, FilterSet
from viewflow.utils import Icon, viewprop
from viewflow.views import ListModelView
from viewflow.workflow import chart
from viewflow.workflow.exceptions import FlowLockFailed
from viewflow.workflow.fields import get_task_ref
from viewflow.workflow.flow import views as flow_views
from viewflow.workflow.flow.viewset import FlowAppViewset
from viewflow.workflow.models import Task
from viewflow.workflow.status import STATUS

from accounts.models import Department, Membership
from accounts.selectors import department_roles_of

from . import services
from .models import HazardProcess, HazardTask
from .pagination import DeferredJoinPaginator
from .permissions import PREFIX, queue_permissions
from .selectors import (
    clock_badge,
    hazard_clock_badge,
    hazards_visible_to,
    tasks_visible_to,
    with_deadline_clock,
)

# Task → process → hazard → enterprise (and the owner) in one query: list rows never walk relations.
TASK_RELATED = ("process", "process__hazard", "process__hazard__enterprise", "owner")
OPEN_STATUSES = (STATUS.NEW, STATUS.ASSIGNED, STATUS.STARTED)
PIN_LOCATION = "vf-pin-location"  # viewflow's session key of the last list a task was opened from
TASK_HAZARD = "process__hazard__id"  # the hazard of a task, for the deadline subqueries


def with_task_clock(tasks: QuerySet[HazardTask]) -> QuerySet[HazardTask]:
    """Tasks annotated with the open deadline of their hazard's current stage (in the same query)."""
    return with_deadline_clock(tasks, hazard_ref=TASK_HAZARD, stage_clocks_only=True)


def task_clock(task: Any, *, now: Any = None) -> Any:
    """The deadline badge of an open task annotated by ``with_task_clock`` (None for a finished
    task: a hazard's clock belongs to its current stage, not to the steps already done)."""
    due = getattr(task, "clock_due_at", None)
    if due is None or task.status not in OPEN_STATUSES:
        return None
    return clock_badge(stage=task.clock_stage, due_at=due, now=now)


DEPT_PERM_PREFIX = f"{PREFIX}dept_"
MENU_COUNTED = ("queue", "inbox")  # list modes whose rows are exactly a menu counter's


# --- scope -----------------------------------------------------------------------------------


class ScopedFlowMixin:
    """Mix into HazardFlow: viewflow's permission questions answered from the hazard scope.

    viewflow asks ``has_view_permission(user)`` for menus, dashboards and counters and
    ``has_view_permission(user, process)`` for a process or task page; the stock answer is the
    flow-wide ``hazards.view_hazardprocess`` model permission, which nobody holds and which would
    open every hazard to whoever got it. ``has_manage_permission`` (cancel, undo, revive tasks or
    processes) is refused to everyone: those bypass the services, the audit trail and the
    denormalised stage — a hazard is withdrawn through ``services.hazard_withdraw`` instead.
    """

    def has_view_permission(self, user: Any, obj: Any = None) -> bool:
        if not (user.is_authenticated and user.is_active):
            return False
        if obj is None:
            return True
        return process_in_scope(user=user, process_pk=obj.pk)

    def has_manage_permission(self, user: Any, obj: Any = None) -> bool:
        return False


def process_in_scope(*, user: Any, process_pk: int) -> bool:
    """Whether the process belongs to a hazard the user may see."""
    return hazards_visible_to(user=user).filter(process_id=process_pk).exists()


def scoped_tasks(user: Any) -> QuerySet[HazardTask]:
    """HazardFlow tasks of hazards in the user's scope, with the relations list rows show."""
    return tasks_visible_to(user=user).select_related(*TASK_RELATED)


def _queue_q(user: Any) -> Q:
    """viewflow's queue rule (``TaskQuerySet.user_queue``) for HazardFlow's unclaimed tasks: a new
    human task whose owner permission the user holds, or that names the user. The permissions are
    the QueueBackend's strings only — every human node of HazardFlow sets one (flows.py), so
    viewflow's "no permission: anyone's" branch never applies and is left out — and Django's
    model-permission tables are not read on every page (``get_all_permissions`` would). Each
    branch repeats ``status = NEW`` so the partial indexes of migration 0002 serve it."""
    new = Q(flow_task_type="HUMAN", status=STATUS.NEW)
    if user.is_superuser:
        return new
    return (new & Q(owner_permission__in=sorted(queue_permissions(user)))) | (new & Q(owner=user))


def _inbox_q(user: Any) -> Q:
    return Q(flow_task_type="HUMAN", owner=user, status=STATUS.ASSIGNED)


def queue_tasks(user: Any) -> QuerySet[HazardTask]:
    """Unclaimed human tasks the user may claim (viewflow's queue rule), inside the user's scope."""
    return scoped_tasks(user).filter(_queue_q(user)).order_by("-created", "-pk")


def inbox_tasks(user: Any) -> QuerySet[HazardTask]:
    """Tasks the user has claimed (or was given) and not finished, inside the user's scope."""
    return scoped_tasks(user).filter(_inbox_q(user)).order_by("-created", "-pk")


class MenuCounts:
    """The menu's inbox and queue counters from one aggregate query, run when a template first
    asks for either (``{{ user_inbox.count }}``) and at most once per request."""

    def __init__(self, user: Any) -> None:
        self.user = user
        self._counts: dict[str, int] | None = None

    def count(self, name: str) -> int:
        if self._counts is None:
            # Only open tasks are counted: the partial queue/inbox indexes serve the filter.
            open_tasks = tasks_visible_to(user=self.user).filter(
                _inbox_q(self.user) | _queue_q(self.user)
            )
            self._counts = open_tasks.aggregate(
                inbox=Count("pk", filter=_inbox_q(self.user)),
                queue=Count("pk", filter=_queue_q(self.user)),
            )
        return int(self._counts[name] or 0)

    def counter(self, name: str) -> SimpleNamespace:
        return SimpleNamespace(count=lambda: self.count(name))


MENU_COUNTS_ATTR = "_hazard_menu_counts"


def menu_counts(request: HttpRequest) -> MenuCounts:
    """The request's one ``MenuCounts``: the menu and an unfiltered queue or inbox page share it."""
    counts: MenuCounts | None = getattr(request, MENU_COUNTS_ATTR, None)
    if counts is None or counts.user is not request.user:
        counts = MenuCounts(request.user)
        setattr(request, MENU_COUNTS_ATTR, counts)
    return counts


def archive_tasks(user: Any) -> QuerySet[HazardTask]:
    """Human tasks the user finished, newest first, inside the user's scope."""
    return (
        scoped_tasks(user)
        .filter(flow_task_type="HUMAN", owner=user, finished__isnull=False)
        .order_by("-finished", "-pk")
    )


def scoped_processes(user: Any) -> QuerySet[HazardProcess]:
    """Processes of hazards in the user's scope with their hazard and open-task count, newest first."""
    visible = hazards_visible_to(user=user).filter(process_id=OuterRef("pk"))
    open_tasks = (
        Task.objects.filter(process_id=OuterRef("pk"), finished__isnull=True)
        .order_by()
        .values("process_id")
        .annotate(n=Count("pk"))
        .values("n")
    )
    return (
        HazardProcess.objects.filter(Exists(visible))
        .select_related("hazard", "hazard__enterprise", "hazard__department")
        .annotate(active_tasks_count=Coalesce(Subquery(open_tasks, output_field=IntegerField()), 0))
        .order_by("-created", "-pk")
    )


def queue_department_id(task: Any) -> int | None:
    """The department whose queue holds the task (``hazards.dept_<id>``), or None for other queues."""
    permission = task.owner_permission or ""
    if not permission.startswith(DEPT_PERM_PREFIX):
        return None
    try:
        return int(permission.removeprefix(DEPT_PERM_PREFIX))
    except ValueError:
        return None


def department_staff(*, department_id: int) -> QuerySet[Any]:
    """Active staff and heads of the department: the people a head may give one of its tasks to."""
    return (
        get_user_model()
        .objects.filter(
            is_active=True,
            memberships__department_id=department_id,
            memberships__role__in=[Membership.Role.STAFF, Membership.Role.HEAD],
        )
        .distinct()
        .order_by("full_name", "username")
    )


# --- the URL guard -----------------------------------------------------------------------------


def scope_guard(view: Callable[..., Any], *, url_name: str | None = None) -> Callable[..., Any]:
    """Wrap a flow URL: a process or task outside the user's scope is a 404, whatever the view.

    The task must also belong to the process in the URL (viewflow locks the URL's process but loads
    the task by its own id). Claiming a task someone else already owns is a conflict (409 through
    FlowLockMiddleware), not viewflow's bare 403.
    """
    if getattr(view, "hazard_scope_guarded", False):
        return view

    @functools.wraps(view)
    def guarded(request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
        process_pk = kwargs.get("process_pk")
        task_pk = kwargs.get("task_pk")
        if process_pk is not None:
            if task_pk is None:
                if not process_in_scope(user=request.user, process_pk=process_pk):
                    raise Http404
            else:
                row = (
                    tasks_visible_to(user=request.user)
                    .filter(pk=task_pk, process_id=process_pk)
                    .values_list("pk", "owner_id")
                    .first()
                )
                if row is None:
                    raise Http404
                owner_id = row[1]
                if url_name == "assign" and owner_id is not None and owner_id != request.user.pk:
                    raise services.HazardStateError(
                        gettext("Someone else has already taken this task.")
                    )
        return view(request, *args, **kwargs)

    guarded.hazard_scope_guarded = True  # type: ignore[attr-defined]
    return guarded


def guard_patterns(patterns: Iterable[Any]) -> None:
    """Put ``scope_guard`` on every URL (recursively) whose route names a process."""
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            guard_patterns(pattern.url_patterns)
        elif isinstance(pattern, URLPattern) and "process_pk" in getattr(
            pattern.pattern, "converters", {}
        ):
            pattern.callback = scope_guard(pattern.callback, url_name=pattern.name)


# --- filters -----------------------------------------------------------------------------------


def human_steps(flow_class: Any) -> list[Any]:
    """The flow's human steps in the order a hazard meets them (``services.NODE_STAGE``)."""
    nodes, _edges = chart.topsort(flow_class)
    order = list(services.NODE_STAGE)
    human = [node for node in nodes if node.task_type == "HUMAN"]
    return sorted(
        human, key=lambda node: order.index(node.name) if node.name in order else len(order)
    )


def human_step_choices() -> list[tuple[str, str]]:
    """(task reference, step title) of the flow's human steps, in flow order."""
    from .flows import HazardFlow

    return [
        (get_task_ref(node), str(node.task_title or node.name)) for node in human_steps(HazardFlow)
    ]


class HazardTaskFilter(FilterSet):
    """Filter a task list by step and creation date (no per-row choice lists: constant cost)."""

    flow_task = ChoiceFilter(label=_("Step"), choices=human_step_choices)
    created = DateRangeFilter(label=_("Created"))

    class Meta:
        model = HazardTask
        fields = ("flow_task", "created")


class HazardProcessFilter(FilterSet):
    """Filter the process list by status and dates."""

    created = DateRangeFilter(label=_("Created"))
    finished = DateRangeFilter(label=_("Finished"))

    class Meta:
        model = HazardProcess
        fields = ("status", "created", "finished")


# --- task lists --------------------------------------------------------------------------------


def page_query(request: HttpRequest, page_kwarg: str) -> str:
    """The list's current query string without the page number, ready for ``?…page=n``."""
    query = request.GET.copy()
    query.pop(page_kwarg, None)
    encoded = query.urlencode()
    return f"{encoded}&" if encoded else ""


class PinLocationMixin:
    """viewflow's ``StoreRequestPathMixin`` (the "back" link of task pages), writing the session
    only when the path changed: an unchanged session is not saved again on every list page."""

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        path = request.get_full_path()
        if request.session.get(PIN_LOCATION) != path:
            request.session[PIN_LOCATION] = path
        return super().dispatch(request, *args, **kwargs)  # type: ignore[misc, no-any-return]


class _HazardTaskListView(
    PinLocationMixin,
    flow_views.ProcessViewTemplateNames,
    ListModelView,
):
    """A list of HazardFlow tasks as phone-friendly cards; subclasses choose the rows and actions."""

    flow_class: Any = None
    viewset: Any = None
    template_name = "hazards/queues/tasks.html"
    columns = ("task_id", "hazard_code", "task_title", "created")
    filterset_class = HazardTaskFilter
    search_fields = (
        "process__hazard__code",
        "process__hazard__title",
        "process__hazard__enterprise__name",
    )
    paginate_by = 25
    paginator_class = DeferredJoinPaginator
    mode = ""
    bulk_viewname = ""
    bulk_label: Any = ""
    empty_text: Any = _("Nothing here.")

    @property
    def model(self) -> Any:
        return HazardTask

    def task_id(self, task: Any) -> str:
        return f"#{task.process_id}/{task.pk}"

    task_id.short_description = "#"  # type: ignore[attr-defined]

    def hazard_code(self, task: Any) -> str:
        hazard = getattr(task.process, "hazard", None)
        return hazard.code if hazard else ""

    hazard_code.short_description = _("Hazard code")  # type: ignore[attr-defined]

    def task_title(self, task: Any) -> str:
        return str(task.title)

    task_title.short_description = _("Step")  # type: ignore[attr-defined]

    @cached_property
    def headed_departments(self) -> frozenset[int]:
        return department_roles_of(self.request.user).headed_department_ids

    def can_hand_out(self, task: Any) -> bool:
        """Heads give a queued task of their own department's queue to one of its staff."""
        if task.status != STATUS.NEW or task.flow_task_type != "HUMAN":
            return False
        department_id = queue_department_id(task)
        if department_id is None:
            return False
        return self.request.user.is_superuser or department_id in self.headed_departments

    def get_queryset(self) -> QuerySet[HazardTask]:
        """The filtered, searched rows, each with its hazard's stage clock (no extra query)."""
        return with_task_clock(super().get_queryset())

    def get_paginator(self, queryset: Any, per_page: int, *args: Any, **kwargs: Any) -> Any:
        """An unfiltered queue or inbox has as many rows as its menu counter says: the page takes
        its count from the menu's one aggregate query instead of counting again."""
        paginator = super().get_paginator(queryset, per_page, *args, **kwargs)
        unfiltered = all(key == self.page_kwarg for key in self.request.GET)
        if self.mode in MENU_COUNTED and unfiltered:
            paginator.__dict__["count"] = menu_counts(self.request).count(self.mode)
        return paginator

    @cached_property
    def now(self) -> Any:
        return timezone.now()

    def row(self, task: Any) -> dict[str, Any]:
        node = task.flow_task
        args = [task.process_id, task.pk]
        user = self.request.user
        human = task.flow_task_type == "HUMAN"
        return {
            "task": task,
            "hazard": getattr(task.process, "hazard", None),
            "clock": task_clock(task, now=self.now),
            "title": task.title,
            "open_url": node.reverse("index", args=args),
            "claim_url": (
                node.reverse("assign", args=args)
                if human and task.status == STATUS.NEW and node.can_assign(user, task)
                else ""
            ),
            "release_url": (
                node.reverse("unassign", args=args)
                if human and task.status == STATUS.ASSIGNED and node.can_unassign(user, task)
                else ""
            ),
            "hand_out_url": (
                self.viewset.reverse("task_assign_to", args=args)
                if self.viewset is not None and self.can_hand_out(task)
                else ""
            ),
        }

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        page = context.get("page_obj") or context.get("object_list") or []
        context["rows"] = [self.row(task) for task in page]
        context["page_query"] = page_query(self.request, self.page_kwarg)
        context["bulk_url"] = (
            self.viewset.reverse(self.bulk_viewname)
            if self.viewset is not None and self.bulk_viewname
            else ""
        )
        return context


class HazardQueueView(_HazardTaskListView):
    """Unclaimed tasks of the user's queues (department, close-out, enterprise) in scope."""

    title = _("Queue")
    mode = "queue"
    bulk_viewname = "tasks_assign"
    bulk_label = _("Claim selected")
    empty_text = _("The queue is empty.")

    @viewprop
    def queryset(self) -> QuerySet[HazardTask]:
        return queue_tasks(self.request.user)


class HazardInboxView(_HazardTaskListView):
    """Tasks the user has claimed or was given."""

    title = _("Inbox")
    mode = "inbox"
    bulk_viewname = "tasks_unassign"
    bulk_label = _("Release selected")
    empty_text = _("Your inbox is empty.")

    @viewprop
    def queryset(self) -> QuerySet[HazardTask]:
        return inbox_tasks(self.request.user)


class HazardArchiveView(_HazardTaskListView):
    """Tasks the user has completed."""

    title = _("Archive")
    mode = "archive"
    empty_text = _("You have not completed any task yet.")

    @viewprop
    def queryset(self) -> QuerySet[HazardTask]:
        return archive_tasks(self.request.user)


class HazardTaskListView(_HazardTaskListView):
    """Every task (any status, any step) of the hazards in the user's scope."""

    title = _("All tasks")
    mode = "all"

    @viewprop
    def queryset(self) -> QuerySet[HazardTask]:
        return scoped_tasks(self.request.user).order_by("-created", "-pk")


# --- bulk claim / release ------------------------------------------------------------------------


def _posted_pks(request: HttpRequest) -> list[int]:
    """The integer ``pk`` values of a bulk form; anything else is ignored (never a 500)."""
    return [
        int(pk)
        for pk in request.POST.getlist("pk")
        if pk.isascii() and pk.isdigit() and len(pk) <= 18
    ]


class _HazardBulkView(flow_views.BulkAssignTasksActionView):
    """viewflow's bulk action page, on the user's own scoped rows, one service call per task."""

    model = HazardTask
    template_name = "hazards/queues/tasks_bulk.html"
    flow_class: Any = None
    title: Any = ""
    done_message: Any = ""
    return_viewname = "inbox"

    def base_queryset(self) -> QuerySet[HazardTask]:
        raise ImproperlyConfigured(f"{type(self).__name__} must override this hook")

    def get_template_names(self) -> list[str]:
        return [self.template_name]

    def get_queryset(self) -> QuerySet[HazardTask]:
        queryset = self.base_queryset()
        if not self.request.POST.get("select_all"):
            queryset = queryset.filter(pk__in=_posted_pks(self.request))
        self.object_list = queryset
        return queryset

    def get_form_kwargs(self) -> dict[str, Any]:
        kwargs = super().get_form_kwargs()
        if "data" in kwargs:
            data = kwargs["data"].copy()
            data.setlist("pk", [str(pk) for pk in _posted_pks(self.request)])
            kwargs["data"] = data
        return kwargs

    def act(self, task: Any) -> None:
        raise ImproperlyConfigured(f"{type(self).__name__} must override this hook")

    def get_success_url(self) -> str:
        return str(self.viewset.reverse(self.return_viewname))

    def form_valid(self, form: Any) -> HttpResponse:
        done = skipped = 0
        for task in list(self.get_queryset()):
            try:
                self.act(task)
            except (services.HazardStateError, PermissionDenied, FlowLockFailed):
                # Another user got there first, or the task moved on: skip it and say so.
                skipped += 1
            else:
                done += 1
        messages.success(self.request, self.done_message % {"count": done})
        if skipped:
            messages.warning(
                self.request,
                gettext(
                    "%(count)d task(s) were skipped: someone else has taken them or they moved on."
                )
                % {"count": skipped},
            )
        return HttpResponseRedirect(self.get_success_url())


class HazardBulkClaimView(_HazardBulkView):
    """Claim several queued tasks at once (only tasks of the user's own scoped queue)."""

    title = _("Claim selected tasks")
    done_message = _("%(count)d task(s) claimed.")
    return_viewname = "inbox"

    def base_queryset(self) -> QuerySet[HazardTask]:
        return queue_tasks(self.request.user)

    def act(self, task: Any) -> None:
        services.task_claim(task=task, user=self.request.user)


class HazardBulkReleaseView(_HazardBulkView):
    """Put several claimed tasks back into their queues (only the user's own inbox)."""

    title = _("Release selected tasks")
    done_message = _("%(count)d task(s) released.")
    return_viewname = "inbox"

    def base_queryset(self) -> QuerySet[HazardTask]:
        return inbox_tasks(self.request.user)

    def act(self, task: Any) -> None:
        services.task_release(task=task, user=self.request.user)


# --- processes, dashboard, chart -----------------------------------------------------------------


class HazardProcessListView(
    PinLocationMixin,
    flow_views.ProcessViewTemplateNames,
    ListModelView,
):
    """The processes of the hazards in the user's scope, newest first."""

    flow_class: Any = None
    viewset: Any = None
    title = _("Hazard processes")
    template_name = "hazards/queues/processes.html"
    columns = ("process_id", "hazard_code", "created")
    filterset_class = HazardProcessFilter
    search_fields = ("hazard__code", "hazard__title", "hazard__enterprise__name")
    paginate_by = 25

    @property
    def model(self) -> Any:
        return HazardProcess

    def process_id(self, process: Any) -> str:
        return f"#{process.pk}"

    def hazard_code(self, process: Any) -> str:
        hazard = getattr(process, "hazard", None)
        return hazard.code if hazard else ""

    hazard_code.short_description = _("Hazard code")  # type: ignore[attr-defined]

    @viewprop
    def queryset(self) -> QuerySet[HazardProcess]:
        return with_deadline_clock(scoped_processes(self.request.user), hazard_ref="hazard__id")

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        page = context.get("page_obj") or context.get("object_list") or []
        now = timezone.now()
        context["rows"] = [
            {
                "process": process,
                "hazard": getattr(process, "hazard", None),
                "clock": _process_clock(process, now=now),
                "url": self.viewset.reverse("process_detail", args=[process.pk]),
            }
            for process in page
        ]
        context["page_query"] = page_query(self.request, self.page_kwarg)
        return context


def _process_clock(process: Any, *, now: Any) -> Any:
    """The badge of a process row annotated by ``with_deadline_clock`` (through its hazard)."""
    hazard = getattr(process, "hazard", None)
    if hazard is None:
        return None
    hazard.clock_due_at = getattr(process, "clock_due_at", None)
    hazard.clock_stage = getattr(process, "clock_stage", None)
    return hazard_clock_badge(hazard, now=now)


class HazardProcessDetailView(flow_views.DetailProcessView):
    """One process: its hazard, its steps with owners, the live chart (404 outside the scope)."""

    template_name = "hazards/queues/process.html"
    viewset: Any = None

    def get_queryset(self) -> QuerySet[HazardProcess]:
        return scoped_processes(self.request.user)

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
        self.get_object()  # 404 outside the scope; no flow-wide permission on top
        return generic.DetailView.dispatch(self, request, *args, **kwargs)

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        process = context["process"]
        tasks = HazardTask.objects.filter(process_id=process.pk).select_related("owner")
        context["task_list"] = tasks.order_by("created", "pk")
        context["hazard"] = getattr(process, "hazard", None)
        return context


def _node_name(flow_task: Any) -> str:
    """A node's name from a ``flow_task`` value (a node, or its stored reference string)."""
    name = getattr(flow_task, "name", None)
    return str(name) if name else str(flow_task).rsplit(".", 1)[-1]


class HazardDashboardView(flow_views.DashboardView):
    """Open tasks per human step (the newest few of each) within the user's scope."""

    template_name = "hazards/queues/dashboard.html"
    MAX_ROWS = 10

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        user = self.request.user
        now = timezone.now()
        open_tasks = scoped_tasks(user).filter(flow_task_type="HUMAN", status__in=OPEN_STATUSES)
        counts = {
            _node_name(row["flow_task"]): row["n"]
            for row in open_tasks.order_by().values("flow_task").annotate(n=Count("pk"))
        }
        columns = []
        for node in human_steps(self.flow_class):
            tasks = list(
                with_task_clock(open_tasks.filter(flow_task=node)).order_by("-created", "-pk")[
                    : self.MAX_ROWS
                ]
            )
            columns.append(
                {
                    "node": node,
                    "title": node.task_title or node.name,
                    "count": counts.get(node.name, 0),
                    "rows": [
                        {
                            "task": task,
                            "hazard": getattr(task.process, "hazard", None),
                            "clock": task_clock(task, now=now),
                            "url": node.reverse("index", args=[task.process_id, task.pk]),
                        }
                        for task in tasks
                    ],
                }
            )
        return generic.TemplateView.get_context_data(self, columns=columns, **kwargs)


class HazardChartView(flow_views.FlowChartView):
    """The flow chart (anyone logged in) or a process's live chart (the URL guard scopes it)."""

    viewset: Any = None

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
        if not (request.user.is_authenticated and request.user.is_active):
            raise PermissionDenied
        return generic.View.dispatch(self, request, *args, **kwargs)


# --- the head's assign page ----------------------------------------------------------------------


class TaskAssignToForm(forms.Form):
    """Pick a staff member of the department whose queue holds the task."""

    assignee = forms.ModelChoiceField(
        label=_("Staff member"), queryset=get_user_model().objects.none(), empty_label=None
    )

    def __init__(self, *args: Any, department_id: int, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["assignee"].queryset = department_staff(department_id=department_id)  # type: ignore[attr-defined]


class TaskAssignToView(generic.FormView):
    """A department head gives a queued task of the department to a named staff member.

    Outside the scope: 404 (the URL guard and the lookup here). In scope but not the head of the
    task's department, or not a department-queue task: 403. Already taken: 409 (HazardStateError).
    """

    template_name = "hazards/assign.html"
    form_class = TaskAssignToForm

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
        task = (
            tasks_visible_to(user=request.user)
            .select_related(*TASK_RELATED, "process__hazard__department")
            .filter(pk=kwargs["task_pk"], process_id=kwargs["process_pk"])
            .first()
        )
        if task is None:
            raise Http404
        department_id = queue_department_id(task)
        if task.flow_task_type != "HUMAN" or department_id is None:
            raise PermissionDenied(gettext("Only tasks of a department queue can be assigned."))
        is_head = (
            request.user.is_superuser
            or department_id in department_roles_of(request.user).headed_department_ids
        )
        if not is_head:
            raise PermissionDenied(gettext("Only the head of the department can assign this task."))
        if task.status != STATUS.NEW:
            raise services.HazardStateError(gettext("Someone else has already taken this task."))
        self.task = task
        self.department = Department.objects.get(pk=department_id)
        return super().dispatch(request, *args, **kwargs)

    def get_form_kwargs(self) -> dict[str, Any]:
        return {**super().get_form_kwargs(), "department_id": self.department.pk}

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        return super().get_context_data(
            task=self.task,
            hazard=getattr(self.task.process, "hazard", None),
            department=self.department,
            queue_url=self.request.resolver_match.flow_viewset.reverse("queue"),  # type: ignore[union-attr]
            **kwargs,
        )

    def form_valid(self, form: Any) -> HttpResponse:
        assignee = form.cleaned_data["assignee"]
        try:
            services.task_assign(task=self.task, assignee=assignee, by=self.request.user)
        except services.HazardStateError:
            raise
        except ValidationError as exc:
            for field, errors in getattr(exc, "message_dict", {None: exc.messages}).items():
                form.add_error(field if field in form.fields else None, errors)
            return self.form_invalid(form)
        hazard = getattr(self.task.process, "hazard", None)
        messages.success(
            self.request,
            gettext("Hazard %(code)s: %(step)s assigned to %(name)s.")
            % {
                "code": hazard.code if hazard else f"#{self.task.process_id}",
                "step": self.task.title,
                "name": assignee.get_full_name(),
            },
        )
        return HttpResponseRedirect(
            self.request.resolver_match.flow_viewset.reverse("queue")  # type: ignore[union-attr]
        )


# --- the viewset ---------------------------------------------------------------------------------


class HazardFlowViewset(FlowAppViewset):
    """HazardFlow as the "Hazards" app of the site, every page scoped to the user.

    Menu: dashboard, inbox, queue, archive (with counters of the user's own scoped tasks). Processes
    and the all-tasks list are reachable from the dashboard. viewflow's process-cancel page is not
    mounted (withdrawal goes through the service).
    """

    title = _("Hazards")
    icon = Icon("report_problem")

    dashboard_view_class = HazardDashboardView
    inbox_view_class = HazardInboxView
    queue_view_class = HazardQueueView
    archive_view_class = HazardArchiveView
    process_list_view_class = HazardProcessListView
    process_detail_view_class = HazardProcessDetailView
    task_list_view_class = HazardTaskListView
    chart_view_class = HazardChartView
    tasks_assign_view_class = HazardBulkClaimView
    tasks_unassign_view_class = HazardBulkReleaseView
    process_cancel_path = None

    def __init__(self, flow_class: Any, **kwargs: Any) -> None:
        if flow_class.has_view_permission is not ScopedFlowMixin.has_view_permission:
            raise ImproperlyConfigured(
                f"{flow_class.__name__} must inherit ScopedFlowMixin "
                "(class HazardFlow(ScopedFlowMixin, flow.Flow)) so viewflow's pages are scoped."
            )
        super().__init__(flow_class, **kwargs)

    def has_view_permission(self, user: Any, obj: Any = None) -> bool:
        return bool(user.is_authenticated and user.is_active)

    def get_context_data(self, request: HttpRequest) -> dict[str, Any]:
        """Menu counters: the user's own scoped inbox and queue (one aggregate query)."""
        counts = menu_counts(request)
        return {"user_inbox": counts.counter("inbox"), "user_queue": counts.counter("queue")}

    def _get_urls(self) -> list[Any]:
        from .urls_queues import urlpatterns as extra_patterns

        patterns = [*super()._get_urls(), *extra_patterns]
        guard_patterns(patterns)
        return patterns
