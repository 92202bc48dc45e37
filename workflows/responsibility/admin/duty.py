"""The duty map in the admin: rows are added (``duty_create``) or end-dated (``duty_end``), never
edited in place or deleted; its changelist carries the custom pages' URLs (``DutyAdmin.get_urls``)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError
from django.db.models import Q, QuerySet
from django.http import HttpRequest, HttpResponse
from django.urls import URLPattern, path
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.admin import OrganisationPermissions
from accounts.models import User

from ..models import Duty
from ..permissions import can_change_duty_map, can_view_admin_reports
from ..services import duty_create, duty_end
from . import views
from .views import DUTY_STATE_LABELS, duty_state


class ValidityFilter(admin.SimpleListFilter):
    """Rows valid today, already expired, or starting later (in Asia/Shanghai)."""

    title = _("validity")
    parameter_name = "validity"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, Any]]:
        return list(DUTY_STATE_LABELS.items())

    def queryset(self, request: HttpRequest, queryset: QuerySet[Duty]) -> QuerySet[Duty]:
        today = timezone.localdate()
        value = self.value()
        if value == "valid":
            return queryset.filter(
                Q(valid_to__isnull=True) | Q(valid_to__gte=today), valid_from__lte=today
            )
        if value == "expired":
            return queryset.filter(valid_to__lt=today)
        if value == "future":
            return queryset.filter(valid_from__gt=today)
        return queryset


class DutyAddForm(forms.ModelForm):
    """Adding a duty row *is* the call to ``duty_create``, made once the fields are valid, so the
    service's refusal (an overlapping lead) becomes a form error. The admin runs the whole add view
    in one transaction, so nothing is left behind if a later step fails."""

    acting_user: User | None = None

    class Meta:
        model = Duty
        fields = (
            "industry",
            "department_kind",
            "role",
            "general_level",
            "major_level",
            "valid_from",
            "valid_to",
            "decision",
            "position",
        )

    def _post_clean(self) -> None:
        super()._post_clean()  # type: ignore[misc]
        if self.errors:
            return
        data = self.cleaned_data
        try:
            self.instance = duty_create(
                industry=data["industry"],
                department_kind=data["department_kind"],
                role=data["role"],
                general_level=data["general_level"],
                major_level=data["major_level"],
                valid_from=data["valid_from"],
                valid_to=data.get("valid_to"),
                decision=data.get("decision") or "",
                position=data.get("position") or 0,
                created_by=self.acting_user,
            )
        except ValidationError as exc:
            self.add_error(None, exc)


class DutyEndForm(forms.ModelForm):
    """The only change a duty row allows: its end date set, or moved earlier (``duty_end``)."""

    class Meta:
        model = Duty
        fields = ("valid_to",)

    def _post_clean(self) -> None:
        before = self.instance.valid_to
        super()._post_clean()  # type: ignore[misc]
        if self.errors or "valid_to" not in self.changed_data:
            return
        last_day = self.cleaned_data.get("valid_to")
        if last_day is None:
            self.add_error(
                "valid_to", _("An end date cannot be removed; add a new duty row instead.")
            )
            return
        if before is not None and last_day > before:
            self.add_error("valid_to", _("An end date can only be moved earlier."))
            return
        try:
            self.instance = duty_end(duty=self.instance, last_day=last_day)
        except ValidationError as exc:
            self.add_error(None, exc)


@admin.register(Duty)
class DutyAdmin(OrganisationPermissions, admin.ModelAdmin):
    """The duty map: rows are added or end-dated, never edited in place or deleted.

    Who may view, add and change it is the organisation rule (committee office and superusers
    change, department members and heads view); nobody deletes."""

    list_display = (
        "industry",
        "department_kind",
        "role",
        "general_level",
        "major_level",
        "valid_from",
        "valid_to",
        "state_today",
        "decision",
        "position",
    )
    list_filter = (
        "role",
        "department_kind",
        "general_level",
        "major_level",
        ValidityFilter,
        "industry",
    )
    search_fields = ("industry__code", "industry__name", "decision", "department_kind__name")
    autocomplete_fields = ("industry", "department_kind")
    list_select_related = ("industry", "department_kind")
    fields = (*DutyAddForm.Meta.fields, "created_at", "created_by")

    @admin.display(description=_("today"))
    def state_today(self, obj: Duty) -> str:
        return str(DUTY_STATE_LABELS[duty_state(obj, timezone.localdate())])

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def get_actions(self, request: HttpRequest) -> dict[str, Any]:
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)
        return actions

    def get_fields(self, request: HttpRequest, obj: Any = None) -> tuple[str, ...]:
        if obj is None:
            return DutyAddForm.Meta.fields
        return tuple(self.fields or ())

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> tuple[str, ...]:
        if obj is None:
            return ()
        return tuple(f for f in self.fields or () if f != "valid_to")

    def get_form(
        self, request: HttpRequest, obj: Any = None, change: bool = False, **kwargs: Any
    ) -> Any:
        kwargs["form"] = DutyEndForm if obj is not None else DutyAddForm
        form = super().get_form(request, obj, change=change, **kwargs)
        form.acting_user = request.user  # type: ignore[attr-defined]
        return form

    def save_model(self, request: HttpRequest, obj: Duty, form: Any, change: bool) -> None:
        """Nothing to save: validating the form already called duty_create or duty_end."""

    def changelist_view(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        extra_context = {
            **(extra_context or {}),
            "can_change_duty_map": can_change_duty_map(request.user),
            "can_view_reports": can_view_admin_reports(request.user),
        }
        return super().changelist_view(request, extra_context)

    def change_view(
        self,
        request: HttpRequest,
        object_id: str,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        extra_context = {
            **(extra_context or {}),
            "can_change_duty_map": can_change_duty_map(request.user),
        }
        return super().change_view(request, object_id, form_url, extra_context)

    # --- Custom pages ----------------------------------------------------------------------------

    def get_urls(self) -> list[URLPattern]:  # type: ignore[override]
        def wrap(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
            return self.admin_site.admin_view(view)

        custom = [
            path("coverage/", wrap(self.coverage_view), name="responsibility_duty_coverage"),
            path(
                "coverage/<str:fmt>/",
                wrap(self.coverage_download_view),
                name="responsibility_duty_coverage_download",
            ),
            path("import/", wrap(self.import_view), name="responsibility_duty_import"),
            path(
                "import/template/",
                wrap(self.import_template_view),
                name="responsibility_duty_import_template",
            ),
            path("explain/", wrap(self.explain_view), name="responsibility_duty_explain"),
            path(
                "history/<str:code>/",
                wrap(self.duty_history_view),
                name="responsibility_duty_industry_history",
            ),
            path(
                "<path:object_id>/replace/",
                wrap(self.replace_view),
                name="responsibility_duty_replace",
            ),
        ]
        return custom + super().get_urls()

    def coverage_view(self, request: HttpRequest) -> HttpResponse:
        from .. import admin_coverage

        return admin_coverage.coverage_view(request, admin_site=self.admin_site)

    def coverage_download_view(self, request: HttpRequest, fmt: str) -> HttpResponse:
        from .. import admin_coverage

        return admin_coverage.coverage_download(request, admin_site=self.admin_site, fmt=fmt)

    def import_view(self, request: HttpRequest) -> HttpResponse:
        from .. import admin_import

        return admin_import.import_view(request, admin_site=self.admin_site)

    def import_template_view(self, request: HttpRequest) -> HttpResponse:
        from .. import admin_import

        return admin_import.template_download(request, admin_site=self.admin_site)

    def explain_view(self, request: HttpRequest) -> HttpResponse:
        return views.explain_view(request, model_admin=self)

    def duty_history_view(self, request: HttpRequest, code: str) -> HttpResponse:
        return views.duty_history_view(request, code, model_admin=self)

    def replace_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        return views.replace_view(request, object_id, model_admin=self)
