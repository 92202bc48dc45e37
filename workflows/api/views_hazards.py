"""The hazard API: the ledger, the record, reporting, evidence, the task queues and every human step.

Each view parses (``serializers_hazards``), calls the same selector or service as the web UI and
responds. A hazard, task or attachment outside the user's scope answers 404 before the body is even
looked at; inside the scope the services decide: ``ValidationError`` → 400 with field errors,
``PermissionDenied`` → 403, ``HazardStateError`` / ``FlowLockFailed`` → 409 (``errors.to_problem``).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, ClassVar

from django.core.exceptions import ImproperlyConfigured, PermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import FileResponse, Http404, HttpRequest
from django.urls import reverse
from django.utils import timezone
from django.utils.cache import patch_vary_headers
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    PolymorphicProxySerializer,
    extend_schema,
    extend_schema_view,
)
from rest_framework import mixins, serializers, status
from rest_framework.parsers import MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from viewflow.workflow.status import STATUS

from workflows.hazards import services
from workflows.hazards.evidence import (
    EvidenceError,
    EvidenceUploadHandler,
    upload_error,
)
from workflows.hazards.forms_pages import HazardReportForm, is_inspector, reportable_enterprises
from workflows.hazards.models import Hazard, HazardTask, Source
from workflows.hazards.selectors import (
    hazard_get,
    hazards_visible_to,
    tasks_visible_to,
    with_people,
)
from workflows.hazards.views_evidence import attachment_get
from workflows.hazards.viewsets import TASK_RELATED, inbox_tasks, queue_tasks

from . import serializers_hazards as s
from .base import ApiGenericView, ApiView, LimitedJSONParser, id_parameter
from .filters_hazards import LEDGER_PARAMETERS, form_errors, hazard_page, ledger_query, page_links
from .models import Scope

LIST_RELATED = ("enterprise", "industry", "department", "county")
DETAIL_RELATED = (
    *LIST_RELATED,
    "city",
    "clause",
    "local_grade",
    "post",
    "listed_by",
)  # the people are loaded by selectors.with_people
OPEN_TASK = (STATUS.NEW, STATUS.ASSIGNED, STATUS.STARTED)
CODE_PATH = OpenApiParameter(
    "code",
    OpenApiTypes.STR,
    OpenApiParameter.PATH,
    description="Hazard code, e.g. 141000-2026-000042.",
)
PREFER = OpenApiParameter(
    "Prefer",
    OpenApiTypes.STR,
    OpenApiParameter.HEADER,
    required=False,
    enum=["return=minimal", "return=representation"],
    description=(
        "RFC 7240. `return=minimal`: answer with the ledger row and the open task "
        "(`HazardStepResult`, confirmed by `Preference-Applied: return=minimal`) instead of the "
        "whole record; faster for clients that only move the hazard on."
    ),
)
STEP_ANSWER = PolymorphicProxySerializer(
    component_name="HazardStepAnswer",
    serializers=[s.HazardDetailSerializer, s.HazardStepResultSerializer],
    resource_type_field_name=None,
)
DOWNLOAD_TYPES = (
    "image/jpeg",
    "image/png",
    "image/webp",
    "application/pdf",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
)


# --- reads -----------------------------------------------------------------------------------------


class HazardRecord:
    """A hazard with the rows of its record; any other attribute is the hazard's own."""

    def __init__(self, hazard: Hazard, **rows: Any) -> None:
        self._hazard = hazard
        self.__dict__.update(rows)

    def __getattr__(self, name: str) -> Any:
        if name == "_hazard":  # not set yet (copy, pickle): no recursion
            raise AttributeError(name)
        return getattr(self._hazard, name)


