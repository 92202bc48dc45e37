"""Hazard pages: the ledger (台账), registration (登记), the hazard page (一患一档), its small
action forms, and the enterprise portal (企业端).

Login is enforced by the global middleware. Every hazard is read through
``selectors.hazards_visible_to``: one outside the user's scope answers 404, exactly like one that
does not exist. State changes are POSTs that call one service each; a ``HazardStateError`` or a
``FlowLockFailed`` is left to propagate to the middleware that answers 409.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from django.contrib import messages
from django.core.exceptions import ImproperlyConfigured, PermissionDenied, ValidationError
from django.db.models import Count, Q
from django.forms import Form
from django.http import (
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseRedirect,
    StreamingHttpResponse,
)
from django.shortcuts import render
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views import View
from viewflow.workflow.status import STATUS

from accounts.models import Membership, User
from accounts.selectors import department_ids_of, enterprise_ids_of, memberships_of

from . import forms_pages, services
from .evidence import EvidenceError, EvidenceUploadMixin
from .models import Extension, Hazard, HazardTask, Stage
from .pagination import InvalidCursor, decode_cursor, keyset_page
from .permissions import queue_permissions
from .selectors import (
    clock_badge,
    deadlines_of_hazards,
    hazard_clock_badge,
    hazard_open_deadlines,
    hazards_visible_to,
    tasks_visible_to,
    with_deadline_clock,
    with_people,
)

PER_PAGE = 20
OPEN_TASK = [STATUS.NEW, STATUS.ASSIGNED, STATUS.STARTED]
LIST_RELATED = ("enterprise", "industry", "department", "county")
DETAIL_RELATED = (
    "enterprise",
    "enterprise__region",
    "industry",
    "department",
    "county",
    "city",
    "clause",
    "local_grade",
    "post",
    "post__holder",
    "listed_by",
)  # the people are loaded by selectors.with_people
LINK_ROLES = {
    "post": gettext_lazy("responsible post"),
    "principal": gettext_lazy("principal"),
    "lead": gettext_lazy("lead department"),
    "cooperating": gettext_lazy("cooperating department"),
    "territorial": gettext_lazy("territorial government"),
    "committee": gettext_lazy("committee office"),
}
EVENT_ACTIONS = {
    "report": gettext_lazy("Registered"),
    "route": gettext_lazy("Routed"),
    "triage": gettext_lazy("Triaged"),
    "handover": gettext_lazy("Handed over"),
    "plan_submit": gettext_lazy("Plan submitted"),
    "plan_approve": gettext_lazy("Plan approved"),
    "plan_return": gettext_lazy("Plan returned"),
    "rectify": gettext_lazy("Rectification reported"),
    "extension_request": gettext_lazy("Extension requested"),
    "extension_approve": gettext_lazy("Extension approved"),
    "extension_reject": gettext_lazy("Extension rejected"),
    "verify_pass": gettext_lazy("Verification passed"),
    "verify_fail": gettext_lazy("Verification failed"),
    "close": gettext_lazy("Closed out"),
    "list": gettext_lazy("Listed for supervision"),
    "withdraw": gettext_lazy("Withdrawn"),
    "evidence": gettext_lazy("Evidence added"),
    # Written by the deadline sweep (hazards.deadlines.HazardDeadlineHandler.record).
    "reminder": gettext_lazy("Deadline reminder"),
    "escalation": gettext_lazy("Escalation"),
}
CLOCK_EVENTS = ("reminder", "escalation")
PORTAL_DEADLINES = 50


def _stage_label(value: str) -> str:
    return str(Stage(value).label) if value in Stage.values else (value or "—")


def _safe_reverse(node: Any, name: str, task: Any) -> str | None:
    """A viewflow task URL, or None while the flow's viewset is not mounted in the urlconf."""
    try:
        return str(node.reverse(name, args=[task.process_id, task.pk]))
    except (NoReverseMatch, AttributeError, ValueError):
        return None


# --- reads ---------------------------------------------------------------------------------------


