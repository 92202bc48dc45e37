"""Request and response shapes of the hazard API (hazards, tasks, attachments).

Request serializers parse and check types, lengths and ranges — the same limits as the web forms and
the models — and resolve codes (USCC, industry, department, local grade) to objects within what the
user may pick. The rules of each step (who may act, in which stage, deadlines, separation of duties)
live in ``workflows.hazards.services``; the views call those and nothing else.

Response serializers are read-only and only describe what the views return, for the OpenAPI schema.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from django.db.models import QuerySet
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers
from rest_framework.fields import empty

from accounts.models import Department, Enterprise, Region
from accounts.uscc import normalize_uscc
from workflows.hazards.models import (
    Attachment,
    CriteriaClause,
    Extension,
    Grade,
    Hazard,
    LocalGrade,
    Plan,
    Rectification,
    Source,
    Stage,
)
from workflows.responsibility.models import Industry, Post

from .base import MAX_ID
from .serializers_core import (
    ChainSerializer,
    EnterpriseRefSerializer,
    OrgRefSerializer,
    RegionRefSerializer,
)

# Which API actions complete the open task of each node (``open_task.actions``).
NODE_ACTIONS: dict[str, tuple[str, ...]] = {
    "triage": ("triage", "handover"),
    "plan": ("plan",),
    "approve_plan": ("plan-review",),
    "rectify": ("rectify",),
    "verify": ("verify",),
    "close_out": ("close-out",),
}
LISTING_LEVELS = (("county", _("county")), ("city", _("city")))


# --- fields ----------------------------------------------------------------------------------------


class TextField(serializers.CharField):
    """Text that must be sent as text (a JSON number or list is refused, not turned into a string)."""

    def to_internal_value(self, data: Any) -> str:
        if not isinstance(data, str):
            self.fail("invalid")
        return str(super().to_internal_value(data))


class StrictBooleanField(serializers.BooleanField):
    """A required boolean: an omitted field in a multipart body is an error, not ``False``."""

    default_empty_html = empty


class UsccField(serializers.SlugRelatedField):
    """An enterprise named by its unified social credit code (case and spaces ignored)."""

    default_error_messages = {  # noqa: RUF012 - DRF merges this class attribute
        "does_not_exist": _("No enterprise with this code that you may report for."),
        "invalid": _("Give the unified social credit code as text."),
    }

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(slug_field="uscc", **kwargs)

    def to_internal_value(self, data: Any) -> Any:
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(normalize_uscc(data))


class CodeField(serializers.SlugRelatedField):
    """An object named by its ``code`` with a message that does not tell hidden codes from unknown ones."""

    default_error_messages = {  # noqa: RUF012 - DRF merges this class attribute
        "does_not_exist": _("Unknown code: %(value)s."),
        "invalid": _("Give the code as text."),
    }

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(slug_field="code", **kwargs)

    def to_internal_value(self, data: Any) -> Any:
        if not isinstance(data, str):
            self.fail("invalid")
        queryset = self.get_queryset()
        found = queryset.filter(code=data).first()
        if found is None:
            raise serializers.ValidationError(
                self.error_messages["does_not_exist"] % {"value": data[:50]},
                code="does_not_exist",
            )
        return found


class Rfc3339DateTimeField(serializers.DateTimeField):
    """A read-only instant in local time (+08:00), or in UTC when the local offset has seconds.

    Before 1901 Asia/Shanghai is local mean time (+08:05:43), which RFC 3339 cannot express; a
    discovery date typed centuries wrong must still render as a valid ``date-time``.
    """

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("read_only", True)
        super().__init__(**kwargs)

    def to_representation(self, value: Any) -> Any:
        if isinstance(value, datetime):
            local = self.enforce_timezone(value)
            offset = local.utcoffset()
            if offset is not None and offset.seconds % 60:
                value = value.astimezone(UTC)
                return value.isoformat().replace("+00:00", "Z")
        return super().to_representation(value)


class IdField(serializers.PrimaryKeyRelatedField):
    """A row named by its integer id; an id out of the database's range is simply unknown."""

    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, str) and data.isascii() and data.isdigit():
            data = int(data)  # a multipart field is text
        if isinstance(data, bool) or not isinstance(data, int):
            self.fail("incorrect_type", data_type=type(data).__name__)
        if not 0 < data <= MAX_ID:
            self.fail("does_not_exist", pk_value=data)
        return super().to_internal_value(data)


