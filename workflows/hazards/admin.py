"""Admin console for hazards: read-mostly; every state change goes through the workflow pages."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from .models import (
    Attachment,
    CopyNotice,
    CriteriaClause,
    Event,
    Extension,
    Hazard,
    LocalGrade,
    Plan,
    Rectification,
)


@admin.register(CriteriaClause)
class CriteriaClauseAdmin(admin.ModelAdmin):
    list_display = ("standard", "code", "industry", "text")
    list_filter = ("standard", "industry")
    search_fields = ("standard", "code", "text")
    autocomplete_fields = ("industry",)


@admin.register(LocalGrade)
class LocalGradeAdmin(admin.ModelAdmin):
    list_display = ("code", "name", "statutory_grade", "sort_order")


class ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False
    show_change_link = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class EventInline(ReadOnlyInline):
    model = Event
    fields = ("at", "action", "actor", "from_stage", "to_stage", "comment")


class AttachmentInline(ReadOnlyInline):
    model = Attachment
    fields = ("kind", "original_name", "content_type", "size", "uploaded_by", "uploaded_at")


class PlanInline(ReadOnlyInline):
    model = Plan
    fields = ("version", "status", "deadline_on", "submitted_by", "reviewed_by", "review_comment")


class RectificationInline(ReadOnlyInline):
    model = Rectification
    fields = (
        "attempt",
        "result",
        "work_done",
        "submitted_by",
        "verified_by",
        "verification_comment",
    )


class ExtensionInline(ReadOnlyInline):
    model = Extension
    fields = ("requested_on", "status", "reason", "granted_on", "decided_by", "decision_reason")


@admin.register(Hazard)
class HazardAdmin(admin.ModelAdmin):
    """Superusers inspect hazards here; nobody edits one outside the workflow (audit trail)."""

    list_display = (
        "code",
        "title",
        "enterprise",
        "grade",
        "source",
        "stage",
        "department",
        "deadline_on",
    )
    list_filter = ("stage", "grade", "source", "county")
    search_fields = ("code", "title", "enterprise__name", "enterprise__uscc")
    list_select_related = ("enterprise", "department")
    date_hierarchy = "found_at"
    inlines = (PlanInline, RectificationInline, ExtensionInline, AttachmentInline, EventInline)

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        return [f.name for f in Hazard._meta.fields] + ["departments"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return request.user.is_superuser  # type: ignore[union-attr]

    def has_module_permission(self, request: HttpRequest) -> bool:
        return request.user.is_superuser  # type: ignore[union-attr]


@admin.register(CopyNotice)
class CopyNoticeAdmin(admin.ModelAdmin):
    list_display = ("hazard", "department", "reason", "sent_at")
    list_select_related = ("hazard", "department")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