def _open_task(*, hazard: Hazard, user: Any) -> dict[str, Any] | None:
    if hazard.process_id is None:
        return None
    task = (
        HazardTask.objects.filter(
            process_id=hazard.process_id, flow_task_type="HUMAN", status__in=OPEN_TASK
        )
        .select_related("owner")
        .order_by("-pk")
        .first()
    )
    if task is None:
        return None
    node = task.flow_task
    return {
        "id": task.pk,
        "node": node.name,
        "title": str(node.task_title or node.name),
        "status": task.status,
        "owner": task.owner,
        "created": task.created,
        "can_execute": bool(node.can_execute(user, task)),
        "can_claim": bool(node.can_assign(user, task)),
        "actions": list(s.NODE_ACTIONS.get(node.name, ())),
    }


def hazard_record(*, pk: int, user: Any) -> HazardRecord:
    """The whole record of hazard ``pk`` (the caller has checked the scope): a fixed number of
    queries however long its history."""
    hazard = with_people(Hazard.objects.select_related(*DETAIL_RELATED).get(pk=pk))
    return HazardRecord(
        hazard,
        attachment_rows=list(hazard.attachments.select_related("uploaded_by").order_by("pk")),
        plan_rows=list(
            hazard.plans.select_related("submitted_by", "reviewed_by").order_by("version")
        ),
        rectification_rows=list(
            hazard.rectifications.select_related("submitted_by", "verified_by")
            .prefetch_related("after_photos")
            .order_by("attempt")
        ),
        extension_rows=list(
            hazard.extensions.select_related("requested_by", "decided_by").order_by(
                "requested_at", "pk"
            )
        ),
        copy_notice_rows=list(
            hazard.copy_notices.select_related("department").order_by("sent_at", "pk")
        ),
        event_rows=list(hazard.events.select_related("actor").order_by("at", "pk")),
        open_task=_open_task(hazard=hazard, user=user),
    )


def _context(request: Request) -> dict[str, Any]:
    return {"request": request, "today": timezone.localdate()}


def _detail_response(request: Request, hazard: Hazard, *, code: int = 200) -> Response:
    record = hazard_record(pk=hazard.pk, user=request.user)
    return Response(s.HazardDetailSerializer(record, context=_context(request)).data, status=code)


def prefers_minimal(request: Request | HttpRequest) -> bool:
    """Whether the client sent ``Prefer: return=minimal`` (RFC 7240): after a write it needs only
    where the hazard stands now, not the whole record."""
    header = request.headers.get("Prefer", "")
    return any(
        part.split(";", 1)[0].strip().replace(" ", "").lower() == "return=minimal"
        for part in header.split(",")
    )


def _step_response(request: Request, hazard: Hazard, *, code: int = 200) -> Response:
    """The answer to a report or a step: the whole record (one fixed set of queries), or with
    ``Prefer: return=minimal`` the ledger row and the open task (two queries)."""
    if not prefers_minimal(request):
        response = _detail_response(request, hazard, code=code)
    else:
        row = Hazard.objects.select_related(*LIST_RELATED).get(pk=hazard.pk)
        summary = HazardRecord(row, open_task=_open_task(hazard=row, user=request.user))
        body = s.HazardStepResultSerializer(summary, context=_context(request)).data
        response = Response(body, status=code)
        response["Preference-Applied"] = "return=minimal"
    patch_vary_headers(response, ("Prefer",))
    return response


# --- uploads ---------------------------------------------------------------------------------------


def _is_multipart(request: Request | HttpRequest) -> bool:
    return str(request.META.get("CONTENT_TYPE", "")).lower().startswith("multipart/")