def _files_field(help_text: str) -> serializers.ListField:
    return serializers.ListField(
        child=serializers.FileField(allow_empty_file=False),
        required=False,
        default=list,
        help_text=help_text,
    )


# --- small references ------------------------------------------------------------------------------


class PersonRefSerializer(serializers.Serializer):
    username = serializers.CharField(read_only=True)
    full_name = serializers.CharField(read_only=True)


class CodeNameSerializer(serializers.Serializer):
    code = serializers.CharField(read_only=True)
    name = serializers.CharField(read_only=True)


class PostRefSerializer(serializers.Serializer):
    code = serializers.CharField(read_only=True)
    title = serializers.CharField(read_only=True)


class ClauseSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    standard = serializers.CharField(read_only=True)
    code = serializers.CharField(read_only=True)
    text = serializers.CharField(read_only=True)


# --- the hazard record -----------------------------------------------------------------------------


def attachment_download_url(request: Any, attachment_id: int) -> str:
    path = reverse("api:attachment-download", kwargs={"pk": attachment_id})
    return str(request.build_absolute_uri(path)) if request is not None else path


class AttachmentSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    kind = serializers.ChoiceField(read_only=True, choices=Attachment.Kind.choices)
    original_name = serializers.CharField(read_only=True)
    content_type = serializers.CharField(read_only=True)
    size = serializers.IntegerField(read_only=True)
    sha256 = serializers.CharField(read_only=True)
    uploaded_by = PersonRefSerializer(read_only=True, allow_null=True)
    uploaded_at = Rfc3339DateTimeField()
    download_url = serializers.SerializerMethodField()

    def get_download_url(self, attachment: Attachment) -> str:
        return attachment_download_url(self.context.get("request"), attachment.pk)


class PlanSerializer(serializers.Serializer):
    version = serializers.IntegerField(read_only=True)
    status = serializers.ChoiceField(read_only=True, choices=Plan.Status.choices)
    goal = serializers.CharField(read_only=True)
    measures = serializers.CharField(read_only=True)
    funds = serializers.DecimalField(read_only=True, max_digits=14, decimal_places=2)
    materials = serializers.CharField(read_only=True)
    responsible_org = serializers.CharField(read_only=True)
    responsible_people = serializers.CharField(read_only=True)
    deadline_on = serializers.DateField(read_only=True)
    safety_measures = serializers.CharField(read_only=True)
    contingency = serializers.CharField(read_only=True)
    submitted_by = PersonRefSerializer(read_only=True)
    submitted_at = Rfc3339DateTimeField()
    reviewed_by = PersonRefSerializer(read_only=True, allow_null=True)
    reviewed_at = Rfc3339DateTimeField(allow_null=True)
    review_comment = serializers.CharField(read_only=True)


class RectificationSerializer(serializers.Serializer):
    attempt = serializers.IntegerField(read_only=True)
    interim_measures = serializers.CharField(read_only=True)
    work_done = serializers.CharField(read_only=True)
    cost = serializers.DecimalField(read_only=True, max_digits=14, decimal_places=2)
    submitted_by = PersonRefSerializer(read_only=True)
    submitted_at = Rfc3339DateTimeField()
    result = serializers.ChoiceField(read_only=True, choices=Rectification.Result.choices)
    verified_by = PersonRefSerializer(read_only=True, allow_null=True)
    verified_at = Rfc3339DateTimeField(allow_null=True)
    verification_comment = serializers.CharField(read_only=True)
    after_photos = serializers.SerializerMethodField(
        help_text="Ids of the after-photo attachments."
    )

    def get_after_photos(self, rectification: Rectification) -> list[int]:
        return sorted(photo.pk for photo in rectification.after_photos.all())


class ExtensionSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    reason = serializers.CharField(read_only=True)
    requested_on = serializers.DateField(read_only=True)
    previous_deadline_on = serializers.DateField(read_only=True, allow_null=True)
    requested_by = PersonRefSerializer(read_only=True)
    requested_at = Rfc3339DateTimeField()
    status = serializers.ChoiceField(read_only=True, choices=Extension.Status.choices)
    decided_by = PersonRefSerializer(read_only=True, allow_null=True)
    decided_at = Rfc3339DateTimeField(allow_null=True)
    decision_reason = serializers.CharField(read_only=True)
    granted_on = serializers.DateField(read_only=True, allow_null=True)


class EventSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    action = serializers.CharField(read_only=True)
    actor = PersonRefSerializer(read_only=True, allow_null=True)
    at = Rfc3339DateTimeField()
    from_stage = serializers.CharField(read_only=True)
    to_stage = serializers.CharField(read_only=True)
    comment = serializers.CharField(read_only=True)
    basis = serializers.CharField(read_only=True)
    data = serializers.DictField(read_only=True)


class CopyNoticeSerializer(serializers.Serializer):
    department = OrgRefSerializer(read_only=True)
    reason = serializers.CharField(read_only=True)
    sent_at = Rfc3339DateTimeField()


class OpenTaskSerializer(serializers.Serializer):
    """The hazard's open human step, and what the requesting user may do with it now."""

    id = serializers.IntegerField(read_only=True)
    node = serializers.CharField(read_only=True)
    title = serializers.CharField(read_only=True)
    status = serializers.CharField(read_only=True)
    owner = PersonRefSerializer(read_only=True, allow_null=True)
    created = Rfc3339DateTimeField()
    can_execute = serializers.BooleanField(read_only=True)
    can_claim = serializers.BooleanField(read_only=True)
    actions = serializers.ListField(child=serializers.CharField(), read_only=True)


class ListingSerializer(serializers.Serializer):
    level = serializers.CharField(read_only=True)
    unit = OrgRefSerializer(read_only=True, allow_null=True)
    listed_on = serializers.DateField(read_only=True)
    delisted_on = serializers.DateField(read_only=True, allow_null=True)


class HazardListItemSerializer(serializers.Serializer):
    """One ledger row. Every relation it shows is joined by the list query (no query per row)."""

    code = serializers.CharField(read_only=True)
    url = serializers.SerializerMethodField()
    title = serializers.CharField(read_only=True)
    stage = serializers.ChoiceField(read_only=True, choices=Stage.choices)
    grade = serializers.ChoiceField(read_only=True, choices=Grade.values)
    source = serializers.ChoiceField(read_only=True, choices=Source.choices)
    enterprise = EnterpriseRefSerializer(read_only=True)
    industry = CodeNameSerializer(read_only=True)
    county = RegionRefSerializer(read_only=True)
    department = OrgRefSerializer(read_only=True, allow_null=True)
    found_at = Rfc3339DateTimeField()
    deadline_on = serializers.DateField(read_only=True, allow_null=True)
    overdue = serializers.SerializerMethodField()
    closed_at = Rfc3339DateTimeField(allow_null=True)

    def get_url(self, hazard: Hazard) -> str:
        path = reverse("api:hazard-detail", kwargs={"code": hazard.code})
        request = self.context.get("request")
        return str(request.build_absolute_uri(path)) if request is not None else path

    def get_overdue(self, hazard: Hazard) -> bool:
        today: date = self.context.get("today") or timezone.localdate()
        return bool(hazard.deadline_on and hazard.deadline_on < today and hazard.is_open)


class HazardStepResultSerializer(HazardListItemSerializer):
    """The answer to a report or a step sent with ``Prefer: return=minimal``: the ledger row and the
    open task (what to do next), without the record's evidence and timeline. ``representation``
    ("minimal") tells it apart from the whole record."""

    representation = serializers.SerializerMethodField()
    open_task = OpenTaskSerializer(read_only=True, allow_null=True)

    @extend_schema_field(serializers.ChoiceField(choices=["minimal"]))
    def get_representation(self, hazard: Any) -> str:
        return "minimal"