def _hazard_for(
    request: HttpRequest, pk: int, *, related: tuple[str, ...] = LIST_RELATED
) -> Hazard:
    """The hazard ``pk`` in the user's scope, or Http404."""
    hazard = hazards_visible_to(user=request.user).select_related(*related).filter(pk=pk).first()
    if hazard is None:
        raise Http404
    return hazard


@dataclass(frozen=True)
class Gate:
    """An action on a hazard: does the user's role allow it, and does the hazard's state allow it now."""

    permitted: bool
    possible: bool

    @property
    def available(self) -> bool:
        return self.permitted and self.possible


@dataclass
class HazardActions:
    """What the user may do on the hazard page right now."""

    extension_request: Gate
    extension_decide: Gate
    withdraw: Gate
    listing: Gate
    pending_extension: Extension | None = None
    tasks: list[dict[str, Any]] = field(default_factory=list)


def hazard_actions(*, user: Any, hazard: Hazard, pending: Extension | None) -> HazardActions:
    """The gates of the hazard page's actions, mirroring the rules the services enforce."""
    superuser = bool(user.is_superuser)
    in_department = superuser or hazard.department_id in department_ids_of(user)
    in_enterprise = superuser or hazard.enterprise_id in enterprise_ids_of(user)
    lister = superuser or any(
        m.department_id and m.role in (Membership.Role.HEAD, Membership.Role.COMMITTEE)
        for m in memberships_of(user)
    )
    listed = bool(hazard.listed_on and not hazard.delisted_on)
    return HazardActions(
        extension_request=Gate(in_enterprise, hazard.stage == Stage.RECTIFY and pending is None),
        extension_decide=Gate(in_department, hazard.is_open and pending is not None),
        withdraw=Gate(in_department, hazard.is_open),
        listing=Gate(lister, hazard.is_major and hazard.is_open and not listed),
        pending_extension=pending,
    )


def _task_row(*, user: Any, task: HazardTask, back: str) -> dict[str, Any]:
    """One open task with the URL the user may use now: execute it, or claim it from the queue.

    Both URLs carry ``?back=`` so that viewflow returns to the page the user came from.
    """
    node = task.flow_task
    url = claim_url = None
    if node.can_execute(user, task):
        url = _safe_reverse(node, "execute", task)
    elif node.can_assign(user, task):
        claim_url = _safe_reverse(node, "assign", task)
    query = "?" + urlencode({"back": back})
    return {
        "task": task,
        "node": node.name,
        "title": node.task_title,
        "owner": task.owner.get_full_name() if task.owner else "",
        "url": url + query if url else None,
        "claim_url": claim_url + query if claim_url else None,
    }


def _task_links(*, user: Any, hazard: Hazard, back: str) -> list[dict[str, Any]]:
    """The open human tasks of the hazard, each with what the user may do on it."""
    if hazard.process_id is None:
        return []
    tasks = (
        HazardTask.objects.filter(
            process_id=hazard.process_id, flow_task_type="HUMAN", status__in=OPEN_TASK
        )
        .select_related("owner")
        .order_by("pk")
    )
    return [_task_row(user=user, task=task, back=back) for task in tasks]


def _chain_links(hazard: Hazard) -> list[dict[str, Any]]:
    links = [dict(link) for link in (hazard.chain or {}).get("links", [])]
    usernames = {link["person"] for link in links if link.get("person")}
    names = dict(User.objects.filter(username__in=usernames).values_list("username", "full_name"))
    for link in links:
        link["role_label"] = LINK_ROLES.get(link.get("role", ""), link.get("role", ""))
        link["person_name"] = names.get(link.get("person") or "", "") or link.get("person") or ""
    return links


def _timeline(hazard: Hazard) -> list[dict[str, Any]]:
    """The audit events, oldest first. Reminders and escalations of the deadline sweep carry the
    message title as their comment and how many people were told in ``data["recipients"]``."""
    return [
        {
            "event": event,
            "action": EVENT_ACTIONS.get(event.action, event.action),
            "actor": event.actor.get_full_name() if event.actor else _("System"),
            "from": _stage_label(event.from_stage),
            "to": _stage_label(event.to_stage),
            "clock": event.action in CLOCK_EVENTS,
            "notified": len((event.data or {}).get("recipients") or [])
            if event.action in CLOCK_EVENTS
            else 0,
        }
        for event in hazard.events.select_related("actor").order_by("at", "id")
    ]


