"""Hazard records (一患一档) and everything attached to them.

The viewflow process routes the work; these tables hold the facts. ``Hazard.stage`` is denormalised
from the process for fast lists and is written only by services, in the same transaction as the
transition and its audit event.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _
from viewflow.workflow.models import Process, Task

from accounts.models import Department, Enterprise, Region
from workflows.responsibility.models import Industry, Post


class Grade(models.TextChoices):
    GENERAL = "general", _("general hazard")
    MAJOR = "major", _("major hazard")


class Source(models.TextChoices):
    SELF_CHECK = "self_check", _("enterprise self-check")
    ROUTINE = "routine", _("routine inspection")
    CAMPAIGN = "campaign", _("campaign inspection")
    UNANNOUNCED = "unannounced", _("unannounced inspection")
    CROSS_JURISDICTION = "cross_jurisdiction", _("cross-jurisdiction enforcement")
    TIP_OFF = "tip_off", _("public tip-off")
    MONITORING = "monitoring", _("monitoring alert")


class Stage(models.TextChoices):
    TRIAGE = "triage", _("awaiting triage")
    PLAN = "plan", _("remediation plan")
    PLAN_APPROVAL = "plan_approval", _("plan approval")
    RECTIFY = "rectify", _("rectifying")
    VERIFY = "verify", _("awaiting verification")
    CLOSE_OUT = "close_out", _("awaiting close-out")
    CLOSED = "closed", _("closed")
    WITHDRAWN = "withdrawn", _("withdrawn")

    @classmethod
    def open_stages(cls) -> list[str]:
        return [s for s in cls.values if s not in (cls.CLOSED, cls.WITHDRAWN)]


class CriteriaClause(models.Model):
    """A clause of a major-hazard criteria catalogue (重大事故隐患判定标准)."""

    standard = models.CharField(_("standard"), max_length=100)
    code = models.CharField(_("clause"), max_length=20)
    text = models.TextField(_("text"))
    industry = models.ForeignKey(
        Industry, verbose_name=_("industry"), on_delete=models.PROTECT, related_name="clauses"
    )

    class Meta:
        verbose_name = _("major-hazard criteria clause")
        verbose_name_plural = _("major-hazard criteria clauses")
        ordering = ("standard", "code")
        constraints = [
            models.UniqueConstraint(fields=["standard", "code"], name="hazards_clause_unique_code"),
        ]

    def __str__(self) -> str:
        return f"{self.standard} 第{self.code}项"


class LocalGrade(models.Model):
    """A local grade scale (e.g. 一级…四级) mapped onto the statutory general/major grade."""

    code = models.CharField(_("code"), max_length=20, unique=True)
    name = models.CharField(_("name"), max_length=50)
    statutory_grade = models.CharField(_("statutory grade"), max_length=10, choices=Grade.choices)
    sort_order = models.PositiveSmallIntegerField(_("sort order"), default=100)

    class Meta:
        verbose_name = _("local grade")
        verbose_name_plural = _("local grades")
        ordering = ("sort_order", "code")

    def __str__(self) -> str:
        return self.name


class HazardProcess(Process):
    """The viewflow process of one hazard (a proxy: the hazard row points at it)."""

    class Meta:
        proxy = True
        verbose_name = _("hazard process")
        verbose_name_plural = _("hazard processes")


class HazardTask(Task):
    """Tasks of HazardFlow (viewflow's lists are scoped by ``viewsets.HazardFlowViewset``)."""

    class Meta:
        proxy = True


class Hazard(models.Model):
    """One accident hazard, from registration to close-out or withdrawal."""

    code = models.CharField(_("hazard code"), max_length=30, unique=True)
    city = models.ForeignKey(
        Region, verbose_name=_("city"), on_delete=models.PROTECT, related_name="+"
    )
    county = models.ForeignKey(
        Region, verbose_name=_("county"), on_delete=models.PROTECT, related_name="+"
    )
    year = models.PositiveSmallIntegerField(_("year"))
    sequence = models.PositiveIntegerField(_("sequence"))
    process = models.OneToOneField(
        Process,
        verbose_name=_("process"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="hazard",
    )

    enterprise = models.ForeignKey(
        Enterprise, verbose_name=_("enterprise"), on_delete=models.PROTECT, related_name="hazards"
    )
    industry = models.ForeignKey(
        Industry, verbose_name=_("industry"), on_delete=models.PROTECT, related_name="hazards"
    )
    post = models.ForeignKey(
        Post,
        verbose_name=_("responsible post"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="hazards",
    )
    title = models.CharField(_("title"), max_length=200)
    description = models.TextField(_("description"))
    location = models.CharField(_("location"), max_length=300)
    latitude = models.DecimalField(
        _("latitude"), max_digits=9, decimal_places=6, null=True, blank=True
    )
    longitude = models.DecimalField(
        _("longitude"), max_digits=9, decimal_places=6, null=True, blank=True
    )
    found_at = models.DateTimeField(_("found at"))
    found_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("found by"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="hazards_found",
    )
    finder_name = models.CharField(
        _("finder"), max_length=100, blank=True, help_text=_("For tip-offs and monitoring alerts.")
    )
    source = models.CharField(_("source"), max_length=20, choices=Source.choices)

    grade = models.CharField(_("grade"), max_length=10, choices=Grade.choices)
    local_grade = models.ForeignKey(
        LocalGrade,
        verbose_name=_("local grade"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    clause = models.ForeignKey(
        CriteriaClause,
        verbose_name=_("criteria clause"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="hazards",
    )
    chain = models.JSONField(_("responsibility chain"), default=dict, blank=True)
    department = models.ForeignKey(
        Department,
        verbose_name=_("supervising department"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="hazards",
        help_text=_(
            "The department whose queue holds the department steps (the lead, or the one it was handed over to)."
        ),
    )
    departments = models.ManyToManyField(
        Department,
        verbose_name=_("departments in the chain"),
        related_name="hazards_in_chain",
        blank=True,
    )

    stage = models.CharField(_("stage"), max_length=20, choices=Stage.choices, default=Stage.TRIAGE)
    deadline_on = models.DateField(_("rectification deadline"), null=True, blank=True)
    verify_attempts = models.PositiveSmallIntegerField(_("verification attempts"), default=0)
    suspended = models.BooleanField(_("suspended"), default=False)
    suspension_scope = models.CharField(_("suspension scope"), max_length=300, blank=True)
    listed_level = models.CharField(
        _("listing level"),
        max_length=10,
        choices=[("county", _("county")), ("city", _("city"))],
        blank=True,
    )
    listed_by = models.ForeignKey(
        Department,
        verbose_name=_("listing unit"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    listed_on = models.DateField(_("listed on"), null=True, blank=True)
    delisted_on = models.DateField(_("delisted on"), null=True, blank=True)
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)
    closed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("closed by"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    withdrawn_at = models.DateTimeField(_("withdrawn at"), null=True, blank=True)
    withdrawn_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("withdrawn by"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    withdrawal_reason = models.TextField(_("withdrawal reason"), blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("hazard")
        verbose_name_plural = _("hazards")
        ordering = ("-found_at", "-id")
        constraints = [
            models.UniqueConstraint(
                fields=["city", "year", "sequence"], name="hazards_hazard_unique_sequence"
            ),
            models.CheckConstraint(
                condition=~models.Q(stage="closed") | models.Q(closed_at__isnull=False),
                name="hazards_hazard_closed_has_time",
            ),
            models.CheckConstraint(
                condition=~models.Q(stage="withdrawn") | ~models.Q(withdrawal_reason=""),
                name="hazards_hazard_withdrawn_has_reason",
            ),
        ]
        indexes = [
            models.Index(fields=["stage", "department", "-found_at"], name="hazards_stage_dept"),
            models.Index(fields=["enterprise", "-found_at"], name="hazards_enterprise"),
            # The portal's counts by stage and open hazards of an enterprise (index-only).
            models.Index(fields=["enterprise", "stage"], name="hazards_enterprise_stage"),
            models.Index(fields=["county", "-found_at"], name="hazards_county"),
            models.Index(fields=["-found_at", "-id"], name="hazards_found_keyset"),
        ]

    def __str__(self) -> str:
        return f"{self.code} {self.title}"

    @property
    def is_open(self) -> bool:
        return self.stage in Stage.open_stages()

    @property
    def is_major(self) -> bool:
        return self.grade == Grade.MAJOR


class HazardSequence(models.Model):
    """The next sequence number of hazard codes per city and year (row-locked when used)."""

    city = models.ForeignKey(Region, on_delete=models.PROTECT, related_name="+")
    year = models.PositiveSmallIntegerField()
    last = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["city", "year"], name="hazards_sequence_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.city_id}/{self.year}: {self.last}"


class Attachment(models.Model):
    """Evidence stored under a server-generated name; downloaded only through a scoped view."""

    class Kind(models.TextChoices):
        BEFORE_PHOTO = "before_photo", _("before photo")
        AFTER_PHOTO = "after_photo", _("after photo")
        PLAN = "plan", _("remediation plan document")
        VERIFICATION_REPORT = "verification_report", _("verification report")
        OTHER = "other", _("other")

    hazard = models.ForeignKey(
        Hazard, verbose_name=_("hazard"), on_delete=models.CASCADE, related_name="attachments"
    )
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    file = models.FileField(_("file"), upload_to="evidence/%Y/%m/", max_length=200)
    original_name = models.CharField(_("original name"), max_length=200)
    content_type = models.CharField(_("content type"), max_length=100)
    size = models.PositiveIntegerField(_("size"))
    sha256 = models.CharField(_("SHA-256"), max_length=64)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("uploaded by"),
        on_delete=models.PROTECT,
        null=True,
        related_name="+",
    )
    uploaded_at = models.DateTimeField(_("uploaded at"), auto_now_add=True)

    class Meta:
        verbose_name = _("attachment")
        verbose_name_plural = _("attachments")
        ordering = ("uploaded_at", "id")

    def __str__(self) -> str:
        return self.original_name

    @property
    def is_image(self) -> bool:
        return self.content_type.startswith("image/")


class Plan(models.Model):
    """A remediation plan (治理方案) for a major hazard with the five commitments (五落实)."""

    class Status(models.TextChoices):
        SUBMITTED = "submitted", _("submitted")
        APPROVED = "approved", _("approved")
        RETURNED = "returned", _("returned")

    hazard = models.ForeignKey(
        Hazard, verbose_name=_("hazard"), on_delete=models.CASCADE, related_name="plans"
    )
    version = models.PositiveSmallIntegerField(_("version"))
    goal = models.TextField(_("goal and tasks"))
    measures = models.TextField(_("measures"))
    funds = models.DecimalField(_("funds (yuan)"), max_digits=14, decimal_places=2)
    materials = models.TextField(_("funds and materials"), blank=True)
    responsible_org = models.CharField(_("responsible organisation"), max_length=200)
    responsible_people = models.CharField(_("responsible people"), max_length=300)
    deadline_on = models.DateField(_("deadline"))
    safety_measures = models.TextField(_("safety measures during remediation"))
    contingency = models.TextField(_("contingency plan"))
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.SUBMITTED
    )
    submitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    submitted_at = models.DateTimeField(_("submitted at"), auto_now_add=True)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    reviewed_at = models.DateTimeField(_("reviewed at"), null=True, blank=True)
    review_comment = models.TextField(_("review comment"), blank=True)

    class Meta:
        verbose_name = _("remediation plan")
        verbose_name_plural = _("remediation plans")
        ordering = ("hazard", "version")
        constraints = [
            models.UniqueConstraint(
                fields=["hazard", "version"], name="hazards_plan_unique_version"
            ),
            models.UniqueConstraint(
                fields=["hazard"],
                condition=models.Q(status="submitted"),
                name="hazards_plan_one_open_per_hazard",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.hazard.code} v{self.version}"


class Rectification(models.Model):
    """One attempt at rectification and its verification (attempts are kept when one fails)."""

    class Result(models.TextChoices):
        PENDING = "pending", _("awaiting verification")
        PASSED = "passed", _("passed")
        FAILED = "failed", _("failed")

    hazard = models.ForeignKey(
        Hazard, verbose_name=_("hazard"), on_delete=models.CASCADE, related_name="rectifications"
    )
    attempt = models.PositiveSmallIntegerField(_("attempt"))
    interim_measures = models.TextField(_("interim measures"), blank=True)
    work_done = models.TextField(_("work done"))
    cost = models.DecimalField(_("cost (yuan)"), max_digits=14, decimal_places=2, default=0)
    submitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    submitted_at = models.DateTimeField(_("submitted at"), auto_now_add=True)
    result = models.CharField(
        _("result"), max_length=10, choices=Result.choices, default=Result.PENDING
    )
    verified_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    verified_at = models.DateTimeField(_("verified at"), null=True, blank=True)
    verification_comment = models.TextField(_("verification comment"), blank=True)
    after_photos = models.ManyToManyField(Attachment, blank=True, related_name="+")

    class Meta:
        verbose_name = _("rectification")
        verbose_name_plural = _("rectifications")
        ordering = ("hazard", "attempt")
        constraints = [
            models.UniqueConstraint(
                fields=["hazard", "attempt"], name="hazards_rectification_unique_attempt"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.hazard.code} #{self.attempt}"


class Extension(models.Model):
    """A request to extend the rectification deadline (延期), decided by the department."""

    class Status(models.TextChoices):
        PENDING = "pending", _("pending")
        APPROVED = "approved", _("approved")
        REJECTED = "rejected", _("rejected")

    hazard = models.ForeignKey(
        Hazard, verbose_name=_("hazard"), on_delete=models.CASCADE, related_name="extensions"
    )
    reason = models.TextField(_("reason"))
    requested_on = models.DateField(_("requested deadline"))
    previous_deadline_on = models.DateField(_("previous deadline"), null=True, blank=True)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    requested_at = models.DateTimeField(_("requested at"), auto_now_add=True)
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.PENDING
    )
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)
    decision_reason = models.TextField(_("decision reason"), blank=True)
    granted_on = models.DateField(_("granted deadline"), null=True, blank=True)

    class Meta:
        verbose_name = _("extension request")
        verbose_name_plural = _("extension requests")
        ordering = ("hazard", "requested_at")
        constraints = [
            models.UniqueConstraint(
                fields=["hazard"],
                condition=models.Q(status="pending"),
                name="hazards_extension_one_pending_per_hazard",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.hazard.code} → {self.requested_on}"


class Event(models.Model):
    """The append-only audit trail: who did what to a hazard, when, from which stage to which."""

    hazard = models.ForeignKey(
        Hazard, verbose_name=_("hazard"), on_delete=models.PROTECT, related_name="events"
    )
    action = models.CharField(_("action"), max_length=30)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("actor"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    at = models.DateTimeField(_("at"), auto_now_add=True)
    from_stage = models.CharField(_("from"), max_length=20, blank=True)
    to_stage = models.CharField(_("to"), max_length=20, blank=True)
    comment = models.TextField(_("comment"), blank=True)
    basis = models.CharField(_("legal basis"), max_length=300, blank=True)
    data = models.JSONField(_("data"), default=dict, blank=True)

    class Meta:
        verbose_name = _("audit event")
        verbose_name_plural = _("audit events")
        ordering = ("hazard", "at", "id")
        indexes = [models.Index(fields=["hazard", "at"], name="hazards_event_timeline")]

    def __str__(self) -> str:
        return f"{self.hazard_id} {self.action} {self.at:%Y-%m-%d %H:%M}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.pk is not None:
            raise ValueError("Audit events are append-only.")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> Any:
        raise ValueError("Audit events are append-only.")


class CopyNotice(models.Model):
    """A copy notice (抄告) sent to a cooperating department when a hazard is triaged or handed over."""

    hazard = models.ForeignKey(
        Hazard, verbose_name=_("hazard"), on_delete=models.CASCADE, related_name="copy_notices"
    )
    department = models.ForeignKey(
        Department, verbose_name=_("department"), on_delete=models.CASCADE, related_name="+"
    )
    reason = models.CharField(_("reason"), max_length=300)
    sent_at = models.DateTimeField(_("sent at"), auto_now_add=True)

    class Meta:
        verbose_name = _("copy notice")
        verbose_name_plural = _("copy notices")
        ordering = ("-sent_at",)

    def __str__(self) -> str:
        return f"{self.hazard_id} → {self.department}"