class HazardDetailSerializer(HazardListItemSerializer):
    """一患一档 — the whole record: chain snapshot, evidence, plans, attempts, extensions, timeline."""

    description = serializers.CharField(read_only=True)
    location = serializers.CharField(read_only=True)
    latitude = serializers.DecimalField(
        read_only=True, max_digits=9, decimal_places=6, allow_null=True
    )
    longitude = serializers.DecimalField(
        read_only=True, max_digits=9, decimal_places=6, allow_null=True
    )
    found_by = PersonRefSerializer(read_only=True, allow_null=True)
    finder_name = serializers.CharField(read_only=True)
    city = RegionRefSerializer(read_only=True)
    local_grade = CodeNameSerializer(read_only=True, allow_null=True)
    clause = ClauseSerializer(read_only=True, allow_null=True)
    post = PostRefSerializer(read_only=True, allow_null=True)
    suspended = serializers.BooleanField(read_only=True)
    suspension_scope = serializers.CharField(read_only=True)
    verify_attempts = serializers.IntegerField(read_only=True)
    listing = serializers.SerializerMethodField()
    closed_by = PersonRefSerializer(read_only=True, allow_null=True)
    withdrawn_at = Rfc3339DateTimeField(allow_null=True)
    withdrawn_by = PersonRefSerializer(read_only=True, allow_null=True)
    withdrawal_reason = serializers.CharField(read_only=True)
    chain = serializers.SerializerMethodField()
    open_task = OpenTaskSerializer(read_only=True, allow_null=True)
    attachments = AttachmentSerializer(many=True, read_only=True, source="attachment_rows")
    plans = PlanSerializer(many=True, read_only=True, source="plan_rows")
    rectifications = RectificationSerializer(many=True, read_only=True, source="rectification_rows")
    extensions = ExtensionSerializer(many=True, read_only=True, source="extension_rows")
    copy_notices = CopyNoticeSerializer(many=True, read_only=True, source="copy_notice_rows")
    timeline = EventSerializer(many=True, read_only=True, source="event_rows")

    @extend_schema_field(ChainSerializer(allow_null=True))
    def get_chain(self, hazard: Hazard) -> dict[str, Any] | None:
        return hazard.chain or None

    @extend_schema_field(ListingSerializer(allow_null=True))
    def get_listing(self, hazard: Hazard) -> dict[str, Any] | None:
        if not hazard.listed_on:
            return None
        unit = hazard.listed_by
        return {
            "level": hazard.listed_level,
            "unit": {"code": unit.code, "name": unit.name} if unit else None,
            "listed_on": hazard.listed_on,
            "delisted_on": hazard.delisted_on,
        }


class HazardPageSerializer(serializers.Serializer):
    """One page of the ledger, newest first; follow ``next`` until it is null."""

    next = serializers.URLField(read_only=True, allow_null=True)
    previous = serializers.URLField(read_only=True, allow_null=True)
    results = HazardListItemSerializer(many=True, read_only=True)


class TaskHazardSerializer(serializers.Serializer):
    code = serializers.CharField(read_only=True)
    title = serializers.CharField(read_only=True)
    stage = serializers.ChoiceField(read_only=True, choices=Stage.choices)
    grade = serializers.ChoiceField(read_only=True, choices=Grade.values)
    enterprise = EnterpriseRefSerializer(read_only=True)
    deadline_on = serializers.DateField(read_only=True, allow_null=True)
    url = serializers.SerializerMethodField()

    def get_url(self, hazard: Hazard) -> str:
        path = reverse("api:hazard-detail", kwargs={"code": hazard.code})
        request = self.context.get("request")
        return str(request.build_absolute_uri(path)) if request is not None else path


class TaskSerializer(serializers.Serializer):
    """A human step of a hazard's process: in someone's inbox (ASSIGNED) or in a queue (NEW)."""

    id = serializers.IntegerField(read_only=True)
    node = serializers.CharField(read_only=True, source="flow_task.name")
    title = serializers.SerializerMethodField()
    status = serializers.CharField(read_only=True)
    owner = PersonRefSerializer(read_only=True, allow_null=True)
    created = Rfc3339DateTimeField()
    hazard = TaskHazardSerializer(read_only=True, source="process.hazard")
    actions = serializers.SerializerMethodField()

    def get_title(self, task: Any) -> str:
        return str(task.flow_task.task_title or task.flow_task.name)

    def get_actions(self, task: Any) -> list[str]:
        return list(NODE_ACTIONS.get(task.flow_task.name, ()))


