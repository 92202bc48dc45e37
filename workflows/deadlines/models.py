"""Deadline data: the working-day calendar, SLA policies with their escalation ladders, deadline rows.

Policies are versioned by ``effective_from``: a change is a new row, and a deadline keeps the policy
it was opened with. A ``Deadline`` belongs to a subject (``app_label.model`` + id) and a stage; the
subject's app opens and closes it, the sweep walks it along the policy's actions.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from .registry import CHANNELS, ROLES


class CalendarDay(models.Model):
    """An exception to the Monday–Friday week: a public holiday on a weekday, or a weekend day made a
    working day (调休). Days that are not listed follow the weekday rule."""

    class Kind(models.TextChoices):
        HOLIDAY = "holiday", _("public holiday")
        WORKDAY = "workday", _("adjusted working day (调休)")

    class Source(models.TextChoices):
        PACKAGE = "package", _("chinese-calendar package")
        ADMIN = "admin", _("entered by an administrator")

    date = models.DateField(_("date"), unique=True)
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices)
    name = models.CharField(_("name"), max_length=60, blank=True)
    source = models.CharField(
        _("source"), max_length=10, choices=Source.choices, default=Source.ADMIN
    )
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("calendar day")
        verbose_name_plural = _("working-day calendar")
        ordering = ("date",)
        constraints = [
            models.CheckConstraint(
                condition=models.Q(kind__in=["holiday", "workday"]),
                name="deadlines_calendarday_kind_valid",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.date.isoformat()} {self.get_kind_display()} {self.name}".strip()


class Grade(models.TextChoices):
    GENERAL = "general", _("general hazard")
    MAJOR = "major", _("major hazard")


class Stage(models.TextChoices):
    TRIAGE = "triage", _("triage")
    PLAN = "plan", _("remediation plan")
    PLAN_APPROVAL = "plan_approval", _("plan approval")
    RECTIFY = "rectify", _("rectification")
    EXTENSION_DECISION = "extension_decision", _("extension decision")
    VERIFY = "verify", _("verification")
    CLOSE_OUT = "close_out", _("close-out")


class Unit(models.TextChoices):
    CALENDAR_DAYS = "calendar_days", _("calendar days")
    WORKING_DAYS = "working_days", _("working days")
    HOURS = "hours", _("hours")
    EXPLICIT = "explicit", _("explicit date (else calendar days)")


OFFSET_UNITS: tuple[str, ...] = (Unit.CALENDAR_DAYS, Unit.WORKING_DAYS, Unit.HOURS)


def _check_names(value: Any, allowed: tuple[str, ...], field: str, *, required: bool) -> list[str]:
    """Errors for a JSON list of names that must come from ``allowed``."""
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        return [gettext("%(field)s must be a list of names.") % {"field": field}]
    unknown = [v for v in value if v not in allowed]
    if unknown:
        return [
            gettext("Unknown %(field)s: %(names)s. Allowed: %(allowed)s.")
            % {"field": field, "names": ", ".join(unknown), "allowed": ", ".join(allowed)}
        ]
    if required and not value:
        return [gettext("Name at least one of %(field)s.") % {"field": field}]
    return []


def _check_offset(value: Any, unit: Any) -> list[str]:
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        return [gettext("An offset must be a whole number, zero or more.")]
    if unit not in OFFSET_UNITS:
        return [
            gettext("An offset unit must be one of: %(units)s.")
            % {"units": ", ".join(OFFSET_UNITS)}
        ]
    return []


class DeadlinePolicy(models.Model):
    """How long a stage may take for a grade, from ``effective_from`` on, and when to remind.

    ``reminder_offsets`` is a list of ``{"value": 3, "unit": "calendar_days"}`` before the due moment,
    optionally with ``"roles"`` (default ``["assignee"]``) and ``"channels"`` (default in-app and
    e-mail). With unit ``explicit`` the date set by the subject (e.g. at triage) is the due date and
    ``duration`` is the fallback in calendar days when none is given.
    """

    grade = models.CharField(_("grade"), max_length=10, choices=Grade.choices)
    stage = models.CharField(_("stage"), max_length=20, choices=Stage.choices)
    effective_from = models.DateField(_("effective from"))
    duration = models.PositiveIntegerField(_("duration"))
    unit = models.CharField(_("unit"), max_length=16, choices=Unit.choices)
    reminder_offsets = models.JSONField(
        _("reminders before due"),
        default=list,
        blank=True,
        help_text=_(
            'A list like [{"value": 3, "unit": "calendar_days"}, {"value": 1, "unit": '
            '"calendar_days", "channels": ["inapp", "sms"]}]; units: calendar_days, '
            "working_days, hours."
        ),
    )
    note = models.TextField(_("note"), blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("deadline policy")
        verbose_name_plural = _("deadline policies")
        ordering = ("stage", "grade", "-effective_from")
        constraints = [
            models.UniqueConstraint(
                fields=["grade", "stage", "effective_from"],
                name="deadlines_deadlinepolicy_one_per_day",
            ),
            models.CheckConstraint(
                condition=models.Q(duration__gte=1),
                name="deadlines_deadlinepolicy_duration_positive",
            ),
        ]

    def __str__(self) -> str:
        return (
            f"{self.get_grade_display()} · {self.get_stage_display()} · "
            f"{self.effective_from.isoformat()}"
        )

    def clean(self) -> None:
        errors: list[str] = []
        offsets = self.reminder_offsets
        if not isinstance(offsets, list):
            errors.append(gettext("Reminders must be a list."))
            offsets = []
        for entry in offsets:
            if not isinstance(entry, dict):
                errors.append(gettext("Each reminder must be an object with a value and a unit."))
                continue
            errors += _check_offset(entry.get("value"), entry.get("unit"))
            if entry.get("value") == 0:
                errors.append(
                    gettext("A reminder comes before the due moment: its value must be 1 or more.")
                )
            if "roles" in entry:
                errors += _check_names(entry["roles"], ROLES, gettext("roles"), required=True)
            if "channels" in entry:
                errors += _check_names(
                    entry["channels"], CHANNELS, gettext("channels"), required=True
                )
        if errors:
            raise ValidationError({"reminder_offsets": errors})


class EscalationRung(models.Model):
    """One rung of a policy's ladder: ``offset`` after the due moment, an action, roles, channels."""

    class Action(models.TextChoices):
        CHASE = "chase", _("chase (催办)")
        SUPERVISION_LETTER = "supervision_letter", _("supervision letter (督办函)")
        CIRCULAR = "circular", _("circular of criticism (通报批评)")
        ADMONITION = "admonition", _("admonition talk (约谈)")
        LISTING = "listing", _("listing for supervision (挂牌督办)")

    policy = models.ForeignKey(
        DeadlinePolicy, verbose_name=_("policy"), on_delete=models.CASCADE, related_name="rungs"
    )
    step = models.PositiveSmallIntegerField(_("rung"))
    offset_value = models.PositiveIntegerField(_("after due"), default=0)
    offset_unit = models.CharField(
        _("offset unit"), max_length=16, choices=Unit.choices[:3], default=Unit.WORKING_DAYS
    )
    action = models.CharField(_("action"), max_length=20, choices=Action.choices)
    roles = models.JSONField(
        _("roles"), default=list, help_text=_('Chain roles to notify, e.g. ["department_head"].')
    )
    channels = models.JSONField(
        _("channels"), default=list, help_text=_('Any of ["inapp", "email", "sms", "webhook"].')
    )
    digest = models.BooleanField(
        _("digest"),
        default=False,
        help_text=_("Group this rung's e-mail and SMS into one digest per recipient and sweep."),
    )

    class Meta:
        verbose_name = _("escalation rung")
        verbose_name_plural = _("escalation ladder")
        ordering = ("policy", "step")
        constraints = [
            models.UniqueConstraint(
                fields=["policy", "step"], name="deadlines_escalationrung_step"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.step}. {self.get_action_display()} +{self.offset_value} {self.offset_unit}"

    def clean(self) -> None:
        errors: dict[str, list[str]] = {}
        roles = _check_names(self.roles, ROLES, gettext("roles"), required=True)
        channels = _check_names(self.channels, CHANNELS, gettext("channels"), required=True)
        if roles:
            errors["roles"] = roles
        if channels:
            errors["channels"] = channels
        if errors:
            raise ValidationError(errors)


class Deadline(models.Model):
    """The clock of one open stage of one subject.

    ``step`` indexes the policy's actions (reminders, then rungs, in time order) still to come and
    ``next_action_at`` is the moment of that action (null once the ladder is exhausted). A new
    ``generation`` (extension granted, stage restarted) makes every notification key new, and lets
    delivery drop messages of the old one.
    """

    subject_type = models.CharField(_("subject type"), max_length=100)
    subject_id = models.PositiveBigIntegerField(_("subject id"))
    stage = models.CharField(_("stage"), max_length=20, choices=Stage.choices)
    grade = models.CharField(_("grade"), max_length=10, choices=Grade.choices)
    policy = models.ForeignKey(
        DeadlinePolicy, verbose_name=_("policy"), on_delete=models.PROTECT, related_name="deadlines"
    )
    generation = models.PositiveIntegerField(_("generation"), default=1)
    due_at = models.DateTimeField(_("due at"))
    next_action_at = models.DateTimeField(_("next action at"), null=True, blank=True)
    step = models.PositiveSmallIntegerField(_("ladder step"), default=0)
    open = models.BooleanField(_("open"), default=True)
    opened_at = models.DateTimeField(_("opened at"), default=timezone.now)
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)
    close_reason = models.CharField(_("close reason"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("deadline")
        verbose_name_plural = _("deadlines")
        ordering = ("due_at", "pk")
        constraints = [
            models.UniqueConstraint(
                fields=["subject_type", "subject_id", "stage"],
                condition=models.Q(open=True),
                name="deadlines_deadline_one_open_per_stage",
            ),
            models.CheckConstraint(
                condition=models.Q(open=True) | models.Q(closed_at__isnull=False),
                name="deadlines_deadline_closed_has_time",
            ),
            models.CheckConstraint(
                condition=models.Q(generation__gte=1), name="deadlines_deadline_generation_positive"
            ),
        ]
        indexes = [
            # The sweep's index: only open rows with an action still to come, so its size is the
            # number of live clocks, and "what is due" is a range scan from the oldest moment.
            models.Index(
                fields=["next_action_at"],
                condition=models.Q(open=True) & models.Q(next_action_at__isnull=False),
                name="deadlines_deadline_due",
            ),
            models.Index(fields=["subject_type", "subject_id"], name="deadlines_deadline_subject"),
            # The ledger's "overdue" filter: subjects whose open clock is past due, and subjects
            # with an open clock at all, both read from the live clocks only.
            models.Index(
                fields=["subject_type", "due_at", "subject_id"],
                condition=models.Q(open=True),
                name="deadlines_deadline_open_due",
            ),
        ]

    def __str__(self) -> str:
        return (
            f"{self.subject_type}:{self.subject_id} {self.get_stage_display()} #{self.generation}"
        )
