"""Enterprises and their posts in the admin: the accounts Enterprise admin is registered again
with the industry and post inlines and an "explain chain" button."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.db.models import QuerySet, TextField
from django.http import HttpRequest

from accounts import admin as accounts_admin
from accounts.admin import OrganisationPermissions, admin_access
from accounts.models import Enterprise

from ..models import EnterpriseIndustry, Post


class EnterprisePartPermissions(OrganisationPermissions):
    """An enterprise's industries and posts: the committee office may also remove them."""

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return admin_access(request).manages_organisations


class EnterpriseIndustryInline(EnterprisePartPermissions, admin.TabularInline):
    model = EnterpriseIndustry
    fields = ("position", "industry")
    autocomplete_fields = ("industry",)
    ordering = ("position",)
    extra = 0

    def get_queryset(self, request: HttpRequest) -> QuerySet[EnterpriseIndustry]:
        return super().get_queryset(request).select_related("industry")


class PostInline(EnterprisePartPermissions, admin.StackedInline):
    model = Post
    fk_name = "enterprise"
    fields = (("code", "title"), ("holder", "reports_to"), "duties")
    autocomplete_fields = ("holder",)
    extra = 0
    formfield_overrides = {TextField: {"widget": forms.Textarea(attrs={"rows": 3, "cols": 60})}}  # noqa: RUF012

    _enterprise: Enterprise | None = None

    def get_queryset(self, request: HttpRequest) -> QuerySet[Post]:
        return super().get_queryset(request).select_related("holder", "reports_to")

    def get_formset(self, request: HttpRequest, obj: Any = None, **kwargs: Any) -> Any:
        # Inline instances are made per request, so remembering the enterprise here is safe.
        self._enterprise = obj
        return super().get_formset(request, obj, **kwargs)

    def formfield_for_foreignkey(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        if db_field.name == "reports_to":
            kwargs["queryset"] = (
                Post.objects.filter(enterprise=self._enterprise)
                if self._enterprise is not None
                else Post.objects.none()
            )
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


if admin.site.is_registered(Enterprise):
    admin.site.unregister(Enterprise)


@admin.register(Enterprise)
class EnterpriseAdmin(accounts_admin.EnterpriseAdmin):
    """The accounts Enterprise admin plus industries, posts and the "explain chain" button."""

    inlines = (EnterpriseIndustryInline, PostInline, *accounts_admin.EnterpriseAdmin.inlines)
    list_filter = (*accounts_admin.EnterpriseAdmin.list_filter, "industry_links__industry")
    change_form_template = "admin/responsibility/enterprise_change_form.html"


@admin.register(Post)
class PostAdmin(EnterprisePartPermissions, admin.ModelAdmin):
    list_display = ("enterprise", "code", "title", "holder", "reports_to")
    search_fields = (
        "code",
        "title",
        "enterprise__uscc",
        "enterprise__name",
        "holder__username",
        "holder__full_name",
    )
    autocomplete_fields = ("enterprise", "holder", "reports_to")
    list_select_related = ("enterprise", "holder", "reports_to__enterprise")