class TaskPageSerializer(serializers.Serializer):
    next = serializers.URLField(read_only=True, allow_null=True)
    previous = serializers.URLField(read_only=True, allow_null=True)
    results = TaskSerializer(many=True, read_only=True)


# --- requests --------------------------------------------------------------------------------------


class HazardFilterSerializer(serializers.Serializer):
    """The ledger's query parameters (the web ledger's filters, codes instead of ids)."""

    q = TextField(
        required=False,
        allow_blank=True,
        max_length=100,
        help_text="Code prefix, enterprise name, USCC or words of the title.",
    )
    stage = serializers.ChoiceField(required=False, choices=Stage.choices)
    grade = serializers.ChoiceField(required=False, choices=Grade.values)
    source = serializers.ChoiceField(required=False, choices=Source.choices)
    industry = CodeField(
        required=False,
        queryset=Industry.objects.all(),
        help_text="Industry code; covers its sub-industries.",
    )
    county = CodeField(
        required=False,
        queryset=Region.objects.filter(level=Region.Level.COUNTY),
        help_text="Division code of the county or district.",
    )
    department = CodeField(
        required=False,
        queryset=Department.objects.all(),
        help_text="Code of the supervising department.",
    )
    overdue = serializers.BooleanField(required=False, default=False)
    found_from = serializers.DateField(required=False)
    found_to = serializers.DateField(required=False)
    cursor = TextField(required=False, allow_blank=True, max_length=1000)
    page_size = serializers.IntegerField(
        required=False, min_value=1, help_text="Rows per page (default 20; at most 100)."
    )