def _deadline_rows(hazard: Hazard) -> list[dict[str, Any]]:
    """Each open deadline of the hazard with its badge and the moment of the next reminder or
    escalation (None once the ladder is exhausted)."""
    now = timezone.now()
    return [
        {
            "deadline": deadline,
            "badge": clock_badge(stage=deadline.stage, due_at=deadline.due_at, now=now),
        }
        for deadline in hazard_open_deadlines(hazard=hazard)
    ]


# --- the ledger ----------------------------------------------------------------------------------


class HazardListView(View):
    """台账: filtered, searched, keyset-paginated (20 a page); ``export`` gives the same rows as CSV."""

    def get(self, request: HttpRequest) -> HttpResponse:
        form = forms_pages.HazardFilterForm(request.GET or None, user=request.user)
        if form.is_bound:
            form.is_valid()
        hazards = with_deadline_clock(
            form.apply(hazards_visible_to(user=request.user)).select_related(*LIST_RELATED)
        )
        cursor, cursor_error = None, False
        if request.GET.get("cursor"):
            try:
                cursor = decode_cursor(request.GET["cursor"])
            except InvalidCursor:
                cursor_error = True
        page = keyset_page(hazards, cursor=cursor, per_page=PER_PAGE)
        if cursor is not None and not page.rows:
            page = keyset_page(hazards, cursor=None, per_page=PER_PAGE)
        params = request.GET.copy()
        params.pop("cursor", None)
        base = params.urlencode()
        now = timezone.now()
        # (hazard, badge of its first-due open deadline or None), as the overdue filter judges it.
        rows = [(h, hazard_clock_badge(h, now=now)) for h in page.rows]
        return render(
            request,
            "hazards/list.html",
            {
                "form": form,
                "rows": rows,
                "page": page,
                "cursor_error": cursor_error,
                "query": base,
                "next_url": _page_url(base, page.next_cursor),
                "previous_url": _page_url(base, page.previous_cursor),
                "export_url": reverse("hazards:export") + (f"?{base}" if base else ""),
            },
        )


def _page_url(base: str, cursor: str | None) -> str | None:
    if cursor is None:
        return None
    return "?" + "&".join(part for part in (base, urlencode({"cursor": cursor})) if part)


EXPORT_COLUMNS = (
    gettext_lazy("Hazard code"),
    gettext_lazy("Enterprise"),
    gettext_lazy("USCC"),
    gettext_lazy("Industry"),
    gettext_lazy("Grade"),
    gettext_lazy("Source"),
    gettext_lazy("Stage"),
    gettext_lazy("County / district"),
    gettext_lazy("Supervising department"),
    gettext_lazy("Title"),
    gettext_lazy("Location"),
    gettext_lazy("Found at"),
    gettext_lazy("Deadline"),
    gettext_lazy("Overdue"),
    gettext_lazy("Closed at"),
)


class _Echo:
    def write(self, value: str) -> str:
        return value


