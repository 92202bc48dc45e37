"""Admin console for the working-day calendar, the deadline policies and the deadline rows.

- The calendar and the policies are changed by superusers and the committee office
  (``can_change_duty_map``) and read by whoever may read the admin reports.
- A policy that deadlines already use is read-only: a change is a new version with a later
  "effective from" (the "copy as a new version" action), so running clocks keep the rules they
  started with.
- Deadline rows are read-only here: only the subject's app and the sweep move them.
- Every changelist says when the calendar of this year or the next has not been entered.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.contrib import admin, messages
from django.contrib.admin.options import BaseModelAdmin
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.utils.dates import WEEKDAYS
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from workflows.responsibility.permissions import can_change_duty_map, can_view_admin_reports

from .calendar import uncovered_years
from .models import CalendarDay, Deadline, DeadlinePolicy, EscalationRung
from .services import policy_new_version


def warn_uncovered_years(request: HttpRequest) -> None:
    """Tell the admin user which of this year and the next have no calendar (weekday fallback)."""
    today = timezone.localdate()
    for year in uncovered_years(today, today.replace(year=today.year + 1, month=1, day=1)):
        messages.warning(
            request,
            gettext(
                "The working-day calendar of %(year)s has not been entered: working days in "
                "%(year)s count Monday to Friday only until the State Council's notice is added."
            )
            % {"year": year},
        )


class ReferencePermissions(BaseModelAdmin):
    """Superusers and the committee office change; report readers view; superusers delete."""

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        user = request.user
        return (
            can_change_duty_map(user)
            or can_view_admin_reports(user)
            or super().has_view_permission(request, obj)
        )

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:  # type: ignore[override]
        return can_change_duty_map(request.user)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return can_change_duty_map(request.user)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return can_change_duty_map(request.user) and bool(request.user.is_superuser)

    def has_module_permission(self, request: HttpRequest) -> bool:
        return self.has_view_permission(request)


class WarnsUncoveredYears(admin.ModelAdmin):
    def changelist_view(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        if request.method == "GET":
            warn_uncovered_years(request)
        return super().changelist_view(request, extra_context)


# --- The calendar --------------------------------------------------------------------------------


class YearFilter(admin.SimpleListFilter):
    title = _("year")
    parameter_name = "year"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        years = {d.year for d in CalendarDay.objects.dates("date", "year")}
        years.add(timezone.localdate().year + 1)
        return [(str(y), str(y)) for y in sorted(years, reverse=True)]

    def queryset(
        self, request: HttpRequest, queryset: QuerySet[CalendarDay]
    ) -> QuerySet[CalendarDay]:
        value = self.value()
        return queryset.filter(date__year=int(value)) if value and value.isdigit() else queryset


@admin.register(CalendarDay)
class CalendarDayAdmin(ReferencePermissions, WarnsUncoveredYears):
    list_display = ("date", "weekday", "kind", "name", "source", "updated_at")
    list_filter = (YearFilter, "kind", "source")
    search_fields = ("name",)
    date_hierarchy = "date"
    fields = ("date", "kind", "name", "source")
    readonly_fields = ("source",)
    ordering = ("-date",)

    @admin.display(description=_("weekday"))
    def weekday(self, obj: CalendarDay) -> str:
        return str(WEEKDAYS[obj.date.weekday()])

    def save_model(self, request: HttpRequest, obj: CalendarDay, form: Any, change: bool) -> None:
        # A row an administrator touched is theirs, whatever seeded it.
        obj.source = CalendarDay.Source.ADMIN
        super().save_model(request, obj, form, change)


# --- Policies ------------------------------------------------------------------------------------


def _in_use(policy: DeadlinePolicy | None) -> bool:
    return policy is not None and policy.pk is not None and policy.deadlines.exists()


class EscalationRungInline(ReferencePermissions, admin.TabularInline):
    model = EscalationRung
    extra = 0
    fields = ("step", "offset_value", "offset_unit", "action", "roles", "channels", "digest")
    ordering = ("step",)

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:  # type: ignore[override]
        return super().has_add_permission(request, obj) and not _in_use(obj)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return super().has_change_permission(request, obj) and not _in_use(obj)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return can_change_duty_map(request.user) and not _in_use(obj)


@admin.register(DeadlinePolicy)
class DeadlinePolicyAdmin(ReferencePermissions, WarnsUncoveredYears):
    list_display = (
        "stage",
        "grade",
        "effective_from",
        "duration_display",
        "reminders_display",
        "ladder_display",
        "in_use",
    )
    list_filter = ("grade", "stage", "unit")
    fields = ("grade", "stage", "effective_from", "duration", "unit", "reminder_offsets", "note")
    inlines = (EscalationRungInline,)
    actions = ("copy_as_new_version",)

    def get_queryset(self, request: HttpRequest) -> QuerySet[DeadlinePolicy]:
        return super().get_queryset(request).prefetch_related("rungs")

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return super().has_change_permission(request, obj) and not _in_use(obj)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return super().has_delete_permission(request, obj) and not _in_use(obj)

    def change_view(
        self,
        request: HttpRequest,
        object_id: str,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        policy = self.get_object(request, object_id)
        if request.method == "GET" and _in_use(policy):
            messages.info(
                request,
                gettext(
                    "Deadlines run under this policy, so it cannot be changed. Copy it as a new "
                    "version with a later date from the list of policies."
                ),
            )
        return super().change_view(request, object_id, form_url, extra_context)

    @admin.display(description=_("duration"))
    def duration_display(self, obj: DeadlinePolicy) -> str:
        return f"{obj.duration} {obj.get_unit_display()}"

    @admin.display(description=_("reminders before due"))
    def reminders_display(self, obj: DeadlinePolicy) -> str:
        return ", ".join(f"{r.get('value')} {r.get('unit')}" for r in obj.reminder_offsets or [])

    @admin.display(description=_("escalation ladder"))
    def ladder_display(self, obj: DeadlinePolicy) -> str:
        return " → ".join(f"+{r.offset_value} {r.get_action_display()}" for r in obj.rungs.all())

    @admin.display(description=_("in use"), boolean=True)
    def in_use(self, obj: DeadlinePolicy) -> bool:
        return _in_use(obj)

    @admin.action(description=_("Copy as a new version effective tomorrow"))
    def copy_as_new_version(self, request: HttpRequest, queryset: QuerySet[DeadlinePolicy]) -> None:
        if not can_change_duty_map(request.user):
            self.message_user(
                request, gettext("You may not change deadline policies."), messages.ERROR
            )
            return
        tomorrow = timezone.localdate() + timedelta(days=1)
        made = []
        for policy in queryset:
            try:
                made.append(policy_new_version(policy=policy, effective_from=tomorrow))
            except ValidationError as error:
                self.message_user(request, " ".join(error.messages), messages.WARNING)
        self.message_user(
            request,
            gettext("%(count)d new policy versions effective from %(date)s; edit them before then.")
            % {"count": len(made), "date": tomorrow.isoformat()},
            messages.SUCCESS,
        )


# --- Deadlines -----------------------------------------------------------------------------------


class OverdueFilter(admin.SimpleListFilter):
    title = _("overdue")
    parameter_name = "overdue"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, Any]]:
        return [("yes", _("overdue")), ("no", _("not overdue"))]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Deadline]) -> QuerySet[Deadline]:
        now = timezone.now()
        if self.value() == "yes":
            return queryset.filter(open=True, due_at__lt=now)
        if self.value() == "no":
            return queryset.exclude(open=True, due_at__lt=now)
        return queryset


@admin.register(Deadline)
class DeadlineAdmin(WarnsUncoveredYears):
    list_display = (
        "subject_type",
        "subject_id",
        "stage",
        "grade",
        "generation",
        "due_at",
        "next_action_at",
        "step",
        "open",
        "overdue",
    )
    list_filter = ("open", OverdueFilter, "stage", "grade", "subject_type")
    search_fields = ("=subject_id",)
    list_select_related = ("policy",)
    date_hierarchy = "due_at"
    ordering = ("due_at",)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        user = request.user
        return (
            can_change_duty_map(user)
            or can_view_admin_reports(user)
            or super().has_view_permission(request, obj)
        )

    def has_module_permission(self, request: HttpRequest) -> bool:
        return self.has_view_permission(request)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.display(description=_("overdue"), boolean=True)
    def overdue(self, obj: Deadline) -> bool:
        return obj.open and obj.due_at < timezone.now()