class HazardReportSerializer(serializers.Serializer):
    """登记. ``source`` is required for inspectors (not self-check) and is self-check for enterprises."""

    enterprise = UsccField(queryset=Enterprise.objects.none())
    source = serializers.ChoiceField(required=False, choices=Source.choices)
    title = TextField(max_length=200)
    description = TextField()
    location = TextField(max_length=300)
    found_at = serializers.DateTimeField(
        required=False, help_text="When the hazard was found (default: now)."
    )
    grade = serializers.ChoiceField(choices=Grade.values, default=Grade.GENERAL)
    local_grade = CodeField(required=False, allow_null=True, queryset=LocalGrade.objects.all())
    clause = IdField(required=False, allow_null=True, queryset=CriteriaClause.objects.all())
    industry = CodeField(
        required=False,
        allow_null=True,
        queryset=Industry.objects.all(),
        help_text="Default: the enterprise's primary industry.",
    )
    post = TextField(
        required=False,
        allow_null=True,
        max_length=40,
        help_text="Code of the responsible post of the enterprise.",
    )
    latitude = serializers.DecimalField(
        required=False, allow_null=True, max_digits=9, decimal_places=6, min_value=-90, max_value=90
    )
    longitude = serializers.DecimalField(
        required=False,
        allow_null=True,
        max_digits=9,
        decimal_places=6,
        min_value=-180,
        max_value=180,
    )
    finder_name = TextField(
        required=False,
        allow_blank=True,
        max_length=100,
        help_text="For tip-offs and monitoring alerts.",
    )

    def __init__(
        self, *args: Any, enterprises: QuerySet[Enterprise] | None = None, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        if enterprises is not None:
            self.fields["enterprise"].queryset = enterprises

    def validate(self, data: dict[str, Any]) -> dict[str, Any]:
        code = data.get("post")
        if code:
            post = Post.objects.filter(enterprise=data["enterprise"], code=code).first()
            if post is None:
                raise serializers.ValidationError(
                    {"post": [_("The enterprise has no post with this code.")]}
                )
            data["post"] = post
        else:
            data["post"] = None
        return data


class HazardReportMultipartSerializer(HazardReportSerializer):
    before_photos = _files_field("Photos of the hazard (JPEG, PNG or WebP, at most 10 MB each).")


class TriageSerializer(serializers.Serializer):
    grade = serializers.ChoiceField(choices=Grade.values)
    deadline_on = serializers.DateField(
        required=False,
        allow_null=True,
        help_text="Empty: the policy default for the grade.",
    )
    clause = IdField(required=False, allow_null=True, queryset=CriteriaClause.objects.all())
    local_grade = CodeField(required=False, allow_null=True, queryset=LocalGrade.objects.all())
    comment = TextField(required=False, allow_blank=True, default="")
    suspended = serializers.BooleanField(
        required=False, default=False, help_text="Order suspension (责令停产停业) of a scope."
    )
    suspension_scope = TextField(required=False, allow_blank=True, default="", max_length=300)


class HandoverSerializer(serializers.Serializer):
    department = CodeField(queryset=Department.objects.select_related("kind"))
    reason = TextField()


class PlanSubmitSerializer(serializers.Serializer):
    goal = TextField()
    measures = TextField()
    funds = serializers.DecimalField(max_digits=14, decimal_places=2, min_value=0)
    materials = TextField(required=False, allow_blank=True, default="")
    responsible_org = TextField(max_length=200)
    responsible_people = TextField(max_length=300)
    deadline_on = serializers.DateField()
    safety_measures = TextField()
    contingency = TextField()


class PlanReviewSerializer(serializers.Serializer):
    approve = StrictBooleanField()
    comment = TextField(
        required=False,
        allow_blank=True,
        default="",
        help_text="Required when the plan is returned.",
    )


class RectifySerializer(serializers.Serializer):
    work_done = TextField()
    interim_measures = TextField(required=False, allow_blank=True, default="")
    cost = serializers.DecimalField(max_digits=14, decimal_places=2, min_value=0, default=0)
    existing_photos = serializers.ListField(
        child=serializers.IntegerField(min_value=1, max_value=MAX_ID),
        required=False,
        default=list,
        max_length=50,
        help_text="Ids of after-photo attachments already uploaded to this hazard and not used by another "
        "rectification.",
    )

    def validate_existing_photos(self, ids: list[int]) -> list[Attachment]:
        hazard: Hazard = self.context["hazard"]
        wanted = set(ids)
        found = list(
            Attachment.objects.filter(
                hazard=hazard, pk__in=wanted, kind=Attachment.Kind.AFTER_PHOTO
            )
        )
        if len(found) != len(wanted):
            raise serializers.ValidationError(
                _("Only after-photos uploaded to this hazard can be referenced.")
            )
        used = Rectification.after_photos.through.objects.filter(attachment_id__in=wanted)
        if used.exists():
            raise serializers.ValidationError(
                _("A photo of an earlier rectification cannot be used again.")
            )
        return found


class RectifyMultipartSerializer(RectifySerializer):
    after_photos = _files_field("Photos after rectification (JPEG, PNG or WebP).")


class ExtensionRequestSerializer(serializers.Serializer):
    requested_on = serializers.DateField()
    reason = TextField()


class ExtensionDecisionSerializer(serializers.Serializer):
    approve = StrictBooleanField()
    granted_on = serializers.DateField(
        required=False, allow_null=True, help_text="Empty: the deadline requested."
    )
    reason = TextField(
        required=False,
        allow_blank=True,
        default="",
        help_text="Required when the request is rejected.",
    )


class VerifySerializer(serializers.Serializer):
    passed = StrictBooleanField()
    comment = TextField(
        required=False,
        allow_blank=True,
        default="",
        help_text="Required when verification fails.",
    )


class VerifyMultipartSerializer(VerifySerializer):
    report = serializers.FileField(
        required=False, allow_null=True, help_text="Verification report (PDF, Word or image)."
    )


class CloseOutSerializer(serializers.Serializer):
    comment = TextField(required=False, allow_blank=True, default="")


class WithdrawSerializer(serializers.Serializer):
    reason = TextField()


class ListingRequestSerializer(serializers.Serializer):
    level = serializers.ChoiceField(choices=LISTING_LEVELS)
    comment = TextField(required=False, allow_blank=True, default="")


class AttachmentUploadSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=Attachment.Kind.choices)
    file = serializers.FileField(
        allow_empty_file=False,
        help_text="JPEG, PNG or WebP (at most 10 MB), or PDF, Word (.docx) or Excel (.xlsx) (at most 20 MB).",
    )