def _cell(value: Any) -> str:
    """Text for a spreadsheet cell; a leading = + - @ is defused (CSV formula injection)."""
    text = "" if value is None else str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def hazard_export(request: HttpRequest) -> StreamingHttpResponse:
    """台账导出: every row of the filtered ledger as CSV (UTF-8 with BOM, so Excel reads Chinese)."""
    form = forms_pages.HazardFilterForm(request.GET or None, user=request.user)
    if form.is_bound:
        form.is_valid()
    hazards = with_deadline_clock(
        form.apply(hazards_visible_to(user=request.user))
        .select_related(*LIST_RELATED)
        .order_by("-found_at", "-id")
    )
    today = timezone.localdate()
    now = timezone.now()
    writer = csv.writer(_Echo())

    def rows() -> Iterator[str]:
        yield "\ufeff" + writer.writerow([str(c) for c in EXPORT_COLUMNS])
        for h in hazards.iterator(chunk_size=500):
            badge = hazard_clock_badge(h, now=now)
            overdue = badge is not None and badge.overdue
            yield writer.writerow(
                [
                    _cell(v)
                    for v in (
                        h.code,
                        h.enterprise.name,
                        h.enterprise.uscc,
                        h.industry.name,
                        h.get_grade_display(),
                        h.get_source_display(),
                        h.get_stage_display(),
                        h.county.name,
                        h.department.name if h.department else "",
                        h.title,
                        h.location,
                        timezone.localtime(h.found_at).strftime("%Y-%m-%d %H:%M"),
                        h.deadline_on or "",
                        _("yes") if overdue else "",
                        timezone.localtime(h.closed_at).strftime("%Y-%m-%d %H:%M")
                        if h.closed_at
                        else "",
                    )
                ]
            )

    response = StreamingHttpResponse(rows(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="hazards-{today:%Y%m%d}.csv"'
    return response


# --- the hazard page -----------------------------------------------------------------------------


def hazard_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """一患一档: the whole record, its chain, evidence, plans, attempts, timeline and actions.

    ``?print=1`` renders the same record without navigation for printing.
    """
    hazard = with_people(_hazard_for(request, pk, related=DETAIL_RELATED))
    extensions = list(
        hazard.extensions.select_related("requested_by", "decided_by").order_by(
            "requested_at", "id"
        )
    )
    pending = next((e for e in extensions if e.status == Extension.Status.PENDING), None)
    actions = hazard_actions(user=request.user, hazard=hazard, pending=pending)
    actions.tasks = _task_links(user=request.user, hazard=hazard, back=request.path)
    attachments = list(hazard.attachments.all())
    printing = request.GET.get("print") == "1"
    deadlines = _deadline_rows(hazard)
    # The first due open clock (overdue if any is); without one, the rectification deadline.
    badge = deadlines[0]["badge"] if deadlines else hazard_clock_badge(hazard)
    context = {
        "hazard": hazard,
        "overdue": bool(badge and badge.overdue),
        "clock": badge,
        "deadlines": deadlines,
        "chain": _chain_links(hazard),
        "blind_spot": bool((hazard.chain or {}).get("blind_spot")),
        "photos": [a for a in attachments if a.is_image],
        "documents": [a for a in attachments if not a.is_image],
        "plans": list(
            hazard.plans.select_related("submitted_by", "reviewed_by").order_by("version")
        ),
        "rectifications": list(
            hazard.rectifications.select_related("submitted_by", "verified_by")
            .prefetch_related("after_photos")
            .order_by("attempt")
        ),
        "extensions": extensions,
        "copy_notices": list(
            hazard.copy_notices.select_related("department").order_by("sent_at", "id")
        ),
        "timeline": _timeline(hazard),
        "actions": actions,
        "printing": printing,
        "extension_form": forms_pages.ExtensionRequestForm(),
        "decision_form": forms_pages.ExtensionDecisionForm(initial={"approve": "1"}),
        "withdraw_form": forms_pages.WithdrawForm(),
        "listing_form": forms_pages.ListingForm(initial={"level": "county"}),
    }
    template = "hazards/detail_print.html" if printing else "hazards/detail.html"
    return render(request, template, context)


# --- the action forms ----------------------------------------------------------------------------


class HazardActionView(View):
    """A small form acting on one hazard: GET shows it, POST validates and calls the service.

    Outside the user's scope: 404. In scope but not the user's to do: 403; not possible in the
    hazard's current stage: 409 — both with the form page and a message, never a server error.
    """

    form_class: type[Form] = Form
    gate_name = ""
    title = gettext_lazy("Action")
    submit_label = gettext_lazy("Submit")
    success_message = gettext_lazy("Done.")

    def setup(self, request: HttpRequest, *args: Any, **kwargs: Any) -> None:
        super().setup(request, *args, **kwargs)
        self.hazard = _hazard_for(request, kwargs["pk"])
        self.extension = self.get_extension()
        self.actions = hazard_actions(user=request.user, hazard=self.hazard, pending=self.extension)

    def get_extension(self) -> Extension | None:
        return self.hazard.extensions.filter(status=Extension.Status.PENDING).first()

    @property
    def gate(self) -> Gate:
        gate: Gate = getattr(self.actions, self.gate_name)
        return gate

    def get_form(self, data: Any = None) -> Form:
        return self.form_class(data)

    def respond(self, form: Form, *, status: int = 200, error: str = "") -> HttpResponse:
        context = {
            "error": error,
            "hazard": self.hazard,
            "form": form,
            "title": self.title,
            "submit_label": self.submit_label,
            "extension": self.extension,
        }
        return render(self.request, "hazards/action.html", context, status=status)

    def refusal(self, form: Form) -> HttpResponse | None:
        if not self.gate.permitted:
            return self.respond(form, status=403, error=_("You may not do this on this hazard."))
        if not self.gate.possible:
            return self.respond(
                form, status=409, error=_("This cannot be done in the hazard's current stage.")
            )
        return None

    def get(self, request: HttpRequest, pk: int, **kwargs: Any) -> HttpResponse:
        form = self.get_form()
        return self.refusal(form) or self.respond(form)

    def post(self, request: HttpRequest, pk: int, **kwargs: Any) -> HttpResponse:
        form = self.get_form(request.POST)
        refused = self.refusal(form)
        if refused is not None:
            return refused
        if not form.is_valid():
            return self.respond(form)
        try:
            self.perform(form.cleaned_data)
        except services.HazardStateError:
            raise
        except ValidationError as exc:
            _add_errors(form, exc)
            return self.respond(form)
        except PermissionDenied as exc:
            return self.respond(
                form, status=403, error=str(exc) or _("You may not do this on this hazard.")
            )
        messages.success(request, str(self.success_message))
        return HttpResponseRedirect(reverse("hazards:detail", args=[self.hazard.pk]))

    def perform(self, data: dict[str, Any]) -> None:
        raise ImproperlyConfigured(f"{type(self).__name__} must override this hook")


def _add_errors(form: Form, exc: ValidationError, *, default_field: str | None = None) -> None:
    """Put a service's errors on the form's fields (unknown fields become form-wide errors)."""
    if hasattr(exc, "error_dict"):
        for name, errors in exc.message_dict.items():
            form.add_error(name if name in form.fields else default_field, errors)
    else:
        form.add_error(default_field, exc.messages)


class ExtensionRequestView(HazardActionView):
    """延期申请: the enterprise asks for a later deadline while rectifying."""

    form_class = forms_pages.ExtensionRequestForm
    gate_name = "extension_request"
    title = gettext_lazy("Request an extension")
    success_message = gettext_lazy("The extension request has been sent to the department.")

    def perform(self, data: dict[str, Any]) -> None:
        services.extension_request(
            hazard=self.hazard,
            user=self.request.user,
            requested_on=data["requested_on"],
            reason=data["reason"],
        )


class ExtensionDecideView(HazardActionView):
    """The supervising department approves (with a date) or rejects a pending extension."""

    form_class = forms_pages.ExtensionDecisionForm
    gate_name = "extension_decide"
    title = gettext_lazy("Decide the extension request")
    success_message = gettext_lazy("The extension request has been decided.")

    def get_extension(self) -> Extension | None:
        extension = self.hazard.extensions.filter(pk=self.kwargs["extension_pk"]).first()
        if extension is None:
            raise Http404
        return extension if extension.status == Extension.Status.PENDING else None

    def get_form(self, data: Any = None) -> Form:
        return self.form_class(data, initial={"approve": "1"})

    def perform(self, data: dict[str, Any]) -> None:
        assert self.extension is not None  # noqa: S101 - the gate requires a pending request
        services.extension_decide(
            extension=self.extension,
            user=self.request.user,
            approve=data["approve"],
            reason=data["reason"],
            granted_on=data["granted_on"],
        )


class WithdrawView(HazardActionView):
    """撤销: the supervising department withdraws an invalid report, with the reason."""

    form_class = forms_pages.WithdrawForm
    gate_name = "withdraw"
    title = gettext_lazy("Withdraw the hazard")
    success_message = gettext_lazy("The hazard has been withdrawn.")

    def perform(self, data: dict[str, Any]) -> None:
        services.hazard_withdraw(hazard=self.hazard, user=self.request.user, reason=data["reason"])


class ListingView(HazardActionView):
    """挂牌督办: a committee office or department head lists an open major hazard."""

    form_class = forms_pages.ListingForm
    gate_name = "listing"
    title = gettext_lazy("List for supervision")
    success_message = gettext_lazy("The hazard has been listed for supervision.")

    def get_form(self, data: Any = None) -> Form:
        return self.form_class(data, initial={"level": "county"})

    def perform(self, data: dict[str, Any]) -> None:
        services.hazard_list(
            hazard=self.hazard, user=self.request.user, level=data["level"], comment=data["comment"]
        )


# --- reporting -----------------------------------------------------------------------------------


class HazardReportView(EvidenceUploadMixin, View):
    """登记: choose the enterprise (when the user may report for several), then the hazard form.

    Photos come through ``EvidenceUploadHandler``, installed before the body is parsed (the mixin
    exempts dispatch from CSRF only to re-apply ``csrf_protect`` after installing it, as Django's
    upload-handler documentation prescribes).
    """

    def setup(self, request: HttpRequest, *args: Any, **kwargs: Any) -> None:
        super().setup(request, *args, **kwargs)
        self.enterprises = forms_pages.reportable_enterprises(user=request.user)
        self.inspector = forms_pages.is_inspector(request.user)

    def _chosen(self, raw: str | None) -> Any:
        if raw:
            if not raw.isdigit():
                return None
            return self.enterprises.filter(pk=int(raw)).select_related("region").first()
        candidates = list(self.enterprises.select_related("region")[:2])
        return candidates[0] if len(candidates) == 1 else None

    def get(self, request: HttpRequest) -> HttpResponse:
        if not self.enterprises.exists():
            return render(request, "hazards/report_denied.html", status=403)
        enterprise = self._chosen(request.GET.get("enterprise"))
        if enterprise is None:
            return self._choose(request)
        form = forms_pages.HazardReportForm(
            enterprises=self.enterprises, enterprise=enterprise, inspector=self.inspector
        )
        return self._form_page(form, enterprise)

    def post(self, request: HttpRequest) -> HttpResponse:
        if not self.enterprises.exists():
            return render(request, "hazards/report_denied.html", status=403)
        enterprise = self._chosen(request.POST.get("enterprise"))
        if enterprise is None:
            return self._choose(request, status=400)
        form = forms_pages.HazardReportForm(
            request.POST,
            request.FILES,
            enterprises=self.enterprises,
            enterprise=enterprise,
            inspector=self.inspector,
        )
        if not form.is_valid():
            return self._form_page(form, enterprise)
        data = form.cleaned_data
        try:
            hazard = services.hazard_report(
                reporter=request.user,
                enterprise=enterprise,
                title=data["title"],
                description=data["description"],
                location=data["location"],
                source=form.source_value,
                grade=data["grade"],
                found_at=data["found_at"],
                industry=data["industry"],
                post=data["post"],
                clause=data["clause"],
                local_grade=data["local_grade"],
                latitude=data["latitude"],
                longitude=data["longitude"],
                before_photos=data["before_photos"],
            )
        except EvidenceError as exc:
            form.add_error("before_photos", exc.messages)
            return self._form_page(form, enterprise)
        except ValidationError as exc:
            _add_errors(form, exc)
            return self._form_page(form, enterprise)
        except PermissionDenied as exc:
            form.add_error(None, str(exc))
            return self._form_page(form, enterprise, status=403)
        messages.success(request, _("Hazard %(code)s has been registered.") % {"code": hazard.code})
        return HttpResponseRedirect(reverse("hazards:detail", args=[hazard.pk]))

    def _choose(self, request: HttpRequest, *, status: int = 200) -> HttpResponse:
        search = forms_pages.EnterpriseChoiceForm(request.GET or None, enterprises=self.enterprises)
        options = list(self.enterprises.order_by("name")[:201])
        return render(
            request,
            "hazards/report_choose.html",
            {
                "search": search,
                "matches": search.matches(),
                "enterprise_options": options[:200],
                "more": len(options) > 200,
            },
            status=status,
        )

    def _form_page(self, form: Form, enterprise: Any, *, status: int = 200) -> HttpResponse:
        return render(
            self.request,
            "hazards/report.html",
            {"form": form, "enterprise": enterprise, "inspector": self.inspector},
            status=status,
        )


# --- the enterprise portal -----------------------------------------------------------------------


def enterprise_portal(request: HttpRequest) -> HttpResponse:
    """企业端: the enterprise's hazards by stage, the user's open tasks, pending extensions and the
    enterprise's own open deadlines (first due first, with their badges)."""
    enterprise_ids = enterprise_ids_of(request.user)
    if not enterprise_ids:
        return render(request, "hazards/portal.html", {"no_enterprise": True})
    # Every hazard of an enterprise is visible to its members (selectors._visibility_q), so the
    # portal reads them by enterprise alone: the planner can then use the enterprise indexes
    # instead of OR-ing in the hazards the user reported (27,000 rows for a big plant).
    hazards = Hazard.objects.filter(enterprise_id__in=enterprise_ids)
    counts = dict(hazards.order_by().values_list("stage").annotate(n=Count("stage")))
    now = timezone.now()
    open_ones = hazards.filter(stage__in=Stage.open_stages())
    open_hazards = [
        (hazard, hazard_clock_badge(hazard, now=now))
        for hazard in with_deadline_clock(
            open_ones.select_related(*LIST_RELATED).order_by("-found_at", "-id"),
            stage_clocks_only=True,
        )[:50]
    ]
    perms = queue_permissions(request.user)
    tasks = with_deadline_clock(
        tasks_visible_to(user=request.user)
        .filter(
            # Each branch names its statuses so the partial task indexes (0002) serve it.
            Q(flow_task_type="HUMAN", status__in=OPEN_TASK, owner=request.user)
            | Q(
                flow_task_type="HUMAN",
                status=STATUS.NEW,
                owner__isnull=True,
                owner_permission__in=sorted(perms),
            )
        )
        .select_related("process__hazard", "owner")
        .order_by("-pk"),
        hazard_ref="process__hazard__id",
        stage_clocks_only=True,
    )[:50]
    deadlines = [
        {
            "deadline": deadline,
            "badge": clock_badge(stage=deadline.stage, due_at=deadline.due_at, now=now),
        }
        for deadline in deadlines_of_hazards(open_ones)[:PORTAL_DEADLINES]
    ]
    pending = list(
        Extension.objects.filter(hazard__in=hazards, status=Extension.Status.PENDING)
        .select_related("hazard")
        .order_by("requested_at")
    )
    waiting = {extension.hazard_id for extension in pending}
    task_rows = []
    for task in tasks:
        row = _task_row(user=request.user, task=task, back=request.path)
        row["hazard"] = task.process.hazard
        row["can_extend"] = row["node"] == "rectify" and row["hazard"].pk not in waiting
        due = getattr(task, "clock_due_at", None)
        row["clock"] = (
            clock_badge(stage=task.clock_stage, due_at=due, now=now) if due is not None else None
        )
        task_rows.append(row)
    context = {
        "no_enterprise": False,
        "stages": [(value, label, counts.get(value, 0)) for value, label in Stage.choices],
        "open_hazards": open_hazards,
        "deadlines": deadlines,
        "tasks": task_rows,
        "pending_extensions": pending,
        "today": timezone.localdate(),
    }
    return render(request, "hazards/portal.html", context)