class UploadGuardMixin:
    """Install ``EvidenceUploadHandler`` before anything reads the body (the session's CSRF check
    parses it during authentication), so an oversized file is refused unread with 413."""

    def initialize_request(self, request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
        if request.method == "POST" and _is_multipart(request):
            request.upload_handlers.insert(0, EvidenceUploadHandler(request))
        return super().initialize_request(request, *args, **kwargs)  # type: ignore[misc]


def parsed_body(request: Request, *, file_field: str) -> Any:
    """``request.data``, or 413 (``too_large`` on ``file_field``) when the upload guard stopped it."""
    data = request.data
    error = upload_error(request._request)
    if error is not None:
        raise DjangoValidationError({file_field: [error]})
    return data


@contextmanager
def evidence_errors(field: str) -> Iterator[None]:
    """A refused file becomes an error of the request field that carried it (400, or 413)."""
    try:
        yield
    except EvidenceError as exc:
        raise DjangoValidationError({field: [exc]}) from exc


# --- the ledger and reporting ----------------------------------------------------------------------


class HazardListView(UploadGuardMixin, ApiView):
    """GET: the ledger (台账) with the web's filters, newest first, by keyset pages of at most 100.
    POST: report (登记) a hazard — JSON, or multipart with before-photos."""

    scopes_required: ClassVar[dict[str, str | None]] = {
        "GET": Scope.HAZARDS_READ,
        "POST": Scope.HAZARDS_WRITE,
    }
    parser_classes: ClassVar[list[type]] = [LimitedJSONParser, MultiPartParser]

    @extend_schema(
        operation_id="hazards_list",
        tags=["hazards"],
        parameters=LEDGER_PARAMETERS,
        responses={200: s.HazardPageSerializer},
    )
    def get(self, request: Request) -> Response:
        query = ledger_query(request.query_params)
        hazards = hazards_visible_to(user=request.user).select_related(*LIST_RELATED)
        page = hazard_page(hazards, query)
        rows = s.HazardListItemSerializer(page.rows, many=True, context=_context(request)).data
        return Response({**page_links(request, page), "results": rows})

    @extend_schema(
        operation_id="hazards_report",
        tags=["hazards"],
        request={
            "application/json": s.HazardReportSerializer,
            "multipart/form-data": s.HazardReportMultipartSerializer,
        },
        parameters=[PREFER],
        responses={201: STEP_ANSWER},
    )
    def post(self, request: Request) -> Response:
        enterprises = reportable_enterprises(user=request.user)
        if not enterprises.exists():
            raise PermissionDenied(_("You may not report hazards."))
        data = parsed_body(request, file_field="before_photos")
        serializer_class = (
            s.HazardReportMultipartSerializer
            if _is_multipart(request)
            else s.HazardReportSerializer
        )
        parsed = serializer_class(data=data, enterprises=enterprises)
        parsed.is_valid(raise_exception=True)
        values = parsed.validated_data
        inspector = is_inspector(request.user)
        _check_report_form(values, enterprises=enterprises, inspector=inspector)
        with evidence_errors("before_photos"):
            hazard = services.hazard_report(
                reporter=request.user,
                enterprise=values["enterprise"],
                title=values["title"],
                description=values["description"],
                location=values["location"],
                source=values.get("source") or Source.SELF_CHECK,
                grade=values["grade"],
                found_at=values.get("found_at"),
                industry=values.get("industry"),
                post=values["post"],
                clause=values.get("clause"),
                local_grade=values.get("local_grade"),
                latitude=values.get("latitude"),
                longitude=values.get("longitude"),
                finder_name=values.get("finder_name", ""),
                before_photos=values.get("before_photos", []),
                photo_required=False,
            )
        response = _step_response(request, hazard, code=status.HTTP_201_CREATED)
        response["Location"] = request.build_absolute_uri(
            reverse("api:hazard-detail", kwargs={"code": hazard.code})
        )
        return response


def _pk(value: Any) -> Any:
    return value.pk if value is not None else ""


def _check_report_form(values: dict[str, Any], *, enterprises: Any, inspector: bool) -> None:
    """Run the web report form on the parsed values: its rules (an inspector's source, latitude with
    longitude, a clause only for a major hazard) apply to the API unchanged."""
    enterprise = values["enterprise"]
    data = {
        "enterprise": enterprise.pk,
        "source": values.get("source") or "",
        "title": values["title"],
        "description": values["description"],
        "location": values["location"],
        "found_at": values.get("found_at") or timezone.now(),
        "grade": values["grade"],
        "industry": _pk(values.get("industry")),
        "local_grade": _pk(values.get("local_grade")),
        "clause": _pk(values.get("clause")),
        "post": _pk(values.get("post")),
        "latitude": "" if values.get("latitude") is None else values["latitude"],
        "longitude": "" if values.get("longitude") is None else values["longitude"],
    }
    form = HazardReportForm(
        data, enterprises=enterprises, enterprise=enterprise, inspector=inspector
    )
    if not form.is_valid():
        raise serializers.ValidationError(form_errors(form.errors))


class HazardDetailView(ApiView):
    """一患一档: the record with its chain snapshot, evidence links, plans, attempts, extensions,
    copy notices, timeline and open task."""

    scopes_required: ClassVar[dict[str, str | None]] = {"GET": Scope.HAZARDS_READ}

    @extend_schema(
        operation_id="hazards_retrieve",
        tags=["hazards"],
        parameters=[CODE_PATH],
        responses={200: s.HazardDetailSerializer},
    )
    def get(self, request: Request, code: str) -> Response:
        hazard = hazard_get(user=request.user, code=code)
        return _detail_response(request, hazard)


# --- evidence --------------------------------------------------------------------------------------


class HazardAttachmentView(UploadGuardMixin, ApiView):
    """Upload one evidence file to a hazard (multipart ``kind`` + ``file``), checked exactly as on the
    web (``evidence.attachment_store``): allowlisted types whose bytes match, images re-encoded."""

    scopes_required: ClassVar[dict[str, str | None]] = {"POST": Scope.HAZARDS_WRITE}
    parser_classes: ClassVar[list[type]] = [MultiPartParser]

    @extend_schema(
        operation_id="hazards_attachments_create",
        tags=["attachments"],
        parameters=[CODE_PATH],
        request={"multipart/form-data": s.AttachmentUploadSerializer},
        responses={201: s.AttachmentSerializer},
    )
    def post(self, request: Request, code: str) -> Response:
        hazard = hazard_get(user=request.user, code=code)
        data = parsed_body(request, file_field="file")
        parsed = s.AttachmentUploadSerializer(data=data)
        parsed.is_valid(raise_exception=True)
        kind = parsed.validated_data["kind"]
        with evidence_errors("file"):
            attachment = services.attachment_add(
                hazard=hazard, kind=kind, upload=parsed.validated_data["file"], user=request.user
            )
        body = s.AttachmentSerializer(attachment, context=_context(request)).data
        return Response(body, status=status.HTTP_201_CREATED)


class AttachmentDownloadView(ApiView):
    """The stored file as a download, only for hazards in the user's scope (else 404)."""

    scopes_required: ClassVar[dict[str, str | None]] = {"GET": Scope.HAZARDS_READ}

    def perform_content_negotiation(self, request: Request, force: bool = False) -> Any:
        # The body is a file, not JSON: any Accept header is fine (errors still come as JSON).
        return super().perform_content_negotiation(request, force=True)

    @extend_schema(
        operation_id="attachments_download",
        tags=["attachments"],
        parameters=[id_parameter("pk", "Id of the attachment.")],
        responses={
            **{
                (200, media): OpenApiResponse(OpenApiTypes.BINARY, description="The file.")
                for media in DOWNLOAD_TYPES
            },
        },
    )
    def get(self, request: Request, pk: int) -> Any:
        attachment = attachment_get(user=request.user, pk=pk)
        try:
            handle = attachment.file.open("rb")
        except FileNotFoundError as exc:
            raise Http404 from exc
        response = FileResponse(
            handle,
            as_attachment=True,
            filename=attachment.original_name,
            content_type=attachment.content_type,
        )
        # As the web download: never sniffed, rendered or cached on a shared device.
        response["X-Content-Type-Options"] = "nosniff"
        response["Cache-Control"] = "private, no-store"
        response["Content-Security-Policy"] = "default-src 'none'; sandbox"
        response["Cross-Origin-Resource-Policy"] = "same-origin"
        return response


# --- tasks -----------------------------------------------------------------------------------------


class _TaskListView(mixins.ListModelMixin, ApiGenericView):
    queryset = HazardTask.objects.none()  # for the schema; get_queryset scopes every request
    serializer_class = s.TaskSerializer
    scopes_required: ClassVar[dict[str, str | None]] = {"GET": Scope.HAZARDS_READ}

    def get(self, request: Request) -> Response:
        return self.list(request)


@extend_schema_view(get=extend_schema(operation_id="tasks_inbox", tags=["tasks"]))
class TaskInboxView(_TaskListView):
    """My inbox: open tasks assigned to me (claimed, or given to me), newest first."""

    def get_queryset(self) -> Any:
        return inbox_tasks(self.request.user)


@extend_schema_view(get=extend_schema(operation_id="tasks_queue", tags=["tasks"]))
class TaskQueueView(_TaskListView):
    """My queues: unclaimed tasks of my departments and enterprises that I may claim."""

    def get_queryset(self) -> Any:
        return queue_tasks(self.request.user)


def _task_for(*, user: Any, pk: int) -> HazardTask:
    """A human task of a hazard in the user's scope, or 404."""
    task = (
        tasks_visible_to(user=user)
        .filter(pk=pk, flow_task_type="HUMAN")
        .select_related(*TASK_RELATED)
        .first()
    )
    if task is None:
        raise Http404
    return task


class _TaskActionView(ApiView):
    scopes_required: ClassVar[dict[str, str | None]] = {"POST": Scope.TASKS_WRITE}
    parser_classes: ClassVar[list[type]] = [LimitedJSONParser]

    def act(self, *, task: HazardTask, user: Any) -> None:
        raise ImproperlyConfigured(f"{type(self).__name__} must override this hook")

    def post(self, request: Request, pk: int) -> Response:
        task = _task_for(user=request.user, pk=pk)
        self.act(task=task, user=request.user)
        # The scope was checked above and an action on a task does not change it.
        task = HazardTask.objects.select_related(*TASK_RELATED).get(pk=task.pk)
        return Response(s.TaskSerializer(task, context=_context(request)).data)


@extend_schema_view(
    post=extend_schema(
        operation_id="tasks_claim",
        tags=["tasks"],
        parameters=[id_parameter("pk", "Id of the task.")],
        request=None,
        responses={200: s.TaskSerializer},
    )
)
class TaskClaimView(_TaskActionView):
    """Take a queued task into my inbox (exactly one claimant wins; the others get 409)."""

    def act(self, *, task: HazardTask, user: Any) -> None:
        services.task_claim(task=task, user=user)


@extend_schema_view(
    post=extend_schema(
        operation_id="tasks_release",
        tags=["tasks"],
        parameters=[id_parameter("pk", "Id of the task.")],
        request=None,
        responses={200: s.TaskSerializer},
    )
)
class TaskReleaseView(_TaskActionView):
    """Put a task I claimed back into its queue."""

    def act(self, *, task: HazardTask, user: Any) -> None:
        services.task_release(task=task, user=user)


# --- the steps -------------------------------------------------------------------------------------


class HazardStepView(UploadGuardMixin, ApiView):
    """Base of the actions on one hazard: scope (404) → parse (400) → one service → the record.

    ``multipart_serializer_class`` (with files) is used for multipart bodies, ``serializer_class``
    for JSON; a refused file is an error of ``file_field``.
    """

    scopes_required: ClassVar[dict[str, str | None]] = {"POST": Scope.TASKS_WRITE}
    parser_classes: ClassVar[list[type]] = [LimitedJSONParser]
    serializer_class: ClassVar[type[serializers.Serializer]] = serializers.Serializer
    multipart_serializer_class: ClassVar[type[serializers.Serializer] | None] = None
    file_field = "non_field_errors"
    created = False

    def post(self, request: Request, code: str, **kwargs: Any) -> Response:
        hazard = hazard_get(user=request.user, code=code)
        target = self.target(hazard, **kwargs)
        data = parsed_body(request, file_field=self.file_field)
        serializer_class = self.serializer_class
        if self.multipart_serializer_class is not None and _is_multipart(request):
            serializer_class = self.multipart_serializer_class
        parsed = serializer_class(data=data, context={"request": request, "hazard": hazard})
        parsed.is_valid(raise_exception=True)
        with evidence_errors(self.file_field):
            result = self.perform(
                hazard=hazard, target=target, user=request.user, data=parsed.validated_data
            )
        return self.respond(request, hazard, result)

    def target(self, hazard: Hazard, **kwargs: Any) -> Any:
        return None

    def perform(self, *, hazard: Hazard, target: Any, user: Any, data: dict[str, Any]) -> Any:
        raise ImproperlyConfigured(f"{type(self).__name__} must override this hook")

    def respond(self, request: Request, hazard: Hazard, result: Any) -> Response:
        return _step_response(request, hazard)


def _step_schema(
    operation_id: str,
    request: type[serializers.Serializer],
    multipart: type[serializers.Serializer] | None = None,
    response: Any = STEP_ANSWER,
    code: int = 200,
    parameters: tuple[OpenApiParameter, ...] = (),
) -> Any:
    if response is STEP_ANSWER:
        parameters = (*parameters, PREFER)
    bodies: dict[str, Any] = {"application/json": request}
    if multipart is not None:
        bodies["multipart/form-data"] = multipart
    return extend_schema_view(
        post=extend_schema(
            operation_id=operation_id,
            tags=["steps"],
            parameters=[CODE_PATH, *parameters],
            request=bodies,
            responses={code: response},
        )
    )


@_step_schema("hazards_triage", s.TriageSerializer)
class TriageView(HazardStepView):
    """分派: confirm or change the grade (and clause), set the deadline; the hazard moves on."""

    serializer_class = s.TriageSerializer

    def perform(self, *, hazard: Hazard, target: Any, user: Any, data: dict[str, Any]) -> Any:
        return services.hazard_triage(
            hazard=hazard,
            user=user,
            grade=data["grade"],
            deadline_on=data.get("deadline_on"),
            clause=data.get("clause"),
            local_grade=data.get("local_grade"),
            comment=data["comment"],
            suspended=data.get("suspended", False),
            suspension_scope=data.get("suspension_scope", ""),
        )


@_step_schema("hazards_handover", s.HandoverSerializer)
class HandoverView(HazardStepView):
    """移交: hand the triage over to another department, with the reason."""

    serializer_class = s.HandoverSerializer

    def perform(self, *, hazard: Hazard, target: Any, user: Any, data: dict[str, Any]) -> Any:
        return services.hazard_handover(
            hazard=hazard, user=user, department=data["department"], reason=data["reason"]
        )


@_step_schema("hazards_plan", s.PlanSubmitSerializer)
class PlanView(HazardStepView):
    """治理方案: the principal submits the remediation plan of a major hazard (五落实)."""

    serializer_class = s.PlanSubmitSerializer

    def perform(self, *, hazard: Hazard, target: Any, user: Any, data: dict[str, Any]) -> Any:
        return services.plan_submit(hazard=hazard, user=user, **data)


@_step_schema("hazards_plan_review", s.PlanReviewSerializer)
class PlanReviewView(HazardStepView):
    """The department approves the plan or returns it with reasons."""

    serializer_class = s.PlanReviewSerializer

    def perform(self, *, hazard: Hazard, target: Any, user: Any, data: dict[str, Any]) -> Any:
        return services.plan_review(
            hazard=hazard, user=user, approve=data["approve"], comment=data["comment"]
        )


@_step_schema("hazards_rectify", s.RectifySerializer, s.RectifyMultipartSerializer)
class RectifyView(HazardStepView):
    """整改: report the rectification with after-photos — uploaded here (multipart) or referenced by
    the ids of after-photos uploaded before (``existing_photos``)."""

    serializer_class = s.RectifySerializer
    multipart_serializer_class = s.RectifyMultipartSerializer
    parser_classes: ClassVar[list[type]] = [LimitedJSONParser, MultiPartParser]
    file_field = "after_photos"

    def perform(self, *, hazard: Hazard, target: Any, user: Any, data: dict[str, Any]) -> Any:
        return services.rectification_submit(
            hazard=hazard,
            user=user,
            work_done=data["work_done"],
            interim_measures=data["interim_measures"],
            cost=data["cost"],
            after_photos=data.get("after_photos", []),
            existing_photos=data["existing_photos"],
        )


@_step_schema(
    "hazards_extensions_create",
    s.ExtensionRequestSerializer,
    response=s.ExtensionSerializer,
    code=201,
)
class ExtensionRequestView(HazardStepView):
    """延期申请: the enterprise asks for a later deadline while rectifying."""

    serializer_class = s.ExtensionRequestSerializer

    def perform(self, *, hazard: Hazard, target: Any, user: Any, data: dict[str, Any]) -> Any:
        return services.extension_request(
            hazard=hazard, user=user, requested_on=data["requested_on"], reason=data["reason"]
        )

    def respond(self, request: Request, hazard: Hazard, result: Any) -> Response:
        body = s.ExtensionSerializer(result, context=_context(request)).data
        return Response(body, status=status.HTTP_201_CREATED)


@_step_schema(
    "hazards_extensions_decision",
    s.ExtensionDecisionSerializer,
    response=s.ExtensionSerializer,
    parameters=(id_parameter("pk", "Id of the extension request."),),
)
class ExtensionDecisionView(HazardStepView):
    """The supervising department approves (with a date) or rejects a pending extension request."""

    serializer_class = s.ExtensionDecisionSerializer

    def target(self, hazard: Hazard, **kwargs: Any) -> Any:
        extension = hazard.extensions.filter(pk=kwargs["pk"]).first()
        if extension is None:
            raise Http404
        return extension

    def perform(self, *, hazard: Hazard, target: Any, user: Any, data: dict[str, Any]) -> Any:
        return services.extension_decide(
            extension=target,
            user=user,
            approve=data["approve"],
            reason=data["reason"],
            granted_on=data.get("granted_on"),
        )

    def respond(self, request: Request, hazard: Hazard, result: Any) -> Response:
        return Response(s.ExtensionSerializer(result, context=_context(request)).data)


@_step_schema("hazards_verify", s.VerifySerializer, s.VerifyMultipartSerializer)
class VerifyView(HazardStepView):
    """复查: the department verifies the rectification (not the reporter); failing sends it back."""

    serializer_class = s.VerifySerializer
    multipart_serializer_class = s.VerifyMultipartSerializer
    parser_classes: ClassVar[list[type]] = [LimitedJSONParser, MultiPartParser]
    file_field = "report"

    def perform(self, *, hazard: Hazard, target: Any, user: Any, data: dict[str, Any]) -> Any:
        return services.rectification_verify(
            hazard=hazard,
            user=user,
            passed=data["passed"],
            comment=data["comment"],
            report=data.get("report"),
        )


@_step_schema("hazards_close_out", s.CloseOutSerializer)
class CloseOutView(HazardStepView):
    """销号: close out a verified major hazard (a listed one is delisted with it)."""

    serializer_class = s.CloseOutSerializer

    def perform(self, *, hazard: Hazard, target: Any, user: Any, data: dict[str, Any]) -> Any:
        return services.hazard_close(hazard=hazard, user=user, comment=data["comment"])


@_step_schema("hazards_withdraw", s.WithdrawSerializer)
class WithdrawView(HazardStepView):
    """撤销: the supervising department withdraws an invalid report, with the reason."""

    serializer_class = s.WithdrawSerializer

    def perform(self, *, hazard: Hazard, target: Any, user: Any, data: dict[str, Any]) -> Any:
        return services.hazard_withdraw(hazard=hazard, user=user, reason=data["reason"])


@_step_schema("hazards_listing", s.ListingRequestSerializer)
class ListingView(HazardStepView):
    """挂牌督办: a committee office or department head lists an open major hazard."""

    serializer_class = s.ListingRequestSerializer

    def perform(self, *, hazard: Hazard, target: Any, user: Any, data: dict[str, Any]) -> Any:
        return services.hazard_list(
            hazard=hazard, user=user, level=data["level"], comment=data["comment"]
        )
